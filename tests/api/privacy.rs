//! Logs carry ids, never patient data: every log line of a full patient journey, at TRACE
//! level for carebook and sqlx alike, is searched for the patient's details.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::StatusCode;
use serde_json::json;

use crate::backends;
use crate::common::TestApp;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRETS: [&str; 7] = [
    "Zebulon Quartermaine",
    "zebulon.q@private.example",
    "+1 555 867 5309",
    "Penicillinase-allergy",
    "Rare-hypertension-history",
    "Mildred Quartermaine",
    "persistent-chest-pain",
];

/// The process-wide capture. The server runs on other threads, so the subscriber must be
/// global; it is installed once per process, so both backends' tests (and, under `cargo test`,
/// every other test of the process) write into it — all the more log lines searched.
fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_env_filter("trace")
                .with_writer(move || writer.clone())
                .finish(),
        )
        .expect("no other global subscriber in the test process");
        captured
    })
}

async fn logs_never_contain_patient_data(app: TestApp) {
    let captured = capture();

    let patient = json!({
        "name": SECRETS[0], "email": SECRETS[1], "phone": SECRETS[2], "allergies": SECRETS[3],
        "medical_history": SECRETS[4], "emergency_contact_name": SECRETS[5],
        "emergency_contact_phone": "+1 555 000 1111"
    });
    let (s, b) = app.post("/patients", patient.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    // A duplicate (409) and an invalid update (400) go through the error paths.
    let (s, _) = app.post("/patients", patient).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .patch(&format!("/patients/{id}"), json!({"phone": "not a phone"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    let (s, b) = app
        .post(
            "/appointments",
            json!({"patient_id": id, "doctor_id": doctor, "time_slot_id": slot, "reason_for_visit": SECRETS[6]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let appt = b["data"]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/appointments/{appt}/cancel"),
        json!({"reason": SECRETS[6]}),
    )
    .await;
    app.get(&format!("/patients/{id}")).await;
    app.get(&format!("/appointments/{appt}")).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&id),
        "the patient's id is logged, so logging was captured"
    );
    for secret in SECRETS {
        assert!(!logs.contains(secret), "log output contains {secret:?}");
    }
}

backends!(logs_never_contain_patient_data);
