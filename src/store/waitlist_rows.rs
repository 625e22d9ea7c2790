//! Rows of `waitlist_entries` as both adapters read them, and the statements they share (both
//! take `$n` placeholders).

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::waitlist::{WaitlistEntry, WaitlistId, WaitlistStatus};
use crate::domain::{AppointmentId, DoctorId, DomainError, PatientId};

/// A `waitlist_entries` row.
#[derive(sqlx::FromRow)]
pub struct WaitlistRow {
    id: uuid::Uuid,
    patient_id: PatientId,
    doctor_id: DoctorId,
    from_date: NaiveDate,
    to_date: NaiveDate,
    status: String,
    appointment_id: Option<AppointmentId>,
    offered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<WaitlistRow> for WaitlistEntry {
    type Error = DomainError;
    fn try_from(r: WaitlistRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: WaitlistId(r.id),
            patient_id: r.patient_id,
            doctor_id: r.doctor_id,
            from_date: r.from_date,
            to_date: r.to_date,
            status: WaitlistStatus::parse(&r.status)
                .map_err(|e| DomainError::Internal(e.into()))?,
            appointment_id: r.appointment_id,
            offered_at: r.offered_at,
            created_at: r.created_at,
        })
    }
}

/// The columns of [`WaitlistRow`].
pub const COLS: &str = "id, patient_id, doctor_id, from_date, to_date, status, appointment_id, \
                        offered_at, created_at";

/// Entries of patient `$1` and doctor `$2` (NULL: any).
pub const FILTER: &str =
    "FROM waitlist_entries WHERE ($1 IS NULL OR patient_id = $1) AND ($2 IS NULL OR doctor_id = $2)";

/// Whether patient `$1` already waits for doctor `$2` on dates overlapping `$3`..=`$4`.
pub const OVERLAP: &str = "SELECT EXISTS (SELECT 1 FROM waitlist_entries
     WHERE patient_id = $1 AND doctor_id = $2 AND status = 'WAITING'
       AND from_date <= $4 AND to_date >= $3)";

/// The refusal of an overlapping entry.
pub fn overlapping() -> DomainError {
    DomainError::Duplicate(
        "The patient is already on this doctor's waitlist for overlapping dates".into(),
    )
}
