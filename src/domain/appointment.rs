//! Appointments: statuses, the state machine, and what is stored and reported.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::error::{DomainError, FieldError};
use super::ids::{AppointmentId, DoctorId, PatientId, SlotId};
use super::text::{string_ser, string_serde};

/// Longest reason for a visit or for a cancellation.
pub const REASON_MAX: usize = 2000;

/// Where an appointment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentStatus {
    Pending,
    Confirmed,
    Cancelled,
    Completed,
    Expired,
    /// The patient did not come: a CONFIRMED appointment whose slot started. The seat stays
    /// used.
    NoShow,
}

impl AppointmentStatus {
    /// Every status, in workflow order.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Confirmed,
        Self::Cancelled,
        Self::Completed,
        Self::Expired,
        Self::NoShow,
    ];

    /// The wire and stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Completed => "COMPLETED",
            Self::Expired => "EXPIRED",
            Self::NoShow => "NO_SHOW",
        }
    }

    /// Parses a status name, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let up = raw.trim().to_uppercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == up)
            .ok_or_else(|| {
                "must be one of PENDING, CONFIRMED, CANCELLED, COMPLETED, EXPIRED, NO_SHOW".into()
            })
    }
}

impl TryFrom<String> for AppointmentStatus {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(AppointmentStatus);

/// How the consultation takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsultationType {
    #[default]
    InPerson,
    Video,
    Phone,
}

impl ConsultationType {
    /// Every mode.
    pub const ALL: [Self; 3] = [Self::InPerson, Self::Video, Self::Phone];

    /// The wire and stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InPerson => "in-person",
            Self::Video => "video",
            Self::Phone => "phone",
        }
    }

    /// Parses a mode, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let low = raw.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == low)
            .ok_or_else(|| "must be one of in-person, video, phone".into())
    }
}

impl TryFrom<String> for ConsultationType {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(ConsultationType);

/// A change requested on an existing appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Confirm,
    Cancel,
    Complete,
}

/// What to do with an [`Action`] given the appointment's effective status.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Apply the change.
    Proceed,
    /// The change was already made: answer with the appointment as it is (idempotent).
    AlreadyDone,
    /// Refuse.
    Refuse(Refusal),
}

/// Why an action was refused.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Refusal {
    /// Confirming a hold that expired.
    HoldExpired,
    /// Any other impossible transition, from this status.
    Invalid(AppointmentStatus),
    /// Marking a no-show before the appointment's slot has started.
    NotStarted,
}

impl Action {
    /// The verb, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Complete => "complete",
        }
    }

    /// The status the action leads to.
    pub fn target(self) -> AppointmentStatus {
        match self {
            Self::Confirm => AppointmentStatus::Confirmed,
            Self::Cancel => AppointmentStatus::Cancelled,
            Self::Complete => AppointmentStatus::Completed,
        }
    }

    /// The audit trail's name for the action.
    pub fn audit(self) -> AuditAction {
        match self {
            Self::Confirm => AuditAction::Confirm,
            Self::Cancel => AuditAction::Cancel,
            Self::Complete => AuditAction::Complete,
        }
    }

    /// The state machine. `current` is the effective status: a PENDING hold past its expiry is
    /// `Expired` here even before the sweeper has marked it.
    pub fn verdict(self, current: AppointmentStatus) -> Verdict {
        use AppointmentStatus::*;
        match (self, current) {
            (_, s) if s == self.target() => Verdict::AlreadyDone,
            (Self::Confirm, Pending)
            | (Self::Cancel, Pending | Confirmed)
            | (Self::Complete, Confirmed) => Verdict::Proceed,
            (Self::Confirm, Expired) => Verdict::Refuse(Refusal::HoldExpired),
            (_, s) => Verdict::Refuse(Refusal::Invalid(s)),
        }
    }
}

impl Refusal {
    /// The domain error for this refusal of `action`.
    pub fn into_error(self, action: Action) -> DomainError {
        self.error(action.as_str())
    }

    /// The domain error for this refusal of the action named `verb`.
    pub fn error(self, verb: &'static str) -> DomainError {
        match self {
            Self::HoldExpired => DomainError::HoldExpired,
            Self::Invalid(from) => DomainError::InvalidTransition {
                action: verb,
                from: from.as_str(),
            },
            Self::NotStarted => DomainError::InvalidTransition {
                action: verb,
                from: "CONFIRMED and its slot has not started yet",
            },
        }
    }
}

/// An appointment as reported; `status` is effective (an overdue hold reads EXPIRED).
#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub time_slot_id: SlotId,
    pub appointment_date: NaiveDate,
    pub appointment_time: NaiveTime,
    pub status: AppointmentStatus,
    pub consultation_type: ConsultationType,
    /// PHI: never log.
    pub reason_for_visit: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The patient's name, in lists (PHI: never log).
    pub patient_name: Option<String>,
    /// The doctor's name, in lists.
    pub doctor_name: Option<String>,
}

/// The doctor as shown inside an appointment.
#[derive(Debug, Clone)]
pub struct DoctorSummary {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub clinic_name: Option<String>,
}

/// The slot as shown inside an appointment.
#[derive(Debug, Clone)]
pub struct SlotSummary {
    pub id: SlotId,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub starts_at: DateTime<Utc>,
}

/// The patient as shown inside an appointment.
#[derive(Debug, Clone)]
pub struct PatientSummary {
    pub id: PatientId,
    pub name: String,
}

/// An appointment with who and when.
#[derive(Debug, Clone)]
pub struct AppointmentDetail {
    pub appointment: Appointment,
    pub doctor: DoctorSummary,
    pub slot: SlotSummary,
    pub patient: PatientSummary,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Book,
    Confirm,
    Cancel,
    Complete,
    Expire,
    /// Moved to another slot; the entry's reason names both slots.
    Reschedule,
    NoShow,
    /// A PENDING hold given automatically to the first patient waiting for a freed seat
    /// (old status none, actor `system`).
    OfferedFromWaitlist,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [Self; 8] = [
        Self::Book,
        Self::Confirm,
        Self::Cancel,
        Self::Complete,
        Self::Expire,
        Self::Reschedule,
        Self::NoShow,
        Self::OfferedFromWaitlist,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Book => "BOOK",
            Self::Confirm => "CONFIRM",
            Self::Cancel => "CANCEL",
            Self::Complete => "COMPLETE",
            Self::Expire => "EXPIRE",
            Self::Reschedule => "RESCHEDULED",
            Self::NoShow => "NO_SHOW",
            Self::OfferedFromWaitlist => "OFFERED_FROM_WAITLIST",
        }
    }

    /// Parses a stored action.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| format!("unknown audit action {raw:?}"))
    }
}

string_ser!(AuditAction);

/// One audit entry of an appointment.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub action: AuditAction,
    pub old_status: Option<AppointmentStatus>,
    pub new_status: AppointmentStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// Who made the change: a user id, or `system` (the expiry sweeper).
    pub actor: String,
    /// The user's role then, or `system`.
    pub actor_role: String,
}

/// A booking request, every field already valid.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub time_slot_id: SlotId,
    /// When sent, must equal the slot's date.
    pub appointment_date: Option<NaiveDate>,
    /// When sent, must equal the slot's time.
    pub appointment_time: Option<NaiveTime>,
    pub reason_for_visit: Option<String>,
    pub consultation_type: ConsultationType,
}

impl NewAppointment {
    /// Checks the client's date and time, when sent, against the slot's.
    pub fn check_slot_time(&self, date: NaiveDate, time: NaiveTime) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.appointment_date.is_some_and(|d| d != date) {
            errors.push(FieldError::new(
                "appointment_date",
                format!("must equal the slot's date ({date})"),
            ));
        }
        if self.appointment_time.is_some_and(|t| t != time) {
            errors.push(FieldError::new(
                "appointment_time",
                format!("must equal the slot's time ({time})"),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppointmentStatus::*;
    use super::*;

    #[test]
    fn state_machine() {
        assert_eq!(Action::Confirm.verdict(Pending), Verdict::Proceed);
        assert_eq!(Action::Confirm.verdict(Confirmed), Verdict::AlreadyDone);
        assert_eq!(
            Action::Confirm.verdict(Expired),
            Verdict::Refuse(Refusal::HoldExpired)
        );
        assert_eq!(
            Action::Confirm.verdict(Cancelled),
            Verdict::Refuse(Refusal::Invalid(Cancelled))
        );
        assert_eq!(Action::Cancel.verdict(Pending), Verdict::Proceed);
        assert_eq!(Action::Cancel.verdict(Confirmed), Verdict::Proceed);
        assert_eq!(Action::Cancel.verdict(Cancelled), Verdict::AlreadyDone);
        assert_eq!(
            Action::Cancel.verdict(Completed),
            Verdict::Refuse(Refusal::Invalid(Completed))
        );
        assert_eq!(
            Action::Cancel.verdict(Expired),
            Verdict::Refuse(Refusal::Invalid(Expired))
        );
        assert_eq!(Action::Complete.verdict(Confirmed), Verdict::Proceed);
        assert_eq!(Action::Complete.verdict(Completed), Verdict::AlreadyDone);
        assert_eq!(
            Action::Complete.verdict(Pending),
            Verdict::Refuse(Refusal::Invalid(Pending))
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!(AppointmentStatus::parse("confirmed").unwrap(), Confirmed);
        assert!(AppointmentStatus::parse("DONE").is_err());
        assert_eq!(
            ConsultationType::parse("VIDEO").unwrap(),
            ConsultationType::Video
        );
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()).unwrap(), a);
        }
    }
}
