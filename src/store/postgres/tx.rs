//! What the PostgreSQL modules share about transactions: a consistent read of several
//! statements, and the mapping of a unique violation to the duplicate it means.

use super::tx_pool::TxPool;
use crate::domain::DomainResult;
use crate::store::retry::{in_tx, TxError};

pub(super) use crate::store::accounts::pg::record_write;

/// The pool every use case runs on (writes on the primary, reads wherever they are sent).
pub(super) type Pool = TxPool;

/// A read-only transaction whose statements all see one snapshot.
pub(super) type ReadTx = sqlx::Transaction<'static, sqlx::Postgres>;

/// A write transaction (SERIALIZABLE, as every transaction of the pool).
pub(super) type WriteTx = sqlx::Transaction<'static, sqlx::Postgres>;

/// An instant as stored: any instant fits `timestamptz`.
pub(super) type Instant = chrono::DateTime<chrono::Utc>;

/// An instant as stored (see `crate::store::shared::slots`).
pub(super) fn instant(t: Instant) -> Option<Instant> {
    Some(t)
}

/// A new slot's id: random, so that neighbouring keys do not share index pages (see
/// [`crate::domain::SlotId::time_ordered`]).
pub(super) fn slot_id() -> crate::domain::SlotId {
    crate::domain::SlotId::random()
}

/// The database.
pub(super) type Db = sqlx::Postgres;

/// Rolls `tx` back, then hands back `e`, the error that ended it. For transactions whose
/// retry looks for rows with `SKIP LOCKED`: a dropped transaction's ROLLBACK is only queued on
/// its connection and sent once the pool has taken the connection back, in a task of its own a
/// moment later; until then the rows the failed attempt locked stay locked, and the retry,
/// on another connection, passes over them (a sweep found none of the holds it was due to
/// expire).
pub(super) async fn roll_back(tx: WriteTx, e: sqlx::Error) -> sqlx::Error {
    // The error that ended the transaction is the one to report; a failed rollback leaves the
    // transaction to the queued rollback, as before.
    let _ = tx.rollback().await;
    e
}

/// Begins an outbox write's transaction: READ COMMITTED, as row locks and the lease keep the
/// outbox safe (see `outbox.rs`), and planned for the data at each run like the claim.
pub(super) async fn begin_queue(pool: &TxPool) -> Result<WriteTx, sqlx::Error> {
    pool.begin_replanned_with("ISOLATION LEVEL READ COMMITTED")
        .await
}

/// Begins a write transaction.
pub(super) async fn begin_write(pool: &TxPool) -> Result<WriteTx, sqlx::Error> {
    pool.begin().await
}

/// Runs `read` in one REPEATABLE READ, read-only transaction, so that a list's total and its
/// page (and any existence check before them) come from the same snapshot. `read` hands the
/// transaction back so it can be committed; the whole of it is retried like any transaction.
pub(super) async fn snapshot<T, F, Fut>(pool: &TxPool, read: F) -> DomainResult<T>
where
    F: Fn(ReadTx) -> Fut,
    Fut: std::future::Future<Output = Result<(T, ReadTx), TxError>>,
{
    in_tx(
        || pool.begin_with("ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        read,
    )
    .await
}

/// Runs `work` in one write transaction (see [`begin_write`]) and commits it, the whole
/// retried on a serialization failure (see [`in_tx`]).
pub(super) async fn in_write<T, F, Fut>(pool: &TxPool, work: F) -> DomainResult<T>
where
    F: Fn(WriteTx) -> Fut,
    Fut: std::future::Future<Output = Result<(T, WriteTx), TxError>>,
{
    in_tx(|| begin_write(pool), work).await
}
