//! The port every database adapter implements: one method per use case.
//!
//! Each write is a single transaction on the adapter's side that also writes its audit row,
//! retried by the adapter on serialization failures. The errors each method MUST return are
//! listed on it; anything else is `Unavailable` (database down, contention outlasted retries)
//! or `Internal`.
//!
//! Pure reads (the `get_*` and `list_*` of the catalogue and appointments, availability,
//! history, the user list and the access log) may be served by a read replica and then lag the
//! latest commit by the replication delay. Every read that decides who someone is or what they
//! may do (credentials, sessions, revocations, login throttling, `has_care_relationship`) reads
//! the primary, and a caller that must see its own write reads through [`Store::primary`].

mod accounts;
mod appointments;
mod people;
mod schedules;
mod slots;

use async_trait::async_trait;

use crate::domain::DomainResult;

pub use accounts::{AccessStore, AccountStore, SessionStore};
pub use appointments::{
    Actor, AppointmentFilter, AppointmentReads, AppointmentStore, Booked, DaySheet, Housekeeping,
    IdempotencyKey, Reach,
};
pub use people::PeopleStore;
pub use schedules::ScheduleStore;
pub use slots::SlotStore;

/// A connection pool's state at one moment, for metrics.
#[derive(Debug, Clone)]
pub struct PoolStats {
    /// `write` or `read`.
    pub name: &'static str,
    /// Connections open.
    pub size: u32,
    /// Of those, connections not in use.
    pub idle: u32,
    /// Most connections the pool may open.
    pub max: u32,
    /// How long taking one connection took just now (`None` if it took over a second).
    pub acquire: Option<std::time::Duration>,
}

/// How far a read replica is behind its primary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaLag {
    /// WAL the primary has written that the replica has not replayed yet, in bytes.
    pub bytes: f64,
    /// Since the last transaction the replica replayed, while it has more to replay; 0 when it
    /// has replayed everything it received.
    pub seconds: f64,
}

/// The use cases carebook needs from a database: one port per aggregate, and the
/// operations of the database itself.
#[async_trait]
pub trait Store:
    PeopleStore
    + SlotStore
    + AppointmentStore
    + AppointmentReads
    + Housekeeping
    + ScheduleStore
    + AccountStore
    + SessionStore
    + AccessStore
    + crate::domain::credentials::CredentialStore
    + crate::domain::outbox::NotifyStore
    + crate::domain::waitlist::WaitlistStore
    + crate::domain::webhook::WebhookStore
    + crate::domain::review::ReviewStore
    + Send
    + Sync
    + 'static
{
    /// Answers when the (primary) database does. Errors: `Unavailable`.
    async fn ping(&self) -> DomainResult<()>;
    /// Whether the read replica answers; `None` when there is none. Errors: `Unavailable`.
    async fn ping_replica(&self) -> Option<DomainResult<()>> {
        None
    }
    /// How far the read replica is behind the primary; `None` when there is none. Errors:
    /// `Unavailable`.
    async fn replica_lag(&self) -> Option<DomainResult<ReplicaLag>> {
        None
    }
    /// Whether pure reads go to a read replica.
    fn has_replica(&self) -> bool {
        false
    }
    /// Where the primary's WAL ends now, as a position [`Store::replayed`] compares; `None`
    /// when pure reads do not go to a replica. Errors: `Unavailable`.
    async fn write_position(&self) -> Option<DomainResult<u64>> {
        None
    }
    /// Whether the read replica has replayed the primary's WAL up to `position`, so that its
    /// reads show every write committed before that position was taken; `true` without a
    /// replica. Errors: `Unavailable`.
    async fn replayed(&self, _position: u64) -> DomainResult<bool> {
        Ok(true)
    }
    /// This store with every read on the primary, for a read that decides a write or must see
    /// a write just made; `self` when there is no replica.
    fn primary(&self) -> &dyn Store;
    /// Closes every connection; later calls fail with `Unavailable`.
    async fn close(&self);
    /// The state of each connection pool, for metrics.
    async fn pool_stats(&self) -> Vec<PoolStats>;
}
