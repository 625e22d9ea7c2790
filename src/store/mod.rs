//! Database adapters behind [`crate::domain::store::Store`], chosen from the URL scheme.

pub(crate) mod accounts;
mod binds;
pub(crate) mod credentials;
mod forward;
pub(crate) mod gate;
mod ids;
pub(crate) mod options;
mod outbox_rows;
pub mod postgres;
mod retry;
mod review_rows;
pub mod routing;
mod rows;
mod schedule_rows;
mod search;
pub(crate) mod shared;
mod slot_removal;
pub mod sqlite;
pub(crate) mod statements;
mod waitlist_rows;
mod webhook_rows;

use std::sync::Arc;

pub use options::{OpenError, StoreOptions};
pub use retry::{unavailable_cause, TxError};

use crate::dburl::Backend;
use crate::domain::store::Store;

/// Opens the store named by `opts.url`, creating the database if it is missing, and applies
/// pending migrations.
pub async fn open(opts: &StoreOptions) -> Result<Arc<dyn Store>, OpenError> {
    match Backend::from_url(&opts.url).map_err(OpenError::Config)? {
        Backend::Postgres => Ok(Arc::new(postgres::PgStore::open(opts).await?)),
        Backend::Sqlite => Ok(Arc::new(sqlite::SqliteStore::open(opts).await?)),
    }
}
