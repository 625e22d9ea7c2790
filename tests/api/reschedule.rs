//! `POST /api/appointments/{id}/reschedule`: the move, its refusals, who may do it, a race for
//! five seats, and the notice windows (`MIN_NOTICE_MINUTES`, `CANCEL_NOTICE_MINUTES`).

use std::collections::HashMap;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, Account, TestApp};

/// Books as the admin and returns the appointment's id; panics unless 201.
pub async fn booked(app: &TestApp, patient: &str, doctor: &str, slot: &str) -> String {
    let (s, b) = app.book(patient, doctor, slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

fn path(appointment: &str) -> String {
    format!("/appointments/{appointment}/reschedule")
}

/// Reschedules as the admin.
async fn move_to(app: &TestApp, appointment: &str, slot: &str) -> (StatusCode, Value) {
    app.post(&path(appointment), json!({"time_slot_id": slot}))
        .await
}

/// Reschedules as `who`.
async fn move_as(
    app: &TestApp,
    who: &Account,
    appointment: &str,
    slot: &str,
) -> (StatusCode, Value) {
    let body = json!({"time_slot_id": slot});
    app.as_user(who, Method::POST, &path(appointment), body)
        .await
}

fn seats(view: &Value) -> i64 {
    view["current_bookings"].as_i64().expect("current_bookings")
}

/// A slot `minutes` from now (to the minute, UTC doctor) with `capacity` seats.
pub async fn slot_in(app: &TestApp, doctor: &str, minutes: i64, capacity: i64) -> String {
    let at = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    let body = json!({"slot_date": at.date_naive().to_string(),
        "slot_time": at.format("%H:%M").to_string(), "max_capacity": capacity});
    let (s, b) = app
        .post(&format!("/doctors/{doctor}/time-slots"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// Every slot of the doctor's seat count against a recount of its live appointments
/// (PENDING and unexpired, CONFIRMED, COMPLETED, NO_SHOW) read through the API.
pub async fn assert_seats_match_recount(app: &TestApp, doctor: &str) {
    let mut live: HashMap<String, i64> = HashMap::new();
    for status in ["PENDING", "CONFIRMED", "COMPLETED", "NO_SHOW"] {
        let mut offset = 0;
        loop {
            let url =
                format!("/appointments/doctor/{doctor}?status={status}&limit=100&offset={offset}");
            let (s, b) = app.get(&url).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            let items = b["data"].as_array().unwrap();
            for a in items {
                *live
                    .entry(a["time_slot_id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            if items.len() < 100 {
                break;
            }
            offset += 100;
        }
    }
    let (s, b) = app.get(&format!("/doctors/{doctor}/time-slots")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for slot in b["data"].as_array().unwrap() {
        let id = slot["id"].as_str().unwrap();
        let want = live.get(id).copied().unwrap_or(0);
        assert_eq!(seats(slot), want, "slot {id}: seats against recount");
    }
}

async fn history(app: &TestApp, appointment: &str) -> Vec<Value> {
    let (s, b) = app
        .get(&format!("/appointments/{appointment}/history"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().unwrap().clone()
}

async fn moves_the_seat_and_keeps_the_appointment(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let from = app.slot(&doctor, 2, "09:00", 2).await;
    let to = app.slot(&doctor, 3, "11:30", 2).await;
    let id = booked(&app, &patient, &doctor, &from).await;
    let (_, before) = app.get(&format!("/appointments/{id}")).await;

    let (s, b) = move_to(&app, &id, &to).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let a = &b["data"];
    assert_eq!(a["id"], id.as_str());
    assert_eq!(a["status"], "PENDING");
    assert_eq!(
        a["expires_at"], before["data"]["expires_at"],
        "the hold keeps its expiry"
    );
    assert_eq!(a["time_slot_id"], to.as_str());
    let to_view = app.slot_view(&doctor, &to).await;
    assert_eq!(a["appointment_date"], to_view["slot_date"]);
    assert_eq!(a["appointment_time"], to_view["slot_time"]);
    assert_eq!(seats(&to_view), 1);
    assert_eq!(seats(&app.slot_view(&doctor, &from).await), 0);

    let entries = history(&app, &id).await;
    let last = entries.last().unwrap();
    assert_eq!(last["action"], "RESCHEDULED");
    assert_eq!(
        (&last["old_status"], &last["new_status"]),
        (&json!("PENDING"), &json!("PENDING"))
    );
    assert_eq!(
        (&last["from_slot_id"], &last["to_slot_id"]),
        (&json!(from), &json!(to))
    );
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.contains(&from) && reason.contains(&to), "{reason}");
    assert!(
        last["actor"].is_string() && last["actor_role"] == "admin",
        "{last}"
    );

    // A CONFIRMED appointment moves back and stays CONFIRMED.
    let (s, b) = app
        .post(&format!("/appointments/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = move_to(&app, &id, &from).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["data"]["status"].as_str(),
            b["data"]["time_slot_id"].as_str()
        ),
        (Some("CONFIRMED"), Some(from.as_str()))
    );
    assert!(b["data"]["confirmed_at"].is_string());

    // The slot it is on already: nothing changes, nothing is audited.
    let n = history(&app, &id).await.len();
    let (s, b) = move_to(&app, &id, &from).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(history(&app, &id).await.len(), n);
    assert_seats_match_recount(&app, &doctor).await;
}

async fn refusals_change_nothing(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let from = app.slot(&doctor, 2, "09:00", 1).await;
    let id = booked(&app, &patient, &doctor, &from).await;

    let full = app.slot(&doctor, 2, "10:00", 1).await;
    booked(&app, &app.patient().await, &doctor, &full).await;
    let (s, b) = move_to(&app, &id, &full).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");

    let blocked = app.slot(&doctor, 2, "11:00", 3).await;
    let (s, b) = app
        .patch(
            &format!("/doctors/{doctor}/time-slots/{blocked}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = move_to(&app, &id, &blocked).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");

    let started = app.slot(&doctor, 2, "12:00", 3).await;
    app.start_slot(&started).await;
    let (s, b) = move_to(&app, &id, &started).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");

    let other_doctor = app.doctor().await;
    let elsewhere = app.slot(&other_doctor, 2, "13:00", 3).await;
    let (s, b) = move_to(&app, &id, &elsewhere).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["time_slot_id"]);

    let unknown = uuid::Uuid::new_v4().to_string();
    let (s, b) = move_to(&app, &id, &unknown).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = move_to(&app, &unknown, &full).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app.post(&path(&id), json!({})).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["time_slot_id"]);
    let (s, b) = app
        .post(&path(&id), json!({"time_slot_id": from, "extra": 1}))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");

    // The patient already holds the target slot.
    let mine = app.slot(&doctor, 2, "14:00", 3).await;
    booked(&app, &patient, &doctor, &mine).await;
    let (s, b) = move_to(&app, &id, &mine).await;
    assert_error(s, &b, 409, "ALREADY_BOOKED");

    let free = app.slot(&doctor, 2, "15:00", 3).await;
    let (s, b) = app
        .post(&format!("/appointments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = move_to(&app, &id, &free).await;
    assert_error(s, &b, 409, "INVALID_TRANSITION");

    // An overdue hold is EXPIRED: refused, and its seat given back.
    let late = booked(&app, &patient, &doctor, &free).await;
    app.expire_hold(&late).await;
    let (s, b) = move_to(&app, &late, &from).await;
    assert_error(s, &b, 409, "INVALID_TRANSITION");
    assert_eq!(seats(&app.slot_view(&doctor, &free).await), 0);

    let entries = history(&app, &id).await;
    assert!(
        entries.iter().all(|e| e["action"] != "RESCHEDULED"),
        "{entries:?}"
    );
    assert_seats_match_recount(&app, &doctor).await;
}

async fn patients_move_only_their_own(app: TestApp) {
    let doctor = app.doctor_account().await;
    let doctor_id = doctor.doctor_id.clone().unwrap();
    let me = app.sign_up().await;
    let other = app.sign_up().await;
    let my_patient = me.patient_id.clone().unwrap();
    let from = app.slot(&doctor_id, 2, "09:00", 3).await;
    let to = app.slot(&doctor_id, 2, "10:00", 3).await;
    let (s, b) = app.book_as(&me, &my_patient, &doctor_id, &from).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();

    let (s, b) = move_as(&app, &other, &id, &to).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let stranger = app.doctor_account().await;
    let (s, b) = move_as(&app, &stranger, &id, &to).await;
    assert_error(s, &b, 404, "NOT_FOUND");

    let (s, b) = move_as(&app, &me, &id, &to).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let last = history(&app, &id).await.pop().unwrap();
    assert_eq!(
        (&last["actor"], &last["actor_role"]),
        (&json!(me.user_id), &json!("patient"))
    );
    let (s, b) = move_as(&app, &doctor, &id, &from).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let scheduler = app.account("scheduler", None).await;
    let (s, b) = move_as(&app, &scheduler, &id, &to).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Each move is in the patient's access log, as an update by its actor.
    let records = app
        .access_records(&format!("patient_id={my_patient}&actor_id={}", me.user_id))
        .await;
    assert!(
        records
            .iter()
            .any(|r| r["route"] == "/api/appointments/{id}/reschedule" && r["action"] == "update"),
        "{records:?}"
    );
}

async fn fifty_reschedules_race_for_five_seats(app: TestApp) {
    let doctor = app.doctor().await;
    let date = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let slots: Vec<Value> = (0..50)
        .map(|i| json!({"slot_date": date.to_string(), "slot_time": format!("{:02}:{:02}", 8 + i / 6, (i % 6) * 10)}))
        .collect();
    let (s, b) = app
        .post(
            &format!("/doctors/{doctor}/time-slots/bulk"),
            json!({"slots": slots}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let created: Vec<String> = b["data"]["created"]
        .as_array()
        .expect("created slots")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created.len(), 50);
    let target = app.slot(&doctor, 4, "10:00", 5).await;
    let patients = join_all((0..50).map(|_| app.patient())).await;
    let appointments = join_all(
        patients
            .iter()
            .zip(&created)
            .map(|(p, slot)| booked(&app, p, &doctor, slot)),
    )
    .await;

    let calls = appointments.iter().map(|id| {
        let req = app
            .client
            .post(format!("{}{}", app.base, path(id)))
            .json(&json!({"time_slot_id": target}));
        async move {
            let res = req.send().await.expect("request");
            let status = res.status();
            (status, res.json::<Value>().await.expect("JSON body"))
        }
    });
    let results = join_all(calls).await;
    let server_errors: Vec<_> = results
        .iter()
        .filter(|(s, _)| s.is_server_error())
        .collect();
    assert!(server_errors.is_empty(), "server errors: {server_errors:?}");
    let moved = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused = results
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["error"]["code"] == "SLOT_UNAVAILABLE")
        .count();
    assert_eq!((moved, refused), (5, 45), "{results:?}");
    assert_eq!(seats(&app.slot_view(&doctor, &target).await), 5);
    assert_seats_match_recount(&app, &doctor).await;
}

/// An app whose patients need an hour's notice to book, cancel and reschedule.
async fn with_notice(app: TestApp) -> TestApp {
    let backend = app.backend;
    drop(app);
    TestApp::spawn_with(backend, |s| {
        s.booking.notice.book_secs = 3600;
        s.booking.notice.cancel_secs = 3600;
    })
    .await
}

async fn notice_binds_patients_not_staff(app: TestApp) {
    let app = with_notice(app).await;
    let doctor = app.doctor_account().await;
    let doctor_id = doctor.doctor_id.clone().unwrap();
    let me = app.sign_up().await;
    let patient = me.patient_id.clone().unwrap();
    let soon = slot_in(&app, &doctor_id, 30, 5).await;
    let later = app.slot(&doctor_id, 2, "10:00", 5).await;

    // Booking a slot that starts within MIN_NOTICE_MINUTES.
    let (s, b) = app.book_as(&me, &patient, &doctor_id, &soon).await;
    assert_error(s, &b, 409, "TOO_LATE");
    assert_eq!(seats(&app.slot_view(&doctor_id, &soon).await), 0);
    let scheduler = app.account("scheduler", None).await;
    let (s, b) = app.book_as(&scheduler, &patient, &doctor_id, &soon).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let near = b["data"]["id"].as_str().unwrap().to_owned();

    // Cancelling or moving an appointment within CANCEL_NOTICE_MINUTES of its start.
    let cancel = format!("/appointments/{near}/cancel");
    let (s, b) = app.as_user(&me, Method::POST, &cancel, json!({})).await;
    assert_error(s, &b, 409, "TOO_LATE");
    let (s, b) = move_as(&app, &me, &near, &later).await;
    assert_error(s, &b, 409, "TOO_LATE");
    assert_eq!(seats(&app.slot_view(&doctor_id, &soon).await), 1);
    let (s, b) = move_to(&app, &near, &later).await;
    assert_eq!(s, StatusCode::OK, "the admin overrides: {b}");

    // Far enough ahead, the patient books, but may not move into the near slot.
    let far = app.slot(&doctor_id, 3, "10:00", 5).await;
    let (s, b) = app.book_as(&me, &patient, &doctor_id, &far).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let mine = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = move_as(&app, &me, &mine, &soon).await;
    assert_error(s, &b, 409, "TOO_LATE");
    let (s, b) = move_as(&app, &scheduler, &mine, &soon).await;
    assert_eq!(s, StatusCode::OK, "the front desk overrides: {b}");
    // The doctor may change her own calendar late too.
    let cancel = format!("/appointments/{mine}/cancel");
    let (s, b) = app.as_user(&doctor, Method::POST, &cancel, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Outside the windows the patient is free.
    let (s, b) = move_as(&app, &me, &near, &far).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let cancel = format!("/appointments/{near}/cancel");
    let (s, b) = app.as_user(&me, Method::POST, &cancel, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_seats_match_recount(&app, &doctor_id).await;
}

/// A patient's retry of a booking, sent again with its `Idempotency-Key` after the slot came
/// inside `MIN_NOTICE_MINUTES`, answers what the first request answered.
async fn a_replay_inside_the_notice_window_answers_as_before(app: TestApp) {
    let app = with_notice(app).await;
    let doctor = app.doctor().await;
    let me = app.sign_up().await;
    let patient = me.patient_id.clone().unwrap();
    let slot = app.slot(&doctor, 2, "10:00", 5).await;
    let url = format!("{}/appointments", app.base);
    let body = json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot});
    let key = [("Idempotency-Key", "retry-after-a-lost-answer")];
    let book = || {
        app.send(
            Some(me.access.as_str()),
            Method::POST,
            &url,
            body.clone(),
            &key,
        )
    };
    let (s, _, first) = book().await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    // The slot now starts in 30 minutes: a new booking would be too late.
    app.move_slot_start(&slot, chrono::Duration::minutes(30))
        .await;
    let (s, _, again) = book().await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    assert_eq!(seats(&app.slot_view(&doctor, &slot).await), 1);
    // Without the key it is a new booking, and refused.
    let other = app.sign_up().await;
    let theirs = other.patient_id.clone().unwrap();
    let (s, b) = app.book_as(&other, &theirs, &doctor, &slot).await;
    assert_error(s, &b, 409, "TOO_LATE");
}

/// A patient's move repeated after its slot came inside `CANCEL_NOTICE_MINUTES` answers what
/// the first move answered; a new move or a cancel of that appointment is too late.
async fn a_repeated_move_inside_the_notice_window_answers_as_before(app: TestApp) {
    let app = with_notice(app).await;
    let doctor = app.doctor().await;
    let me = app.sign_up().await;
    let patient = me.patient_id.clone().unwrap();
    let first = app.slot(&doctor, 2, "10:00", 5).await;
    let second = app.slot(&doctor, 3, "10:00", 5).await;
    let third = app.slot(&doctor, 4, "10:00", 5).await;
    let (s, b) = app.book_as(&me, &patient, &doctor, &first).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, moved) = move_as(&app, &me, &id, &second).await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    // The appointment's new slot now starts in 20 minutes.
    app.move_slot_start(&second, chrono::Duration::minutes(20))
        .await;
    let (s, again) = move_as(&app, &me, &id, &second).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["data"]["time_slot_id"], moved["data"]["time_slot_id"]);
    assert_eq!(again["data"]["status"], moved["data"]["status"]);
    let (s, b) = move_as(&app, &me, &id, &third).await;
    assert_error(s, &b, 409, "TOO_LATE");
    let cancel = format!("/appointments/{id}/cancel");
    let (s, b) = app.as_user(&me, Method::POST, &cancel, json!({})).await;
    assert_error(s, &b, 409, "TOO_LATE");
    assert_eq!(seats(&app.slot_view(&doctor, &second).await), 1);
    assert_eq!(seats(&app.slot_view(&doctor, &third).await), 0);
    // The front desk cancels it; the patient's repeat of that cancel answers as it did.
    let scheduler = app.account("scheduler", None).await;
    let (s, b) = app
        .as_user(&scheduler, Method::POST, &cancel, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.as_user(&me, Method::POST, &cancel, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "CANCELLED");
    assert_seats_match_recount(&app, &doctor).await;
}

/// Another patient's appointment inside the notice window answers 404 to every change, never
/// `TOO_LATE` (which would tell that it exists), changes nothing, and each attempt is in the
/// owner's access log as refused.
async fn out_of_reach_reads_as_missing_inside_the_window_too(app: TestApp) {
    let app = with_notice(app).await;
    let doctor = app.doctor().await;
    let owner = app.sign_up().await;
    let patient = owner.patient_id.clone().unwrap();
    let slot = app.slot(&doctor, 2, "10:00", 5).await;
    let other_slot = app.slot(&doctor, 3, "10:00", 5).await;
    let (s, b) = app.book_as(&owner, &patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    app.move_slot_start(&slot, chrono::Duration::minutes(20))
        .await;
    let intruder = app.sign_up().await;
    for (action, body) in [
        ("cancel", json!({})),
        ("confirm", json!({})),
        ("reschedule", json!({"time_slot_id": other_slot})),
    ] {
        let url = format!("/appointments/{id}/{action}");
        let (s, b) = app.as_user(&intruder, Method::POST, &url, body).await;
        assert_error(s, &b, 404, "NOT_FOUND");
    }
    let (s, b) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "PENDING");
    assert_eq!(b["data"]["time_slot_id"], json!(slot));
    let records = app
        .access_records(&format!(
            "patient_id={patient}&actor_id={}",
            intruder.user_id
        ))
        .await;
    let refused = records.iter().filter(|r| r["outcome"] == 404).count();
    assert_eq!(refused, 3, "{records:?}");
}

async fn notice_is_off_by_default(app: TestApp) {
    let doctor = app.doctor().await;
    let me = app.sign_up().await;
    let patient = me.patient_id.clone().unwrap();
    let soon = slot_in(&app, &doctor, 3, 5).await;
    let (s, b) = app.book_as(&me, &patient, &doctor, &soon).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let cancel = format!("/appointments/{id}/cancel");
    let (s, b) = app.as_user(&me, Method::POST, &cancel, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

backends!(
    moves_the_seat_and_keeps_the_appointment,
    refusals_change_nothing,
    patients_move_only_their_own,
    fifty_reschedules_race_for_five_seats,
    notice_binds_patients_not_staff,
    a_replay_inside_the_notice_window_answers_as_before,
    a_repeated_move_inside_the_notice_window_answers_as_before,
    out_of_reach_reads_as_missing_inside_the_window_too,
    notice_is_off_by_default,
);
