//! Connections of the transfer's own: one connection, one transaction, no pool and none of the
//! request time limits (an export or import of a large database may take minutes).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, PgConnection, SqliteConnection};

use super::outcome::TransferError;
use crate::config::Settings;
use crate::dburl::Backend;

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A connection to either backend.
pub enum Conn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Connects to an existing database; never creates one.
pub async fn existing(url: &str) -> Result<Conn, TransferError> {
    let invalid = |e: sqlx::Error| TransferError::Config(format!("invalid DATABASE_URL: {e}"));
    Ok(
        match Backend::from_url(url).map_err(TransferError::Config)? {
            Backend::Postgres => Conn::Pg(
                PgConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .connect()
                    .await?,
            ),
            Backend::Sqlite => Conn::Sqlite(
                SqliteConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .create_if_missing(false)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .connect()
                    .await?,
            ),
        },
    )
}

/// Creates the database if it is missing and applies carebook's migrations, exactly as
/// `carebook migrate` does with the same settings, then connects.
pub async fn migrated(settings: &Settings) -> Result<Conn, TransferError> {
    let store = crate::startup::open_store(settings).await?;
    store.close().await;
    existing(&settings.database_url.0).await
}

/// Refuses a database whose applied migrations are not exactly this carebook's: an older
/// schema lacks columns the format carries, a newer one may hold data the format does not.
pub async fn check_schema(conn: &mut Conn) -> Result<(), TransferError> {
    const SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
    let (applied, known) = match conn {
        Conn::Pg(c) => (sqlx::query_scalar(SQL).fetch_all(c).await, &PG_MIGRATIONS),
        Conn::Sqlite(c) => (
            sqlx::query_scalar(SQL).fetch_all(c).await,
            &SQLITE_MIGRATIONS,
        ),
    };
    let applied: Vec<i64> = applied
        .map_err(|e| TransferError::Schema(format!("this is not a carebook database ({e})")))?;
    let known: Vec<i64> = known.iter().map(|m| m.version).collect();
    if applied.iter().any(|v| !known.contains(v)) {
        return Err(TransferError::Schema(
            "the database was migrated by a newer carebook; export it with that version".into(),
        ));
    }
    if applied != known {
        return Err(TransferError::Schema(
            "the database's schema is older than this carebook's; run `carebook migrate` first"
                .into(),
        ));
    }
    Ok(())
}
