//! Read-your-writes with a read replica. After a caller's write, that caller's pure reads go
//! to the primary until the replica has replayed it: the primary's WAL position taken right
//! after the write is the fence, and each later request of the caller asks the replica whether
//! it has replayed past it (GitLab's database load balancer works this way). Other callers
//! keep reading from the replica. Without a replica nothing is recorded or asked.
//!
//! The fences are this instance's: behind a load balancer that does not keep a caller on one
//! instance, a request that reaches another instance right after a write may read from a
//! replica that has not replayed it yet.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::response::Response;

use crate::domain::store::Store;
use crate::domain::UserId;
use crate::store::routing;

/// How long a fence is kept at the most: a replica that far behind is an outage for
/// `/health/ready` and the lag metrics, not something to route around indefinitely.
const KEEP: Duration = Duration::from_secs(600);
/// How long a request waits for the primary's WAL position, or for the replica's answer
/// whether it has replayed past it, at the most.
const POSITION_WAIT: Duration = Duration::from_secs(1);
/// How many callers' fences are kept at the most; past it the oldest are dropped.
const MAX: usize = 100_000;

/// The callers whose last write the replica may not have replayed yet.
#[derive(Default)]
pub struct Fences {
    pending: Mutex<HashMap<UserId, (u64, Instant)>>,
}

impl Fences {
    /// Runs a signed-in caller's `request`: a read's pure reads on the primary while a write of
    /// theirs is not replayed; after a write it answers with success, the caller's new fence.
    pub async fn run<F>(
        &self,
        store: &dyn Store,
        user: UserId,
        writes: bool,
        request: F,
    ) -> Response
    where
        F: Future<Output = Response>,
    {
        // A write's own reads go where they always do: it never waits on the replica.
        let on_primary = !writes && self.unreplayed(store, user).await;
        let res = routing::scope(on_primary, request).await;
        if writes && res.status().is_success() {
            // The write is committed: its answer must not wait on a slow primary for long, and
            // without a position the caller's reads simply stay where everyone's are.
            let position = tokio::time::timeout(POSITION_WAIT, store.write_position()).await;
            if let Ok(Some(Ok(at))) = position {
                self.record(user, at);
            }
        }
        res
    }

    /// Whether the caller has a write the replica has not replayed; the fence goes once it
    /// has. A replica that does not answer is not routed around: the caller's reads fail there
    /// like everyone's (there is no fallback to the primary, see `docs/decisions.md`).
    async fn unreplayed(&self, store: &dyn Store, user: UserId) -> bool {
        let fence = self.lock().get(&user).copied();
        let Some((at, since)) = fence else {
            return false;
        };
        if since.elapsed() > KEEP {
            self.forget(user, at);
            return false;
        }
        match tokio::time::timeout(POSITION_WAIT, store.replayed(at)).await {
            Ok(Ok(true)) => {
                self.forget(user, at);
                false
            }
            Ok(Ok(false)) => true,
            Ok(Err(_)) | Err(_) => false,
        }
    }

    fn record(&self, user: UserId, at: u64) {
        let mut pending = self.lock();
        if pending.len() >= MAX && !pending.contains_key(&user) {
            let oldest = pending.iter().min_by_key(|(_, (_, t))| *t).map(|(u, _)| *u);
            if let Some(u) = oldest {
                pending.remove(&u);
            }
        }
        let entry = pending.entry(user).or_insert((at, Instant::now()));
        *entry = (entry.0.max(at), Instant::now());
    }

    /// Drops the caller's fence unless a later write has moved it meanwhile.
    fn forget(&self, user: UserId, at: u64) {
        let mut pending = self.lock();
        if pending.get(&user).is_some_and(|(p, _)| *p <= at) {
            pending.remove(&user);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (u64, Instant)>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}
