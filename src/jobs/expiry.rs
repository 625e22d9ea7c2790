//! The expiry sweeper: marks overdue holds EXPIRED and releases their seats.

use std::time::Duration;

use tokio::sync::watch;

use crate::domain::store::Store;
use crate::domain::DomainResult;

/// Holds expired per statement; a sweep runs batches until one comes back short.
pub const BATCH: i64 = 500;
/// Most batches in one sweep, so one sweep never runs unbounded.
const MAX_BATCHES: usize = 20;
/// Idempotency keys are kept at least this long.
pub const KEY_RETENTION_SECS: i64 = 24 * 60 * 60;

/// One sweep: expires due holds in bounded batches and purges old idempotency keys, throttling
/// windows and links.
/// Returns how many holds it expired.
pub async fn sweep_once(store: &dyn Store) -> DomainResult<u64> {
    let swept = sweep(store).await;
    crate::observability::sweep(swept.is_ok(), *swept.as_ref().unwrap_or(&0));
    swept
}

async fn sweep(store: &dyn Store) -> DomainResult<u64> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = store.expire_due(BATCH).await?;
        total += n;
        if n < BATCH as u64 {
            break;
        }
    }
    store.purge_idempotency_keys(KEY_RETENTION_SECS).await?;
    // Throttling windows and e-mailed links a day past their end.
    store.purge_credentials().await?;
    Ok(total)
}

/// Sweeps every `interval`, the first time one interval after start, until `stop` turns true.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    interval: Duration,
    health: std::sync::Arc<super::health::JobHealth>,
    mut stop: watch::Receiver<bool>,
) {
    // Not at once. A sweep at start buys nothing: a booking that finds no seat expires its
    // slot's overdue holds itself, and reads already show them EXPIRED. And a start-up sweep
    // can run seconds late (its pool retrying a connection PostgreSQL refuses at
    // `max_connections`, or its retried serialization failures), racing whatever else expires
    // the same holds at that moment, such as a sweep a test drives itself.
    let first = tokio::time::Instant::now() + interval;
    let mut tick = tokio::time::interval_at(first, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => match health.step(super::health::EXPIRY, sweep_once(&*store)).await {
                Some(0) | None => {}
                Some(n) => tracing::info!(expired = n, "expired unconfirmed holds"),
            },
            _ = stop.changed() => break,
        }
    }
    tracing::debug!("expiry sweeper stopped");
}
