//! The ports of accounts, sessions and signing keys, and the PHI access log.

use async_trait::async_trait;

use crate::domain::page::{Page, Paged};
use crate::domain::patient::{NewPatient, Patient};
use crate::domain::user::{
    AccessFilter, AccessRecord, Accessor, Credentials, NewAccess, NewUser, Session, SigningKey,
    User, UserPatch,
};
use crate::domain::{DoctorId, DomainResult, PatientId, SessionId, UserId};

/// Accounts: who may sign in, with which role and secrets.
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
}

/// Sessions (refresh tokens) and the keys access tokens are signed with.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
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
}

/// The PHI access log, and the care relationships that allow a doctor's reads.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
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
