//! Read-your-writes with a read replica. After a caller's write, that caller's reads go to the
//! primary until the replica has replayed it: the primary's WAL position taken right after the
//! write is the fence, and each later read of the caller asks the replica whether it has
//! replayed past it (GitLab's database load balancer works this way). Other callers keep
//! reading from the replica. Without a replica nothing is recorded or asked.
//!
//! The position is read after the answer is on its way, never before: a committed write is not
//! held back, or turned into a timeout, by a busy primary. Until it arrives the caller's reads
//! go to the primary without asking the replica.
//!
//! Limits: the fences are this instance's (behind a load balancer that does not keep a caller
//! on one instance, a read that reaches another instance right after a write may come from a
//! replica that lags it); a replica that errs or takes over [`WAIT`] to answer is read from
//! as for everyone (there is no fallback to the primary, `docs/decisions.md`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;

use crate::domain::store::Store;
use crate::domain::UserId;
use crate::store::routing;

/// How long a fence is kept at the most: a replica that far behind is an outage for
/// `/health/ready` and the lag metrics, not something to route around indefinitely.
const KEEP: Duration = Duration::from_secs(600);
/// How long the replica's answer whether it has replayed a fence is waited for, and the
/// primary's position after a write, at the most.
const WAIT: Duration = Duration::from_secs(1);
/// How many callers' fences are kept at the most; past it new ones are not taken until
/// lapsed ones are dropped (those callers read from the replica meanwhile).
const MAX: usize = 100_000;

/// One caller's fence: the highest position known, the writes whose position is still being
/// read, and when it was last moved.
#[derive(Clone, Copy)]
struct Fence {
    at: u64,
    reading: u32,
    since: Instant,
}

/// The callers whose last write the replica may not have replayed yet.
#[derive(Default)]
pub struct Fences {
    pending: Mutex<HashMap<UserId, Fence>>,
}

impl Fences {
    /// Runs a signed-in caller's `request`: a read's pure reads on the primary while a write of
    /// theirs is not replayed. After a write it answers with success, the caller's new fence
    /// (see [`Fences::wrote`]). Without a replica it only runs the request.
    pub async fn run<F>(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        user: UserId,
        writes: bool,
        request: F,
    ) -> Response
    where
        F: Future<Output = Response>,
    {
        if !store.has_replica() {
            return request.await;
        }
        // A write's own reads go where they always do: it never waits on the replica.
        let on_primary = !writes && self.unreplayed(&**store, user).await;
        let res = routing::scope(on_primary, request).await;
        if writes && res.status().is_success() {
            self.wrote(store, user);
        }
        res
    }

    /// Takes a fence for `user`, who has just written: their reads go to the primary at once,
    /// and the primary's position, read in the background, becomes the fence.
    pub fn wrote(self: &Arc<Self>, store: &Arc<dyn Store>, user: UserId) {
        if !store.has_replica() || !self.begin(user) {
            return;
        }
        let (fences, store) = (self.clone(), store.clone());
        tokio::spawn(async move {
            let at = match tokio::time::timeout(WAIT, store.write_position()).await {
                Ok(Some(Ok(at))) => Some(at),
                _ => None,
            };
            fences.end(user, at);
        });
    }

    /// Whether the caller has a write the replica has not replayed; the fence goes once it
    /// has.
    async fn unreplayed(&self, store: &dyn Store, user: UserId) -> bool {
        let Some(fence) = self.lock().get(&user).copied() else {
            return false;
        };
        if fence.reading > 0 {
            return true;
        }
        if fence.since.elapsed() > KEEP {
            self.forget(user, fence.at);
            return false;
        }
        match tokio::time::timeout(WAIT, store.replayed(fence.at)).await {
            Ok(Ok(true)) => {
                self.forget(user, fence.at);
                false
            }
            Ok(Ok(false)) => true,
            Ok(Err(_)) | Err(_) => false,
        }
    }

    /// Counts a write whose position is being read; `false` when no fence can be taken.
    fn begin(&self, user: UserId) -> bool {
        let mut pending = self.lock();
        if pending.len() >= MAX && !pending.contains_key(&user) {
            pending.retain(|_, f| f.reading > 0 || f.since.elapsed() <= KEEP);
            if pending.len() >= MAX {
                return false;
            }
        }
        let fence = pending.entry(user).or_insert(Fence {
            at: 0,
            reading: 0,
            since: Instant::now(),
        });
        fence.reading += 1;
        fence.since = Instant::now();
        true
    }

    /// Settles a write's position: the fence moves to it, or, when it could not be read, the
    /// fence keeps what it had (and goes once nothing is left to wait for).
    fn end(&self, user: UserId, at: Option<u64>) {
        let mut pending = self.lock();
        let Some(fence) = pending.get_mut(&user) else {
            return;
        };
        fence.reading = fence.reading.saturating_sub(1);
        fence.at = fence.at.max(at.unwrap_or(0));
        if fence.reading == 0 && fence.at == 0 {
            pending.remove(&user);
        }
    }

    /// Drops the caller's fence unless a later write has moved it meanwhile.
    fn forget(&self, user: UserId, at: u64) {
        let mut pending = self.lock();
        if pending
            .get(&user)
            .is_some_and(|f| f.reading == 0 && f.at <= at)
        {
            pending.remove(&user);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Fence>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}
