//! The schedule generator: lays out every current weekly rule's slots over the rolling
//! horizon, once a day. Safe on several instances at once: generation of a rule is idempotent
//! and each (doctor, date, time) is inserted once whoever runs it.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::domain::store::Store;
use crate::domain::DomainResult;

/// What one run did over every rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Run {
    /// Rules generated.
    pub rules: u64,
    /// Slots created.
    pub created: u64,
    /// Times skipped (DST gap, overlap, time off).
    pub skipped: u64,
}

/// One run: generates every rule still valid today over the next `horizon_days` days.
pub async fn generate_once(store: &dyn Store, horizon_days: i64) -> DomainResult<Run> {
    // A day back covers every zone whose today is still yesterday in UTC.
    let today = Utc::now().date_naive() - chrono::Duration::days(1);
    let mut run = Run::default();
    for id in store.current_schedules(today).await? {
        let g = match store.generate_schedule(id, horizon_days).await {
            Ok(g) => g,
            // Ended by someone else since the list was read.
            Err(crate::domain::DomainError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        run.rules += 1;
        run.created += g.created;
        run.skipped += g.skipped.len() as u64;
    }
    Ok(run)
}

/// Generates every `interval` (the first run at once) until `stop` turns true.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    horizon_days: i64,
    interval: Duration,
    health: std::sync::Arc<super::health::JobHealth>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let step = generate_once(&*store, horizon_days);
                if let Some(r) = health.step(super::health::SCHEDULES, step).await {
                    tracing::info!(rules = r.rules, created = r.created, skipped = r.skipped, "schedules generated");
                }
            }
            _ = stop.changed() => break,
        }
    }
    tracing::debug!("schedule generator stopped");
}
