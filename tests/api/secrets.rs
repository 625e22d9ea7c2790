//! Secrets and files at rest, and the second factor: nothing that signs a token, proves a
//! second factor or signs a webhook is in the database in the clear; a copy under another
//! master key refuses to start; the key rotates; data files are owner-only. TOTP needs the
//! password to change, gives recovery codes, refuses a replayed code and can be reset.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use carebook::auth::totp;
use carebook::config::{MasterKey, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

const HOOK_SECRET: &str = "a webhook secret of the clinic, 32+";

/// Enrols the admin's second factor; returns the secret and the recovery codes.
async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    let (s, b) = app.post("/auth/totp", Value::Null).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = app
        .post("/auth/totp", json!({"password": "not the password!"}))
        .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = app
        .post("/auth/totp", json!({"password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let secret = b["data"]["secret"].as_str().unwrap().to_owned();
    let codes: Vec<String> = b["data"]["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let code = totp::current(&secret).unwrap();
    let (s, b) = app.post("/auth/totp/confirm", json!({"code": code})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (secret, codes)
}

async fn login(app: &TestApp, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.call_as(None, Method::POST, "/auth/login", body).await
}

/// A code is good once; a recovery code once ever, in either field; removing the second factor
/// needs the password; an admin's reset is in the account audit.
async fn a_second_factor_is_used_once_and_can_be_recovered(app: TestApp) {
    let (secret, codes) = enrol(&app).await;
    let code = totp::current(&secret).unwrap();
    let (s, b) = login(&app, json!({"totp_code": code})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = login(&app, json!({"totp_code": code})).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = login(&app, json!({"recovery_code": codes[0]})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = login(&app, json!({"recovery_code": codes[0]})).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = login(&app, json!({"totp_code": codes[1].to_uppercase()})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = login(&app, json!({"recovery_code": "aaaa-bbbb-cccc"})).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");

    let (s, b) = app
        .call(
            Method::DELETE,
            "/auth/totp",
            json!({"password": "not the password!"}),
        )
        .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    // An admin resets a doctor's second factor: audited, and the doctor logs in without it.
    let doctor = app.doctor_account().await;
    let enrol_doc = json!({"password": crate::common::PASSWORD});
    let (s, b) = app
        .as_user(&doctor, Method::POST, "/auth/totp", enrol_doc)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let doc_secret = b["data"]["secret"].as_str().unwrap().to_owned();
    let code = totp::current(&doc_secret).unwrap();
    let confirm = json!({"code": code});
    let (s, b) = app
        .as_user(&doctor, Method::POST, "/auth/totp/confirm", confirm)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let path = format!("/users/{}/totp", doctor.user_id);
    let (s, b) = app
        .as_user(&doctor, Method::DELETE, &path, Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let (s, b) = app.call(Method::DELETE, &path, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["totp_enabled"], false);
    app.sign_in(&doctor.email).await;
    let audited = app
        .count_rows("account_audit WHERE action = 'totp_reset'")
        .await;
    assert_eq!(audited, 1);
}

/// Reads every file of the SQLite database (with its WAL), or the secret columns on
/// PostgreSQL, as one byte string.
async fn database_bytes(app: &TestApp) -> Vec<u8> {
    match app.backend {
        Backend::Sqlite => {
            let path = app.db_url().trim_start_matches("sqlite:").to_owned();
            let mut all = Vec::new();
            for suffix in ["", "-wal"] {
                if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                    all.extend(b);
                }
            }
            all
        }
        Backend::Postgres => {
            let mut c = app.pg_connection().await;
            let rows: Vec<(Option<String>,)> = sqlx::query_as(
                "SELECT secret FROM signing_keys UNION ALL SELECT totp_secret FROM users
                 UNION ALL SELECT secret FROM webhooks",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            rows.into_iter()
                .flat_map(|(v,)| v.unwrap_or_default().into_bytes())
                .collect()
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The database holds no signing key, TOTP secret, webhook secret or master key in the clear.
async fn the_database_keeps_no_secret_in_the_clear(app: TestApp) {
    let (totp_secret, _) = enrol(&app).await;
    let (s, b) = app
        .post(
            "/webhooks",
            json!({"url": "https://hooks.example.com/in", "events": ["appointment.booked"],
                   "secret": HOOK_SECRET}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, signing) = app.signing_key().await;
    let bytes = database_bytes(&app).await;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for (what, needle) in [
        ("the TOTP secret", totp_secret.clone().into_bytes()),
        ("the webhook secret", HOOK_SECRET.as_bytes().to_vec()),
        ("the signing key", signing.clone()),
        ("the signing key in base64", b64(&signing).into_bytes()),
        ("the master key", crate::common::TEST_MASTER_KEY.to_vec()),
        (
            "the master key in base64",
            b64(&crate::common::TEST_MASTER_KEY).into_bytes(),
        ),
    ] {
        assert!(!contains(&bytes, &needle), "{what} is in the database");
    }
    assert!(contains(&bytes, b"v1:"), "no sealed value found at all");
}

/// A server on this database with another master key refuses to start, saying why; the
/// rotation re-seals everything so the new key starts and the old one is refused.
async fn another_master_key_is_refused_and_the_key_rotates(app: TestApp) {
    let (totp_secret, _) = enrol(&app).await;
    let dir = std::env::temp_dir().join(format!("keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = app
        .another_instance_result(|s| s.security.master_key = MasterKey::Given(Box::new([7; 32])))
        .await;
    let Err(e) = wrong else {
        panic!("started with another master key");
    };
    assert!(e.contains("master key"), "{e}");

    let mut settings = app.settings_for_tools();
    let new_file = dir.join("new.key");
    let done = carebook::admin::rotate_master_key(&*app.store, &settings, Some(new_file.clone()))
        .await
        .expect("rotation");
    assert!(done.contains("sealed"), "{done}");
    assert_eq!(mode(&new_file), 0o600);
    // The old key (every test app's) no longer opens the database; the new one does.
    let old = app.another_instance_result(|_| {}).await;
    assert!(old.is_err(), "the old key still opens the database");
    settings.security.master_key = MasterKey::File(new_file.clone());
    let new_key = settings.security.master_key.clone();
    let new = app
        .another_instance_result(|s| s.security.master_key = new_key)
        .await
        .expect("the new key starts");
    // Secrets survived: the admin's second factor still checks.
    let code = totp::current(&totp_secret).unwrap();
    let url = format!("{}/auth/login", new.base);
    let res = reqwest::Client::new()
        .post(url)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "totp_code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The SQLite database, its WAL and shared memory, its folder, the default key file and the
/// mail folder are its owner's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_owner_only() {
    let base = std::env::temp_dir().join(format!("owner-{}", uuid::Uuid::new_v4().simple()));
    let data = base.join("data");
    let db = data.join("carebook.db");
    let mut s: Settings = crate::common::settings(&format!("sqlite:{}", db.display()));
    s.security.master_key = MasterKey::File(data.join("master.key"));
    s.notify.mail_dir = Some(data.join("mail"));
    let store = carebook::startup::open_store(&s).await.unwrap();
    let app = carebook::startup::Application::with_store(s, store.clone())
        .await
        .expect("start");
    drop(app);
    for (p, want) in [
        (data.clone(), 0o700),
        (data.join("mail"), 0o700),
        (db.clone(), 0o600),
        (data.join("carebook.db-wal"), 0o600),
        (data.join("carebook.db-shm"), 0o600),
        (data.join("master.key"), 0o600),
    ] {
        assert_eq!(mode(&p), want, "{}", p.display());
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(base);
}

/// API answers carry a policy that forbids rendering and framing them, and send no referrer;
/// the docs page keeps its own policy.
async fn api_answers_carry_a_strict_policy(app: TestApp) {
    for path in ["/health", "/doctors", "/no/such/route", "/patients"] {
        let res = app
            .anon
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let docs = app.base.trim_end_matches("/api").to_owned() + "/docs";
    let res = app.anon.get(docs).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src"), "{csp}");
}

/// Webhook destinations are https unless allowed, and no IPv4-embedded IPv6 spelling of a
/// private address passes the guard.
async fn webhooks_need_https_and_public_addresses(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.notify.webhook_allow_http = false).await;
    let hook =
        |url: &str| json!({"url": url, "events": ["appointment.booked"], "secret": HOOK_SECRET});
    let (s, b) = app
        .post("/webhooks", hook("http://hooks.example.com/in"))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(crate::common::error_fields(&b), ["url"]);
    for host in [
        "[::ffff:0:127.0.0.1]",
        "[::ffff:127.0.0.1]",
        "[::127.0.0.1]",
        "[64:ff9b::10.0.0.1]",
        "[64:ff9b:1::7f00:1]",
        "[2002:7f00:1::]",
        "[::ffff:0:a00:1]",
    ] {
        let (s, b) = app
            .post("/webhooks", hook(&format!("https://{host}/in")))
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert_eq!(crate::common::error_fields(&b), ["url"], "{host}: {b}");
    }
    let (s, b) = app
        .post(
            "/webhooks",
            json!({"url": "https://hooks.example.com/in", "events": ["appointment.booked"],
                   "secret": "too short a secret"}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(crate::common::error_fields(&b), ["secret"]);
}

backends!(
    a_second_factor_is_used_once_and_can_be_recovered,
    the_database_keeps_no_secret_in_the_clear,
    another_master_key_is_refused_and_the_key_rotates,
    api_answers_carry_a_strict_policy,
);

mod webhooks_need_https_and_public_addresses {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::webhooks_need_https_and_public_addresses(crate::common::Backend::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::webhooks_need_https_and_public_addresses(crate::common::Backend::Sqlite).await
    }
}
