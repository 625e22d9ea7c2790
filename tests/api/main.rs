//! HTTP integration tests: every route against the real server, on PostgreSQL and SQLite.

mod common;

mod abuse;
mod access_matrix;
mod access_ownership;
mod appointments;
mod audit_access;
mod audit_integrity;
mod backpressure;
mod concurrency;
mod contract;
mod doctors;
mod email;
mod hostile;
mod instances;
mod lock_hold;
mod metrics;
mod no_show;
mod operations;
mod patients;
mod pgbouncer;
mod privacy;
mod replica;
mod reschedule;
mod schedules;
mod search;
mod second_factor;
mod serialization;
mod slots;
mod store_contract;
mod time_off;
mod tokens;
