//! Adapter-level checks the HTTP suite cannot see: pragmas, the instant format, the constraint
//! backstops and the stored effects of expiry.

use std::path::PathBuf;

use chrono::{Duration as Days, NaiveTime, Utc};

use super::tx::db_now;
use super::*;
use crate::domain::appointment::{AppointmentStatus, ConsultationType, NewAppointment};
use crate::domain::calendar::TimeZone;
use crate::domain::contact::{Email, Phone};
use crate::domain::doctor::NewDoctor;
use crate::domain::patient::NewPatient;
use crate::domain::slot::NewSlot;
use crate::domain::store::{AppointmentReads, Housekeeping};
use crate::domain::store::{PeopleStore, SlotStore};
use crate::domain::DoctorId;
use crate::store::retry::TxError;
use crate::store::shared::on_unique;
use chrono::DateTime;

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open_at(url: String) -> SqliteStore {
    let opts = StoreOptions {
        url,
        read_url: None,
        pool_size: 4,
        db: Default::default(),
        terms: Default::default(),
        notice: Default::default(),
    };
    SqliteStore::open(&opts).await.expect("open")
}

/// A store on a fresh file inside a folder that does not exist yet.
async fn fresh() -> (SqliteStore, TempDir, PathBuf) {
    let dir = std::env::temp_dir().join(format!("carebook-unit-{}", uuid::Uuid::new_v4().simple()));
    let file = dir.join("nested").join("t.db");
    let store = open_at(format!("sqlite:{}", file.display())).await;
    (store, TempDir(dir), file)
}

fn doctor(tag: &str) -> NewDoctor {
    NewDoctor {
        name: format!("Dr {tag}"),
        specialization: "Cardiology".into(),
        email: Email::parse(&format!("{tag}@x.io")).expect("email"),
        phone: None,
        license_number: format!("L-{tag}"),
        clinic_name: None,
        address: None,
        bio: None,
        timezone: TimeZone(chrono_tz::UTC),
    }
}

fn patient(tag: &str) -> NewPatient {
    NewPatient {
        name: format!("P {tag}"),
        email: Email::parse(&format!("{tag}@p.io")).expect("email"),
        phone: Phone::parse("+1 555 0100").expect("phone"),
        date_of_birth: None,
        gender: None,
        blood_group: None,
        allergies: None,
        medical_history: None,
        emergency_contact_name: None,
        emergency_contact_phone: None,
    }
}

/// A doctor, a one-seat slot tomorrow, a patient, and a booking request for them.
async fn booking(store: &SqliteStore) -> NewAppointment {
    let d = store.create_doctor(doctor("d")).await.expect("doctor");
    let starts = Utc::now() + Days::days(1);
    let slot = NewSlot {
        slot_date: starts.date_naive(),
        slot_time: NaiveTime::from_hms_opt(10, 0, 0).expect("time"),
        duration_minutes: 30,
        max_capacity: 1,
        starts_at: starts,
    };
    let s = store.create_slot(d.id, slot).await.expect("slot");
    let p = store
        .create_patient(patient("p"), None)
        .await
        .expect("patient");
    NewAppointment {
        patient_id: p.id,
        doctor_id: d.id,
        time_slot_id: s.id,
        appointment_date: None,
        appointment_time: None,
        reason_for_visit: None,
        consultation_type: ConsultationType::InPerson,
    }
}

/// Lets a hold lapse without waiting: its `expires_at` one second before the database clock's
/// now, in the stored instant format.
async fn expire_hold(store: &SqliteStore, appointment: AppointmentId) {
    let moved = sqlx::query(concat!(
        "UPDATE appointments SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds') ",
        "WHERE id = ?1"
    ))
    .bind(appointment)
    .execute(store.writer())
    .await
    .expect("move expires_at");
    assert_eq!(moved.rows_affected(), 1);
}

async fn stored_seats(store: &SqliteStore, slot: SlotId) -> i64 {
    sqlx::query_scalar("SELECT current_bookings FROM time_slots WHERE id = ?1")
        .bind(slot)
        .fetch_one(store.reader())
        .await
        .expect("seats")
}

#[tokio::test]
async fn opens_in_a_new_folder_with_durable_pragmas() {
    let (store, _dir, file) = fresh().await;
    assert!(file.exists());
    let w = store.writer();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(w)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(w)
        .await
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(w)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(w)
        .await
        .unwrap();
    assert_eq!(busy, 10_000);
    let ro: i64 = sqlx::query_scalar("PRAGMA query_only")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(ro, 1);
    store.close().await;
    assert!(matches!(
        store.ping().await,
        Err(DomainError::Unavailable(_))
    ));
}

#[tokio::test]
async fn database_and_rust_instants_share_one_fixed_format() {
    let (store, _dir, _) = fresh().await;
    let mut conn = store.writer().acquire().await.unwrap();
    let now = db_now(&mut conn).await.unwrap();
    assert_eq!(
        (now.len(), &now[10..11], &now[23..]),
        (24, "T", "Z"),
        "{now}"
    );
    let parsed = DateTime::parse_from_rfc3339(&now)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(instant(parsed).as_deref(), Some(now.as_str()));
    let far = DateTime::parse_from_rfc3339("9999-12-31T23:00:00-05:00").unwrap();
    assert_eq!(instant(far.with_timezone(&Utc)), None);
}

#[tokio::test]
async fn unique_backstop_names_the_taken_column() {
    let (store, _dir, _) = fresh().await;
    let d = store.create_doctor(doctor("a")).await.unwrap();
    let dupes = &[("doctors.email", "E"), ("doctors.license_number", "L")];
    let insert = |email: &str, licence: &str| {
        sqlx::query("INSERT INTO doctors (id, name, specialization, email, license_number, timezone) VALUES (?1, 'x', 'y', ?2, ?3, 'UTC')")
            .bind(DoctorId::random())
            .bind(email.to_owned())
            .bind(licence.to_owned())
    };
    let e = insert(d.email.as_str(), "other")
        .execute(store.writer())
        .await
        .unwrap_err();
    assert!(matches!(on_unique(e, dupes), TxError::Domain(DomainError::Duplicate(m)) if m == "E"));
    let e = insert("b@x.io", &d.license_number)
        .execute(store.writer())
        .await
        .unwrap_err();
    assert!(matches!(on_unique(e, dupes), TxError::Domain(DomainError::Duplicate(m)) if m == "L"));
}

#[tokio::test]
async fn overdue_holds_read_expired_and_the_sweep_releases_their_seats() {
    let (store, _dir, _) = fresh().await;
    let new = booking(&store).await;
    let a = store
        .book(new.clone(), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    assert_eq!(a.status, AppointmentStatus::Pending);
    assert_eq!(stored_seats(&store, new.time_slot_id).await, 1);
    expire_hold(&store, a.id).await;
    let read = store.get_appointment(a.id).await.unwrap();
    assert_eq!(read.appointment.status, AppointmentStatus::Expired);
    let day = a.appointment_date;
    let slots = store.list_slots(new.doctor_id, day, day).await.unwrap();
    assert_eq!(
        (slots[0].current_bookings, slots[0].available_capacity),
        (0, 1)
    );
    assert_eq!(store.expire_due(10).await.unwrap(), 1);
    assert_eq!(store.expire_due(10).await.unwrap(), 0);
    assert_eq!(stored_seats(&store, new.time_slot_id).await, 0);
    let h = store.history(a.id).await.unwrap();
    let steps: Vec<_> = h
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(steps, [("BOOK", "system"), ("EXPIRE", "system")]);
}

#[tokio::test]
async fn confirming_an_overdue_hold_commits_its_expiry() {
    let (store, _dir, _) = fresh().await;
    let new = booking(&store).await;
    let a = store
        .book(new.clone(), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    expire_hold(&store, a.id).await;
    let refused = store.confirm(a.id, Actor::system()).await;
    assert!(matches!(refused, Err(DomainError::HoldExpired)));
    let stored: String = sqlx::query_scalar("SELECT status FROM appointments WHERE id = ?1")
        .bind(a.id)
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(stored, "EXPIRED");
    assert_eq!(stored_seats(&store, new.time_slot_id).await, 0);
    let last = store.history(a.id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("EXPIRE", "system")
    );
    // The seat is free again for someone else.
    let other = store.create_patient(patient("q"), None).await.unwrap();
    let again = NewAppointment {
        patient_id: other.id,
        ..new
    };
    assert!(store.book(again, None, Actor::system()).await.is_ok());
}

#[tokio::test]
async fn in_memory_databases_work_on_one_connection() {
    let store = open_at("sqlite::memory:".into()).await;
    let d = store.create_doctor(doctor("m")).await.unwrap();
    assert_eq!(store.get_doctor(d.id).await.unwrap().email, d.email);
}

/// The outbox worker's statements reach their rows by id or through the pending-only indexes:
/// the outbox keeps every delivered row, and a statement that scanned the table (as the claim
/// once did, by the unindexed lease token) cost more with every notification ever sent, while
/// holding the single writer.
#[tokio::test]
async fn the_outbox_worker_never_scans_the_outbox() {
    let (store, _dir, _) = fresh().await;
    for (name, sql, binds) in [
        ("lease", super::outbox::LEASE, 4),
        ("claimed", super::outbox::CLAIMED, 2),
        ("settle", super::outbox::SETTLE, 2),
    ] {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query(&explain);
        for _ in 0..binds {
            q = q.bind("[]");
        }
        let plan: Vec<String> = q
            .fetch_all(store.reader())
            .await
            .expect("plan")
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
            .collect();
        assert!(
            !plan.iter().any(|d| d == "SCAN o" || d == "SCAN outbox"),
            "{name}: {plan:?}"
        );
        assert!(
            plan.iter()
                .any(|d| d.starts_with("SEARCH o") || d.starts_with("SEARCH outbox")),
            "{name}: {plan:?}"
        );
    }
}
