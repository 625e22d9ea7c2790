//! `POST /api/appointments/{id}/no-show`: only a CONFIRMED appointment whose slot has started,
//! the seat kept, NO_SHOW listed and filtered like every status, and who may record it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, TestApp};
use crate::reschedule::{assert_seats_match_recount, booked};

fn path(appointment: &str) -> String {
    format!("/appointments/{appointment}/no-show")
}

async fn confirmed(app: &TestApp, patient: &str, doctor: &str, slot: &str) -> String {
    let id = booked(app, patient, doctor, slot).await;
    let (s, b) = app
        .post(&format!("/appointments/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    id
}

async fn only_once_the_slot_has_started(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "09:00", 3).await;
    let id = confirmed(&app, &patient, &doctor, &slot).await;
    let pending = booked(&app, &app.patient().await, &doctor, &slot).await;

    let (s, b) = app.post(&path(&id), Value::Null).await;
    assert_error(s, &b, 409, "INVALID_TRANSITION");

    app.start_slot(&slot).await;
    let (s, b) = app.post(&path(&id), Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["data"]["id"].as_str(), b["data"]["status"].as_str()),
        (Some(id.as_str()), Some("NO_SHOW"))
    );
    // The seat stays used: two live appointments on the slot.
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(view["current_bookings"], 2, "{view}");
    // Idempotent, like the other transitions.
    let (s, b) = app.post(&path(&id), Value::Null).await;
    assert_eq!(
        (s, b["data"]["status"].as_str()),
        (StatusCode::OK, Some("NO_SHOW")),
        "{b}"
    );

    let (s, b) = app.get(&format!("/appointments/{id}/history")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let entries = b["data"].as_array().unwrap();
    let no_shows: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "NO_SHOW")
        .collect();
    assert_eq!(no_shows.len(), 1, "{entries:?}");
    assert_eq!(
        (&no_shows[0]["old_status"], &no_shows[0]["new_status"]),
        (&json!("CONFIRMED"), &json!("NO_SHOW"))
    );

    // Nothing else leaves NO_SHOW.
    for action in ["cancel", "complete", "confirm"] {
        let (s, b) = app
            .post(&format!("/appointments/{id}/{action}"), json!({}))
            .await;
        assert_error(s, &b, 409, "INVALID_TRANSITION");
    }
    // A PENDING hold is no no-show, even after the start.
    let (s, b) = app.post(&path(&pending), Value::Null).await;
    assert_error(s, &b, 409, "INVALID_TRANSITION");
    let (s, b) = app
        .post(&path(&uuid::Uuid::new_v4().to_string()), Value::Null)
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");

    // Listed and filtered like any status.
    for list in [
        format!("/appointments/doctor/{doctor}"),
        format!("/appointments/patient/{patient}"),
    ] {
        let (s, b) = app.get(&format!("{list}?status=NO_SHOW")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let ids: Vec<&str> = b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [id.as_str()], "{list}");
        let (s, b) = app.get(&format!("{list}?status=no_show")).await;
        assert_eq!(
            (s, b["pagination"]["total"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{b}"
        );
    }
    let (s, b) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let statuses = &b["components"]["schemas"]["AppointmentStatus"]["enum"];
    assert!(
        statuses.as_array().unwrap().contains(&json!("NO_SHOW")),
        "{statuses}"
    );
    assert_seats_match_recount(&app, &doctor).await;
}

async fn the_doctor_or_staff_record_it(app: TestApp) {
    let doctor = app.doctor_account().await;
    let doctor_id = doctor.doctor_id.clone().unwrap();
    let me = app.sign_up().await;
    let patient = me.patient_id.clone().unwrap();
    let slot = app.slot(&doctor_id, 2, "09:00", 5).await;
    let first = confirmed(&app, &patient, &doctor_id, &slot).await;
    let second = confirmed(&app, &app.patient().await, &doctor_id, &slot).await;
    app.start_slot(&slot).await;

    let (s, b) = app
        .as_user(&me, Method::POST, &path(&first), Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let stranger = app.doctor_account().await;
    let (s, b) = app
        .as_user(&stranger, Method::POST, &path(&first), Value::Null)
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");

    let (s, b) = app
        .as_user(&doctor, Method::POST, &path(&first), Value::Null)
        .await;
    assert_eq!(
        (s, b["data"]["status"].as_str()),
        (StatusCode::OK, Some("NO_SHOW")),
        "{b}"
    );
    let scheduler = app.account("scheduler", None).await;
    let (s, b) = app
        .as_user(&scheduler, Method::POST, &path(&second), Value::Null)
        .await;
    assert_eq!(
        (s, b["data"]["status"].as_str()),
        (StatusCode::OK, Some("NO_SHOW")),
        "{b}"
    );

    let (s, b) = app.get(&format!("/appointments/{first}/history")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let last = b["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["actor"], &last["actor_role"]),
        (&json!(doctor.user_id), &json!("doctor"))
    );
    let records = app
        .access_records(&format!("patient_id={patient}&actor_id={}", doctor.user_id))
        .await;
    assert!(
        records
            .iter()
            .any(|r| r["route"] == "/api/appointments/{id}/no-show" && r["action"] == "update"),
        "{records:?}"
    );
}

backends!(
    only_once_the_slot_has_started,
    the_doctor_or_staff_record_it
);
