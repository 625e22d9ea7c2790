//! How the stores build their statements, so that one setting decides whether PostgreSQL keeps
//! them prepared on the connection.
//!
//! By default sqlx prepares each statement once per connection under a name and reuses it: one
//! parse and plan saved on every execution. A transaction-pooling PgBouncer (Debian's 1.18
//! predates its prepared-statement support) hands each transaction to whichever server
//! connection is free, where that name does not exist. With `DB_STATEMENT_CACHE=off` every
//! statement is sent unnamed instead: parsed again each time, but valid on any server
//! connection. sqlx still names statements with its cache set to zero, so the choice has to be
//! made on every query, here.

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::database::HasStatementCache;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Database, FromRow};

/// Set once any store of this process runs with its statement cache off. One-way on purpose:
/// unnamed statements are correct everywhere, named ones are not, so a process that opens
/// stores of both kinds (the test suite does) sends every statement unnamed from then on.
static UNNAMED: AtomicBool = AtomicBool::new(false);

/// Sends every statement of this process unnamed from now on.
pub fn send_unnamed() {
    UNNAMED.store(true, Ordering::Relaxed);
}

/// Whether statements are kept prepared (named) on their connection.
pub fn named() -> bool {
    !UNNAMED.load(Ordering::Relaxed)
}

/// [`sqlx::query`], named or not per [`named`].
pub fn query<DB: Database + HasStatementCache>(
    sql: &str,
) -> Query<'_, DB, <DB as Database>::Arguments<'_>> {
    sqlx::query(sql).persistent(named())
}

/// [`sqlx::query_as`], named or not per [`named`].
pub fn query_as<'q, DB, O>(sql: &'q str) -> QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>>
where
    DB: Database + HasStatementCache,
    O: for<'r> FromRow<'r, DB::Row>,
{
    sqlx::query_as(sql).persistent(named())
}

/// [`sqlx::query_scalar`], named or not per [`named`].
pub fn query_scalar<'q, DB, O>(
    sql: &'q str,
) -> QueryScalar<'q, DB, O, <DB as Database>::Arguments<'q>>
where
    DB: Database + HasStatementCache,
    (O,): for<'r> FromRow<'r, DB::Row>,
{
    sqlx::query_scalar(sql).persistent(named())
}
