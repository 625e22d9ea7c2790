//! Keeps this instance in step with the database: its list of revoked sessions, so a logout or
//! a disabled account on another instance stops its access tokens here too, and its signing
//! keys, so a rotation (new key signs, retired keys stop verifying) reaches it — each within
//! one interval. Each instance only reads: any number can run on one database.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::Auth;
use crate::domain::store::Store;
use crate::domain::DomainResult;

/// Seconds between syncs.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// One sync step (tests call it directly). Returns how many revoked sessions are recent.
pub async fn sync_once(store: &dyn Store, auth: &Auth) -> DomainResult<usize> {
    auth.keys.reload().await?;
    auth.revoked.sync(store).await
}

/// Syncs every [`INTERVAL`] until `stop` turns true.
pub async fn run(
    store: Arc<dyn Store>,
    auth: Arc<Auth>,
    health: Arc<super::health::JobHealth>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                health.step(super::health::REVOCATIONS, sync_once(&*store, &auth)).await;
            }
            _ = stop.changed() => break,
        }
    }
}
