//! What opening a store takes and can fail with, and what the adapters share about their pools.

use crate::domain::store::PoolStats;

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
    /// How the waitlist's offers are made (hold length, hold cap), as bookings are.
    pub terms: crate::domain::waitlist::OfferTerms,
    /// The notice windows that bind patients (`MIN_NOTICE_MINUTES`), checked inside the use
    /// case, after an idempotent replay has had its answer.
    pub notice: crate::domain::reschedule::Notice,
}
