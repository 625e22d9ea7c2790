//! Background jobs.

pub mod expiry;
pub mod generation;
pub mod health;
pub mod revocations;
