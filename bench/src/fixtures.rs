//! The data each scenario needs, created through the API before its measured window.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{Days, NaiveDate, NaiveTime, Utc};

use crate::api::{booking, Api, SlotSpec};

/// Runs `f(0..count)` with at most `concurrency` calls in flight; results in index order.
pub async fn par_map<T, F, Fut>(count: usize, concurrency: usize, f: F) -> Result<Vec<T>, String>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, String>> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (f, next) = (f.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(out);
                }
                out.push((i, f(i).await?));
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.map_err(|e| format!("worker failed: {e}"))??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

/// `count` slots on consecutive minutes from `first` 00:00, 1,440 a day.
pub fn minute_slots(first: NaiveDate, count: usize, capacity: u32) -> Vec<SlotSpec> {
    (0..count)
        .map(|i| {
            let day = u64::try_from(i / 1440).unwrap_or(u64::MAX);
            let minute = u32::try_from(i % 1440).unwrap_or(0);
            SlotSpec {
                date: first.checked_add_days(Days::new(day)).unwrap_or(first),
                time: NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or_default(),
                capacity,
            }
        })
        .collect()
}

/// A (doctor id, slot id) pair to book.
pub type Target = (String, String);

/// The run's shared fixtures: a tag that keeps e-mails unique, and a pool of patients.
pub struct Fixtures {
    /// The API.
    pub api: Api,
    /// Makes this run's e-mails and licence numbers unique.
    pub tag: String,
    /// Patient ids, registered through the API.
    pub patients: Arc<Vec<String>>,
    doctors_made: AtomicUsize,
}

impl Fixtures {
    /// Registers `patients` patients, `concurrency` requests at a time.
    pub async fn new(api: Api, patients: usize, concurrency: usize) -> Result<Self, String> {
        let tag = format!("{:08x}", fastrand::u32(..));
        let (a, t) = (api.clone(), tag.clone());
        let ids = par_map(patients, concurrency, move |n| {
            let (a, t) = (a.clone(), t.clone());
            async move { a.create_patient(&t, n).await }
        })
        .await?;
        Ok(Self {
            api,
            tag,
            patients: Arc::new(ids),
            doctors_made: AtomicUsize::new(0),
        })
    }

    /// A date `days` days after today (UTC), the doctors' zone.
    pub fn day(days: u64) -> NaiveDate {
        let today = Utc::now().date_naive();
        today.checked_add_days(Days::new(days)).unwrap_or(today)
    }

    /// Registers `n` new doctors.
    pub async fn doctors(&self, n: usize) -> Result<Vec<String>, String> {
        let first = self.doctors_made.fetch_add(n, Ordering::Relaxed);
        let (a, t) = (self.api.clone(), self.tag.clone());
        par_map(n, 8, move |i| {
            let (a, t) = (a.clone(), t.clone());
            async move { a.create_doctor(&t, first + i).await }
        })
        .await
    }

    /// `total` single-seat slots spread over `doctors` new doctors (minute slots from the day
    /// after tomorrow), interleaved so consecutive targets belong to different doctors.
    pub async fn distinct_targets(
        &self,
        doctors: usize,
        total: usize,
    ) -> Result<Vec<Target>, String> {
        let doctors = doctors.max(1);
        let ids = self.doctors(doctors).await?;
        let per = total.div_ceil(doctors);
        let a = self.api.clone();
        let doc_ids = Arc::new(ids.clone());
        let slots = par_map(doctors, 4, move |d| {
            let (a, docs) = (a.clone(), doc_ids.clone());
            async move {
                a.create_slots(&docs[d], &minute_slots(Fixtures::day(2), per, 1))
                    .await
            }
        })
        .await?;
        let mut targets = Vec::with_capacity(total);
        for k in 0..per {
            for (d, doctor_slots) in slots.iter().enumerate() {
                if let Some(s) = doctor_slots.get(k) {
                    targets.push((ids[d].clone(), s.clone()));
                }
            }
        }
        targets.truncate(total);
        Ok(targets)
    }

    /// Books each target once (distinct patients per slot); fails on any refusal.
    pub async fn book_all(&self, targets: Vec<Target>) -> Result<(), String> {
        let (a, p) = (self.api.clone(), self.patients.clone());
        let targets = Arc::new(targets);
        let count = targets.len();
        par_map(count, 16, move |i| {
            let (a, p, t) = (a.clone(), p.clone(), targets.clone());
            async move {
                let (doctor, slot) = &t[i];
                let r = a
                    .post("/appointments", &booking(&p[i % p.len()], doctor, slot))
                    .await;
                if r.status == 201 {
                    Ok(())
                } else {
                    Err(format!("setup booking: {}", r.describe()))
                }
            }
        })
        .await
        .map(drop)
    }
}
