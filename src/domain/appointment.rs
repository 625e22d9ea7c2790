//! Appointments: statuses, the state machine, and a validated booking request.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::input::Input;
use super::validate;
use super::{AppointmentId, DoctorId, DomainError, DomainResult, PatientId, SlotId};

/// Where an appointment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentStatus {
    Pending,
    Confirmed,
    Cancelled,
    Completed,
    Expired,
}

impl AppointmentStatus {
    /// Every status, in workflow order.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Confirmed,
        Self::Cancelled,
        Self::Completed,
        Self::Expired,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Completed => "COMPLETED",
            Self::Expired => "EXPIRED",
        }
    }

    /// Parses a status name, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let up = raw.trim().to_uppercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == up)
            .ok_or_else(|| {
                "must be one of PENDING, CONFIRMED, CANCELLED, COMPLETED, EXPIRED".into()
            })
    }
}

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
    /// Refuse; the string is the error to give.
    Refuse(Refusal),
}

/// Why an action was refused.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Refusal {
    /// Confirming a hold that expired.
    HoldExpired,
    /// Any other impossible transition, from this status.
    Invalid(AppointmentStatus),
}

impl Action {
    /// The verb, for messages and audit rows.
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
        match self {
            Self::HoldExpired => DomainError::HoldExpired,
            Self::Invalid(from) => DomainError::InvalidTransition {
                action: action.as_str(),
                from: from.as_str(),
            },
        }
    }
}

/// An appointment as reported; `status` is effective (an overdue hold reads EXPIRED).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub time_slot_id: SlotId,
    pub appointment_date: NaiveDate,
    pub appointment_time: NaiveTime,
    pub status: String,
    pub consultation_type: String,
    /// PHI: never log.
    pub reason_for_visit: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The doctor as shown inside an appointment.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorSummary {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub clinic_name: Option<String>,
}

/// The slot as shown inside an appointment.
#[derive(Debug, Clone, Serialize)]
pub struct SlotSummary {
    pub id: SlotId,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub starts_at: DateTime<Utc>,
}

/// The patient as shown inside an appointment.
#[derive(Debug, Clone, Serialize)]
pub struct PatientSummary {
    pub id: PatientId,
    pub name: String,
}

/// An appointment with who and when.
#[derive(Debug, Clone, Serialize)]
pub struct AppointmentDetail {
    #[serde(flatten)]
    pub appointment: Appointment,
    pub doctor: DoctorSummary,
    pub slot: SlotSummary,
    pub patient: PatientSummary,
}

/// One audit entry of an appointment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub action: String,
    pub old_status: Option<String>,
    pub new_status: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// What made the change: `request:<id>` or `system`.
    pub actor: String,
}

/// Consultation modes.
pub const CONSULTATION_TYPES: [&str; 3] = ["in-person", "video", "phone"];

/// A validated booking request.
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
    pub consultation_type: String,
}

fn uuid_field<T: std::str::FromStr>(s: String) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| "must be a valid UUID".to_string())
}

impl NewAppointment {
    /// Parses a booking request.
    pub fn parse(body: &Map<String, Value>) -> DomainResult<Self> {
        let mut i = Input::new(body, "");
        let patient_id = i.required("patient_id", uuid_field);
        let doctor_id = i.required("doctor_id", uuid_field);
        let time_slot_id = i.required("time_slot_id", uuid_field);
        let appointment_date = i.optional("appointment_date", |s| validate::date(s.trim()));
        let appointment_time = i.optional("appointment_time", |s| validate::time(s.trim()));
        let reason_for_visit = i.optional_text("reason_for_visit", 2000);
        let consultation_type = i.optional("consultation_type", |s| {
            let t = s.trim().to_lowercase();
            if CONSULTATION_TYPES.contains(&t.as_str()) {
                Ok(t)
            } else {
                Err("must be one of in-person, video, phone".into())
            }
        });
        i.errors.finish()?;
        Ok(Self {
            patient_id: patient_id.unwrap_or_default(),
            doctor_id: doctor_id.unwrap_or_default(),
            time_slot_id: time_slot_id.unwrap_or_default(),
            appointment_date,
            appointment_time,
            reason_for_visit,
            consultation_type: consultation_type.unwrap_or_else(|| "in-person".into()),
        })
    }

    /// Checks the client's date and time, when sent, against the slot's.
    pub fn check_slot_time(&self, date: NaiveDate, time: NaiveTime) -> DomainResult<()> {
        let mut errors = Vec::new();
        if self.appointment_date.is_some_and(|d| d != date) {
            errors.push(super::FieldError::new(
                "appointment_date",
                format!("must equal the slot's date ({date})"),
            ));
        }
        if self.appointment_time.is_some_and(|t| t != time) {
            errors.push(super::FieldError::new(
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

/// A validated cancellation request.
pub fn parse_cancel_reason(body: &Map<String, Value>) -> DomainResult<Option<String>> {
    let mut i = Input::new(body, "");
    let reason = i.optional_text("reason", 2000);
    i.errors.finish()?;
    Ok(reason)
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
    fn statuses_parse() {
        assert_eq!(AppointmentStatus::parse("confirmed").unwrap(), Confirmed);
        assert!(AppointmentStatus::parse("DONE").is_err());
    }
}
