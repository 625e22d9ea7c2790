//! Background jobs.

pub mod expiry;
pub mod revocations;
