//! Telling people about appointment changes after they commit: the outbox worker
//! ([`worker`]), its channels ([`email`], [`webhook`]) and the reminder step ([`reminders`]).

mod channels;
pub mod email;
mod notice;
pub mod reminders;
pub mod webhook;
pub mod worker;

pub use channels::Channels;
pub use notice::{DeliveryError, Notice};
