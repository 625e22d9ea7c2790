//! The row both adapters read a found slot into, and its mapping.

use crate::domain::calendar::TimeZone;
use crate::domain::search::{DoctorBrief, FoundSlot};
use crate::domain::slot::Slot;
use crate::domain::DomainError;
use crate::store::rows::SlotRow;

/// A free slot with its doctor's public summary (`doctor_*` columns).
#[derive(sqlx::FromRow)]
pub struct FoundRow {
    #[sqlx(flatten)]
    slot: SlotRow,
    doctor_name: String,
    doctor_specialization: String,
    doctor_clinic_name: Option<String>,
    doctor_timezone: String,
}

impl TryFrom<FoundRow> for FoundSlot {
    type Error = DomainError;
    fn try_from(r: FoundRow) -> Result<Self, DomainError> {
        let slot = Slot::try_from(r.slot)?;
        let timezone = TimeZone::parse(&r.doctor_timezone)
            .map_err(|_| DomainError::Internal("stored time zone is not a known value".into()))?;
        Ok(Self {
            doctor: DoctorBrief {
                id: slot.doctor_id,
                name: r.doctor_name,
                specialization: r.doctor_specialization,
                clinic_name: r.doctor_clinic_name,
                timezone,
            },
            slot,
        })
    }
}
