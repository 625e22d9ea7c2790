//! HTTP integration tests: every route against the real server, on PostgreSQL and SQLite.

mod common;

mod appointments;
mod concurrency;
mod doctors;
mod operations;
mod patients;
mod privacy;
mod slots;
