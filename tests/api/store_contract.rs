//! Store-level contract: the same use cases, called on the store's ports directly (no HTTP
//! app is started), must give the same results and the same errors on both adapters (the
//! errors each method documents).

use chrono::{Duration, NaiveTime, Utc};

use carebook::domain::appointment::{
    AppointmentStatus, AuditAction, ConsultationType, NewAppointment,
};
use carebook::domain::calendar::TimeZone;
use carebook::domain::contact::{Email, Phone};
use carebook::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
use carebook::domain::page::Page;
use carebook::domain::patch::Patch;
use carebook::domain::patient::{NewPatient, Patient, PatientPatch};
use carebook::domain::slot::{NewSlot, Slot, SlotAdminStatus, SlotStatus};
use carebook::domain::store::{Actor, AppointmentFilter, IdempotencyKey, Reach, Store};
use carebook::domain::{AppointmentId, DoctorId, DomainError, PatientId, SlotId};

use crate::common::port::TestStore;
use crate::on_both_stores;

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) async fn doctor(store: &dyn Store) -> Doctor {
    let t = tag();
    store
        .create_doctor(NewDoctor {
            name: "Dr Port".into(),
            specialization: "Cardiology".into(),
            email: Email::parse(&format!("d{t}@c.test")).unwrap(),
            phone: None,
            license_number: format!("L{t}"),
            clinic_name: None,
            address: None,
            bio: None,
            timezone: TimeZone(chrono_tz::UTC),
        })
        .await
        .expect("doctor")
}

fn new_patient(email: &str) -> NewPatient {
    NewPatient {
        name: "Pat Port".into(),
        email: Email::parse(email).unwrap(),
        phone: Phone::parse("+1 555 010 0000").unwrap(),
        date_of_birth: None,
        gender: None,
        blood_group: None,
        allergies: None,
        medical_history: None,
        emergency_contact_name: None,
        emergency_contact_phone: None,
    }
}

pub(crate) async fn patient(store: &dyn Store) -> Patient {
    let email = format!("p{}@c.test", tag());
    store
        .create_patient(new_patient(&email), None)
        .await
        .expect("patient")
}

pub(crate) fn new_slot(days: i64, hour: u32, capacity: i32) -> NewSlot {
    let date = (Utc::now() + Duration::days(days)).date_naive();
    let time = NaiveTime::from_hms_opt(hour, 0, 0).unwrap();
    NewSlot {
        slot_date: date,
        slot_time: time,
        duration_minutes: 30,
        max_capacity: capacity,
        starts_at: date.and_time(time).and_utc(),
    }
}

async fn slot(store: &dyn Store, d: DoctorId, capacity: i32) -> Slot {
    store
        .create_slot(d, new_slot(2, 10, capacity))
        .await
        .expect("slot")
}

pub(crate) fn booking(p: PatientId, d: DoctorId, s: SlotId) -> NewAppointment {
    NewAppointment {
        patient_id: p,
        doctor_id: d,
        time_slot_id: s,
        appointment_date: None,
        appointment_time: None,
        reason_for_visit: Some("checkup".into()),
        consultation_type: ConsultationType::Video,
    }
}

async fn people_round_trip_and_report_duplicates(port: TestStore) {
    let store = &*port.store;
    let d = doctor(store).await;
    assert_eq!(store.get_doctor(d.id).await.unwrap().email, d.email);
    assert!(matches!(
        store.get_doctor(DoctorId::random()).await,
        Err(DomainError::NotFound("doctor"))
    ));
    let patch = DoctorPatch {
        bio: Patch::Set("b".into()),
        timezone: Some(TimeZone("Europe/Paris".parse().unwrap())),
        ..Default::default()
    };
    let d2 = store.update_doctor(d.id, patch).await.unwrap();
    assert_eq!(
        (d2.bio.as_deref(), d2.timezone.as_str()),
        (Some("b"), "Europe/Paris")
    );

    let p = patient(store).await;
    let dup = store
        .create_patient(new_patient(p.email.as_str()), None)
        .await;
    assert!(matches!(dup, Err(DomainError::Duplicate(_))), "{dup:?}");
    let other = patient(store).await;
    let steal = PatientPatch {
        email: Some(p.email.clone()),
        ..Default::default()
    };
    let r = store.update_patient(other.id, steal, None).await;
    assert!(matches!(r, Err(DomainError::Duplicate(_))), "{r:?}");
    assert!(matches!(
        store
            .update_patient(PatientId::random(), PatientPatch::default(), None)
            .await,
        Err(DomainError::NotFound("patient"))
    ));
    let page = store
        .list_patients(Page::new(Some(1), Some(1)))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1));
}

async fn slots_are_unique_and_bulk_skips(port: TestStore) {
    let store = &*port.store;
    let d = doctor(store).await;
    let s = slot(store, d.id, 2).await;
    assert_eq!((s.status, s.available_capacity), (SlotStatus::Available, 2));
    let again = store.create_slot(d.id, new_slot(2, 10, 1)).await;
    assert!(matches!(again, Err(DomainError::Duplicate(_))), "{again:?}");
    let nobody = store
        .create_slot(DoctorId::random(), new_slot(3, 10, 1))
        .await;
    assert!(
        matches!(nobody, Err(DomainError::NotFound("doctor"))),
        "{nobody:?}"
    );
    let outcome = store
        .create_slots(
            d.id,
            vec![new_slot(2, 10, 1), new_slot(2, 11, 1), new_slot(2, 11, 1)],
        )
        .await
        .unwrap();
    assert_eq!(outcome.created.len(), 1);
    let skipped: Vec<usize> = outcome.skipped.iter().map(|s| s.index).collect();
    assert_eq!(skipped, [0, 2]);
    let blocked = store
        .set_slot_status(d.id, s.id, SlotAdminStatus::Blocked)
        .await
        .unwrap();
    assert_eq!(blocked.status, SlotStatus::Blocked);
    let wrong = store
        .set_slot_status(DoctorId::random(), s.id, SlotAdminStatus::Available)
        .await;
    assert!(
        matches!(wrong, Err(DomainError::NotFound("time slot"))),
        "{wrong:?}"
    );
}

async fn booking_refusals_come_in_order(port: TestStore) {
    let store = &*port.store;
    let (d, p) = (doctor(store).await, patient(store).await);
    let s = slot(store, d.id, 1).await;
    let book = |n: NewAppointment| store.book(n, None, Actor::system());
    let e = book(booking(PatientId::random(), d.id, s.id)).await;
    assert!(matches!(e, Err(DomainError::NotFound("patient"))), "{e:?}");
    let e = book(booking(p.id, DoctorId::random(), s.id)).await;
    assert!(matches!(e, Err(DomainError::NotFound("doctor"))), "{e:?}");
    let e = book(booking(p.id, d.id, SlotId::random())).await;
    assert!(
        matches!(e, Err(DomainError::NotFound("time slot"))),
        "{e:?}"
    );
    let other = doctor(store).await;
    let e = book(booking(p.id, other.id, s.id)).await;
    assert!(
        matches!(e, Err(DomainError::Validation(ref f)) if f[0].field == "doctor_id"),
        "{e:?}"
    );
    let a = book(booking(p.id, d.id, s.id)).await.unwrap().appointment;
    assert_eq!(
        (a.status, a.consultation_type),
        (AppointmentStatus::Pending, ConsultationType::Video)
    );
    let e = book(booking(p.id, d.id, s.id)).await;
    assert!(matches!(e, Err(DomainError::AlreadyBooked)), "{e:?}");
    let q = patient(store).await;
    let e = book(booking(q.id, d.id, s.id)).await;
    assert!(matches!(e, Err(DomainError::SlotUnavailable(_))), "{e:?}");
}

async fn idempotent_bookings_replay_or_refuse(port: TestStore) {
    let store = &*port.store;
    let (d, p) = (doctor(store).await, patient(store).await);
    let s = slot(store, d.id, 3).await;
    let key = |fp: &str| {
        Some(IdempotencyKey {
            key: "k-1".into(),
            fingerprint: fp.into(),
        })
    };
    let first = store
        .book(booking(p.id, d.id, s.id), key("a"), Actor::system())
        .await
        .unwrap();
    let again = store
        .book(booking(p.id, d.id, s.id), key("a"), Actor::system())
        .await
        .unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.appointment.id, again.appointment.id);
    let other = store
        .book(booking(p.id, d.id, s.id), key("b"), Actor::system())
        .await;
    assert!(
        matches!(other, Err(DomainError::IdempotencyKeyReused)),
        "{other:?}"
    );
}

async fn transitions_follow_the_state_machine(port: TestStore) {
    let store = &*port.store;
    let (d, p) = (doctor(store).await, patient(store).await);
    let s = slot(store, d.id, 1).await;
    let actor = || Actor::system();
    let a = store
        .book(booking(p.id, d.id, s.id), None, actor())
        .await
        .unwrap()
        .appointment;
    let e = store.complete(a.id, actor()).await;
    assert!(
        matches!(e, Err(DomainError::InvalidTransition { .. })),
        "{e:?}"
    );
    assert_eq!(
        store.confirm(a.id, actor()).await.unwrap().status,
        AppointmentStatus::Confirmed
    );
    assert_eq!(
        store.confirm(a.id, actor()).await.unwrap().status,
        AppointmentStatus::Confirmed
    );
    let c = store
        .cancel(a.id, Some("ill".into()), actor())
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.cancellation_reason.as_deref()),
        (AppointmentStatus::Cancelled, Some("ill"))
    );
    let slots = store
        .list_slots(d.id, s.slot_date, s.slot_date)
        .await
        .unwrap();
    assert_eq!(slots[0].available_capacity, 1);
    let history: Vec<AuditAction> = store
        .history(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(
        history,
        [AuditAction::Book, AuditAction::Confirm, AuditAction::Cancel]
    );
    let detail = store.get_appointment(a.id).await.unwrap();
    assert_eq!((detail.doctor.id, detail.patient.id), (d.id, p.id));
}

async fn overdue_holds_expire_once(port: TestStore) {
    // A hold of zero seconds is overdue as soon as it is written: no waiting on the clock.
    let port =
        TestStore::open_with(port.backend, |s| s.booking.hold = std::time::Duration::ZERO).await;
    let store = &*port.store;
    let (d, p) = (doctor(store).await, patient(store).await);
    let s = slot(store, d.id, 1).await;
    let a = store
        .book(booking(p.id, d.id, s.id), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    assert_eq!(
        store
            .get_appointment(a.id)
            .await
            .unwrap()
            .appointment
            .status,
        AppointmentStatus::Expired
    );
    assert!(matches!(
        store.confirm(a.id, Actor::system()).await,
        Err(DomainError::HoldExpired)
    ));
    // The confirm already expired it: the sweep finds nothing left.
    assert_eq!(store.expire_due(100).await.unwrap(), 0);
    let history = store.history(a.id).await.unwrap();
    let expiries = history
        .iter()
        .filter(|h| h.action == AuditAction::Expire)
        .count();
    assert_eq!(expiries, 1);
    let filter = AppointmentFilter {
        date: None,
        status: Some(AppointmentStatus::Expired),
        live_only: false,
    };
    let page = store
        .doctor_appointments(d.id, filter, Page::new(None, None))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (1, 1));
    let missing = store
        .patient_appointments(PatientId::random(), None, Page::new(None, None))
        .await;
    assert!(
        matches!(missing, Err(DomainError::NotFound("patient"))),
        "{missing:?}"
    );
}

/// Reviews on the port: only the appointment's patient, only COMPLETED, once; the doctor's
/// rating follows; the list is newest first and unknown doctors are not found.
async fn reviews_are_once_per_completed_appointment(port: TestStore) {
    use carebook::domain::review::{NewReview, Rating};
    use carebook::domain::user::{Accessor, Role};
    use carebook::domain::UserId;
    let store = &*port.store;
    let (d, p) = (doctor(store).await, patient(store).await);
    let s = slot(store, d.id, 2).await;
    let a = store
        .book(booking(p.id, d.id, s.id), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    let by = Accessor {
        user_id: UserId::random(),
        role: Role::Patient,
        route: "/api/appointments/{id}/review".into(),
        request_id: "store-contract".into(),
        break_glass: None,
    };
    let new = |appointment, patient, stars| NewReview {
        appointment_id: appointment,
        patient_id: patient,
        rating: Rating::new(stars).unwrap(),
        comment: Some("Kind".into()),
    };
    let e = store.create_review(new(a.id, p.id, 4), by.clone()).await;
    assert!(
        matches!(
            e,
            Err(DomainError::InvalidTransition {
                action: "review",
                from: "PENDING"
            })
        ),
        "{e:?}"
    );
    store.confirm(a.id, Actor::system()).await.unwrap();
    store.complete(a.id, Actor::system()).await.unwrap();
    let other = patient(store).await;
    for (appointment, patient) in [(a.id, other.id), (AppointmentId::random(), p.id)] {
        let e = store
            .create_review(new(appointment, patient, 4), by.clone())
            .await;
        assert!(
            matches!(e, Err(DomainError::NotFound("appointment"))),
            "{e:?}"
        );
    }
    let r = store
        .create_review(new(a.id, p.id, 4), by.clone())
        .await
        .unwrap();
    assert_eq!(
        (
            r.appointment_id,
            r.doctor_id,
            r.rating.stars(),
            r.comment.as_deref()
        ),
        (a.id, d.id, 4, Some("Kind"))
    );
    let e = store.create_review(new(a.id, p.id, 5), by.clone()).await;
    assert!(matches!(e, Err(DomainError::AlreadyReviewed)), "{e:?}");
    let rated = store.get_doctor(d.id).await.unwrap();
    assert_eq!((rated.rating.count, rated.rating.average()), (1, Some(4.0)));
    let page = store
        .list_reviews(d.id, Page::new(None, None))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, r.id);
    let e = store
        .list_reviews(DoctorId::random(), Page::new(None, None))
        .await;
    assert!(matches!(e, Err(DomainError::NotFound("doctor"))), "{e:?}");
}

/// A change by an actor whose reach does not cover the appointment is refused as
/// `OutOfReach` (naming its patient) and changes nothing; its own patient and doctor reach it.
async fn changes_stay_within_the_actors_reach(port: TestStore) {
    let store = &*port.store;
    let (d, p) = (doctor(store).await, patient(store).await);
    let (other_doctor, other_patient) = (doctor(store).await, patient(store).await);
    let s = slot(store, d.id, 2).await;
    let to = store.create_slot(d.id, new_slot(3, 10, 2)).await.unwrap();
    let a = store
        .book(booking(p.id, d.id, s.id), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    let as_reach = |reach| Actor {
        reach,
        ..Actor::system()
    };
    for reach in [
        Reach::Patient(other_patient.id),
        Reach::Doctor(other_doctor.id),
    ] {
        let refused = [
            store.confirm(a.id, as_reach(reach)).await,
            store.cancel(a.id, None, as_reach(reach)).await,
            store.complete(a.id, as_reach(reach)).await,
            store.reschedule(a.id, to.id, as_reach(reach)).await,
            store.mark_no_show(a.id, as_reach(reach)).await,
        ];
        for e in refused {
            assert!(
                matches!(e, Err(DomainError::OutOfReach(who)) if who == p.id),
                "{reach:?}: {e:?}"
            );
        }
    }
    let unchanged = store.get_appointment(a.id).await.unwrap().appointment;
    assert_eq!(
        (unchanged.status, unchanged.time_slot_id),
        (AppointmentStatus::Pending, s.id)
    );
    let confirmed = store.confirm(a.id, as_reach(Reach::Patient(p.id))).await;
    assert_eq!(confirmed.unwrap().status, AppointmentStatus::Confirmed);
    let moved = store
        .reschedule(a.id, to.id, as_reach(Reach::Doctor(d.id)))
        .await;
    assert_eq!(moved.unwrap().time_slot_id, to.id);
}

on_both_stores!(
    changes_stay_within_the_actors_reach,
    reviews_are_once_per_completed_appointment,
    people_round_trip_and_report_duplicates,
    slots_are_unique_and_bulk_skips,
    booking_refusals_come_in_order,
    idempotent_bookings_replay_or_refuse,
    transitions_follow_the_state_machine,
    overdue_holds_expire_once,
);
