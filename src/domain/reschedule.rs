//! Rescheduling, no-shows and notice rules: the pure decisions both adapters and the HTTP layer
//! share.

use super::appointment::{AppointmentStatus, Refusal, Verdict};
use super::booking::SlotFacts;
use super::user::Role;
use super::{DoctorId, DomainError, SlotId};

/// The verb in refusals of a reschedule.
pub const RESCHEDULE: &str = "reschedule";
/// The verb in refusals of a no-show.
pub const NO_SHOW: &str = "mark as a no-show";

/// Whether a reschedule may go ahead. `current` is the effective status (an overdue hold is
/// `Expired`); `same_slot` says the target is the slot the appointment is on already, which
/// changes nothing (a retried request answers as the first did).
pub fn reschedule_verdict(current: AppointmentStatus, same_slot: bool) -> Verdict {
    use AppointmentStatus::*;
    match current {
        Pending | Confirmed if same_slot => Verdict::AlreadyDone,
        Pending | Confirmed => Verdict::Proceed,
        s => Verdict::Refuse(Refusal::Invalid(s)),
    }
}

/// Whether a no-show may be recorded: only on a CONFIRMED appointment whose slot has started.
/// A second request answers as the first did.
pub fn no_show_verdict(current: AppointmentStatus, started: bool) -> Verdict {
    use AppointmentStatus::*;
    match current {
        NoShow => Verdict::AlreadyDone,
        Confirmed if started => Verdict::Proceed,
        Confirmed => Verdict::Refuse(Refusal::NotStarted),
        s => Verdict::Refuse(Refusal::Invalid(s)),
    }
}

/// Why a reschedule of an appointment of `doctor` found no seat on the target slot, most
/// fundamental first; `None` when nothing stands in the way (the slot changed meanwhile: try
/// again). `patient_exists`, `doctor_exists`, `date` and `time` of the facts are not used.
pub fn reschedule_refusal(doctor: DoctorId, f: &SlotFacts) -> Option<DomainError> {
    let Some(owner) = f.owner else {
        return Some(DomainError::NotFound("time slot"));
    };
    if owner != doctor {
        return Some(DomainError::field(
            "time_slot_id",
            "must be a slot of the appointment's doctor",
        ));
    }
    f.seat_refusal()
}

/// The reason a RESCHEDULED audit entry carries: both slots. PostgreSQL builds the same text in
/// SQL (`'from slot ' || old || ' to slot ' || new`), so the two must stay in step.
pub fn moved_reason(from: SlotId, to: SlotId) -> String {
    format!("from slot {from} to slot {to}")
}

/// The (old, new) slots named by a RESCHEDULED entry's reason.
pub fn moved_slots(reason: &str) -> Option<(SlotId, SlotId)> {
    let rest = reason.strip_prefix("from slot ")?;
    let (from, to) = rest.split_once(" to slot ")?;
    Some((SlotId(from.parse().ok()?), SlotId(to.parse().ok()?)))
}

/// The notice windows (`MIN_NOTICE_MINUTES`, `CANCEL_NOTICE_MINUTES`), in seconds; 0 is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notice {
    /// A booking (or the slot a reschedule moves to) must start at least this far ahead.
    pub book_secs: i64,
    /// A cancel or reschedule must come at least this long before the appointment's start.
    pub cancel_secs: i64,
}

impl Notice {
    /// Whether the windows bind a caller with this role: only patients. The front desk, admins
    /// and the doctor (whose own calendar it is) may change an appointment at any time.
    pub fn binds(role: Role) -> bool {
        role == Role::Patient
    }

    /// The booking window that binds an actor of `role` (as an [`crate::domain::store::Actor`]
    /// names it), in seconds; `None` when none does.
    pub fn book_window(&self, role: &str) -> Option<i64> {
        let bound = Role::parse(role).is_ok_and(Self::binds);
        (self.book_secs > 0 && bound).then_some(self.book_secs)
    }

    /// Whether a slot starting in `until` seconds (negative once started) is inside the
    /// booking window of `secs`: a started slot is left to the booking's own refusal.
    pub fn too_soon_to_book(until: f64, secs: i64) -> bool {
        until <= secs as f64 && until > 0.0
    }

    /// The cancel window that binds an actor of `role`, in seconds; `None` when none does.
    pub fn cancel_window(&self, role: &str) -> Option<i64> {
        let bound = Role::parse(role).is_ok_and(Self::binds);
        (self.cancel_secs > 0 && bound).then_some(self.cancel_secs)
    }

    /// The refusal of an actor's cancel of a live appointment, or its move away, when the
    /// appointment's slot starts in `until` seconds: a slot that has started is inside too.
    /// The use case asks only once it knows the change would go ahead, so that a replay of a
    /// change already made answers as it did the first time.
    pub fn change_refusal(&self, role: &str, until: f64) -> Option<DomainError> {
        let secs = self.cancel_window(role)?;
        (until <= secs as f64).then(|| too_late("change this appointment", secs / 60))
    }

    /// The refusal of an actor's move to a slot that starts in `until` seconds (`None`: no such
    /// slot, which the move itself refuses); a started slot is left to the move's own refusal.
    pub fn move_refusal(&self, role: &str, until: Option<f64>) -> Option<DomainError> {
        let secs = self.book_window(role)?;
        Self::too_soon_to_book(until?, secs).then(|| too_late("move to this time slot", secs / 60))
    }
}

/// What a booking inside `MIN_NOTICE_MINUTES` is refused with.
pub fn too_late_to_book(secs: i64) -> DomainError {
    too_late("book this time slot", secs / 60)
}

/// The refusal of a change inside a notice window.
pub fn too_late(what: &str, minutes: i64) -> DomainError {
    DomainError::TooLate(format!(
        "Too late to {what}: changes need at least {minutes} minutes' notice; please contact the clinic"
    ))
}

#[cfg(test)]
mod tests {
    use super::AppointmentStatus::*;
    use super::*;

    #[test]
    fn reschedule_moves_live_appointments_only() {
        assert_eq!(reschedule_verdict(Pending, false), Verdict::Proceed);
        assert_eq!(reschedule_verdict(Confirmed, false), Verdict::Proceed);
        assert_eq!(reschedule_verdict(Confirmed, true), Verdict::AlreadyDone);
        for s in [Cancelled, Completed, Expired, NoShow] {
            assert_eq!(
                reschedule_verdict(s, false),
                Verdict::Refuse(Refusal::Invalid(s))
            );
        }
    }

    #[test]
    fn no_show_needs_a_started_confirmed_appointment() {
        assert_eq!(no_show_verdict(Confirmed, true), Verdict::Proceed);
        assert_eq!(
            no_show_verdict(Confirmed, false),
            Verdict::Refuse(Refusal::NotStarted)
        );
        assert_eq!(no_show_verdict(NoShow, false), Verdict::AlreadyDone);
        for s in [Pending, Cancelled, Completed, Expired] {
            assert_eq!(
                no_show_verdict(s, true),
                Verdict::Refuse(Refusal::Invalid(s))
            );
        }
    }

    #[test]
    fn moved_reason_round_trips() {
        let (a, b) = (SlotId::random(), SlotId::random());
        assert_eq!(moved_slots(&moved_reason(a, b)), Some((a, b)));
        assert_eq!(moved_slots("hold not confirmed in time"), None);
    }

    #[test]
    fn refusals_in_order() {
        let doctor = DoctorId::random();
        let facts = SlotFacts {
            owner: Some(doctor),
            future: true,
            ..SlotFacts::default()
        };
        assert!(reschedule_refusal(doctor, &facts).is_none());
        let other = reschedule_refusal(DoctorId::random(), &facts);
        assert!(matches!(other, Some(DomainError::Validation(_))));
        let full = SlotFacts {
            full: true,
            ..facts
        };
        assert!(matches!(
            reschedule_refusal(doctor, &full),
            Some(DomainError::SlotUnavailable(_))
        ));
        let none = SlotFacts::default();
        assert!(matches!(
            reschedule_refusal(doctor, &none),
            Some(DomainError::NotFound("time slot"))
        ));
        assert!(Notice::binds(Role::Patient) && !Notice::binds(Role::Scheduler));
    }

    #[test]
    fn notice_windows_bind_patients_only() {
        let n = Notice {
            book_secs: 3600,
            cancel_secs: 1800,
        };
        let too_late = |e: Option<DomainError>| matches!(e, Some(DomainError::TooLate(_)));
        assert!(too_late(n.change_refusal("patient", 1800.0)));
        assert!(
            too_late(n.change_refusal("patient", -60.0)),
            "started counts"
        );
        assert!(n.change_refusal("patient", 1801.0).is_none());
        assert!(n.change_refusal("scheduler", 60.0).is_none());
        assert!(n.change_refusal("system", 60.0).is_none());
        assert!(too_late(n.move_refusal("patient", Some(3600.0))));
        assert!(
            n.move_refusal("patient", Some(-1.0)).is_none(),
            "started: the move refuses"
        );
        assert!(
            n.move_refusal("patient", None).is_none(),
            "unknown: the move refuses"
        );
        assert!(n.move_refusal("doctor", Some(60.0)).is_none());
        assert!(Notice::default().change_refusal("patient", 0.0).is_none());
    }
}
