//! The PostgreSQL store's handle: its pools and what its use cases share.

use std::sync::Arc;

use super::tx_pool::TxPool;
use crate::domain::SlotId;
use crate::store::gate::SlotGate;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    /// SERIALIZABLE connections for every use case that writes.
    pub(super) pool: TxPool,
    /// READ COMMITTED, read-only connections for pure reads: on the replica when
    /// `DATABASE_READ_URL` is set, else on the primary (then the same pool as `fresh`).
    pub(super) reader: TxPool,
    /// READ COMMITTED, read-only connections on the primary, for reads that must see the latest
    /// commit: who someone is, what they may do, what a write is about to change.
    pub(super) fresh: TxPool,
    /// This store with its pure reads on the primary too; `None` when they already are.
    pub(super) on_primary: Option<Arc<PgStore>>,
    /// How waitlist offers are made.
    pub(super) terms: crate::domain::waitlist::OfferTerms,
    /// The notice windows that bind patients.
    pub(super) notice: crate::domain::reschedule::Notice,
    /// The in-process queue per slot for seat-changing writes, shared with `on_primary`.
    pub(super) gate: Arc<SlotGate<SlotId>>,
}

impl PgStore {
    /// The pool of transactions that write.
    pub(super) fn writes(&self) -> &TxPool {
        &self.pool
    }
    /// The pool of reads that must see the latest commit.
    pub(super) fn fresh(&self) -> &TxPool {
        &self.fresh
    }
    /// The pool of pure reads: a replica's, when there is one, unless the request's caller
    /// must read their own writes the replica has not replayed yet (see
    /// [`crate::store::routing`]).
    pub(super) fn reads(&self) -> &TxPool {
        if crate::store::routing::on_primary() {
            &self.fresh
        } else {
            &self.reader
        }
    }
}
