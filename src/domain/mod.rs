//! Types, rules and the store port — no HTTP, no SQL.

pub mod appointment;
pub mod doctor;
mod error;
mod ids;
pub mod input;
pub mod page;
pub mod patient;
pub mod slot;
pub mod store;
pub mod validate;

pub use appointment::{Appointment, AppointmentDetail};
pub use error::{DomainError, DomainResult, FieldError};
pub use ids::{AppointmentId, DoctorId, PatientId, SlotId};
