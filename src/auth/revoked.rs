//! Sessions ended before their access tokens expire (logout, password change, a disabled
//! account, a stolen refresh token), so those tokens stop working without a database read per
//! request: this instance learns of its own revocations at once and of other instances' within
//! one sync interval.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::domain::store::Store;
use crate::domain::{DomainResult, SessionId};

/// The revoked sessions whose access tokens may still be unexpired.
pub struct Revoked {
    ids: RwLock<HashMap<SessionId, Instant>>,
    /// How long an entry matters: the access-token lifetime.
    keep: Duration,
}

impl Revoked {
    /// An empty list whose entries matter for `keep`.
    pub fn new(keep: Duration) -> Self {
        Self {
            ids: RwLock::new(HashMap::new()),
            keep,
        }
    }

    /// Whether the session was revoked.
    pub fn contains(&self, id: SessionId) -> bool {
        self.ids.read().is_ok_and(|m| m.contains_key(&id))
    }

    /// Adds a session revoked here.
    pub fn add(&self, id: SessionId) {
        if let Ok(mut m) = self.ids.write() {
            m.insert(id, Instant::now());
        }
    }

    /// One sync step: adds the sessions revoked in the database within the access-token
    /// lifetime, and forgets entries older than that. Tests call it directly.
    pub async fn sync(&self, store: &dyn Store) -> DomainResult<usize> {
        let within = self.keep.as_secs() as i64 + 60;
        let ids = store.revoked_sessions(within).await?;
        let n = ids.len();
        if let Ok(mut m) = self.ids.write() {
            let now = Instant::now();
            for id in ids {
                m.entry(id).or_insert(now);
            }
            let keep = self.keep + Duration::from_secs(60);
            m.retain(|_, at| now.duration_since(*at) <= keep);
        }
        Ok(n)
    }
}
