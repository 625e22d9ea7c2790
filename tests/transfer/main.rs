//! `carebook export` / `carebook import` end to end, and the README's backup and restore steps
//! actually run (pg_dump/pg_restore, sqlite3 VACUUM INTO), each checked by comparing every API
//! read of the copy with the original.

mod backup;
mod coverage;
mod harness;
mod populate;
mod reads;
mod refusals;
mod roundtrip;
