//! How the PostgreSQL pools connect: their size, the limits each connection runs with, and
//! how transactions begin behind a transaction pooler.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::tx_pool::TxPool;
use crate::config::DbSettings;
use crate::store::options::StoreOptions;

/// How the read pools' transactions begin behind a transaction pooler.
pub(super) const READS: &str = "ISOLATION LEVEL READ COMMITTED READ ONLY";

/// `pool` as a [`TxPool`]: straight to PostgreSQL with the statement cache on; otherwise
/// behind a pooler, each transaction opening with `BEGIN mode` and the limits.
pub(super) fn tx_pool(opts: &StoreOptions, pool: PgPool, mode: &str) -> TxPool {
    if opts.db.statement_cache {
        TxPool::direct(pool)
    } else {
        TxPool::pooled(pool, mode, &limits(&opts.db))
    }
}

/// `base` with the server-side limits and `session` settings every pooled connection runs
/// with, sent as startup options. With the statement cache off (behind a transaction-pooling
/// PgBouncer, which refuses startup options and would not keep them on the server connection a
/// transaction lands on) nothing is sent: every transaction sets the isolation level and the limits itself
/// ([`TxPool`]).
pub(super) fn startup(
    base: PgConnectOptions,
    db: &DbSettings,
    session: &[(&str, &str)],
) -> PgConnectOptions {
    if !db.statement_cache {
        return base.statement_cache_capacity(0);
    }
    let limits = limits(db);
    base.options(limits.iter().map(|(k, v)| (*k, v.as_str())))
        .options(session.iter().copied())
}

/// `base` for pure reads. They are single statements, each consistent in its own snapshot at
/// READ COMMITTED. Running them SERIALIZABLE would only add predicate locks, which cost CPU and
/// make concurrent bookings fail serialization checks against readers (and a hot standby
/// refuses SERIALIZABLE).
pub(super) fn read_only(base: PgConnectOptions, db: &DbSettings) -> PgConnectOptions {
    startup(
        base,
        db,
        &[
            // PostgreSQL splits `options` on spaces unless escaped.
            ("default_transaction_isolation", "read\\ committed"),
            ("default_transaction_read_only", "on"),
        ],
    )
}

/// The server-side limits every pooled connection runs with, in milliseconds. A statement
/// blocked on a lock gives up after `lock_timeout` and any statement after
/// `statement_timeout`, so the database itself stops work whose request is being answered 503.
pub(super) fn limits(t: &DbSettings) -> [(&'static str, String); 3] {
    let ms = |d: std::time::Duration| d.as_millis().to_string();
    [
        ("statement_timeout", ms(t.statement)),
        ("lock_timeout", ms(t.lock)),
        (
            "idle_in_transaction_session_timeout",
            ms(t.idle_in_transaction),
        ),
    ]
}

pub(super) fn pool_options(opts: &StoreOptions) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(opts.pool_size)
        // No ping before every query: it doubles the round trips of a booking. A connection
        // broken by a server restart fails its next query once (503, Retry-After) and is then
        // dropped by the pool.
        .test_before_acquire(false)
        .min_connections(1)
        .acquire_timeout(opts.db.acquire)
}
