//! Accounts, roles, sessions and the records of who touched which patient's data.

use chrono::{DateTime, Utc};

use super::contact::Email;
use super::text::string_serde;
use super::{DoctorId, PatientId, SessionId, UserId};

/// What an account may do; see the README's role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Clinic IT: everything, including accounts and the access audit.
    Admin,
    /// Front desk: doctors' calendars, patients' demographics, bookings.
    Scheduler,
    /// A doctor's own account, linked to that doctor.
    Doctor,
    /// A patient's own account, linked to that patient.
    Patient,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 4] = [Self::Admin, Self::Scheduler, Self::Doctor, Self::Patient];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Scheduler => "scheduler",
            Self::Doctor => "doctor",
            Self::Patient => "patient",
        }
    }

    /// Parses a role name (exact, lower case).
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| "must be one of admin, scheduler, doctor, patient".to_owned())
    }

    /// Staff roles may enrol a second factor.
    pub fn is_staff(self) -> bool {
        !matches!(self, Self::Patient)
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

string_serde!(Role);

/// An account, without its secrets.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub doctor_id: Option<DoctorId>,
    pub patient_id: Option<PatientId>,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An account with what login needs to check.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret, when a second factor was enrolled (or is being enrolled).
    pub totp_secret: Option<String>,
}

/// An account to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub password_hash: String,
    pub role: Role,
    pub doctor_id: Option<DoctorId>,
    pub patient_id: Option<PatientId>,
}

/// What an administrator may change on an account.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// A login session, as the refresh flow sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    /// SHA-256 (hex) of the current refresh secret.
    pub refresh_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_refresh_at: DateTime<Utc>,
    pub revoked: bool,
    /// The database clock when the session was read.
    pub now: DateTime<Utc>,
}

/// A key that signs or verifies access tokens.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    /// Base64 of the HMAC secret.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// What a request did with a patient's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAction {
    Read,
    List,
    Create,
    Update,
}

impl AccessAction {
    /// Every action.
    pub const ALL: [Self; 4] = [Self::Read, Self::List, Self::Create, Self::Update];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::List => "list",
            Self::Create => "create",
            Self::Update => "update",
        }
    }

    /// Parses a stored action.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == raw)
            .ok_or_else(|| format!("unknown access action {raw:?}"))
    }
}

impl TryFrom<String> for AccessAction {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

string_serde!(AccessAction);

/// Who is acting, and on which request: what an access record and an audit row name.
#[derive(Debug, Clone)]
pub struct Accessor {
    pub user_id: UserId,
    pub role: Role,
    /// The route template, e.g. `/api/patients/{id}`.
    pub route: String,
    pub request_id: String,
    pub break_glass: Option<String>,
}

/// One access record to write.
#[derive(Debug, Clone)]
pub struct NewAccess {
    pub patient_id: PatientId,
    pub action: AccessAction,
    /// The HTTP status the request was answered with.
    pub outcome: u16,
}

/// One access record as stored.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: UserId,
    pub actor_role: Role,
    pub patient_id: PatientId,
    pub action: AccessAction,
    pub route: String,
    pub request_id: String,
    pub outcome: u16,
    pub break_glass_reason: Option<String>,
}

/// Filters of the access audit.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    pub patient_id: Option<PatientId>,
    pub actor_id: Option<UserId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub break_glass: Option<bool>,
}
