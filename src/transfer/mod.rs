//! `carebook export` and `carebook import`: every persistent row of a carebook database as a
//! versioned JSON-lines file that either backend can read back.
//!
//! The file (format `carebook-export`, version [`format::VERSION`]):
//!
//! ```text
//! {"format":"carebook-export","version":1,"source_backend":"sqlite","exported_at":"…Z","carebook_version":"0.1.0"}
//! {"table":"doctors","row":{"id":"3f2b6c1e-…","name":"Dr. Sarah Johnson",…,"is_active":true,"created_at":"2030-01-01T09:00:00.123000Z",…}}
//! …one line per row, tables in foreign-key order (see [`tables::TABLES`])…
//! {"end":{"doctors":3,"patients":12,…}}
//! ```
//!
//! Values are canonical whatever the backend stores: ids are hyphenated lower-case uuid
//! strings, instants RFC 3339 in UTC with microseconds, dates `YYYY-MM-DD`, times `HH:MM:SS`,
//! booleans JSON booleans. The last line counts the rows of each table, so a truncated file is
//! refused instead of half-imported.
//!
//! Export reads one snapshot (PostgreSQL `REPEATABLE READ READ ONLY`, SQLite one read
//! transaction) and never writes to the database. Import runs the migrations, refuses a database
//! that already holds data unless asked to add to it, and inserts everything in one
//! transaction, keeping every id; PostgreSQL's log sequences are moved past the imported ids.

mod cell;
mod connect;
mod export;
pub mod format;
mod import;
pub mod tables;

use std::path::PathBuf;

pub use export::export;
pub use import::{import, ImportOptions};

/// What an export or import did, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The backend read from (export) or the file's source backend (import).
    pub source_backend: String,
    /// `exported_at` of the file.
    pub exported_at: String,
    /// Rows per table, in file order.
    pub counts: Vec<(&'static str, u64)>,
}

impl Summary {
    /// `3 doctors, 12 patients, …`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        parts.join(", ")
    }
}

/// Why an export or import failed; each message is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{0}")]
    Config(String),
    #[error("cannot open the database: {0}")]
    Open(#[from] crate::store::OpenError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not one this carebook can read.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// The database holds something the format cannot carry, or refuses a row.
    #[error("{0}")]
    Data(String),
    /// The target already holds data and the import was not told to add to it.
    #[error(
        "the target database is not empty ({0}); import only into an empty database \
         (a new PostgreSQL database, or a SQLite path with no file yet), or pass \
         --allow-non-empty to add the file's rows to what is there"
    )]
    NotEmpty(String),
    /// The database's schema is not the one this carebook exports.
    #[error("{0}")]
    Schema(String),
}
