//! Row shapes and decisions shared by both adapters.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::domain::appointment::{DoctorSummary, NewAppointment, PatientSummary, SlotSummary};
use crate::domain::{Appointment, AppointmentDetail, DoctorId, DomainError};

/// Binds a new doctor's fields in the column order both adapters' INSERTs use: name,
/// specialization, email, phone, license_number, clinic_name, address, bio, timezone.
macro_rules! bind_new_doctor {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.name)
            .bind(&$d.specialization)
            .bind(&$d.email)
            .bind(&$d.phone)
            .bind(&$d.license_number)
            .bind(&$d.clinic_name)
            .bind(&$d.address)
            .bind(&$d.bio)
            .bind(&$d.timezone)
    };
}
pub(crate) use bind_new_doctor;

/// Binds a doctor's changeable fields in the order both adapters' UPDATEs use: name,
/// specialization, phone, clinic_name, address, bio, timezone.
macro_rules! bind_doctor_changes {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.name)
            .bind(&$d.specialization)
            .bind(&$d.phone)
            .bind(&$d.clinic_name)
            .bind(&$d.address)
            .bind(&$d.bio)
            .bind(&$d.timezone)
    };
}
pub(crate) use bind_doctor_changes;

/// Binds a patient's fields in the order both adapters' INSERTs and UPDATEs use: name, email,
/// phone, date_of_birth, gender, blood_group, allergies, medical_history,
/// emergency_contact_name, emergency_contact_phone.
macro_rules! bind_patient {
    ($q:expr, $p:expr) => {
        $q.bind(&$p.name)
            .bind(&$p.email)
            .bind(&$p.phone)
            .bind($p.date_of_birth)
            .bind(&$p.gender)
            .bind(&$p.blood_group)
            .bind(&$p.allergies)
            .bind(&$p.medical_history)
            .bind(&$p.emergency_contact_name)
            .bind(&$p.emergency_contact_phone)
    };
}
pub(crate) use bind_patient;

/// An appointment joined with its doctor, slot and patient.
#[derive(sqlx::FromRow)]
pub struct DetailRow {
    #[sqlx(flatten)]
    appointment: Appointment,
    doctor_name: String,
    doctor_specialization: String,
    doctor_clinic_name: Option<String>,
    slot_date: NaiveDate,
    slot_time: NaiveTime,
    duration_minutes: i32,
    slot_starts_at: DateTime<Utc>,
    patient_name: String,
}

impl DetailRow {
    /// Regroups the flat row into the nested response shape.
    pub fn into_detail(self) -> AppointmentDetail {
        let a = self.appointment;
        AppointmentDetail {
            doctor: DoctorSummary {
                id: a.doctor_id,
                name: self.doctor_name,
                specialization: self.doctor_specialization,
                clinic_name: self.doctor_clinic_name,
            },
            slot: SlotSummary {
                id: a.time_slot_id,
                slot_date: self.slot_date,
                slot_time: self.slot_time,
                duration_minutes: self.duration_minutes,
                starts_at: self.slot_starts_at,
            },
            patient: PatientSummary {
                id: a.patient_id,
                name: self.patient_name,
            },
            appointment: a,
        }
    }
}

/// What a failed booking attempt found out about its patient, doctor and slot.
#[derive(Debug, Default)]
pub struct SlotFacts {
    pub patient_exists: bool,
    pub doctor_exists: bool,
    /// The slot's doctor; `None` when the slot does not exist.
    pub owner: Option<DoctorId>,
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    pub blocked: bool,
    pub future: bool,
    /// No seat left once overdue holds are discounted.
    pub full: bool,
    /// The patient already holds a live appointment on the slot.
    pub already_held: bool,
}

/// The refusal a client should hear for a booking that found no seat, most fundamental first;
/// `None` when nothing stands in the way (the slot changed meanwhile: try again).
pub fn booking_refusal(new: &NewAppointment, f: SlotFacts) -> Option<DomainError> {
    if !f.patient_exists {
        return Some(DomainError::NotFound("patient"));
    }
    if !f.doctor_exists {
        return Some(DomainError::NotFound("doctor"));
    }
    let Some(owner) = f.owner else {
        return Some(DomainError::NotFound("time slot"));
    };
    if owner != new.doctor_id {
        return Some(DomainError::field(
            "doctor_id",
            "does not own this time slot",
        ));
    }
    if let (Some(date), Some(time)) = (f.date, f.time) {
        if let Err(e) = new.check_slot_time(date, time) {
            return Some(e);
        }
    }
    if f.already_held {
        return Some(DomainError::AlreadyBooked);
    }
    if f.blocked {
        return Some(DomainError::SlotUnavailable("This time slot is blocked"));
    }
    if !f.future {
        return Some(DomainError::SlotUnavailable(
            "This time slot has already started",
        ));
    }
    if f.full {
        return Some(DomainError::SlotUnavailable(
            "This time slot is fully booked",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PatientId, SlotId};

    fn new() -> NewAppointment {
        NewAppointment {
            patient_id: PatientId::new(),
            doctor_id: DoctorId::new(),
            time_slot_id: SlotId::new(),
            appointment_date: None,
            appointment_time: None,
            reason_for_visit: None,
            consultation_type: "in-person".into(),
        }
    }

    #[test]
    fn refusals_in_order() {
        let n = new();
        let ok = || SlotFacts {
            patient_exists: true,
            doctor_exists: true,
            owner: Some(n.doctor_id),
            future: true,
            ..Default::default()
        };
        assert!(booking_refusal(&n, ok()).is_none());
        let e = booking_refusal(
            &n,
            SlotFacts {
                patient_exists: false,
                ..ok()
            },
        );
        assert!(matches!(e, Some(DomainError::NotFound("patient"))));
        let e = booking_refusal(
            &n,
            SlotFacts {
                owner: None,
                ..ok()
            },
        );
        assert!(matches!(e, Some(DomainError::NotFound("time slot"))));
        let e = booking_refusal(
            &n,
            SlotFacts {
                owner: Some(DoctorId::new()),
                ..ok()
            },
        );
        assert!(matches!(e, Some(DomainError::Validation(_))));
        let e = booking_refusal(
            &n,
            SlotFacts {
                already_held: true,
                full: true,
                ..ok()
            },
        );
        assert!(matches!(e, Some(DomainError::AlreadyBooked)));
        let e = booking_refusal(&n, SlotFacts { full: true, ..ok() });
        assert!(matches!(e, Some(DomainError::SlotUnavailable(_))));
        let e = booking_refusal(
            &n,
            SlotFacts {
                future: false,
                ..ok()
            },
        );
        assert!(matches!(e, Some(DomainError::SlotUnavailable(_))));
    }
}
