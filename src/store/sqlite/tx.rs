//! What the SQLite modules share about transactions: the write lock taken up front, the
//! database clock, instants in the stored format, and the mapping of a unique violation.

use chrono::{DateTime, Datelike, Utc};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::domain::DomainResult;
use crate::store::retry::{in_tx, TxError};

pub(super) use crate::store::accounts::lite::record_write;

/// The pool a use case runs on: the writer (one connection) or the readers.
pub(super) type Pool = SqlitePool;

/// A write transaction that holds the database's write lock from its first statement.
pub(super) type WriteTx = Transaction<'static, Sqlite>;

/// A read transaction whose statements all see one snapshot.
pub(super) type ReadTx = Transaction<'static, Sqlite>;

/// Runs `read` in one transaction, so that a list's total and its page (and any existence
/// check before them) come from the same snapshot. `read` hands the transaction back so it
/// can be committed; the whole of it is retried like any transaction.
pub(super) async fn snapshot<T, F, Fut>(pool: &SqlitePool, read: F) -> DomainResult<T>
where
    F: Fn(ReadTx) -> Fut,
    Fut: std::future::Future<Output = Result<(T, ReadTx), TxError>>,
{
    in_tx(|| pool.begin(), read).await
}

/// The database.
pub(super) type Db = Sqlite;

/// Begins an outbox write's transaction: a write transaction like any other.
pub(super) async fn begin_queue(pool: &SqlitePool) -> Result<WriteTx, sqlx::Error> {
    begin_write(pool).await
}

/// Begins a write transaction on the writer pool with `BEGIN IMMEDIATE`, so the write lock is
/// taken up front instead of on the first write (where upgrading could fail with SQLITE_BUSY).
pub(super) async fn begin_write(pool: &SqlitePool) -> Result<WriteTx, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// The database clock's current instant, read once per transaction so that every row the
/// transaction writes, and every decision it makes, uses the same "now".
pub(super) async fn db_now(conn: &mut SqliteConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(concat!("SELECT ", now_sql!()))
        .fetch_one(conn)
        .await
}

/// An instant as stored: fixed-format UTC text.
pub(super) type Instant = String;

/// A new slot's id: time-ordered, so that new rows land at one end of their indexes.
pub(super) fn slot_id() -> crate::domain::SlotId {
    crate::domain::SlotId::time_ordered()
}

/// An instant computed in Rust, in the stored text format (must match `now_sql!`); `None`
/// outside the years 0000..=9999, which the fixed-width format cannot hold.
pub(super) fn instant(t: DateTime<Utc>) -> Option<String> {
    (0..=9999)
        .contains(&t.year())
        .then(|| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Runs `work` in one write transaction (see [`begin_write`]) and commits it, the whole
/// retried on a serialization failure (see [`in_tx`]).
pub(super) async fn in_write<T, F, Fut>(pool: &SqlitePool, work: F) -> DomainResult<T>
where
    F: Fn(WriteTx) -> Fut,
    Fut: std::future::Future<Output = Result<(T, WriteTx), TxError>>,
{
    in_tx(|| begin_write(pool), work).await
}
