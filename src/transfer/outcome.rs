//! What an export or import did, or why it failed.

use std::path::PathBuf;

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
