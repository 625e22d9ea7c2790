//! `/api/waitlist`: joining, listing and leaving with their validation and ownership, and the
//! offers a freed seat makes to the first in line (cancel, expiry, reschedule away, time off
//! lifted), the patients skipped, and a race of cancels and bookings on waited-for slots.

use std::collections::HashSet;

use carebook::jobs::expiry::sweep_once;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, Backend, TestApp};
use crate::reschedule::{assert_seats_match_recount, booked};

/// A local date `days` from today (doctors here work in UTC).
fn day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

fn body(patient: &str, doctor: &str, from: i64, to: i64) -> Value {
    json!({"patient_id": patient, "doctor_id": doctor, "from_date": day(from), "to_date": day(to)})
}

/// Joins as the admin and returns the entry's id; panics unless 201.
async fn joined(app: &TestApp, patient: &str, doctor: &str, from: i64, to: i64) -> String {
    let (s, b) = app.post("/waitlist", body(patient, doctor, from, to)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["status"], "WAITING", "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// Every entry matching `query`, as the admin.
async fn entries(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, b) = app.get(&format!("/waitlist?limit=100&{query}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().unwrap().clone()
}

/// The patient's one entry for the doctor.
async fn entry_of(app: &TestApp, patient: &str, doctor: &str) -> Value {
    let list = entries(app, &format!("patient_id={patient}&doctor_id={doctor}")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

async fn history(app: &TestApp, appointment: &str) -> Vec<Value> {
    let (s, b) = app
        .get(&format!("/appointments/{appointment}/history"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().unwrap().clone()
}

/// Asserts the entry was offered a PENDING hold on `slot`, audited `OFFERED_FROM_WAITLIST` by
/// `system`; returns the appointment's id.
async fn assert_offered(app: &TestApp, entry: &Value, slot: &str) -> String {
    assert_eq!(entry["status"], "OFFERED", "{entry}");
    let id = entry["appointment_id"].as_str().expect("appointment_id");
    let (s, b) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["time_slot_id"], slot, "{b}");
    assert_eq!(b["data"]["patient_id"], entry["patient_id"], "{b}");
    assert!(b["data"]["expires_at"].is_string(), "{b}");
    let h = history(app, id).await;
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["action"], "OFFERED_FROM_WAITLIST");
    assert_eq!(h[0]["old_status"], Value::Null);
    assert_eq!(h[0]["new_status"], "PENDING");
    assert_eq!(h[0]["actor"], "system");
    id.to_owned()
}

async fn cancel(app: &TestApp, appointment: &str) {
    let (s, b) = app
        .post(&format!("/appointments/{appointment}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn joining_checks_dates_and_who(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let id = joined(&app, &patient, &doctor, 0, 10).await;
    let (s, b) = app.post("/waitlist", body(&patient, &doctor, 5, 20)).await;
    assert_error(s, &b, 409, "DUPLICATE");
    joined(&app, &patient, &doctor, 11, 20).await;

    let (s, b) = app.post("/waitlist", body(&patient, &doctor, -1, 3)).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["from_date"]);
    let (s, b) = app.post("/waitlist", body(&patient, &doctor, 4, 3)).await;
    assert_eq!(error_fields(&b), ["to_date"], "{s} {b}");
    let (s, b) = app.post("/waitlist", body(&patient, &doctor, 1, 92)).await;
    assert_eq!(error_fields(&b), ["to_date"], "{s} {b}");
    let (s, b) = app
        .post(
            "/waitlist",
            json!({"doctor_id": doctor, "from_date": "soon", "extra": 1}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    for f in ["patient_id", "from_date", "to_date", "extra"] {
        assert!(error_fields(&b).contains(&f.to_owned()), "{f}: {b}");
    }
    let nobody = "00000000-0000-4000-8000-000000000000";
    let (s, b) = app.post("/waitlist", body(nobody, &doctor, 1, 2)).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app.post("/waitlist", body(&patient, nobody, 1, 2)).await;
    assert_error(s, &b, 404, "NOT_FOUND");

    // A patient joins for themself only.
    let me = app.sign_up().await;
    let mine = me.patient_id.clone().unwrap();
    let (s, b) = app
        .as_user(
            &me,
            Method::POST,
            "/waitlist",
            body(&patient, &doctor, 1, 2),
        )
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let (s, b) = app
        .as_user(&me, Method::POST, "/waitlist", body(&mine, &doctor, 1, 2))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let my_entry = b["data"]["id"].as_str().unwrap().to_owned();
    // A doctor manages their own waitlist: anyone's entry on it, nothing on another doctor's.
    let doc = app.doctor_account().await;
    let own = doc.doctor_id.clone().unwrap();
    let (s, b) = app
        .as_user(
            &doc,
            Method::POST,
            "/waitlist",
            body(&patient, &doctor, 3, 4),
        )
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    // Only a patient the doctor may see already: a waitlist offer must not open a record.
    let (s, b) = app
        .as_user(&doc, Method::POST, "/waitlist", body(&patient, &own, 3, 4))
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let seen = app.slot(&own, 2, "08:00", 1).await;
    let (s, b) = app.book(&patient, &own, &seen).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app
        .as_user(&doc, Method::POST, "/waitlist", body(&patient, &own, 3, 4))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let doc_entry = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .as_user(&doc, Method::GET, "/waitlist", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pagination"]["total"], 1, "{b}");
    assert_eq!(b["data"][0]["doctor_id"], own.as_str());
    let elsewhere = format!("/waitlist?doctor_id={doctor}");
    let (s, b) = app
        .as_user(&doc, Method::GET, &elsewhere, Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let not_theirs = format!("/waitlist/{id}");
    let (s, b) = app
        .as_user(&doc, Method::DELETE, &not_theirs, Value::Null)
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app
        .as_user(
            &doc,
            Method::DELETE,
            &format!("/waitlist/{doc_entry}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Lists: a patient sees their own; staff filter.
    let (s, b) = app
        .as_user(&me, Method::GET, "/waitlist", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pagination"]["total"], 1, "{b}");
    assert_eq!(b["data"][0]["patient_id"], mine.as_str());
    let other = format!("/waitlist?patient_id={patient}");
    let (s, b) = app.as_user(&me, Method::GET, &other, Value::Null).await;
    assert_error(s, &b, 403, "FORBIDDEN");
    assert_eq!(entries(&app, &format!("doctor_id={doctor}")).await.len(), 3);
    assert_eq!(
        entries(&app, &format!("patient_id={patient}")).await.len(),
        2
    );
    let (s, b) = app.get("/waitlist?limit=1&offset=1").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pagination"]["total"], 3, "{b}");
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    let (s, b) = app.get("/waitlist?doctor_id=nope").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");

    // Leaving: own or staff; another's is a 404 like a missing one.
    let theirs = format!("/waitlist/{id}");
    let (s, b) = app.as_user(&me, Method::DELETE, &theirs, Value::Null).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app
        .as_user(
            &me,
            Method::DELETE,
            &format!("/waitlist/{my_entry}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["id"], my_entry.as_str());
    let (s, b) = app.call(Method::DELETE, &theirs, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.call(Method::DELETE, &theirs, Value::Null).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    assert_eq!(entries(&app, &format!("doctor_id={doctor}")).await.len(), 1);
}

async fn a_cancel_offers_the_seat_to_the_first_in_line(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "10:00", 1).await;
    let holder = app.patient().await;
    let held = booked(&app, &holder, &doctor, &slot).await;
    let first = app.sign_up().await;
    let first_id = first.patient_id.clone().unwrap();
    let (second, elsewhere) = (app.patient().await, app.patient().await);
    joined(&app, &elsewhere, &doctor, 5, 9).await; // other dates: not offered
    joined(&app, &first_id, &doctor, 0, 4).await;
    joined(&app, &second, &doctor, 2, 3).await;
    cancel(&app, &held).await;

    let offer = assert_offered(&app, &entry_of(&app, &first_id, &doctor).await, &slot).await;
    assert_eq!(entry_of(&app, &second, &doctor).await["status"], "WAITING");
    assert_eq!(
        entry_of(&app, &elsewhere, &doctor).await["status"],
        "WAITING"
    );
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
    assert_seats_match_recount(&app, &doctor).await;
    // The offer is an ordinary hold: the patient confirms it.
    let (s, b) = app
        .as_user(
            &first,
            Method::POST,
            &format!("/appointments/{offer}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "CONFIRMED");
}

async fn a_lapsed_offer_passes_to_the_next_in_line(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "11:00", 1).await;
    let held = booked(&app, &app.patient().await, &doctor, &slot).await;
    let (first, second, third) = (
        app.patient().await,
        app.patient().await,
        app.patient().await,
    );
    joined(&app, &first, &doctor, 0, 5).await;
    joined(&app, &second, &doctor, 0, 5).await;
    joined(&app, &third, &doctor, 0, 5).await;
    cancel(&app, &held).await;
    let lapsing = assert_offered(&app, &entry_of(&app, &first, &doctor).await, &slot).await;

    app.expire_hold(&lapsing).await;
    assert_eq!(sweep_once(&*app.store).await.unwrap(), 1);
    let (_, b) = app.get(&format!("/appointments/{lapsing}")).await;
    assert_eq!(b["data"]["status"], "EXPIRED");
    // The lapsed entry is done (still OFFERED, linking the expired hold), not queued again.
    let done = entry_of(&app, &first, &doctor).await;
    assert_eq!(done["appointment_id"], lapsing.as_str());
    assert_offered(&app, &entry_of(&app, &second, &doctor).await, &slot).await;
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
    assert_seats_match_recount(&app, &doctor).await;
    // A late confirm expires the offer on the spot: the seat goes on to the next in line too.
    let late = entry_of(&app, &second, &doctor).await["appointment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.expire_hold(&late).await;
    let (s, b) = app
        .post(&format!("/appointments/{late}/confirm"), json!({}))
        .await;
    assert_error(s, &b, 409, "HOLD_EXPIRED");
    let next = assert_offered(&app, &entry_of(&app, &third, &doctor).await, &slot).await;
    assert_seats_match_recount(&app, &doctor).await;
    // Nobody left in line: the next lapse leaves the seat free.
    app.expire_hold(&next).await;
    assert_eq!(sweep_once(&*app.store).await.unwrap(), 1);
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
}

async fn reschedule_away_and_lifted_time_off_offer_seats(app: TestApp) {
    let doctor = app.doctor().await;
    let from = app.slot(&doctor, 2, "09:00", 1).await;
    let to = app.slot(&doctor, 2, "15:00", 1).await;
    let moving = booked(&app, &app.patient().await, &doctor, &from).await;
    let waiting = app.patient().await;
    joined(&app, &waiting, &doctor, 2, 2).await;
    let (s, b) = app
        .post(
            &format!("/appointments/{moving}/reschedule"),
            json!({"time_slot_id": to}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_offered(&app, &entry_of(&app, &waiting, &doctor).await, &from).await;
    assert_seats_match_recount(&app, &doctor).await;

    // Two seats blocked by time off, two patients waiting: lifting it offers both.
    let off = app.slot(&doctor, 4, "10:00", 2).await;
    let (s, b) = app
        .post(
            &format!("/doctors/{doctor}/time-off"),
            json!({"from": day(4), "to": day(4)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["blocked"], 1, "{b}");
    let time_off = b["data"]["id"].as_str().unwrap().to_owned();
    let (a, c) = (app.patient().await, app.patient().await);
    joined(&app, &a, &doctor, 3, 5).await;
    joined(&app, &c, &doctor, 4, 4).await;
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("/doctors/{doctor}/time-off/{time_off}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["restored"], 1, "{b}");
    assert_offered(&app, &entry_of(&app, &a, &doctor).await, &off).await;
    assert_offered(&app, &entry_of(&app, &c, &doctor).await, &off).await;
    assert_eq!(app.slot_view(&doctor, &off).await["current_bookings"], 2);
    assert_seats_match_recount(&app, &doctor).await;
}

/// With a hold cap of one: a patient already on the slot and a patient at the cap are skipped.
async fn holders_and_capped_patients_are_skipped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.booking.max_pending_holds = Some(1)).await;
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "10:00", 2).await;
    let other = app.slot(&doctor, 3, "12:00", 1).await;
    let (leaving, holding) = (app.patient().await, app.patient().await);
    let left = booked(&app, &leaving, &doctor, &slot).await;
    booked(&app, &holding, &doctor, &slot).await;
    let capped = app.patient().await;
    booked(&app, &capped, &doctor, &other).await;
    let next = app.patient().await;
    joined(&app, &holding, &doctor, 0, 5).await;
    joined(&app, &capped, &doctor, 0, 5).await;
    joined(&app, &next, &doctor, 0, 5).await;
    joined(&app, &leaving, &doctor, 0, 5).await;
    cancel(&app, &left).await;

    assert_eq!(entry_of(&app, &holding, &doctor).await["status"], "WAITING");
    assert_eq!(entry_of(&app, &capped, &doctor).await["status"], "WAITING");
    assert_offered(&app, &entry_of(&app, &next, &doctor).await, &slot).await;
    // The one who just cancelled is not offered back the seat they gave up.
    assert_eq!(entry_of(&app, &leaving, &doctor).await["status"], "WAITING");
    assert_seats_match_recount(&app, &doctor).await;
}

/// 20 booked seats on 10 slots with 20 patients waiting: 20 cancels and 20 bookings at once.
async fn cancels_race_bookings_on_waited_for_slots(app: TestApp) {
    let doctor = app.doctor().await;
    let times: Vec<String> = (0..10).map(|i| format!("{:02}:00", 8 + i)).collect();
    let slots = join_all(times.iter().map(|t| app.slot(&doctor, 2, t, 2))).await;
    let holders = join_all((0..20).map(|_| app.patient())).await;
    let mut held = Vec::new();
    for (i, p) in holders.iter().enumerate() {
        held.push(booked(&app, p, &doctor, &slots[i % 10]).await);
    }
    let waiting = join_all((0..20).map(|_| app.patient())).await;
    for w in &waiting {
        joined(&app, w, &doctor, 0, 30).await;
    }
    let bookers = join_all((0..20).map(|_| app.patient())).await;

    let (by, doc, seats) = (&app, &doctor, &slots);
    let cancels = held.iter().map(|a| async move {
        by.post(&format!("/appointments/{a}/cancel"), json!({}))
            .await
    });
    let books = bookers
        .iter()
        .enumerate()
        .map(|(i, p)| async move { by.book(p, doc, &seats[i % 10]).await });
    let (cancelled, bookings) = futures::join!(join_all(cancels), join_all(books));
    for (s, b) in &cancelled {
        assert_eq!(*s, StatusCode::OK, "cancel: {b}");
    }
    let mut booked_now = 0;
    for (s, b) in &bookings {
        assert!(!s.is_server_error(), "booking: {s} {b}");
        match s.as_u16() {
            201 => booked_now += 1,
            409 => assert_eq!(b["error"]["code"], "SLOT_UNAVAILABLE", "{b}"),
            _ => panic!("booking: {s} {b}"),
        }
    }

    let line = entries(&app, &format!("doctor_id={doctor}")).await;
    assert_eq!(line.len(), 20);
    let offered: Vec<&Value> = line.iter().filter(|e| e["status"] == "OFFERED").collect();
    let mut seats_given = HashSet::new();
    for e in &offered {
        let id = e["appointment_id"].as_str().unwrap();
        assert!(seats_given.insert(id.to_owned()), "offered twice: {id}");
        let (_, b) = app.get(&format!("/appointments/{id}")).await;
        let slot = b["data"]["time_slot_id"].as_str().unwrap().to_owned();
        assert_offered(&app, e, &slot).await;
    }
    // Each cancel hands its seat to the line in its own transaction: no booking gets it.
    assert_eq!(offered.len(), 20, "every freed seat offered");
    assert_eq!(booked_now, 0, "no seat was free for a booking");
    // Every offer is told, once: one `waitlist.offered` e-mail row per offered hold.
    let (s, b) = app.get("/outbox?limit=100").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut told: Vec<String> = b["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["event"] == "waitlist.offered")
        .map(|r| r["appointment_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    told.sort();
    let mut given: Vec<String> = seats_given.into_iter().collect();
    given.sort();
    assert_eq!(told, given, "one waitlist.offered row per offer");
    for slot in &slots {
        let view = app.slot_view(&doctor, slot).await;
        assert_eq!(view["current_bookings"], 2, "{view}");
        assert_eq!(app.live_on_slot(&doctor, slot).await, 2);
    }
    assert_seats_match_recount(&app, &doctor).await;
}

backends!(
    joining_checks_dates_and_who,
    a_cancel_offers_the_seat_to_the_first_in_line,
    a_lapsed_offer_passes_to_the_next_in_line,
    reschedule_away_and_lifted_time_off_offer_seats,
    cancels_race_bookings_on_waited_for_slots,
);

mod holders_and_capped_patients_are_skipped {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::holders_and_capped_patients_are_skipped(crate::common::Backend::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::holders_and_capped_patients_are_skipped(crate::common::Backend::Sqlite).await
    }
}
