//! The read replica (`DATABASE_READ_URL`): where pure reads go when one is set.
//!
//! A streaming replica answers what the primary had committed one replication delay ago, so only
//! reads that may be that stale use it (see [`crate::domain::store`]). Its pool is opened lazily:
//! a replica that is down at start-up, or later, makes pure reads answer 503 with `Retry-After`
//! and `/health/ready` report it, while bookings and every other write keep working on the
//! primary. Reads never fall back to the primary on their own: that would move the whole read
//! load onto the server the replica is there to relieve, at the moment nobody is looking.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};

use super::pools::{pool_options, read_only};
use crate::store::options::{OpenError, StoreOptions};
use crate::store::statements;

/// `application_name` of the pool serving pure reads (on the replica when there is one).
pub const READ_APP: &str = "carebook-read";
/// `application_name` of the read-only pool on the primary when a replica serves pure reads.
pub const READ_PRIMARY_APP: &str = "carebook-read-primary";

/// The replica's pool, not yet connected; `None` without `DATABASE_READ_URL`.
pub fn pool(opts: &StoreOptions) -> Result<Option<PgPool>, OpenError> {
    let Some(url) = opts.read_url.as_deref() else {
        return Ok(None);
    };
    let server = PgConnectOptions::from_str(url)
        .map_err(|e| OpenError::Config(format!("invalid DATABASE_READ_URL: {e}")))?
        .log_statements(tracing::log::LevelFilter::Trace);
    let reads = read_only(server, &opts.db).application_name(READ_APP);
    Ok(Some(pool_options(opts).connect_lazy_with(reads)))
}

/// How far the replica (`reader`) is behind the primary (`primary`): the primary's WAL
/// position, then how much of it the replica has still to replay, and for how long it has had
/// something to replay. The position is where WAL is inserted, not where it is written: with
/// `synchronous_commit = off` a commit is answered while its WAL is still in the primary's
/// buffers, and the replica lags that commit already.
pub async fn lag(
    primary: &super::tx_pool::TxPool,
    reader: &super::tx_pool::TxPool,
) -> crate::domain::DomainResult<crate::domain::store::ReplicaLag> {
    let written: String = statements::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&**primary)
        .await
        .map_err(unavailable)?;
    let (bytes, seconds): (Option<f64>, Option<f64>) = statements::query_as(
        "SELECT greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::float8,
                CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END",
    )
    .bind(written)
    .fetch_one(&**reader)
    .await
    .map_err(unavailable)?;
    Ok(crate::domain::store::ReplicaLag {
        bytes: bytes.unwrap_or(0.0),
        seconds: seconds.unwrap_or(0.0),
    })
}

/// The primary's WAL insert position (see [`lag`]), as a byte offset.
pub async fn position(primary: &super::tx_pool::TxPool) -> crate::domain::DomainResult<u64> {
    let at: i64 =
        statements::query_scalar("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
            .fetch_one(&**primary)
            .await
            .map_err(unavailable)?;
    Ok(at.max(0) as u64)
}

/// Whether the replica (`reader`) has replayed the primary's WAL up to `position`.
pub async fn replayed(
    reader: &super::tx_pool::TxPool,
    position: u64,
) -> crate::domain::DomainResult<bool> {
    // A reader that is not a standby (the primary itself, or a pooler's alias of it) has every
    // commit. A position at a page's start is reported past the page's header (24 bytes, or
    // 40 at a segment's start), where replay reports the end of the record before it. A
    // record that ends within a page's first 40 bytes spans the page's start, so replay past
    // that start has replayed it: the page's start is as good a fence, and is reached.
    let page = position % 8192;
    let position = if page <= 40 {
        position - page
    } else {
        position
    };
    statements::query_scalar(
        "SELECT NOT pg_is_in_recovery()
             OR coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0) >= $1",
    )
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .fetch_one(&**reader)
    .await
    .map_err(unavailable)
}

/// A replica or primary that did not answer the query.
fn unavailable(e: sqlx::Error) -> crate::domain::DomainError {
    crate::domain::DomainError::Unavailable(Box::new(e))
}
