//! Poison data never stops the service: free text is typed by shape at the boundary, and rows
//! stored before (with a line break in a name, an address no server takes) are delivered made
//! safe or settled as their own failure, while every other patient's mail still goes out —
//! before and after a restart. Background jobs report how they fare.

use std::time::Duration;

use carebook::config::{NotifySettings, Secret};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::smtp::SmtpSink;
use crate::common::{assert_error, error_fields, unique_email, Backend, TestApp};

/// Single-line and multi-line fields refuse what does not fit their shape, on every route that
/// takes them, naming the field.
async fn text_fields_are_typed_by_shape(app: TestApp) {
    let breaks = [
        "a\nb",
        "a\rb",
        "a\tb",
        "a\u{7f}b",
        "a\u{85}b",
        "a\u{2028}b",
        "a\u{1b}[2Jb",
    ];
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    for bad in breaks {
        let email = unique_email("shape");
        let cases = [
            (
                Method::POST,
                "/patients".to_owned(),
                json!({"name": bad, "email": email, "phone": "+1 555 010 0000"}),
                "name",
            ),
            (
                Method::PATCH,
                format!("/patients/{patient}"),
                json!({"emergency_contact_name": bad}),
                "emergency_contact_name",
            ),
            (
                Method::PATCH,
                format!("/patients/{patient}"),
                json!({"gender": bad}),
                "gender",
            ),
            (
                Method::PATCH,
                format!("/doctors/{doctor}"),
                json!({"specialization": bad}),
                "specialization",
            ),
            (
                Method::PATCH,
                format!("/doctors/{doctor}"),
                json!({"address": bad}),
                "address",
            ),
            (
                Method::PATCH,
                format!("/doctors/{doctor}"),
                json!({"clinic_name": bad}),
                "clinic_name",
            ),
            (
                Method::POST,
                "/doctors".to_owned(),
                json!({"name": bad, "specialization": "GP", "email": email, "license_number": "L-1"}),
                "name",
            ),
            (
                Method::POST,
                "/doctors".to_owned(),
                json!({"name": "Dr A", "specialization": "GP", "email": email, "license_number": bad}),
                "license_number",
            ),
        ];
        for (method, path, body, field) in cases {
            let (s, b) = app.call(method.clone(), &path, body).await;
            assert_error(s, &b, 400, "VALIDATION_ERROR");
            assert_eq!(error_fields(&b), [field], "{method} {path} {bad:?}: {b}");
        }
    }
    // Multi-line fields keep line breaks (CRLF made LF) and refuse other control characters.
    let (s, b) = app
        .patch(
            &format!("/patients/{patient}"),
            json!({"medical_history": "2019: asthma\r\n2021: fracture", "allergies": "penicillin\nlatex"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["medical_history"], "2019: asthma\n2021: fracture");
    assert_eq!(b["data"]["allergies"], "penicillin\nlatex");
    let (s, b) = app
        .patch(
            &format!("/doctors/{doctor}"),
            json!({"bio": "Line one\r\nLine two"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["bio"], "Line one\nLine two");
    for bad in ["tab\there", "nul\u{0}", "esc\u{1b}[31m", "c1\u{9b}"] {
        let (s, b) = app
            .patch(
                &format!("/patients/{patient}"),
                json!({"medical_history": bad}),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&b), ["medical_history"], "{bad:?}: {b}");
    }
    // Nothing changed by the refusals.
    let (_, b) = app.get(&format!("/patients/{patient}")).await;
    assert_eq!(b["data"]["name"], "Pat Test");
    assert_eq!(b["data"]["medical_history"], "2019: asthma\n2021: fracture");
    let slot = app.slot(&doctor, 2, "09:00", 1).await;
    let (s, b) = app
        .post(
            "/appointments",
            json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot,
                   "reason_for_visit": "cough\r\nfever"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["reason_for_visit"], "cough\nfever");
}

/// `SQL` to give a patient (found by e-mail) a stored value the API would refuse today.
fn poison(backend: Backend, column: &str, value_sql: &str, email: &str) -> String {
    let value = match backend {
        Backend::Postgres => value_sql.replace("NL", "chr(10)"),
        Backend::Sqlite => value_sql.replace("NL", "char(10)"),
    };
    format!("UPDATE patients SET {column} = {value} WHERE email = '{email}'")
}

async fn patient_with(app: &TestApp, email: &str) -> String {
    let (s, b) = app
        .post(
            "/patients",
            json!({"name": "Pat Test", "email": email, "phone": "+1 555 010 0000"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// Books and confirms: one booked and one confirmed e-mail each.
async fn booked(app: &TestApp, patient: &str, doctor: &str, time: &str) {
    let slot = app.slot(doctor, 3, time, 1).await;
    let (s, b) = app.book(patient, doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

/// The rows of the outbox for e-mail, as the admin route lists them.
async fn email_rows(app: &TestApp) -> Vec<Value> {
    let (s, b) = app.get("/outbox?limit=100").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["channel"] == "email")
        .cloned()
        .collect()
}

/// A line break in a name stored earlier, and an address no SMTP server takes: the first is
/// delivered with the name made safe, the second settles as its own dead row with a reason
/// naming no one, and everyone else's mail goes out within a worker interval — and again
/// after a restart, which used to pick the same poisoned row and crash once more.
async fn poisoned_rows_never_stop_the_mail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let notify = NotifySettings {
        smtp_url: Some(Secret(sink.url())),
        smtp_from: "Clinic <clinic@carebook.test>".into(),
        poll_interval: Duration::from_secs(3600),
        max_attempts: 2,
        ..NotifySettings::default()
    };
    let quiet = notify.clone();
    let app = TestApp::spawn_with(backend, |s| s.notify = quiet).await;
    let (eve, mal, bob) = (
        unique_email("eve"),
        unique_email("mal"),
        unique_email("bob"),
    );
    let (eve_id, mal_id, bob_id) = (
        patient_with(&app, &eve).await,
        patient_with(&app, &mal).await,
        patient_with(&app, &bob).await,
    );
    for sql in [
        poison(backend, "name", "'Eve' || NL || 'Bcc: spy@evil.test'", &eve),
        poison(backend, "email", "'mal' || NL || '@x.test'", &mal),
    ] {
        assert_eq!(app.execute_raw(&sql).await, Ok(1), "{sql}");
    }
    let doctor = app.doctor().await;
    booked(&app, &eve_id, &doctor, "09:00").await;
    booked(&app, &mal_id, &doctor, "09:30").await;
    booked(&app, &bob_id, &doctor, "10:00").await;

    let mut fast = notify.clone();
    fast.poll_interval = Duration::from_millis(100);
    let running = fast.clone();
    let worker = app.another_instance_with(|s| s.notify = running).await;
    let got = sink.wait_for(2, Duration::from_secs(20)).await;
    let to: Vec<String> = got.iter().flat_map(|m| m.to.clone()).collect();
    assert!(to.contains(&bob) && to.contains(&eve), "{to:?}");
    for m in &got {
        let raw = String::from_utf8_lossy(&m.data);
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    }
    // The unusable address: its own row, dead at once, with a reason that names no one.
    let mal_rows = wait_for_status(&app, &mal_id, "dead").await;
    let why = mal_rows["last_error"].as_str().unwrap_or_default();
    assert!(
        !why.is_empty() && !why.contains("mal") && !why.contains("x.test"),
        "{why}"
    );
    let metrics = reqwest::get(&worker.metrics)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("carebook_outbox_settled_total")
                && l.contains("outcome=\"dead\"")),
        "{metrics}"
    );
    drop(worker);

    // A restart: the poisoned rows are still there; the next patient's mail still goes out.
    booked(&app, &bob_id, &doctor, "10:30").await;
    let running = fast.clone();
    let _worker = app.another_instance_with(|s| s.notify = running).await;
    let got = sink.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(got.last().unwrap().to, [bob]);
    assert!(sink
        .received()
        .iter()
        .all(|m| !m.to.iter().any(|t| t.contains("mal"))));
}

/// Waits (bounded) until the patient's e-mail row has `status`; returns it.
async fn wait_for_status(app: &TestApp, patient: &str, status: &str) -> Value {
    let (_, b) = app.get(&format!("/appointments/patient/{patient}")).await;
    let appt = b["data"][0]["id"].clone();
    for _ in 0..200 {
        if let Some(r) = email_rows(app)
            .await
            .into_iter()
            .find(|r| r["appointment_id"] == appt && r["status"] == status)
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no {status} e-mail row for {patient}: {:?}",
        email_rows(app).await
    );
}

/// `/health/ready` lists every job with its last success and failures; `/metrics` has the
/// series an alert on a stalled job reads.
async fn readiness_reports_the_jobs(app: TestApp) {
    let (s, b) = app.get("/health/ready").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let jobs: Vec<&str> = b["data"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    assert_eq!(
        jobs,
        ["expiry", "schedules", "revocations", "reminders", "outbox"]
    );
    for j in b["data"]["jobs"].as_array().unwrap() {
        assert!(j["consecutive_failures"].is_u64(), "{j}");
        assert!(j.get("last_success").is_some(), "{j}");
    }
    // The schedule generator and the revocation sync run at start.
    let mut seen = false;
    for _ in 0..100 {
        let (_, b) = app.get("/health/ready").await;
        seen = b["data"]["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["job"] == "schedules" && j["last_success"].is_string());
        if seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the schedule generator never reported");
    let metrics = reqwest::get(&app.metrics)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("carebook_job_last_success_timestamp_seconds{job=\"schedules\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("carebook_job_failures_total{job=\"schedules\"}"),
        "{metrics}"
    );
}

backends!(text_fields_are_typed_by_shape, readiness_reports_the_jobs);

mod poisoned_rows_never_stop_the_mail {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::poisoned_rows_never_stop_the_mail(crate::common::Backend::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::poisoned_rows_never_stop_the_mail(crate::common::Backend::Sqlite).await
    }
}
