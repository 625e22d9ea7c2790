//! Types, rules and the store port — no HTTP, no SQL.

pub mod appointment;
pub mod booking;
pub mod calendar;
pub mod contact;
pub mod credentials;
pub mod doctor;
mod error;
mod ids;
pub mod outbox;
pub mod page;
pub mod patch;
pub mod patient;
pub mod reschedule;
pub mod review;
pub mod schedule;
pub mod search;
pub mod slot;
pub mod store;
pub mod text;
pub mod user;
pub mod waitlist;
pub mod webhook;

pub use appointment::{Appointment, AppointmentDetail};
pub use error::{DomainError, DomainResult, FieldError};
pub use ids::{
    parse_uuid, AppointmentId, DoctorId, PatientId, SessionId, SlotId, UserId, BAD_UUID,
};
pub use ids::{ScheduleId, TimeOffId};
