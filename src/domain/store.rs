//! The port every database adapter implements: one method per use case.
//!
//! Each write is a single transaction on the adapter's side that also writes its audit row,
//! retried by the adapter on serialization failures. The errors each method MUST return are
//! listed on it; anything else is `Unavailable` (database down, contention outlasted retries)
//! or `Internal`.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::appointment::{AppointmentStatus, AuditEntry, NewAppointment};
use super::doctor::{Doctor, DoctorPatch, NewDoctor};
use super::page::{Page, Paged};
use super::patient::{NewPatient, Patient, PatientPatch};
use super::slot::{BulkOutcome, NewSlot, Slot, SlotAdminStatus};
use super::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainResult, PatientId, SlotId,
};

/// Who or what made a change, recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The background expiry sweeper.
    pub fn system() -> Self {
        Self("system".into())
    }

    /// An HTTP request, by its request id.
    pub fn request(id: &str) -> Self {
        Self(format!("request:{id}"))
    }
}

/// A client-supplied idempotency key with a fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// SHA-256 of the canonical request body, hex.
    pub fingerprint: String,
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
}

/// The use cases carebook needs from a database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does. Errors: `Unavailable`.
    async fn ping(&self) -> DomainResult<()>;
    /// Closes every connection; later calls fail with `Unavailable`.
    async fn close(&self);

    /// Errors: `Duplicate` (e-mail or licence number taken).
    async fn create_doctor(&self, new: NewDoctor) -> DomainResult<Doctor>;
    /// Active doctors ordered by name, then id.
    async fn list_doctors(
        &self,
        specialization: Option<&str>,
        page: Page,
    ) -> DomainResult<Paged<Doctor>>;
    /// Errors: `NotFound("doctor")`.
    async fn get_doctor(&self, id: DoctorId) -> DomainResult<Doctor>;
    /// Errors: `NotFound("doctor")`.
    async fn update_doctor(&self, id: DoctorId, patch: DoctorPatch) -> DomainResult<Doctor>;

    /// Errors: `Duplicate` (e-mail taken).
    async fn create_patient(&self, new: NewPatient) -> DomainResult<Patient>;
    /// Patients ordered by creation, then id.
    async fn list_patients(&self, page: Page) -> DomainResult<Paged<Patient>>;
    /// Errors: `NotFound("patient")`.
    async fn get_patient(&self, id: PatientId) -> DomainResult<Patient>;
    /// Errors: `NotFound("patient")`, `Duplicate` (e-mail taken).
    async fn update_patient(&self, id: PatientId, patch: PatientPatch) -> DomainResult<Patient>;

    /// Errors: `NotFound("doctor")`, `Duplicate` (same doctor, date and time).
    async fn create_slot(&self, doctor: DoctorId, new: NewSlot) -> DomainResult<Slot>;
    /// Creates every new slot in one transaction; existing ones and in-batch repeats are skipped.
    /// Errors: `NotFound("doctor")`.
    async fn create_slots(&self, doctor: DoctorId, new: Vec<NewSlot>) -> DomainResult<BulkOutcome>;
    /// Every slot of the doctor between the dates (inclusive), any status, by start.
    async fn list_slots(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<Slot>>;
    /// Future AVAILABLE slots with seats left, between the dates, by start.
    async fn available_slots(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<Slot>>;
    /// Errors: `NotFound("time slot")` (unknown, or not this doctor's).
    async fn set_slot_status(
        &self,
        doctor: DoctorId,
        slot: SlotId,
        status: SlotAdminStatus,
    ) -> DomainResult<Slot>;

    /// Takes a seat as a PENDING hold that lapses after `hold_secs`.
    /// Errors: `NotFound("patient" | "doctor" | "time slot")`, `Validation` on `doctor_id` (doctor does
    /// not own the slot), `Validation` (date/time differ from the slot's), `SlotUnavailable`,
    /// `AlreadyBooked`, `IdempotencyKeyReused`.
    async fn book(
        &self,
        new: NewAppointment,
        hold_secs: i64,
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

    /// Marks up to `batch` overdue holds EXPIRED (audited as `system`), releasing their seats.
    /// Safe to run from several instances at once. Returns how many it expired.
    async fn expire_due(&self, batch: i64) -> DomainResult<u64>;
    /// Deletes idempotency keys older than `max_age_secs`. Returns how many.
    async fn purge_idempotency_keys(&self, max_age_secs: i64) -> DomainResult<u64>;
}
