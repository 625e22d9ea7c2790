//! Booking, the appointment state machine, expiry, idempotency, audit trail and lists.

use std::time::Duration;

use carebook::jobs::expiry::sweep_once;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, Backend, TestApp};

/// Doctor, patient and a slot with `capacity` seats two days out.
async fn setup(app: &TestApp, capacity: i64) -> (String, String, String) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "10:00", capacity).await;
    (doctor, patient, slot)
}

fn id(body: &Value) -> String {
    body["data"]["id"].as_str().expect("id").to_owned()
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("instant").parse().expect("RFC 3339")
}

async fn history_actions(app: &TestApp, appointment: &str) -> Vec<(String, String)> {
    let (s, b) = app
        .get(&format!("/appointments/{appointment}/history"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Replaces `app` with one on the same backend whose holds last `secs` seconds.
async fn with_hold(app: TestApp, secs: u64) -> TestApp {
    let backend: Backend = app.backend;
    drop(app);
    TestApp::spawn_with(backend, |s| s.booking.hold = Duration::from_secs(secs)).await
}

async fn book_creates_a_pending_hold(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 2).await;
    let (s, b) = app
        .post(
            "/appointments",
            json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot,
                   "reason_for_visit": "  chest pain  ", "consultation_type": "video"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b["message"],
        "Appointment booked successfully. Please confirm within 5 minutes."
    );
    let a = &b["data"];
    assert_eq!(a["status"], "PENDING");
    assert_eq!(a["consultation_type"], "video");
    assert_eq!(a["reason_for_visit"], "chest pain");
    let hold = instant(&a["expires_at"]) - instant(&a["created_at"]);
    assert!((299..=301).contains(&hold.num_seconds()), "hold {hold}");
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        (
            view["current_bookings"].as_i64(),
            view["available_capacity"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let history = history_actions(&app, &id(&b)).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].0, "BOOK");
    // The actor is the signed-in user who booked (the test's admin).
    let (_, me) = app.get("/auth/me").await;
    assert_eq!(
        history[0].1,
        me["data"]["id"].as_str().unwrap(),
        "{history:?}"
    );
}

async fn book_validates_input(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (s, b) = app.post("/appointments", json!({})).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&b),
        ["patient_id", "doctor_id", "time_slot_id"]
    );
    let (s, b) = app
        .post(
            "/appointments",
            json!({"patient_id": "nope", "doctor_id": doctor, "time_slot_id": slot}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["patient_id"]);
    let base = json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot});
    for (field, value) in [
        ("consultation_type", json!("telepathy")),
        ("reason_for_visit", json!("x".repeat(2001))),
        ("appointment_date", json!("2030-02-30")),
        ("appointment_time", json!("25:00")),
        ("appointment_date", json!("1999-01-01")),
        ("appointment_time", json!("11:00:00")),
        ("patient_id", json!(42)),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let (s, b) = app.post("/appointments", body).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&b), [field], "{b}");
    }
    // Nothing was booked by any of those.
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
    // Matching date and time are accepted.
    let date = app.slot_view(&doctor, &slot).await["slot_date"].clone();
    let mut body = base.clone();
    body["appointment_date"] = date;
    body["appointment_time"] = json!("10:00:00");
    let (s, b) = app.post("/appointments", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

async fn book_reports_unknown_and_mismatched_parties(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let other_doctor = app.doctor().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let (s, b) = app.book(&unknown, &doctor, &slot).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    assert_eq!(b["message"], "Patient not found");
    let (s, b) = app.book(&patient, &unknown, &slot).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    assert_eq!(b["message"], "Doctor not found");
    let (s, b) = app.book(&patient, &doctor, &unknown).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    assert_eq!(b["message"], "Time slot not found");
    let (s, b) = app.book(&patient, &other_doctor, &slot).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["doctor_id"]);
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
}

async fn full_and_blocked_slots_are_unavailable(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(app.slot_view(&doctor, &slot).await["status"], "BOOKED");
    let other = app.patient().await;
    let (s, b) = app.book(&other, &doctor, &slot).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");

    let blocked = app.slot(&doctor, 3, "09:00", 5).await;
    let (s, b) = app
        .patch(
            &format!("/doctors/{doctor}/time-slots/{blocked}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.book(&other, &doctor, &blocked).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");
    assert_eq!(
        app.slot_view(&doctor, &blocked).await["current_bookings"],
        0
    );
}

async fn started_slot_is_unavailable(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    app.start_slot(&slot).await;
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
}

async fn one_live_booking_per_patient_and_rebook_after_cancel(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 3).await;
    let (s, first) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_error(s, &b, 409, "ALREADY_BOOKED");
    let (s, b) = app
        .post(
            &format!("/appointments/{}/confirm", id(&first)),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_error(s, &b, 409, "ALREADY_BOOKED");
    let (s, b) = app
        .post(&format!("/appointments/{}/cancel", id(&first)), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, again) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_ne!(id(&again), id(&first));
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
}

async fn confirm_and_complete_are_idempotent(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (_, b) = app.book(&patient, &doctor, &slot).await;
    let a = id(&b);
    let (s, b) = app
        .post(&format!("/appointments/{a}/complete"), json!(null))
        .await;
    assert_error(s, &b, 409, "INVALID_TRANSITION");
    let (s, first) = app
        .post(&format!("/appointments/{a}/confirm"), json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["data"]["status"], "CONFIRMED");
    assert!(first["data"]["confirmed_at"].is_string());
    let (s, again) = app
        .post(&format!("/appointments/{a}/confirm"), json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["data"]["confirmed_at"], first["data"]["confirmed_at"]);
    let (s, done) = app
        .post(&format!("/appointments/{a}/complete"), json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["data"]["status"], "COMPLETED");
    assert!(done["data"]["completed_at"].is_string());
    let (s, b) = app
        .post(&format!("/appointments/{a}/complete"), json!(null))
        .await;
    assert_eq!(
        (s, &b["data"]["status"]),
        (StatusCode::OK, &json!("COMPLETED"))
    );
    for action in ["cancel", "confirm"] {
        let (s, b) = app
            .post(&format!("/appointments/{a}/{action}"), json!(null))
            .await;
        assert_error(s, &b, 409, "INVALID_TRANSITION");
    }
    // A completed appointment keeps its seat.
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
    let actions: Vec<_> = history_actions(&app, &a)
        .await
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(actions, ["BOOK", "CONFIRM", "COMPLETE"]);
}

async fn cancel_releases_the_seat_once(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (_, b) = app.book(&patient, &doctor, &slot).await;
    let a = id(&b);
    assert_eq!(app.slot_view(&doctor, &slot).await["status"], "BOOKED");
    let (s, b) = app
        .post(
            &format!("/appointments/{a}/cancel"),
            json!({"reason": "  feeling better "}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "CANCELLED");
    assert_eq!(b["data"]["cancellation_reason"], "feeling better");
    assert!(b["data"]["cancelled_at"].is_string());
    let (s, b) = app
        .post(&format!("/appointments/{a}/cancel"), json!(null))
        .await;
    assert_eq!(
        (s, &b["data"]["status"]),
        (StatusCode::OK, &json!("CANCELLED"))
    );
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        (view["current_bookings"].as_i64(), view["status"].as_str()),
        (Some(0), Some("AVAILABLE"))
    );
    for action in ["confirm", "complete"] {
        let (s, b) = app
            .post(&format!("/appointments/{a}/{action}"), json!(null))
            .await;
        assert_error(s, &b, 409, "INVALID_TRANSITION");
    }
    let (s, b) = app
        .post(&format!("/appointments/{a}/cancel"), json!({"reason": 5}))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = app.get(&format!("/appointments/{a}/history")).await;
    assert_eq!(s, StatusCode::OK);
    let cancel = &b["data"][1];
    assert_eq!(
        (cancel["action"].as_str(), cancel["old_status"].as_str()),
        (Some("CANCEL"), Some("PENDING"))
    );
    assert_eq!(cancel["reason"], "feeling better");
    assert_eq!(b["data"].as_array().unwrap().len(), 2);
}

async fn cancel_never_unblocks_a_slot(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 2).await;
    let (_, b) = app.book(&patient, &doctor, &slot).await;
    let (s, _) = app
        .patch(
            &format!("/doctors/{doctor}/time-slots/{slot}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .post(&format!("/appointments/{}/cancel", id(&b)), json!(null))
        .await;
    assert_eq!(s, StatusCode::OK);
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        (view["status"].as_str(), view["current_bookings"].as_i64()),
        (Some("BLOCKED"), Some(0))
    );
}

async fn short_holds_are_counted_in_seconds(app: TestApp) {
    let app = with_hold(app, 3).await;
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b["message"],
        "Appointment booked successfully. Please confirm within 3 seconds."
    );
    let hold = instant(&b["data"]["expires_at"]) - instant(&b["data"]["created_at"]);
    assert!((2..=4).contains(&hold.num_seconds()), "hold {hold}");
}

async fn overdue_holds_block_nobody(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (s, first) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED);
    let other = app.patient().await;
    let (s, b) = app.book(&other, &doctor, &slot).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");
    app.expire_hold(&id(&first)).await;
    // No sweeper has run: the overdue hold must already be gone for availability and booking.
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        (view["current_bookings"].as_i64(), view["status"].as_str()),
        (Some(0), Some("AVAILABLE"))
    );
    let (s, b) = app.get(&format!("/doctors/{doctor}/available-slots")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == slot.as_str()));
    let (s, b) = app.get(&format!("/appointments/{}", id(&first))).await;
    assert_eq!(
        (s, &b["data"]["status"]),
        (StatusCode::OK, &json!("EXPIRED"))
    );
    let (s, second) = app.book(&other, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    // The first patient may book again after the expiry, once a seat is free.
    let (s, _) = app
        .post(
            &format!("/appointments/{}/cancel", id(&second)),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let actions = history_actions(&app, &id(&first)).await;
    assert_eq!(
        actions,
        [
            ("BOOK".into(), actions[0].1.clone()),
            ("EXPIRE".into(), "system".into())
        ]
    );
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
}

async fn confirming_an_expired_hold_expires_it(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (_, b) = app.book(&patient, &doctor, &slot).await;
    let a = id(&b);
    app.expire_hold(&a).await;
    let (s, b) = app
        .post(&format!("/appointments/{a}/confirm"), json!(null))
        .await;
    assert_error(s, &b, 409, "HOLD_EXPIRED");
    let (s, b) = app
        .post(&format!("/appointments/{a}/confirm"), json!(null))
        .await;
    assert!(s == StatusCode::CONFLICT, "{b}");
    let (s, b) = app
        .post(&format!("/appointments/{a}/cancel"), json!(null))
        .await;
    assert_error(s, &b, 409, "INVALID_TRANSITION");
    // The expiry was committed: the sweeper finds nothing left to do.
    assert_eq!(sweep_once(&*app.store).await.unwrap(), 0);
    let actions: Vec<_> = history_actions(&app, &a)
        .await
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(actions, ["BOOK", "EXPIRE"]);
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
}

async fn sweeper_expires_each_hold_once(app: TestApp) {
    let doctor = app.doctor().await;
    let mut holds = Vec::new();
    for hour in ["09:00", "10:00", "11:00"] {
        let slot = app.slot(&doctor, 1, hour, 1).await;
        let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
        assert_eq!(s, StatusCode::CREATED);
        holds.push((slot, id(&b)));
    }
    // A confirmed one must be left alone.
    let slot = app.slot(&doctor, 1, "12:00", 1).await;
    let (_, kept) = app.book(&app.patient().await, &doctor, &slot).await;
    app.post(&format!("/appointments/{}/confirm", id(&kept)), json!(null))
        .await;
    assert_eq!(
        sweep_once(&*app.store).await.unwrap(),
        0,
        "nothing is due yet"
    );
    // Time passes for every appointment, the confirmed one too.
    let all: Vec<_> = holds
        .iter()
        .map(|h| h.1.clone())
        .chain([id(&kept)])
        .collect();
    app.expire_holds(&all).await;
    assert_eq!(sweep_once(&*app.store).await.unwrap(), 3);
    assert_eq!(sweep_once(&*app.store).await.unwrap(), 0);
    for (slot, a) in &holds {
        let actions = history_actions(&app, a).await;
        assert_eq!(
            actions
                .iter()
                .filter(|h| h.0 == "EXPIRE" && h.1 == "system")
                .count(),
            1
        );
        assert_eq!(app.slot_view(&doctor, slot).await["current_bookings"], 0);
    }
    let (_, b) = app.get(&format!("/appointments/{}", id(&kept))).await;
    assert_eq!(b["data"]["status"], "CONFIRMED");
}

async fn idempotency_key_replays_and_rejects_reuse(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 5).await;
    let body = json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot});
    let send = |key: &'static str, body: Value| {
        let req = app
            .client
            .post(format!("{}/appointments", app.base))
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        }
    };
    let (s, first) = send("key-1", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, again) = send("key-1", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(id(&again), id(&first));
    let mut other = body.clone();
    other["reason_for_visit"] = json!("different");
    let (s, b) = send("key-1", other).await;
    assert_error(s, &b, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
    let (s, b) = app.get(&format!("/appointments/patient/{patient}")).await;
    assert_eq!(
        (s, b["pagination"]["total"].as_i64()),
        (StatusCode::OK, Some(1))
    );
}

async fn appointment_detail_and_history(app: TestApp) {
    let (doctor, patient, slot) = setup(&app, 1).await;
    let (_, b) = app.book(&patient, &doctor, &slot).await;
    let a = id(&b);
    let (s, b) = app.get(&format!("/appointments/{a}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d = &b["data"];
    assert_eq!(d["id"], a.as_str());
    assert_eq!(d["doctor"]["id"], doctor.as_str());
    assert_eq!(d["doctor"]["name"], "Dr Test");
    assert_eq!(d["doctor"]["specialization"], "Cardiology");
    assert!(d["doctor"].get("clinic_name").is_some());
    assert_eq!(d["slot"]["slot_time"], "10:00:00");
    assert_eq!(d["slot"]["duration_minutes"], 30);
    assert!(d["slot"]["starts_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d["patient"], json!({"id": patient, "name": "Pat Test"}));
    assert!(d["patient"].get("email").is_none(), "summary only");
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/appointments/{unknown}"),
        format!("/appointments/{unknown}/history"),
    ] {
        let (s, b) = app.get(&path).await;
        assert_error(s, &b, 404, "NOT_FOUND");
    }
    for path in ["/appointments/xyz", "/appointments/xyz/history"] {
        let (s, b) = app.get(path).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
    }
    for action in ["confirm", "cancel", "complete"] {
        let (s, b) = app
            .post(&format!("/appointments/{unknown}/{action}"), json!(null))
            .await;
        assert_error(s, &b, 404, "NOT_FOUND");
    }
    let (s, b) = app.get(&format!("/appointments/{a}/history")).await;
    assert_eq!(s, StatusCode::OK);
    let e = &b["data"][0];
    assert_eq!(
        (e["action"].as_str(), e["new_status"].as_str()),
        (Some("BOOK"), Some("PENDING"))
    );
    assert!(e["old_status"].is_null() && e["at"].is_string());
}

async fn patient_and_doctor_lists(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let late = app.slot(&doctor, 5, "09:00", 2).await;
    let early = app.slot(&doctor, 2, "15:00", 2).await;
    let mid = app.slot(&doctor, 3, "08:00", 2).await;
    let mut ids = Vec::new();
    for slot in [&late, &early, &mid] {
        let (s, b) = app.book(&patient, &doctor, slot).await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(id(&b));
    }
    app.post(&format!("/appointments/{}/confirm", ids[2]), json!(null))
        .await;
    let (s, b) = app.get(&format!("/appointments/patient/{patient}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let order: Vec<_> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        order,
        [ids[1].clone(), ids[2].clone(), ids[0].clone()],
        "ordered by slot start"
    );
    assert_eq!(
        b["pagination"],
        json!({"limit": 20, "offset": 0, "total": 3})
    );
    let (_, b) = app
        .get(&format!("/appointments/patient/{patient}?status=confirmed"))
        .await;
    assert_eq!(b["pagination"]["total"], 1);
    assert_eq!(b["data"][0]["id"], ids[2].as_str());
    let (_, b) = app
        .get(&format!("/appointments/patient/{patient}?limit=1&offset=1"))
        .await;
    assert_eq!(
        (b["data"].as_array().unwrap().len(), &b["data"][0]["id"]),
        (1, &json!(ids[2]))
    );
    let (s, b) = app
        .get(&format!("/appointments/patient/{patient}?status=LOST"))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = app
        .get(&format!("/appointments/patient/{patient}?limit=-5"))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = app
        .get(&format!("/appointments/patient/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");

    let date = app.slot_view(&doctor, &mid).await["slot_date"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = app
        .get(&format!("/appointments/doctor/{doctor}?date={date}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pagination"]["total"], 1);
    assert_eq!(b["data"][0]["id"], ids[2].as_str());
    let (_, b) = app
        .get(&format!("/appointments/doctor/{doctor}?status=PENDING"))
        .await;
    assert_eq!(b["pagination"]["total"], 2);
    let (s, b) = app
        .get(&format!("/appointments/doctor/{doctor}?date=2030-13-01"))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = app
        .get(&format!("/appointments/doctor/{doctor}?status=nope"))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = app
        .get(&format!("/appointments/doctor/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app.get("/appointments/doctor/not-a-uuid").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
}

/// The database itself refuses an appointment whose doctor is not its slot's doctor (on
/// PostgreSQL a composite foreign key, on SQLite a trigger), on insert and on update.
async fn the_database_ties_an_appointment_to_its_slots_doctor(app: TestApp) {
    let (d, other) = (app.doctor().await, app.doctor().await);
    let slot = app.slot(&d, 2, "10:00", 3).await;
    let (s, b) = app.book(&app.patient().await, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let new_id = match app.backend {
        Backend::Postgres => "gen_random_uuid()",
        Backend::Sqlite => "randomblob(16)",
    };
    let copy = |doctor: &str| {
        format!(
            "INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date,
                 appointment_time, starts_at, status, consultation_type)
             SELECT {new_id}, patient_id, {doctor}, time_slot_id, appointment_date,
                 appointment_time, starts_at, 'CANCELLED', consultation_type FROM appointments a"
        )
    };
    let another = "(SELECT id FROM doctors WHERE id <> a.doctor_id)";
    let refusals = [
        copy(another),
        "UPDATE appointments SET doctor_id = (SELECT id FROM doctors WHERE id <> appointments.doctor_id)".to_owned(),
    ];
    for sql in &refusals {
        let refused = app.execute_raw(sql).await;
        assert!(
            refused.as_ref().is_err_and(|e| {
                e.contains("appointments_slot_doctor_fkey")
                    || e.contains("must be its slot's doctor")
            }),
            "{sql}: {refused:?}"
        );
    }
    let (_, list) = app.get(&format!("/appointments/doctor/{other}")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "{list}");
    // Control: the same insert naming the slot's own doctor is accepted.
    assert_eq!(app.execute_raw(&copy("a.doctor_id")).await, Ok(1));
}

backends!(
    book_creates_a_pending_hold,
    short_holds_are_counted_in_seconds,
    book_validates_input,
    book_reports_unknown_and_mismatched_parties,
    full_and_blocked_slots_are_unavailable,
    started_slot_is_unavailable,
    one_live_booking_per_patient_and_rebook_after_cancel,
    confirm_and_complete_are_idempotent,
    cancel_releases_the_seat_once,
    cancel_never_unblocks_a_slot,
    overdue_holds_block_nobody,
    confirming_an_expired_hold_expires_it,
    sweeper_expires_each_hold_once,
    idempotency_key_replays_and_rejects_reuse,
    appointment_detail_and_history,
    patient_and_doctor_lists,
    the_database_ties_an_appointment_to_its_slots_doctor,
);
