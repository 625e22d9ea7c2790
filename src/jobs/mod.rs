//! Background jobs.

pub mod expiry;
