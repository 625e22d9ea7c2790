//! Abuse limits: login throttling, the pending-hold cap, request rate limits, per-user
//! idempotency keys, caching and sniffing headers, and what sign-up refuses.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, unique_email, Account, TestApp, PASSWORD};
use crate::operations::root;

/// Replaces `app` with one on the same backend whose settings `tweak` adjusted.
async fn respawn(app: TestApp, tweak: impl FnOnce(&mut carebook::config::Settings)) -> TestApp {
    let backend = app.backend;
    drop(app);
    TestApp::spawn_with(backend, tweak).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, HeaderMap, Value) {
    let url = format!("{}/auth/login", app.base);
    let body = json!({"email": email, "password": password});
    app.send(None, Method::POST, &url, body, &[]).await
}

/// Asserts a 429 `RATE_LIMITED` with a `Retry-After` of 1..=`max` seconds.
fn assert_rate_limited(s: StatusCode, h: &HeaderMap, b: &Value, max: u64) {
    assert_error(s, b, 429, "RATE_LIMITED");
    let wait: u64 = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {h:?}"));
    assert!((1..=max).contains(&wait), "Retry-After {wait}");
}

async fn logins_are_throttled_per_account_and_per_ip(app: TestApp) {
    let victim = app.sign_up().await;
    let bystander = app.sign_up().await;
    let (s, _, wrong_password) = login(&app, &victim.email, "not the right passphrase").await;
    assert_error(s, &wrong_password, 401, "INVALID_CREDENTIALS");
    let (s, _, wrong_email) = login(&app, "nobody-at-all@people.test", PASSWORD).await;
    assert_error(s, &wrong_email, 401, "INVALID_CREDENTIALS");
    assert_eq!(
        wrong_password, wrong_email,
        "the two failures must not be told apart"
    );
    for _ in 0..4 {
        let (s, _, b) = login(&app, &victim.email, "still not the passphrase").await;
        assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    }
    // Five failures: the sixth attempt is refused even with the right password.
    let (s, h, b) = login(&app, &victim.email, PASSWORD).await;
    assert_rate_limited(s, &h, &b, 15 * 60);
    // The e-mail is matched as the account is: case does not dodge the count.
    let (s, h, b) = login(&app, &victim.email.to_uppercase(), PASSWORD).await;
    assert_rate_limited(s, &h, &b, 15 * 60);
    // Another account is not locked out by it.
    let (s, _, b) = login(&app, &bystander.email, PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Thirty failures from one address within a minute (spread over accounts, none of them
    // at its own limit) throttle that address, whoever it tries next.
    for n in 0..24 {
        let (s, _, b) = login(
            &app,
            &format!("guess-{n}@people.test"),
            "a guessed passphrase",
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {n}: {b}");
    }
    let (s, h, b) = login(&app, &bystander.email, PASSWORD).await;
    assert_rate_limited(s, &h, &b, 60);
}

async fn a_patient_holds_at_most_the_cap(app: TestApp) {
    let app = respawn(app, |s| s.booking.max_pending_holds = Some(3)).await;
    let patient = app.sign_up().await;
    let p = patient.patient_id.clone().unwrap();
    let d = app.doctor().await;
    let mut slots = Vec::new();
    for day in 1..=7 {
        slots.push(app.slot(&d, day, "10:00", 2).await);
    }
    let mut held = Vec::new();
    for slot in &slots[..3] {
        let (s, b) = app.book_as(&patient, &p, &d, slot).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        held.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    let (s, b) = app.book_as(&patient, &p, &d, &slots[3]).await;
    assert_error(s, &b, 409, "HOLD_LIMIT");
    // Staff booking for them are held to it too: the cap is the patient's, not the caller's.
    let (s, b) = app.book(&p, &d, &slots[3]).await;
    assert_error(s, &b, 409, "HOLD_LIMIT");
    // Another patient is not.
    let other = app.patient().await;
    let (s, b) = app.book(&other, &d, &slots[3]).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // A cancelled hold no longer counts.
    let (s, b) = app
        .as_user(
            &patient,
            Method::POST,
            &format!("/appointments/{}/cancel", held[0]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.book_as(&patient, &p, &d, &slots[3]).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app.book_as(&patient, &p, &d, &slots[4]).await;
    assert_error(s, &b, 409, "HOLD_LIMIT");
    // Nor does a confirmed one, nor a lapsed one.
    let (s, b) = app
        .as_user(
            &patient,
            Method::POST,
            &format!("/appointments/{}/confirm", held[1]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.book_as(&patient, &p, &d, &slots[4]).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    app.expire_hold(&held[2]).await;
    let (s, b) = app.book_as(&patient, &p, &d, &slots[5]).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app.book_as(&patient, &p, &d, &slots[6]).await;
    assert_error(s, &b, 409, "HOLD_LIMIT");
}

async fn requests_are_rate_limited_per_caller(app: TestApp) {
    // Spawning logged the admin in: one anonymous request from this address already.
    let app = respawn(app, |s| s.auth.rate_limit_per_minute = 5).await;
    let desk = app.account("scheduler", None).await; // the admin's 1st, the address's 2nd
    let me = format!("{}/auth/me", app.base);
    for n in 2..=5 {
        let (s, _, b) = app
            .send(Some(&app.token), Method::GET, &me, Value::Null, &[])
            .await;
        assert_eq!(s, StatusCode::OK, "admin request {n}: {b}");
    }
    let (s, h, b) = app
        .send(Some(&app.token), Method::GET, &me, Value::Null, &[])
        .await;
    assert_rate_limited(s, &h, &b, 60);
    // Per caller: the desk has its own allowance.
    let (s, _, b) = app
        .send(Some(&desk.access), Method::GET, &me, Value::Null, &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Anonymous callers are counted by address: the bucket holds five at most.
    let doctors = format!("{}/doctors", app.base);
    let mut answers = Vec::new();
    for _ in 0..6 {
        let (s, h, b) = app
            .send(None, Method::GET, &doctors, Value::Null, &[])
            .await;
        answers.push((s, h, b));
    }
    let (s, h, b) = answers.last().unwrap();
    assert_rate_limited(*s, h, b, 60);
    // The address had spent two of five (one more may have come back on a slow machine).
    let ok = answers.iter().filter(|a| a.0 == StatusCode::OK).count();
    assert!(ok <= 4, "{ok} passed");
}

async fn refused_calls_count_against_the_limit_too(app: TestApp) {
    // OWASP API4: the limit must hold before authentication and authorization, or refused
    // calls (anonymous ones on protected routes, forbidden ones) are free and unlimited.
    let app = respawn(app, |s| s.auth.rate_limit_per_minute = 5).await;
    let patient = app.sign_up().await; // the address's 2nd and 3rd requests
    let patients = format!("{}/patients", app.base);
    let mut forbidden = Vec::new();
    for _ in 0..6 {
        let token = Some(patient.access.as_str());
        forbidden.push(
            app.send(token, Method::GET, &patients, Value::Null, &[])
                .await,
        );
    }
    assert_eq!(forbidden[0].0, StatusCode::FORBIDDEN);
    let (s, h, b) = forbidden.last().unwrap();
    assert_rate_limited(*s, h, b, 60);
    let mut anonymous = Vec::new();
    for _ in 0..6 {
        anonymous.push(
            app.send(None, Method::GET, &patients, Value::Null, &[])
                .await,
        );
    }
    let (s, h, b) = anonymous.last().unwrap();
    assert_rate_limited(*s, h, b, 60);
}

async fn idempotency_keys_are_per_user(app: TestApp) {
    let (alice, bob): (Account, Account) = (app.sign_up().await, app.sign_up().await);
    let d = app.doctor().await;
    let slot = app.slot(&d, 2, "10:00", 3).await;
    let url = format!("{}/appointments", app.base);
    let book = |who: &Account| {
        let body = json!({"patient_id": who.patient_id, "doctor_id": d, "time_slot_id": slot});
        let (url, token) = (url.clone(), who.access.clone());
        let app = &app;
        async move {
            let key = [("idempotency-key", "same-key-for-everyone")];
            let (s, _, b) = app.send(Some(&token), Method::POST, &url, body, &key).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            b["data"].clone()
        }
    };
    let first = book(&alice).await;
    let again = book(&alice).await;
    assert_eq!(again["id"], first["id"], "a retry by the same user replays");
    let bobs = book(&bob).await;
    assert_ne!(
        bobs["id"], first["id"],
        "another user's key never replays alice's booking"
    );
    assert_eq!(bobs["patient_id"], bob.patient_id.as_deref().unwrap());
    assert_eq!(app.slot_view(&d, &slot).await["current_bookings"], 2);
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn authenticated_answers_are_not_cached(app: TestApp) {
    let patient = app.sign_up().await;
    let p = patient.patient_id.clone().unwrap();
    let api = &app.base;
    let missing = uuid::Uuid::new_v4();
    let authenticated = [
        format!("{api}/auth/me"),
        format!("{api}/patients/{p}"),
        format!("{api}/patients/{missing}"),
    ];
    for url in &authenticated {
        let (_, h, _) = app
            .send(Some(&patient.access), Method::GET, url, Value::Null, &[])
            .await;
        assert_eq!(header(&h, "cache-control"), Some("no-store"), "{url}");
        assert_eq!(
            header(&h, "x-content-type-options"),
            Some("nosniff"),
            "{url}"
        );
    }
}

async fn answers_carrying_tokens_are_not_cached(app: TestApp) {
    // RFC 6749 5.1: any answer carrying tokens or credentials is `no-store`.
    let patient = app.sign_up().await;
    let api = &app.base;
    let (s, h, b) = login(&app, &patient.email, PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(header(&h, "cache-control"), Some("no-store"), "login");
    let refresh = json!({"refresh_token": b["data"]["refresh_token"]});
    let (s, h, b) = app
        .send(
            None,
            Method::POST,
            &format!("{api}/auth/refresh"),
            refresh,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(header(&h, "cache-control"), Some("no-store"), "refresh");
}

async fn nosniff_everywhere(app: TestApp) {
    let patient = app.sign_up().await;
    let (root, api) = (root(&app), &app.base);

    let anonymous = [
        (Method::GET, format!("{api}/doctors")),
        (Method::GET, format!("{root}/health")),
        (Method::GET, format!("{root}/docs")),
        (Method::GET, format!("{api}/openapi.json")),
        (Method::GET, format!("{api}/patients")),
        (Method::GET, format!("{api}/no-such-route")),
        (Method::DELETE, format!("{api}/doctors")),
    ];
    for (method, url) in anonymous {
        let (s, h, _) = app.send(None, method.clone(), &url, Value::Null, &[]).await;
        assert_eq!(
            header(&h, "x-content-type-options"),
            Some("nosniff"),
            "{method} {url}: {s}"
        );
    }
    let (s, h, _) = app
        .send(
            Some(&patient.access),
            Method::GET,
            &format!("{api}/patients"),
            Value::Null,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
}

async fn sign_up_refuses_a_role_and_weak_passwords(app: TestApp) {
    let signup = |extra: Value| {
        let mut body = json!({"name": "Mal Ory", "email": unique_email("mal"),
                              "phone": "+1 555 010 0004", "password": PASSWORD});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for extra in [
        json!({"role": "admin"}),
        json!({"role": "patient"}),
        json!({"doctor_id": uuid::Uuid::new_v4()}),
    ] {
        let body = signup(extra.clone());
        let (s, b) = app
            .call_as(None, Method::POST, "/auth/register", body.clone())
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        let field = extra.as_object().unwrap().keys().next().unwrap().clone();
        assert!(error_fields(&b).contains(&field), "{b}");
        let (s, _, _) = login(&app, body["email"].as_str().unwrap(), PASSWORD).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "no account was made");
    }
    let email = unique_email("weak");
    let weak = [
        "short pass1",
        "password1234",
        "PASSWORD1234",
        email.as_str(),
        &"x".repeat(129),
    ];
    for password in weak {
        let mut body = signup(json!({"password": password}));
        body["email"] = json!(email);
        let (s, b) = app
            .call_as(None, Method::POST, "/auth/register", body)
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&b), ["password"], "{password:?}: {b}");
        assert!(!b.to_string().contains(password), "the body echoes it: {b}");
        // Staff accounts and password changes follow the same rules.
        let user = json!({"email": email, "password": password, "role": "scheduler"});
        let (s, b) = app.post("/users", user).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
    }
    let patient = app.sign_up().await;
    let change = json!({"current_password": PASSWORD, "new_password": "password1234"});
    let (s, b) = app
        .as_user(&patient, Method::POST, "/auth/password", change)
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    app.login(&patient.email, PASSWORD).await;
    // Twelve characters is enough; no composition rules.
    let (s, b) = app
        .call_as(
            None,
            Method::POST,
            "/auth/register",
            signup(json!({"password": "twelve chars"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

backends!(
    logins_are_throttled_per_account_and_per_ip,
    a_patient_holds_at_most_the_cap,
    requests_are_rate_limited_per_caller,
    refused_calls_count_against_the_limit_too,
    idempotency_keys_are_per_user,
    authenticated_answers_are_not_cached,
    answers_carrying_tokens_are_not_cached,
    nosniff_everywhere,
    sign_up_refuses_a_role_and_weak_passwords,
);
