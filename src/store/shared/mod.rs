//! The use cases both adapters run the same way, written once.
//!
//! Each module here holds a macro that an adapter expands in its own module of that name; the
//! statements take `$n` placeholders and `RETURNING`, which both databases accept. The
//! expansion site supplies the dialect seam, so the macro body names it without a path:
//! - `now_sql!()`: the SQL of the current instant (PostgreSQL's `now()`; SQLite's fixed-format
//!   UTC text, the format every stored instant has);
//! - `lock_sql!()`: the row-lock clause of a read before a write (`FOR UPDATE`; nothing on
//!   SQLite, whose write transactions hold the database's write lock from their first
//!   statement);
//! - `seq_sql!()`: the column that keeps rows created in the same instant in creation order
//!   (`id` on PostgreSQL, whose instants are microseconds apart in practice; `rowid` on SQLite,
//!   whose instants are milliseconds);
//! - `super::tx`: `Pool` (the pool writes run on), `begin_write` (a write transaction: SERIALIZABLE,
//!   or `BEGIN IMMEDIATE`), `snapshot` (several reads that see one snapshot) and
//!   `record_write` (the access record of a person's write, in the write's transaction).
//!
//! What really differs stays in the adapters: booking and moves (one data-modifying statement
//! on PostgreSQL, the group-commit writer on SQLite) and patient search (full-text index and
//! FTS5).

pub(crate) mod outbox;
pub(crate) mod people;
pub(crate) mod reads;
pub(crate) mod reviews;
pub(crate) mod schedules;
pub(crate) mod slots;
pub(crate) mod waitlist;
pub(crate) mod webhooks;

/// In a read transaction `$tx`: the total `$count` counts and the page of `$list` (whose last
/// two placeholders are the limit and the offset), both bound with the same `$arg`s first.
macro_rules! count_and_page {
    ($tx:ident, $count:expr, $list:expr, $page:expr $(, $arg:expr)*) => {{
        let total: i64 = crate::store::statements::query_scalar($count)
            $(.bind($arg))*
            .fetch_one(&mut *$tx)
            .await?;
        let items = crate::store::statements::query_as($list)
            $(.bind($arg))*
            .bind($page.limit)
            .bind($page.offset)
            .fetch_all(&mut *$tx)
            .await?;
        (total, items)
    }};
}
pub(crate) use count_and_page;

use crate::domain::DomainError;
use crate::store::retry::TxError;

/// Maps a unique violation on one of `columns` (`table.column`, with the message that the
/// column's value is taken) to `Duplicate(message)`; leaves other errors alone. PostgreSQL
/// names the violated constraint (`table_column_key`), SQLite names the column in its message;
/// the database's text is only matched, never shown.
pub(crate) fn on_unique(e: sqlx::Error, columns: &[(&str, &str)]) -> TxError {
    if let Some(db) = e.as_database_error() {
        if db.is_unique_violation() {
            let text = db.message();
            let constraint = db.constraint().unwrap_or_default();
            let hit = columns.iter().find(|(column, _)| {
                text.contains(column) || constraint == format!("{}_key", column.replace('.', "_"))
            });
            if let Some((_, message)) = hit {
                return TxError::Domain(DomainError::Duplicate((*message).to_owned()));
            }
        }
    }
    TxError::Db(e)
}

/// What a write that finds `message`'s value taken answers.
pub(crate) fn duplicate(message: &str) -> TxError {
    TxError::Domain(DomainError::Duplicate(message.to_owned()))
}
