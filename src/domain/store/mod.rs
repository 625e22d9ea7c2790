//! The port every database adapter implements: one method per use case.
//!
//! Each write is a single transaction on the adapter's side that also writes its audit row,
//! retried by the adapter on serialization failures. The errors each method MUST return are
//! listed on it; anything else is `Unavailable` (database down, contention outlasted retries)
//! or `Internal`.
//!
//! Pure reads (the `get_*` and `list_*` of the catalogue and appointments, availability,
//! history, the user list and the access log) may be served by a read replica and then lag the
//! latest commit by the replication delay. Every read that decides who someone is or what they
//! may do (credentials, sessions, revocations, login throttling, `has_care_relationship`) reads
//! the primary, and a caller that must see its own write reads through [`Store::primary`].

use async_trait::async_trait;
use chrono::NaiveDate;

use super::appointment::{AppointmentStatus, AuditEntry, NewAppointment};
use super::doctor::{Doctor, DoctorPatch, NewDoctor};
use super::page::{Page, Paged};
use super::patient::{NewPatient, Patient, PatientPatch};
use super::slot::{BulkOutcome, NewSlot, Slot, SlotAdminStatus};
use super::user::{
    AccessFilter, AccessRecord, Accessor, Credentials, NewAccess, NewUser, Session, SigningKey,
    User, UserPatch,
};
use super::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainResult, PatientId, SessionId,
    SlotId, UserId,
};

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
}

impl Actor {
    /// The background expiry sweeper.
    pub fn system() -> Self {
        Self {
            id: "system".into(),
            role: "system",
            access: None,
        }
    }

    /// A signed-in user acting through a request.
    pub fn user(access: Accessor) -> Self {
        Self {
            id: access.user_id.to_string(),
            role: access.role.as_str(),
            access: Some(access),
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

/// A connection pool's state at one moment, for metrics.
#[derive(Debug, Clone)]
pub struct PoolStats {
    /// `write` or `read`.
    pub name: &'static str,
    /// Connections open.
    pub size: u32,
    /// Of those, connections not in use.
    pub idle: u32,
    /// Most connections the pool may open.
    pub max: u32,
    /// How long taking one connection took just now (`None` if it took over a second).
    pub acquire: Option<std::time::Duration>,
}

/// The use cases carebook needs from a database.
#[async_trait]
pub trait Store:
    AccountStore
    + super::credentials::CredentialStore
    + super::outbox::NotifyStore
    + super::waitlist::WaitlistStore
    + super::webhook::WebhookStore
    + super::review::ReviewStore
    + Send
    + Sync
    + 'static
{
    /// Answers when the (primary) database does. Errors: `Unavailable`.
    async fn ping(&self) -> DomainResult<()>;
    /// Whether the read replica answers; `None` when there is none. Errors: `Unavailable`.
    async fn ping_replica(&self) -> Option<DomainResult<()>> {
        None
    }
    /// This store with every read on the primary, for a read that decides a write or must see
    /// a write just made; `self` when there is no replica.
    fn primary(&self) -> &dyn Store;
    /// Closes every connection; later calls fail with `Unavailable`.
    async fn close(&self);
    /// The state of each connection pool, for metrics.
    async fn pool_stats(&self) -> Vec<PoolStats>;

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

    /// Records the creation in the access log when `by` is a person. Errors: `Duplicate`.
    async fn create_patient(&self, new: NewPatient, by: Option<Accessor>) -> DomainResult<Patient>;
    /// Patients ordered by creation, then id.
    async fn list_patients(&self, page: Page) -> DomainResult<Paged<Patient>>;
    /// Patients matching `query` (see [`PatientQuery`]), those whose name starts with its first
    /// word first, then by name.
    async fn search_patients(
        &self,
        query: &super::patient::PatientQuery,
        page: Page,
    ) -> DomainResult<Paged<Patient>>;
    /// Errors: `NotFound("patient")`.
    async fn get_patient(&self, id: PatientId) -> DomainResult<Patient>;
    /// Records the update in the access log when `by` is a person.
    /// Errors: `NotFound("patient")`, `Duplicate` (e-mail taken).
    async fn update_patient(
        &self,
        id: PatientId,
        patch: PatientPatch,
        by: Option<Accessor>,
    ) -> DomainResult<Patient>;

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

    /// Deletes a slot laid by mistake. Errors: `NotFound("time slot")` (unknown, or not this
    /// doctor's); `Conflict` `SLOT_IN_USE` when it ever held an appointment, `SLOT_FROM_SCHEDULE`
    /// when a weekly rule laid it (the rule would lay it again).
    async fn delete_slot(&self, doctor: DoctorId, slot: SlotId) -> DomainResult<()>;

    /// Takes a seat as a PENDING hold that lapses after `hold_secs`. With `max_holds`, a patient
    /// already holding that many live PENDING appointments is refused with `HoldLimit`.
    /// Errors: `NotFound("patient" | "doctor" | "time slot")`, `Validation` on `doctor_id` (doctor does
    /// not own the slot), `Validation` (date/time differ from the slot's), `SlotUnavailable`,
    /// `AlreadyBooked`, `HoldLimit`, `IdempotencyKeyReused`.
    async fn book(
        &self,
        new: NewAppointment,
        hold_secs: i64,
        max_holds: Option<i64>,
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

    /// Stores a weekly rule (slots are laid out by [`Store::generate_schedule`]).
    /// Errors: `NotFound("doctor")`.
    async fn create_schedule(
        &self,
        doctor: DoctorId,
        rule: super::schedule::Rule,
    ) -> DomainResult<super::schedule::Schedule>;
    /// The doctor's rules, oldest first.
    async fn list_schedules(
        &self,
        doctor: DoctorId,
    ) -> DomainResult<Vec<super::schedule::Schedule>>;
    /// Replaces a rule and, in the same transaction, deletes its future slots that hold no
    /// appointment; those with live appointments stay and are returned.
    /// Errors: `NotFound("schedule")` (unknown, or not this doctor's).
    async fn update_schedule(
        &self,
        doctor: DoctorId,
        id: super::ScheduleId,
        rule: super::schedule::Rule,
    ) -> DomainResult<(super::schedule::Schedule, super::schedule::Removal)>;
    /// Deletes a rule and its future slots that hold no appointment; future slots with only
    /// past appointments are blocked, and those with live ones kept (and returned); all that
    /// stay are detached from the rule. Errors: `NotFound("schedule")`.
    async fn end_schedule(
        &self,
        doctor: DoctorId,
        id: super::ScheduleId,
    ) -> DomainResult<super::schedule::Removal>;
    /// Lays out a rule's slots from today to `horizon_days` ahead in the doctor's zone, skipping
    /// (and reporting) times in a DST gap, overlapping any slot, or inside time off. Idempotent,
    /// and safe from several instances at once: each slot is created once.
    /// Errors: `NotFound("schedule")`.
    async fn generate_schedule(
        &self,
        id: super::ScheduleId,
        horizon_days: i64,
    ) -> DomainResult<super::schedule::Generation>;
    /// Rules open-ended or valid on `today` or later.
    async fn current_schedules(&self, today: NaiveDate) -> DomainResult<Vec<super::ScheduleId>>;
    /// Records time off and blocks the slots inside it that are AVAILABLE (or blocked by other
    /// time off), remembering which; slots inside with live appointments are returned.
    /// Errors: `NotFound("doctor")`.
    async fn create_time_off(
        &self,
        doctor: DoctorId,
        new: super::schedule::NewTimeOff,
    ) -> DomainResult<super::schedule::TimeOffOutcome>;
    /// The doctor's time off, by start.
    async fn list_time_off(&self, doctor: DoctorId) -> DomainResult<Vec<super::schedule::TimeOff>>;
    /// Deletes time off and unblocks the slots it blocked that no other time off covers.
    /// Returns how many. Errors: `NotFound("time off")` (unknown, or not this doctor's).
    async fn delete_time_off(&self, doctor: DoctorId, id: super::TimeOffId) -> DomainResult<u64>;

    /// The earliest free slots (AVAILABLE, a seat left, not started) of active doctors between
    /// the dates, by start then id, each with its doctor; at most `search.limit`, after
    /// `search.after` when given. A pure read.
    async fn find_free_slots(
        &self,
        search: &super::search::SlotSearch,
    ) -> DomainResult<Vec<super::search::FoundSlot>>;

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
    /// Seconds from the database clock's now to the slot's start (negative once started), for
    /// the notice windows; `None` for an unknown slot. Reads the primary.
    async fn slot_starts_in(&self, slot: SlotId) -> DomainResult<Option<f64>>;
}

/// Accounts, sessions, signing keys, login throttling and the PHI access log.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Errors: `Duplicate` (e-mail taken, or the patient already has an account),
    /// `NotFound("doctor" | "patient")` for a link to nothing.
    async fn create_user(&self, new: NewUser) -> DomainResult<User>;
    /// Creates a patient and its `patient` account in one transaction, with its access record.
    /// Errors: `Duplicate` (e-mail taken by a patient or an account).
    async fn register_patient(
        &self,
        patient: NewPatient,
        password_hash: String,
        request_id: String,
    ) -> DomainResult<(Patient, User)>;
    /// The account with this e-mail (any case), with its secrets.
    async fn credentials(&self, email: &str) -> DomainResult<Option<Credentials>>;
    /// Errors: `NotFound("user")`.
    async fn credentials_by_id(&self, id: UserId) -> DomainResult<Credentials>;
    /// Accounts by creation.
    async fn list_users(&self, page: Page) -> DomainResult<Paged<User>>;
    /// Disabling an account revokes its sessions in the same transaction.
    /// Errors: `NotFound("user")`, `Validation` (a role its links do not fit).
    async fn update_user(&self, id: UserId, patch: UserPatch) -> DomainResult<User>;
    /// Sets a new password hash and revokes every session of the user but `keep`.
    async fn set_password(
        &self,
        id: UserId,
        hash: String,
        keep: Option<SessionId>,
    ) -> DomainResult<()>;
    /// Stores a TOTP secret (pending while `enabled` is false), or removes it.
    async fn set_totp(&self, id: UserId, secret: Option<String>, enabled: bool)
        -> DomainResult<()>;
    /// Whether any account exists.
    async fn any_user(&self) -> DomainResult<bool>;

    /// Starts a session with the hash of its first refresh secret.
    async fn create_session(
        &self,
        id: SessionId,
        user: UserId,
        refresh_hash: String,
    ) -> DomainResult<()>;
    /// The session, with the database clock's now.
    async fn session(&self, id: SessionId) -> DomainResult<Option<Session>>;
    /// Replaces the refresh hash if it still is `old`; false when another refresh won.
    async fn rotate_session(&self, id: SessionId, old: &str, new: &str) -> DomainResult<bool>;
    /// Revokes one session (no-op when already revoked).
    async fn revoke_session(&self, id: SessionId, reason: &str) -> DomainResult<()>;
    /// Sessions revoked within the last `within_secs` seconds of the database clock.
    async fn revoked_sessions(&self, within_secs: i64) -> DomainResult<Vec<SessionId>>;

    /// Every key not retired, newest first.
    async fn signing_keys(&self) -> DomainResult<Vec<SigningKey>>;
    /// Adds a key; with `only_if_none`, only when no key exists yet (several instances starting
    /// at once end up with one key).
    async fn add_signing_key(
        &self,
        kid: &str,
        secret: &str,
        only_if_none: bool,
    ) -> DomainResult<()>;
    /// Retires keys created more than `older_than_secs` ago, except the newest.
    async fn retire_signing_keys(&self, older_than_secs: i64) -> DomainResult<u64>;

    /// Writes access records in one transaction.
    async fn record_access(&self, by: &Accessor, records: &[NewAccess]) -> DomainResult<()>;
    /// Access records, newest first.
    async fn access_log(
        &self,
        filter: &AccessFilter,
        page: Page,
    ) -> DomainResult<Paged<AccessRecord>>;
    /// Whether the doctor has a care relationship with the patient: an appointment with them
    /// (any status) that a person other than a doctor booked or confirmed — the patient, the
    /// front desk or an admin. A seat the system offered from the waitlist counts only once
    /// someone confirmed it.
    async fn has_care_relationship(
        &self,
        doctor: DoctorId,
        patient: PatientId,
    ) -> DomainResult<bool>;
}
