//! Object-level access (OWASP API1): an object the caller may not see answers 404 exactly as if
//! it did not exist; a patient books only for themself; a doctor sees only their own calendar,
//! their own appointments, and patients who have an appointment with them; the front desk sees
//! demographics but never clinical fields.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, Account, TestApp};

const CLINICAL: [&str; 3] = ["blood_group", "allergies", "medical_history"];

fn id(body: &Value) -> String {
    body["data"]["id"].as_str().expect("id").to_owned()
}

/// A doctor with an account and a slot `days` out with room for a few.
async fn doctor_with_slot(app: &TestApp, days: i64) -> (Account, String) {
    let doctor = app.doctor_account().await;
    let slot = app
        .slot(doctor.doctor_id.as_ref().unwrap(), days, "10:00", 5)
        .await;
    (doctor, slot)
}

/// Books as the admin and returns the appointment's id.
async fn booked(app: &TestApp, patient: &Account, doctor: &Account, slot: &str) -> String {
    let (p, d) = (patient.patient_id.as_ref(), doctor.doctor_id.as_ref());
    let (s, b) = app.book(p.unwrap(), d.unwrap(), slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    id(&b)
}

/// Asserts `who` gets exactly the answer a request about a missing object gets: the path with
/// `real` replaced by a random id.
async fn hidden(app: &TestApp, who: &Account, method: Method, path: &str, real: &str) {
    let body = if method == Method::GET {
        Value::Null
    } else {
        json!({})
    };
    let (s, b) = app.as_user(who, method.clone(), path, body.clone()).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let missing = path.replace(real, &uuid::Uuid::new_v4().to_string());
    let (s2, b2) = app.as_user(who, method.clone(), &missing, body).await;
    assert_eq!(
        (s, &b),
        (s2, &b2),
        "{path}: other than for a missing object"
    );
    if method == Method::GET {
        // And what the admin, who may see everything, hears about a missing object.
        let (s3, b3) = app.get(&missing).await;
        assert_eq!((s, &b), (s3, &b3), "{path}: other than the admin's 404");
    }
}

async fn a_patient_reaches_only_their_own_records(app: TestApp) {
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let (doctor, slot) = doctor_with_slot(&app, 2).await;
    let bobs = booked(&app, &bob, &doctor, &slot).await;
    let b = bob.patient_id.clone().unwrap();
    let a = alice.patient_id.clone().unwrap();

    hidden(&app, &alice, Method::GET, &format!("/patients/{b}"), &b).await;
    hidden(&app, &alice, Method::PATCH, &format!("/patients/{b}"), &b).await;
    hidden(
        &app,
        &alice,
        Method::GET,
        &format!("/patients/{b}/access-log"),
        &b,
    )
    .await;
    hidden(
        &app,
        &alice,
        Method::GET,
        &format!("/appointments/patient/{b}"),
        &b,
    )
    .await;
    for path in ["", "/history"] {
        let p = format!("/appointments/{bobs}{path}");
        hidden(&app, &alice, Method::GET, &p, &bobs).await;
    }
    for action in ["confirm", "cancel"] {
        let p = format!("/appointments/{bobs}/{action}");
        hidden(&app, &alice, Method::POST, &p, &bobs).await;
    }
    // Bob's booking is untouched.
    let (s, v) = app
        .as_user(
            &bob,
            Method::GET,
            &format!("/appointments/{bobs}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["status"], "PENDING", "{v}");

    // Booking for someone else is refused outright; for oneself it works.
    let d = doctor.doctor_id.as_ref().unwrap();
    let (s, v) = app.book_as(&alice, &b, d, &slot).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.book_as(&alice, &a, d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mine = id(&v);

    // Their own: readable, listable, confirmable, cancellable.
    for path in [
        format!("/patients/{a}"),
        format!("/appointments/patient/{a}"),
    ] {
        let (s, v) = app.as_user(&alice, Method::GET, &path, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    let (s, v) = app
        .as_user(
            &alice,
            Method::GET,
            &format!("/appointments/patient/{a}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    for (action, status) in [("confirm", "CONFIRMED"), ("cancel", "CANCELLED")] {
        let path = format!("/appointments/{mine}/{action}");
        let (s, v) = app.as_user(&alice, Method::POST, &path, json!({})).await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
        assert_eq!(v["data"]["status"], status, "{v}");
    }
}

async fn a_doctor_reaches_only_their_own_calendar_and_patients(app: TestApp) {
    let (me, my_slot) = doctor_with_slot(&app, 2).await;
    let (other, other_slot) = doctor_with_slot(&app, 3).await;
    let (mine, theirs) = (app.sign_up().await, app.sign_up().await);
    let o = other.doctor_id.clone().unwrap();

    hidden(
        &app,
        &me,
        Method::GET,
        &format!("/doctors/{o}/time-slots"),
        &o,
    )
    .await;
    hidden(
        &app,
        &me,
        Method::POST,
        &format!("/doctors/{o}/time-slots"),
        &o,
    )
    .await;
    hidden(
        &app,
        &me,
        Method::POST,
        &format!("/doctors/{o}/time-slots/bulk"),
        &o,
    )
    .await;
    hidden(
        &app,
        &me,
        Method::GET,
        &format!("/appointments/doctor/{o}"),
        &o,
    )
    .await;
    let path = format!("/doctors/{o}/time-slots/{other_slot}");
    let (s, v) = app
        .as_user(&me, Method::PATCH, &path, json!({"status": "BLOCKED"}))
        .await;
    assert_error(s, &v, 404, "NOT_FOUND");
    // Another doctor's public profile is visible, so changing it is a 403, not a 404.
    let (s, v) = app
        .as_user(
            &me,
            Method::PATCH,
            &format!("/doctors/{o}"),
            json!({"bio": "x"}),
        )
        .await;
    assert_error(s, &v, 403, "FORBIDDEN");

    // A patient with no appointment with me is hidden; one with an appointment is not.
    let t = theirs.patient_id.clone().unwrap();
    let m = mine.patient_id.clone().unwrap();
    hidden(&app, &me, Method::GET, &format!("/patients/{t}"), &t).await;
    let (s, v) = app
        .as_user(&me, Method::GET, &format!("/patients/{m}"), Value::Null)
        .await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let my_appt = booked(&app, &mine, &me, &my_slot).await;
    let (s, v) = app
        .as_user(&me, Method::GET, &format!("/patients/{m}"), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for key in CLINICAL {
        assert!(v["data"].get(key).is_some(), "a doctor sees {key}: {v}");
    }

    // Completing: my confirmed appointment yes, another doctor's no (it stays CONFIRMED).
    let their_appt = booked(&app, &theirs, &other, &other_slot).await;
    for a in [&my_appt, &their_appt] {
        let (s, v) = app
            .post(&format!("/appointments/{a}/confirm"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for path in ["", "/history"] {
        let p = format!("/appointments/{their_appt}{path}");
        hidden(&app, &me, Method::GET, &p, &their_appt).await;
    }
    for action in ["complete", "cancel"] {
        let p = format!("/appointments/{their_appt}/{action}");
        hidden(&app, &me, Method::POST, &p, &their_appt).await;
    }
    let (s, v) = app.get(&format!("/appointments/{their_appt}")).await;
    assert_eq!(
        (s, &v["data"]["status"]),
        (StatusCode::OK, &json!("CONFIRMED")),
        "{v}"
    );
    let path = format!("/appointments/{my_appt}/complete");
    let (s, v) = app.as_user(&me, Method::POST, &path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["status"], "COMPLETED", "{v}");
    // My own calendar and appointments are mine to see.
    let d = me.doctor_id.clone().unwrap();
    for path in [
        format!("/doctors/{d}/time-slots"),
        format!("/appointments/doctor/{d}"),
    ] {
        let (s, v) = app.as_user(&me, Method::GET, &path, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{path}: {v}");
    }
}

/// Asserts a patient view has no clinical key at all.
fn without_clinical(view: &Value) {
    for key in CLINICAL {
        assert!(view.get(key).is_none(), "the front desk got {key}: {view}");
    }
    assert!(view["name"].is_string(), "demographics are there: {view}");
}

async fn the_front_desk_never_sees_or_sends_clinical_fields(app: TestApp) {
    let desk = app.account("scheduler", None).await;
    let (s, v) = app
        .post(
            "/patients",
            json!({"name": "Clinical Carl", "email": "carl@mail.test", "phone": "+1 555 010 0002",
                   "blood_group": "AB-", "allergies": "Latex", "medical_history": "Asthma"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let carl = id(&v);
    let (s, v) = app.get(&format!("/patients/{carl}")).await;
    assert_eq!(
        (s, &v["data"]["allergies"]),
        (StatusCode::OK, &json!("Latex")),
        "admin: {v}"
    );

    let (s, v) = app
        .as_user(
            &desk,
            Method::GET,
            &format!("/patients/{carl}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    without_clinical(&v["data"]);
    let (s, v) = app
        .as_user(&desk, Method::GET, "/patients", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v["data"].as_array().unwrap().is_empty(), "{v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(without_clinical);
    let (s, v) = app
        .as_user(
            &desk,
            Method::PATCH,
            &format!("/patients/{carl}"),
            json!({"name": "Carl C"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    without_clinical(&v["data"]);

    for (key, value) in [
        ("blood_group", "O+"),
        ("allergies", "None"),
        ("medical_history", ""),
    ] {
        let (s, v) = app
            .as_user(
                &desk,
                Method::PATCH,
                &format!("/patients/{carl}"),
                json!({ key: value }),
            )
            .await;
        assert_error(s, &v, 403, "FORBIDDEN");
        let new = json!({"name": "Desk Dora", "email": format!("dora-{key}@mail.test"),
                         "phone": "+1 555 010 0003", key: value});
        let (s, v) = app.as_user(&desk, Method::POST, "/patients", new).await;
        assert_error(s, &v, 403, "FORBIDDEN");
    }
    // Nothing the desk sent changed the clinical fields.
    let (_, v) = app.get(&format!("/patients/{carl}")).await;
    assert_eq!(v["data"]["blood_group"], "AB-", "{v}");
    assert_eq!(v["data"]["medical_history"], "Asthma", "{v}");
    assert_eq!(v["data"]["name"], "Carl C", "{v}");
}

backends!(
    a_patient_reaches_only_their_own_records,
    a_doctor_reaches_only_their_own_calendar_and_patients,
    the_front_desk_never_sees_or_sends_clinical_fields,
);
