//! Logs carry ids, never patient data nor credentials: every log line of a full patient
//! journey, and of a sign-up, logins, refreshes and a password change, at TRACE level for
//! carebook and sqlx alike, is searched for the patient's details, passwords and tokens.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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

/// The whole of each token, and the part that is secret on its own: a JWT's signature, a
/// refresh token's secret (its session id before the dot is an id, and may be logged).
fn token_secrets(access: &str, refresh: &str) -> Vec<String> {
    let signature = access.rsplit('.').next().expect("a JWT").to_owned();
    let secret = refresh
        .split_once('.')
        .expect("<session>.<secret>")
        .1
        .to_owned();
    vec![access.to_owned(), signature, refresh.to_owned(), secret]
}

/// Logs in as `email`; the token pair's secrets are added to `secrets`.
async fn log_in(app: &TestApp, email: &str, password: &str, secrets: &mut Vec<String>) -> Value {
    let pair = app.login(email, password).await;
    let (access, refresh) = (
        pair["access_token"].as_str(),
        pair["refresh_token"].as_str(),
    );
    secrets.extend(token_secrets(access.unwrap(), refresh.unwrap()));
    pair
}

async fn logs_never_contain_passwords_or_tokens(app: TestApp) {
    let captured = capture();
    let (first, second, wrong) = (
        "Quetzalcoatl-Passphrase-One",
        "Quetzalcoatl-Passphrase-Two",
        "Quetzalcoatl-Wrong-Guess",
    );
    // The admin's token goes with every request `app` sends.
    let admin_signature = app.token.rsplit('.').next().unwrap().to_owned();
    let mut secrets: Vec<String> = vec![
        first.into(),
        second.into(),
        wrong.into(),
        app.token.clone(),
        admin_signature,
    ];
    let email = format!("q{}@signup.example", uuid::Uuid::new_v4().simple());
    let (s, b) = app
        .call_as(
            None,
            Method::POST,
            "/auth/register",
            json!({"name": "Q Signup", "email": email, "phone": "+1 555 010 0005", "password": first}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // A weak password refused (400), and a wrong one (401), go through the error paths.
    let (s, _) = app
        .call_as(
            None,
            Method::POST,
            "/auth/register",
            json!({"name": "Q", "email": "weak@signup.example", "phone": "+1 555 010 0006",
                   "password": "password1234"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .call_as(
            None,
            Method::POST,
            "/auth/login",
            json!({"email": email, "password": wrong}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let pair = log_in(&app, &email, first, &mut secrets).await;
    let user_id = pair["user"]["id"].as_str().unwrap().to_owned();
    let spent = pair["refresh_token"].as_str().unwrap().to_owned();
    let (s, b) = app.refresh(&spent).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (access, refresh) = (
        b["data"]["access_token"].as_str(),
        b["data"]["refresh_token"].as_str(),
    );
    secrets.extend(token_secrets(access.unwrap(), refresh.unwrap()));
    let me = access.unwrap().to_owned();
    let other = log_in(&app, &email, first, &mut secrets).await;
    let (s, b) = app
        .call_as(
            Some(&me),
            Method::POST,
            "/auth/password",
            json!({"current_password": wrong, "new_password": second}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let (s, b) = app
        .call_as(
            Some(&me),
            Method::POST,
            "/auth/password",
            json!({"current_password": first, "new_password": second}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Revoked and spent tokens presented again: the warning paths.
    let (s, _) = app
        .call_as(
            other["access_token"].as_str(),
            Method::GET,
            "/auth/me",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.refresh(&spent).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    log_in(&app, &email, second, &mut secrets).await;
    // A second factor's secret for a staff account.
    let password = json!({"password": crate::common::ADMIN_PASSWORD});
    let (s, b) = app.post("/auth/totp", password).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    secrets.push(b["data"]["secret"].as_str().unwrap().to_owned());
    for code in b["data"]["recovery_codes"].as_array().unwrap() {
        secrets.push(code.as_str().unwrap().to_owned());
    }
    let (s, _) = app
        .post("/auth/totp/confirm", json!({"code": "000000"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&user_id),
        "the user's id is logged, so logging was captured"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "log output contains {secret:?}"
        );
    }
}

backends!(
    logs_never_contain_patient_data,
    logs_never_contain_passwords_or_tokens
);
