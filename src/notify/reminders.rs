//! Reminders: queues an e-mail `REMINDER_HOURS` before each confirmed appointment's start.
//! The queue's unique key (appointment, lead time, start) makes each reminder exactly once,
//! however many instances run the step and however often.

use std::time::{Duration, Instant};

use crate::domain::store::Store;
use crate::domain::DomainResult;

/// How often the worker loop queues reminders: often enough that a reminder due at once (an
/// appointment confirmed inside its window) goes out within seconds; each run is one indexed
/// statement per lead time (`appointments_confirmed_start_idx`).
pub const INTERVAL: Duration = Duration::from_secs(5);

/// One step: queues the reminders due now. Returns how many it queued.
pub async fn remind_once(store: &dyn Store, hours: &[u32]) -> DomainResult<u64> {
    if hours.is_empty() {
        return Ok(0);
    }
    store.enqueue_reminders(hours).await
}

/// Runs [`remind_once`] at most every [`INTERVAL`] from the worker loop.
pub(super) struct Schedule {
    hours: Vec<u32>,
    last: Option<Instant>,
}

impl Schedule {
    pub(super) fn new(hours: Vec<u32>) -> Self {
        Self { hours, last: None }
    }

    pub(super) async fn maybe_run(
        &mut self,
        store: &dyn Store,
        health: &crate::jobs::health::JobHealth,
    ) {
        if self.last.is_some_and(|t| t.elapsed() < INTERVAL) {
            return;
        }
        self.last = Some(Instant::now());
        let step = remind_once(store, &self.hours);
        match health.step(crate::jobs::health::REMINDERS, step).await {
            Some(0) | None => {}
            Some(n) => tracing::info!(queued = n, "queued appointment reminders"),
        }
    }
}
