//! The request loops of the scenarios, one [`Job`] each.

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;

use crate::api::{booking, Api};
use crate::fixtures::Target;
use crate::load::{Job, Recorder};

/// Books target `offset + i` with patient `(offset + i) mod P`: every request should win.
pub struct BookDistinct {
    /// The API.
    pub api: Api,
    /// Free single-seat slots, one per iteration.
    pub targets: Arc<Vec<Target>>,
    /// Patient ids.
    pub patients: Arc<Vec<String>>,
    /// Index of the first target this job uses.
    pub offset: usize,
}

impl Job for BookDistinct {
    async fn run(&self, i: u64, rec: &mut Recorder) {
        let k = self.offset + usize::try_from(i).unwrap_or(usize::MAX);
        let Some((doctor, slot)) = self.targets.get(k) else {
            return;
        };
        let patient = &self.patients[k % self.patients.len()];
        let r = self
            .api
            .post("/appointments", &booking(patient, doctor, slot))
            .await;
        rec.record("book", &r);
    }
}

/// Consecutive blocks of `per_slot` iterations race for one small slot each, every request
/// from a different patient; all but `capacity` per slot must be refused with a 409.
pub struct HotSlot {
    /// The API.
    pub api: Api,
    /// The contested slots.
    pub targets: Arc<Vec<Target>>,
    /// Patient ids (at least `per_slot`).
    pub patients: Arc<Vec<String>>,
    /// Requests aimed at each slot.
    pub per_slot: u64,
}

impl Job for HotSlot {
    async fn run(&self, i: u64, rec: &mut Recorder) {
        let slot_index = usize::try_from(i / self.per_slot).unwrap_or(usize::MAX);
        let Some((doctor, slot)) = self.targets.get(slot_index) else {
            return;
        };
        let n = usize::try_from(i % self.per_slot).unwrap_or(0);
        let patient = &self.patients[n % self.patients.len()];
        let r = self
            .api
            .post("/appointments", &booking(patient, doctor, slot))
            .await;
        rec.record("book", &r);
    }
}

/// Books target `i`, then confirms the hold, as a real client does.
pub struct BookConfirm {
    /// The API.
    pub api: Api,
    /// Free single-seat slots, one per iteration.
    pub targets: Arc<Vec<Target>>,
    /// Patient ids.
    pub patients: Arc<Vec<String>>,
}

impl Job for BookConfirm {
    async fn run(&self, i: u64, rec: &mut Recorder) {
        let k = usize::try_from(i).unwrap_or(usize::MAX);
        let Some((doctor, slot)) = self.targets.get(k) else {
            return;
        };
        let patient = &self.patients[k % self.patients.len()];
        let r = self
            .api
            .post("/appointments", &booking(patient, doctor, slot))
            .await;
        rec.record("book", &r);
        let Some(id) = r.data_id().filter(|_| r.status == 201) else {
            return;
        };
        let path = format!("/appointments/{id}/confirm");
        let c = self.api.call(Method::POST, &path, &Value::Null).await;
        rec.record("confirm", &c);
    }
}

/// The same GET, over and over.
pub struct Get {
    /// The API.
    pub api: Api,
    /// Path below the base URL, with its query.
    pub path: String,
}

impl Job for Get {
    async fn run(&self, _i: u64, rec: &mut Recorder) {
        let r = self.api.get(&self.path).await;
        rec.record("get", &r);
    }
}
