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
mod outcome;
pub mod tables;

pub use export::export;
pub use import::{import, ImportOptions};
pub use outcome::{Summary, TransferError};
