//! The SQLite store's handle: its pools and what its use cases share.

use sqlx::SqlitePool;

use super::group;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write use case, one at a time.
    pub(super) writer: SqlitePool,
    /// Pure reads.
    pub(super) reader: SqlitePool,
    /// How waitlist offers are made.
    pub(super) terms: crate::domain::waitlist::OfferTerms,
    /// The notice windows that bind patients.
    pub(super) notice: crate::domain::reschedule::Notice,
    /// The writer task bookings and transitions queue to, so that several share one
    /// transaction and one fsync; `None` (each runs alone) outside a Tokio runtime.
    pub(super) group: Option<group::GroupCommit>,
}

impl SqliteStore {
    /// The pool of transactions that write.
    pub(super) fn writes(&self) -> &SqlitePool {
        &self.writer
    }
    /// The pool of reads that must see the latest commit.
    pub(super) fn fresh(&self) -> &SqlitePool {
        &self.reader
    }
    /// The pool of pure reads (a replica's, when there is one).
    pub(super) fn reads(&self) -> &SqlitePool {
        &self.reader
    }

    /// The writer pool (one connection), for tests and tools that need raw access.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The reader pool, for tests and tools that need raw access.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}
