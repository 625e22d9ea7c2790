//! Database adapters behind [`crate::domain::store::Store`], chosen from the URL scheme.

pub(crate) mod accounts;
mod binds;
pub(crate) mod credentials;
pub(crate) mod gate;
mod ids;
mod outbox_rows;
pub mod postgres;
mod retry;
mod review_rows;
mod rows;
mod schedule_rows;
mod search;
mod slot_removal;
pub mod sqlite;
pub(crate) mod statements;
mod waitlist_rows;
mod webhook_rows;

use std::sync::Arc;

pub use retry::{unavailable_cause, TxError};

use crate::dburl::Backend;
use crate::domain::store::{PoolStats, Store};

/// A pool's state for metrics, with one timed acquire.
pub(crate) async fn pool_stats<DB: sqlx::Database>(
    name: &'static str,
    pool: &sqlx::Pool<DB>,
) -> PoolStats {
    // Counted before the probe, whose own connection goes back to the pool asynchronously.
    let (size, idle) = (pool.size(), pool.num_idle());
    PoolStats {
        name,
        size,
        idle: u32::try_from(idle).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
        acquire: crate::observability::probe(pool.acquire()).await,
    }
}

/// The statements of one appointment list, in an adapter's SQL dialect: whose it is (for
/// `NotFound`), how to check they exist, the count and the page.
pub(crate) struct ListSql {
    pub owner: &'static str,
    pub exists: &'static str,
    pub count: &'static str,
    pub page: &'static str,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database file: {0}")]
    Io(#[from] std::io::Error),
}

/// Connection settings shared by both adapters.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    /// A PostgreSQL read replica for pure reads (`DATABASE_READ_URL`); `None` for the primary.
    pub read_url: Option<String>,
    pub pool_size: u32,
    /// Statement, lock, idle-in-transaction and pool-acquire limits.
    pub db: crate::config::DbSettings,
}

/// Opens the store named by `opts.url`, creating the database if it is missing, and applies
/// pending migrations.
pub async fn open(opts: &StoreOptions) -> Result<Arc<dyn Store>, OpenError> {
    match Backend::from_url(&opts.url).map_err(OpenError::Config)? {
        Backend::Postgres => Ok(Arc::new(postgres::PgStore::open(opts).await?)),
        Backend::Sqlite => Ok(Arc::new(sqlite::SqliteStore::open(opts).await?)),
    }
}
