//! The port of appointments.

use chrono::NaiveDate;

use crate::domain::appointment::{AppointmentStatus, AuditEntry, NewAppointment};
use crate::domain::page::{Page, Paged};
use crate::domain::user::{Accessor, Role};
use crate::domain::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, DomainResult, PatientId,
    SlotId,
};
use async_trait::async_trait;

/// Who or what made a change: recorded in the appointment audit trail and, for a person acting
/// through the API, in the PHI access log in the same transaction.
#[derive(Debug, Clone)]
pub struct Actor {
    /// A user id, or `system`.
    pub id: String,
    /// The user's role, or `system`.
    pub role: &'static str,
    /// The request a person made the change with; `None` for the sweeper.
    pub access: Option<Accessor>,
    /// Whose appointments the actor may change.
    pub reach: Reach,
}

/// Whose appointments an actor may change: the clinic's staff and the system any; a patient
/// only their own, a doctor only those on their own calendar. Checked inside each change's
/// transaction; an appointment out of reach is refused as if it did not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    #[default]
    Any,
    Patient(PatientId),
    Doctor(DoctorId),
}

impl Reach {
    /// The reach of a signed-in user of `role` linked to `patient` or `doctor`: a patient or
    /// doctor account without its link reaches nothing (the nil id matches no appointment).
    pub fn of(role: Role, patient: Option<PatientId>, doctor: Option<DoctorId>) -> Self {
        let nil = uuid::Uuid::nil();
        match role {
            Role::Admin | Role::Scheduler => Self::Any,
            Role::Patient => Self::Patient(patient.unwrap_or(PatientId(nil))),
            Role::Doctor => Self::Doctor(doctor.unwrap_or(DoctorId(nil))),
        }
    }

    /// `OutOfReach` unless an appointment of `patient` with `doctor` is within reach.
    pub fn check(self, patient: PatientId, doctor: DoctorId) -> DomainResult<()> {
        let within = match self {
            Self::Any => true,
            Self::Patient(p) => p == patient,
            Self::Doctor(d) => d == doctor,
        };
        if within {
            Ok(())
        } else {
            Err(DomainError::OutOfReach(patient))
        }
    }

    /// The patient whose appointments alone are within reach.
    pub fn patient(self) -> Option<PatientId> {
        match self {
            Self::Patient(p) => Some(p),
            _ => None,
        }
    }

    /// The doctor whose appointments alone are within reach.
    pub fn doctor(self) -> Option<DoctorId> {
        match self {
            Self::Doctor(d) => Some(d),
            _ => None,
        }
    }
}

impl Actor {
    /// The background expiry sweeper.
    pub fn system() -> Self {
        Self {
            id: "system".into(),
            role: "system",
            access: None,
            reach: Reach::Any,
        }
    }

    /// A signed-in user acting through a request, on the appointments within `reach`.
    pub fn user(access: Accessor, reach: Reach) -> Self {
        Self {
            id: access.user_id.to_string(),
            role: access.role.as_str(),
            access: Some(access),
            reach,
        }
    }
}

/// A client-supplied idempotency key with a fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// SHA-256 of the canonical request body, hex.
    pub fingerprint: String,
}

/// One day across the clinic: every doctor's slots (by doctor, then start) and the
/// appointments on them that are still live (not cancelled or expired), by start.
#[derive(Debug, Clone, Default)]
pub struct DaySheet {
    pub slots: Vec<crate::domain::slot::Slot>,
    pub appointments: Vec<Appointment>,
}

/// A booking, and whether it is a replay of an earlier request with the same idempotency key.
#[derive(Debug, Clone)]
pub struct Booked {
    pub appointment: Appointment,
    pub replayed: bool,
}

/// Filters for a doctor's appointment list.
#[derive(Debug, Clone, Copy)]
pub struct AppointmentFilter {
    pub date: Option<NaiveDate>,
    pub status: Option<AppointmentStatus>,
    /// With no `status`: leave out CANCELLED and EXPIRED (a day list shows who is coming).
    pub live_only: bool,
}

/// Appointments: the booking lifecycle, its audit trail and its housekeeping.
#[async_trait]
pub trait AppointmentStore: Send + Sync + 'static {
    /// Takes a seat as a PENDING hold that lapses after the store's hold length. With a hold cap
    /// (both from the store's offer terms, set when it opens), a patient already holding that
    /// many live PENDING appointments is refused with `HoldLimit`.
    /// Errors: `NotFound("patient" | "doctor" | "time slot")`, `Validation` on `doctor_id` (doctor does
    /// not own the slot), `Validation` (date/time differ from the slot's), `SlotUnavailable`,
    /// `AlreadyBooked`, `HoldLimit`, `IdempotencyKeyReused`.
    async fn book(
        &self,
        new: NewAppointment,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> DomainResult<Booked>;
    /// Errors: `NotFound("appointment")`, `HoldExpired` (and the hold is then EXPIRED with its
    /// seat released, committed), `InvalidTransition`.
    async fn confirm(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment>;
    /// Errors: `NotFound("appointment")`, `InvalidTransition`.
    async fn cancel(
        &self,
        id: AppointmentId,
        reason: Option<String>,
        actor: Actor,
    ) -> DomainResult<Appointment>;
    /// Errors: `NotFound("appointment")`, `InvalidTransition`.
    async fn complete(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment>;
    /// Moves a live appointment (PENDING and unexpired, or CONFIRMED) to another slot of its
    /// doctor in one transaction: the new seat is taken and the old one released together, or
    /// nothing changes. Id, status and expiry stay; a RESCHEDULED audit entry names both slots.
    /// The slot it is on already answers the appointment unchanged. Errors:
    /// `NotFound("appointment" | "time slot")`, `Validation` on `time_slot_id` (another
    /// doctor's slot), `InvalidTransition`, `AlreadyBooked` (the patient holds the target slot),
    /// `SlotUnavailable` (blocked, full or started).
    async fn reschedule(
        &self,
        id: AppointmentId,
        slot: SlotId,
        actor: Actor,
    ) -> DomainResult<Appointment>;
    /// CONFIRMED → NO_SHOW once the slot has started; the seat stays used; a second call answers
    /// the appointment unchanged. Errors: `NotFound("appointment")`, `InvalidTransition` (not
    /// CONFIRMED, or its slot has not started).
    async fn mark_no_show(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment>;
}

/// Appointments read: one with its people and slot, its audit trail, and the pages of a
/// patient's or a doctor's. Pure reads, which a replica may serve.
#[async_trait]
pub trait AppointmentReads: Send + Sync + 'static {
    /// Errors: `NotFound("appointment")`.
    async fn get_appointment(&self, id: AppointmentId) -> DomainResult<AppointmentDetail>;
    /// Oldest first. Errors: `NotFound("appointment")`.
    async fn history(&self, id: AppointmentId) -> DomainResult<Vec<AuditEntry>>;
    /// By slot start. Errors: `NotFound("patient")`.
    async fn patient_appointments(
        &self,
        patient: PatientId,
        status: Option<AppointmentStatus>,
        page: Page,
    ) -> DomainResult<Paged<Appointment>>;
    /// By slot start. Errors: `NotFound("doctor")`.
    async fn doctor_appointments(
        &self,
        doctor: DoctorId,
        filter: AppointmentFilter,
        page: Page,
    ) -> DomainResult<Paged<Appointment>>;
    /// Every doctor's slots and live appointments on a day, read in one snapshot (the front
    /// desk's day).
    async fn day_sheet(&self, day: chrono::NaiveDate) -> DomainResult<DaySheet>;
}

/// The sweeper's housekeeping of appointments: overdue holds and old idempotency keys.
#[async_trait]
pub trait Housekeeping: Send + Sync + 'static {
    /// Marks up to `batch` overdue holds EXPIRED (audited as `system`), releasing their seats.
    /// Safe to run from several instances at once. Returns how many it expired.
    async fn expire_due(&self, batch: i64) -> DomainResult<u64>;
    /// Deletes idempotency keys older than `max_age_secs`. Returns how many.
    async fn purge_idempotency_keys(&self, max_age_secs: i64) -> DomainResult<u64>;
}
