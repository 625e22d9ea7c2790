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
