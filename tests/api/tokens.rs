//! Token abuse: every way an access or refresh token can be missing, forged, stale or revoked
//! answers 401, and each revocation (logout, a disabled account, a reused refresh token, a
//! password change, an idle or too-old session) takes effect at once.
//!
//! Forged tokens are built by hand (HMAC-SHA256 over base64url JSON) with the key the app keeps
//! in `signing_keys`; a control re-signed with unchanged claims must be accepted, so each refusal
//! is about the one thing changed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::backends;
use crate::common::{assert_error, Account, SessionInstant, TestApp, PASSWORD};

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A JWT with this header and claims, signed HS256 with `key`.
fn sign(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(key, input.as_bytes()));
    format!("{input}.{sig}")
}

/// The claims of a token the app issued.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// `GET /api/auth/me` with a token (or none).
async fn me(app: &TestApp, token: Option<&str>) -> (StatusCode, Value) {
    app.call_as(token, Method::GET, "/auth/me", Value::Null)
        .await
}

/// Asserts a 401 `UNAUTHORIZED` with `WWW-Authenticate: Bearer` for `GET /api/auth/me` sent with
/// this `Authorization` header (none when `None`).
async fn refused(app: &TestApp, authorization: Option<&str>, what: &str) {
    let url = format!("{}/auth/me", app.base);
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let (s, h, b) = app
        .send(None, Method::GET, &url, Value::Null, &headers)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}: {b}");
    assert_eq!(b["error"]["code"], "UNAUTHORIZED", "{what}: {b}");
    let challenge = h
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
}

async fn missing_and_malformed_tokens_are_401(app: TestApp) {
    let real = app.token.clone();
    refused(&app, None, "no header").await;
    refused(&app, Some("Bearer"), "the scheme alone").await;
    refused(&app, Some("Bearer "), "an empty token").await;
    refused(&app, Some("Bearer garbage"), "garbage").await;
    refused(&app, Some("Bearer a.b.c"), "three garbage parts").await;
    refused(&app, Some(&format!("Basic {real}")), "another scheme").await;
    refused(
        &app,
        Some(&format!("Bearer {real}x")),
        "a token with a tail",
    )
    .await;
    // The same token, sent properly, works: the refusals were about the header.
    let (s, b) = me(&app, Some(&real)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["role"], "admin");
    assert!(b["data"].get("password_hash").is_none(), "{b}");
    // A public route ignores a bad token rather than refusing the call.
    let (s, b) = app
        .call_as(Some("garbage"), Method::GET, "/doctors", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn forged_tokens_are_401(app: TestApp) {
    let patient = app.sign_up().await;
    let (kid, key) = app.signing_key().await;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let claims = claims_of(&patient.access);
    assert_eq!(claims["iss"], "carebook", "{claims}");
    assert_eq!(claims["aud"], "carebook-api", "{claims}");

    // Control: the same claims re-signed by hand with the app's key are accepted.
    let control = sign(&header, &claims, &key);
    let (s, b) = me(&app, Some(&control)).await;
    assert_eq!(s, StatusCode::OK, "hand-signed control: {b}");
    assert_eq!(b["data"]["id"], patient.user_id.as_str());

    let now = chrono::Utc::now().timestamp();
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let mut expired = with("exp", json!(now - 120));
    expired["iat"] = json!(now - 1200);
    let cases = [
        ("expired", sign(&header, &expired, &key)),
        (
            "wrong audience",
            sign(&header, &with("aud", json!("another-api")), &key),
        ),
        (
            "wrong issuer",
            sign(&header, &with("iss", json!("evil")), &key),
        ),
        (
            "another key",
            sign(&header, &claims, b"not the key the app signs with"),
        ),
        (
            "unknown kid",
            sign(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "k-unknown"}),
                &claims,
                &key,
            ),
        ),
        ("tampered signature", tamper_signature(&patient.access)),
        (
            "role raised, signature kept",
            raise_role(&patient.access, &claims),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
                b64(&claims)
            ),
        ),
        (
            "alg HS512 label on an HS256 signature",
            sign(
                &json!({"alg": "HS512", "typ": "JWT", "kid": kid}),
                &claims,
                &key,
            ),
        ),
    ];
    for (what, token) in cases {
        refused(&app, Some(&format!("Bearer {token}")), what).await;
    }
}

/// The challenge of a refused `GET /api/auth/me`.
async fn challenge(app: &TestApp, authorization: Option<&str>) -> String {
    let url = format!("{}/auth/me", app.base);
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let (s, h, _) = app
        .send(None, Method::GET, &url, Value::Null, &headers)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    h["www-authenticate"].to_str().unwrap().to_owned()
}

/// RFC 6750: an expired token says so (refresh it), other bad tokens say `invalid_token` with
/// their own description (log in again), no token says only the realm.
async fn refused_tokens_say_why(app: TestApp) {
    let patient = app.sign_up().await;
    let (kid, key) = app.signing_key().await;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let now = chrono::Utc::now().timestamp();
    let mut expired = claims_of(&patient.access);
    expired["exp"] = json!(now - 120);
    expired["iat"] = json!(now - 1200);
    let expired = sign(&header, &expired, &key);
    let c = challenge(&app, Some(&format!("Bearer {expired}"))).await;
    assert_eq!(
        c,
        "Bearer realm=\"carebook\", error=\"invalid_token\", error_description=\"token expired\""
    );
    let forged = sign(
        &header,
        &claims_of(&patient.access),
        b"not the key the app signs with",
    );
    for (token, why) in [
        ("garbage", "not a token"),
        (forged.as_str(), "token not valid"),
    ] {
        let c = challenge(&app, Some(&format!("Bearer {token}"))).await;
        assert!(c.contains("error=\"invalid_token\""), "{c}");
        assert!(c.contains(&format!("error_description=\"{why}\"")), "{c}");
    }
    let (s, _) = app
        .call_as(
            Some(&patient.access),
            Method::POST,
            "/auth/logout",
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let c = challenge(&app, Some(&format!("Bearer {}", patient.access))).await;
    assert!(c.contains("error_description=\"session ended\""), "{c}");
    assert_eq!(challenge(&app, None).await, "Bearer realm=\"carebook\"");
}

/// The token with one character in the middle of its signature changed.
fn tamper_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').expect("three parts");
    let mut sig: Vec<char> = sig.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    format!("{input}.{}", sig.into_iter().collect::<String>())
}

/// The token with `role: admin` in its claims and its original signature.
fn raise_role(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut c = claims.clone();
    c["role"] = json!("admin");
    format!("{}.{}.{}", parts[0], b64(&c), parts[2])
}

async fn a_disabled_account_loses_its_tokens(app: TestApp) {
    let desk = app.account("scheduler", None).await;
    let (s, b) = me(&app, Some(&desk.access)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .patch(
            &format!("/users/{}", desk.user_id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["disabled"], true);
    refused(&app, Some(&format!("Bearer {}", desk.access)), "disabled").await;
    let (s, b) = app.refresh(&desk.refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = app
        .call_as(
            None,
            Method::POST,
            "/auth/login",
            json!({"email": desk.email, "password": PASSWORD}),
        )
        .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    // Enabled again, it may log in anew (the old session stays ended).
    let (s, b) = app
        .patch(
            &format!("/users/{}", desk.user_id),
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let again = app.sign_in(&desk.email).await;
    assert_eq!(me(&app, Some(&again.access)).await.0, StatusCode::OK);
    let (s, b) = app.refresh(&desk.refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
}

async fn a_reused_refresh_token_revokes_the_session(app: TestApp) {
    let patient = app.sign_up().await;
    let (s, b) = app.refresh(&patient.refresh).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let newer = b["data"].clone();
    let (newer_access, newer_refresh) = (
        newer["access_token"].as_str().unwrap(),
        newer["refresh_token"].as_str().unwrap(),
    );
    assert_ne!(newer_refresh, patient.refresh);
    assert_eq!(newer["user"]["id"], patient.user_id.as_str());
    assert_eq!(me(&app, Some(newer_access)).await.0, StatusCode::OK);
    // A second session of the same account is another device: it must survive the theft.
    let other = app.sign_in(&patient.email).await;

    // The spent token again: refused, and the whole session ends with it.
    let (s, b) = app.refresh(&patient.refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = app.refresh(newer_refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    for token in [newer_access, patient.access.as_str()] {
        refused(&app, Some(&format!("Bearer {token}")), "revoked session").await;
    }
    assert_eq!(me(&app, Some(&other.access)).await.0, StatusCode::OK);
    let (s, b) = app.refresh(&other.refresh).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // A forged secret for a live session is no better than a spent one.
    let (s, b) = app.refresh(&format!("{}.forged", other.session_id())).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    for junk in ["", "no-dot", "not-a-uuid.secret"] {
        let (s, b) = app.refresh(junk).await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::BAD_REQUEST,
            "{junk:?}: {s} {b}"
        );
    }
}

async fn logout_ends_the_session(app: TestApp) {
    let patient = app.sign_up().await;
    let other = app.sign_in(&patient.email).await;
    let (s, b) = app
        .as_user(&patient, Method::POST, "/auth/logout", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["logged_out"], true);
    refused(
        &app,
        Some(&format!("Bearer {}", patient.access)),
        "logged out",
    )
    .await;
    let (s, b) = app.refresh(&patient.refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    // Only that session: the account's other one goes on.
    assert_eq!(me(&app, Some(&other.access)).await.0, StatusCode::OK);
}

async fn a_password_change_ends_the_other_sessions(app: TestApp) {
    let patient = app.sign_up().await;
    let other = app.sign_in(&patient.email).await;
    let new_password = "another long passphrase";
    let (s, b) = app
        .as_user(
            &patient,
            Method::POST,
            "/auth/password",
            json!({"current_password": "not the password", "new_password": new_password}),
        )
        .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    assert_eq!(me(&app, Some(&other.access)).await.0, StatusCode::OK);

    let (s, b) = app
        .as_user(
            &patient,
            Method::POST,
            "/auth/password",
            json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    refused(
        &app,
        Some(&format!("Bearer {}", other.access)),
        "other session",
    )
    .await;
    let (s, b) = app.refresh(&other.refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    // The session that changed it goes on.
    assert_eq!(me(&app, Some(&patient.access)).await.0, StatusCode::OK);
    let (s, b) = app.refresh(&patient.refresh).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .call_as(
            None,
            Method::POST,
            "/auth/login",
            json!({"email": patient.email, "password": PASSWORD}),
        )
        .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    app.login(&patient.email, new_password).await;
}

/// Signs in twice and ages one session's instant; only that session's refresh fails.
async fn aged_session_refresh_fails(app: &TestApp, which: SessionInstant, ago: chrono::Duration) {
    let patient: Account = app.sign_up().await;
    let fresh = app.sign_in(&patient.email).await;
    app.age_session(patient.session_id(), which, ago).await;
    let (s, b) = app.refresh(&patient.refresh).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = app.refresh(&fresh.refresh).await;
    assert_eq!(s, StatusCode::OK, "{which:?}: the untouched session: {b}");
}

async fn idle_and_old_sessions_end(app: TestApp) {
    // Test settings: idle after 30 minutes without a refresh, 12 hours in all.
    let minutes = chrono::Duration::minutes;
    aged_session_refresh_fails(&app, SessionInstant::LastRefreshAt, minutes(31)).await;
    aged_session_refresh_fails(&app, SessionInstant::CreatedAt, minutes(12 * 60 + 1)).await;
    // Within the idle window a session refreshes.
    let patient = app.sign_up().await;
    app.age_session(
        patient.session_id(),
        SessionInstant::LastRefreshAt,
        minutes(29),
    )
    .await;
    let (s, b) = app.refresh(&patient.refresh).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

backends!(
    refused_tokens_say_why,
    missing_and_malformed_tokens_are_401,
    forged_tokens_are_401,
    a_disabled_account_loses_its_tokens,
    a_reused_refresh_token_revokes_the_session,
    logout_ends_the_session,
    a_password_change_ends_the_other_sessions,
    idle_and_old_sessions_end,
);
