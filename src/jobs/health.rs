//! How the background jobs fare: each step runs guarded, so a panic is caught, logged and
//! counted like an error and the job goes on at its next tick; the last success and the
//! consecutive failures of every job are kept for `/health/ready` and `/metrics`.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;

use crate::domain::DomainResult;

/// The expiry sweeper.
pub const EXPIRY: &str = "expiry";
/// The schedule generator.
pub const SCHEDULES: &str = "schedules";
/// The revocation and signing-key sync.
pub const REVOCATIONS: &str = "revocations";
/// The reminder step.
pub const REMINDERS: &str = "reminders";
/// The outbox worker.
pub const OUTBOX: &str = "outbox";

/// Every job, in the order `/health/ready` lists them.
pub const ALL: [&str; 5] = [EXPIRY, SCHEDULES, REVOCATIONS, REMINDERS, OUTBOX];

/// What is known of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobState {
    /// When a step last ended well.
    pub last_success: Option<DateTime<Utc>>,
    /// Steps failed (an error or a panic) since the last success.
    pub consecutive_failures: u64,
}

/// The state of this instance's jobs.
#[derive(Debug)]
pub struct JobHealth {
    jobs: Mutex<BTreeMap<&'static str, JobState>>,
}

impl Default for JobHealth {
    fn default() -> Self {
        Self::new()
    }
}

impl JobHealth {
    /// Every job known, none run yet.
    pub fn new() -> Self {
        let jobs = ALL.iter().map(|j| (*j, JobState::default())).collect();
        Self {
            jobs: Mutex::new(jobs),
        }
    }

    /// Notes a step that ended well.
    pub fn succeeded(&self, job: &'static str) {
        let now = Utc::now();
        if let Ok(mut jobs) = self.jobs.lock() {
            let s = jobs.entry(job).or_default();
            s.last_success = Some(now);
            s.consecutive_failures = 0;
        }
        crate::observability::job_succeeded(job, now);
    }

    /// Notes a step that failed.
    pub fn failed(&self, job: &'static str) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.entry(job).or_default().consecutive_failures += 1;
        }
        crate::observability::job_failed(job);
    }

    /// Every job's state, in [`ALL`]'s order.
    pub fn snapshot(&self) -> Vec<(&'static str, JobState)> {
        let Ok(jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        ALL.iter()
            .map(|j| (*j, jobs.get(j).cloned().unwrap_or_default()))
            .collect()
    }

    /// Runs one step of `job`, catching a panic: the step's result, or `None` when it failed
    /// (logged, counted). Whatever happens, the caller's loop goes on.
    pub async fn step<T>(
        &self,
        job: &'static str,
        work: impl Future<Output = DomainResult<T>>,
    ) -> Option<T> {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(Ok(v)) => {
                self.succeeded(job);
                Some(v)
            }
            Ok(Err(e)) => {
                tracing::warn!(job, error = %e, "background job step failed; will retry");
                self.failed(job);
                None
            }
            Err(_) => {
                // The panic's own message went to stderr through the panic hook; it may quote
                // data, so it is not repeated in the structured log.
                tracing::error!(job, "background job step panicked; will retry");
                self.failed(job);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_step_is_a_failure_and_the_next_success_clears_it() {
        let h = JobHealth::new();
        let panicked = h
            .step(OUTBOX, async {
                if h.snapshot().len() == ALL.len() {
                    panic!("boom");
                }
                Ok(1)
            })
            .await;
        assert_eq!(panicked, None);
        let failed: Option<u8> = h
            .step(OUTBOX, async {
                Err(crate::domain::DomainError::Internal("down".into()))
            })
            .await;
        assert_eq!(failed, None);
        let state = |h: &JobHealth| h.snapshot().into_iter().find(|(j, _)| *j == OUTBOX);
        assert_eq!(state(&h).unwrap().1.consecutive_failures, 2);
        assert_eq!(h.step(OUTBOX, async { Ok(7) }).await, Some(7));
        let s = state(&h).unwrap().1;
        assert_eq!(s.consecutive_failures, 0);
        assert!(s.last_success.is_some());
    }
}
