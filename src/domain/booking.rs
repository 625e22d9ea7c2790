//! The booking-refusal rules both adapters apply: what a client hears when a booking finds no
//! seat, most fundamental reason first.

use chrono::{NaiveDate, NaiveTime};

use super::appointment::NewAppointment;
use super::{DoctorId, DomainError};

/// What a failed booking attempt found out about its patient, doctor and slot.
#[derive(Debug, Default)]
pub struct SlotFacts {
    pub patient_exists: bool,
    pub doctor_exists: bool,
    /// The doctor was deactivated: no new bookings.
    pub doctor_inactive: bool,
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

impl SlotFacts {
    /// Why the slot itself has no seat for this patient (held already, blocked, started, full),
    /// in that order; the shared tail of booking's and rescheduling's refusals.
    pub fn seat_refusal(&self) -> Option<DomainError> {
        if self.already_held {
            return Some(DomainError::AlreadyBooked);
        }
        if self.blocked {
            return Some(DomainError::SlotUnavailable("This time slot is blocked"));
        }
        if !self.future {
            return Some(DomainError::SlotUnavailable(
                "This time slot has already started",
            ));
        }
        if self.full {
            return Some(DomainError::SlotUnavailable(
                "This time slot is fully booked",
            ));
        }
        None
    }
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
    if f.doctor_inactive {
        return Some(DomainError::conflict(
            "DOCTOR_INACTIVE",
            "This doctor is not taking bookings (deactivated)",
        ));
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
    f.seat_refusal()
}

#[cfg(test)]
mod tests {
    use super::super::appointment::ConsultationType;
    use super::*;
    use crate::domain::{PatientId, SlotId};

    fn new() -> NewAppointment {
        NewAppointment {
            patient_id: PatientId::random(),
            doctor_id: DoctorId::random(),
            time_slot_id: SlotId::random(),
            appointment_date: None,
            appointment_time: None,
            reason_for_visit: None,
            consultation_type: ConsultationType::InPerson,
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
                doctor_inactive: true,
                ..ok()
            },
        );
        assert!(matches!(
            e,
            Some(DomainError::Conflict {
                code: "DOCTOR_INACTIVE",
                ..
            })
        ));
        let e = booking_refusal(
            &n,
            SlotFacts {
                owner: Some(DoctorId::random()),
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
