//! The optional second factor for staff (TOTP) and the key rotation that must not log anyone
//! out.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backends;
use crate::common::{assert_error, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn staff_login_needs_the_code_once_enrolled(app: TestApp) {
    // Enrolling needs the current password.
    let (s, b) = app
        .post("/auth/totp", json!({"password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let secret = b["data"]["secret"].as_str().unwrap().to_owned();
    assert!(b["data"]["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    // Not on until confirmed: login still works with the password alone.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (s, b) = app
        .post("/auth/totp/confirm", json!({"code": "000000x"}))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let code = carebook::auth::totp::current(&secret).unwrap();
    let (s, b) = app.post("/auth/totp/confirm", json!({"code": code})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["totp_enabled"], true);

    let login = |body| app.call_as(None, Method::POST, "/auth/login", body);
    let (s, b) = login(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).await;
    assert_error(s, &b, 401, "TOTP_REQUIRED");
    let wrong = format!(
        "{:06}",
        (code.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let (s, b) =
        login(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "totp_code": wrong})).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) =
        login(json!({"email": ADMIN_EMAIL, "password": "wrong password here", "totp_code": code}))
            .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) =
        login(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "totp_code": code})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The secret never comes back once enrolled.
    let (_, me) = app.get("/auth/me").await;
    assert!(!me.to_string().contains(&secret), "{me}");
}

async fn patients_cannot_enrol_a_second_factor(app: TestApp) {
    let (s, _) = app
        .call_as(
            None,
            Method::POST,
            "/auth/register",
            json!({"name": "Pat", "email": "pat@mail.test", "phone": "+1 555 010 0000",
                   "password": "a patient passphrase"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let pair = app.login("pat@mail.test", "a patient passphrase").await;
    let token = pair["access_token"].as_str().unwrap();
    let (s, b) = app
        .call_as(
            Some(token),
            Method::POST,
            "/auth/totp",
            json!({"password": "a patient passphrase"}),
        )
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
}

async fn rotating_the_signing_key_logs_nobody_out(app: TestApp) {
    use carebook::auth::tokens::Keyring;
    let before = app.token.clone();
    // Another instance (or `carebook keys rotate`) adds a key and signs with it.
    let ring = Keyring::load(app.store.clone(), crate::common::test_vault())
        .await
        .expect("keys");
    let kid = ring.rotate().await.expect("rotate");
    let user = app
        .store
        .credentials(ADMIN_EMAIL)
        .await
        .unwrap()
        .expect("admin")
        .user;
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let ttl = std::time::Duration::from_secs(60);
    let (token, _) = ring
        .issue(&user, carebook::domain::SessionId::random(), ttl, until)
        .expect("token");
    let header = token.split('.').next().unwrap();
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(header["kid"], kid.as_str(), "{header}");
    // This instance has never seen that key: it reloads the keys and accepts the token; the
    // token signed before the rotation keeps working too.
    for t in [&token, &before] {
        let (s, b) = app
            .call_as(Some(t), Method::GET, "/auth/me", json!(null))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["data"]["email"], ADMIN_EMAIL);
    }
    // A token whose key id is unknown even after a reload is refused.
    let forged = format!(
        "{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"HS256","typ":"JWT","kid":"nope"}"#),
        token.split_once('.').unwrap().1
    );
    let (s, b) = app
        .call_as(Some(&forged), Method::GET, "/auth/me", json!(null))
        .await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
}

backends!(
    staff_login_needs_the_code_once_enrolled,
    patients_cannot_enrol_a_second_factor,
    rotating_the_signing_key_logs_nobody_out,
);
