//! Access follows care, not side effects: a doctor sees a patient's record only through a care
//! relationship a person other than a doctor made (an appointment the patient, the front desk
//! or an admin booked, or a waitlist offer someone confirmed). Every path that can create an
//! appointment is tried as a way in; refused attempts leave a security record.

use carebook::jobs::expiry::sweep_once;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, Account, TestApp};

fn day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

/// The doctor's answer to reading the patient's record.
async fn chart(app: &TestApp, doctor: &Account, patient: &str) -> (StatusCode, Value) {
    app.as_user(
        doctor,
        Method::GET,
        &format!("/patients/{patient}"),
        Value::Null,
    )
    .await
}

/// The offer the waitlist made to `patient` with `doctor`, if any.
async fn offer_of(app: &TestApp, patient: &str, doctor: &str) -> Option<String> {
    let (s, b) = app
        .get(&format!(
            "/waitlist?patient_id={patient}&doctor_id={doctor}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"][0]["appointment_id"].as_str().map(str::to_owned)
}

/// Blocks the doctor's day `days` ahead with time off and lifts it: a freed seat for the line.
async fn block_and_lift(app: &TestApp, doctor: &str, days: i64) {
    let path = format!("/doctors/{doctor}/time-off");
    let (s, b) = app
        .post(&path, json!({"from": day(days), "to": day(days)}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .call(Method::DELETE, &format!("{path}/{id}"), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// The finding: a doctor put a stranger on their own waitlist, freed a seat, and the system's
/// offer opened the stranger's chart. Now the doctor cannot queue a stranger, and a seat the
/// system offered grants nothing until someone confirms it — nor once it lapsed unconfirmed.
async fn a_waitlist_offer_opens_no_chart_until_confirmed(app: TestApp) {
    let doc = app.doctor_account().await;
    let d = doc.doctor_id.clone().unwrap();
    let b = app.sign_up().await;
    let bid = b.patient_id.clone().unwrap();
    let join = json!({"patient_id": bid, "doctor_id": d, "from_date": day(1), "to_date": day(5)});
    let (s, body) = app
        .as_user(&doc, Method::POST, "/waitlist", join.clone())
        .await;
    assert_error(s, &body, 404, "NOT_FOUND");

    // The front desk queues B; the doctor's seat, freed by lifted time off, is offered to B.
    let (s, body) = app.post("/waitlist", join).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let slot = app.slot(&d, 3, "10:00", 1).await;
    block_and_lift(&app, &d, 3).await;
    let offer = offer_of(&app, &bid, &d).await.expect("an offer");
    let (s, body) = chart(&app, &doc, &bid).await;
    assert_error(s, &body, 404, "NOT_FOUND");
    // Rescheduling the offer to another of their slots changes nothing for the doctor.
    let other = app.slot(&d, 3, "11:00", 1).await;
    let path = format!("/appointments/{offer}/reschedule");
    let (s, body) = app
        .as_user(&doc, Method::POST, &path, json!({"time_slot_id": other}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = chart(&app, &doc, &bid).await;
    assert_error(s, &body, 404, "NOT_FOUND");
    // Lapsed unconfirmed: still nothing.
    app.expire_hold(&offer).await;
    sweep_once(&*app.store).await.unwrap();
    let (s, body) = chart(&app, &doc, &bid).await;
    assert_error(s, &body, 404, "NOT_FOUND");

    // A second offer, confirmed by the patient: now the doctor cares for B.
    let c = app.sign_up().await;
    let cid = c.patient_id.clone().unwrap();
    let (s, body) = app
        .post(
            "/waitlist",
            json!({"patient_id": cid, "doctor_id": d, "from_date": day(1), "to_date": day(5)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let slot2 = app.slot(&d, 4, "10:00", 1).await;
    block_and_lift(&app, &d, 4).await;
    let offer = offer_of(&app, &cid, &d).await.expect("an offer");
    let (s, body) = chart(&app, &doc, &cid).await;
    assert_error(s, &body, 404, "NOT_FOUND");
    let (s, body) = app
        .as_user(
            &c,
            Method::POST,
            &format!("/appointments/{offer}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = chart(&app, &doc, &cid).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let _ = (slot, slot2);
}

/// The other ways an appointment comes to be: a booking by the patient or the desk grants; a
/// doctor cannot book, nor reach another doctor's appointment to reschedule or mark a no-show.
async fn bookings_grant_and_doctors_cannot_make_them(app: TestApp) {
    let doc = app.doctor_account().await;
    let d = doc.doctor_id.clone().unwrap();
    let (p, q) = (app.sign_up().await, app.sign_up().await);
    let (pid, qid) = (p.patient_id.clone().unwrap(), q.patient_id.clone().unwrap());
    // A doctor cannot book for anyone.
    let slot = app.slot(&d, 2, "09:00", 2).await;
    let (s, body) = app.book_as(&doc, &pid, &d, &slot).await;
    assert_error(s, &body, 403, "FORBIDDEN");
    let (s, body) = chart(&app, &doc, &pid).await;
    assert_error(s, &body, 404, "NOT_FOUND");
    // The patient books: granted, even after the patient cancels.
    let (s, body) = app.book_as(&p, &pid, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let appt = body["data"]["id"].as_str().unwrap().to_owned();
    let (s, body) = chart(&app, &doc, &pid).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let path = format!("/appointments/{appt}/cancel");
    let (s, body) = app.as_user(&p, Method::POST, &path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = chart(&app, &doc, &pid).await;
    assert_eq!(s, StatusCode::OK);
    // Another doctor's appointment with Q is out of this doctor's reach on every move.
    let other = app.doctor().await;
    let there = app.slot(&other, 2, "09:00", 1).await;
    let (s, body) = app.book(&qid, &other, &there).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let qa = body["data"]["id"].as_str().unwrap().to_owned();
    let mine = app.slot(&d, 2, "10:00", 1).await;
    for (path, body) in [
        (
            format!("/appointments/{qa}/reschedule"),
            json!({"time_slot_id": mine}),
        ),
        (format!("/appointments/{qa}/no-show"), json!({})),
        (format!("/appointments/{qa}/cancel"), json!({})),
    ] {
        let (s, b) = app.as_user(&doc, Method::POST, &path, body).await;
        assert_error(s, &b, 404, "NOT_FOUND");
    }
    let (s, body) = chart(&app, &doc, &qid).await;
    assert_error(s, &body, 404, "NOT_FOUND");
    // The desk books Q with this doctor: granted.
    let (s, body) = app.book(&qid, &d, &mine).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = chart(&app, &doc, &qid).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// A refused read leaves an access record with its outcome (the patient sees the attempt) and
/// a counted security event; the break-glass list keeps only granted emergency reads.
async fn refused_attempts_are_recorded(app: TestApp) {
    let doc = app.doctor_account().await;
    let stranger = app.sign_up().await;
    let sid = stranger.patient_id.clone().unwrap();
    let (s, body) = chart(&app, &doc, &sid).await;
    assert_error(s, &body, 404, "NOT_FOUND");
    let other = app.sign_up().await;
    let path = format!("/patients/{sid}");
    let (s, body) = app
        .as_user(
            &other,
            Method::PATCH,
            &path,
            json!({"phone": "+1 555 010 9999"}),
        )
        .await;
    assert_error(s, &body, 404, "NOT_FOUND");
    let (s, body) = app
        .as_user(
            &stranger,
            Method::GET,
            &format!("/patients/{sid}/access-log"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let attempts: Vec<(String, String, i64)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] != 200 && r["outcome"] != 201)
        .map(|r| {
            (
                r["actor_id"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        attempts.contains(&(doc.user_id.clone(), "read".into(), 404)),
        "{body}"
    );
    assert!(
        attempts.contains(&(other.user_id.clone(), "update".into(), 404)),
        "{body}"
    );
    let metrics = reqwest::get(&app.metrics)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("carebook_access_denied_total")
                && l.contains("route=\"/api/patients/{id}\"")
                && l.contains("status=\"404\"")),
        "{metrics}"
    );
    // A role the route does not allow: a 403 that says which rule refused.
    let (s, body) = app
        .as_user(&doc, Method::GET, "/patients", Value::Null)
        .await;
    assert_error(s, &body, 403, "FORBIDDEN");
    assert!(
        body["message"].as_str().unwrap().contains("scheduler"),
        "{body}"
    );
}

backends!(
    a_waitlist_offer_opens_no_chart_until_confirmed,
    bookings_grant_and_doctors_cannot_make_them,
    refused_attempts_are_recorded,
);
