//! Authentication under attack: parallel guesses evaluate at most the limit, the owner logs in
//! from another address meanwhile, the client address behind a trusted proxy, a login flood
//! shed at once, and a refresh token guessed or copied.

use futures::future::join_all;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, Backend, TestApp, PASSWORD};

/// A client whose connections come from `ip` (a loopback address), as another host would.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

async fn login_with(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut req = client
        .post(format!("{}/auth/login", app.base))
        .json(&json!({"email": email, "password": password}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

fn retry_after(h: &HeaderMap) -> u64 {
    h.get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After: {h:?}"))
}

/// Sixty wrong passwords at once from one address: at most five are evaluated, the rest are
/// refused with `Retry-After`; the right password from that address is refused too, while the
/// owner, from another address, logs in.
async fn parallel_guesses_evaluate_at_most_the_limit(app: TestApp) {
    let owner = app.sign_up().await;
    let attacker = client_from("127.0.0.2");
    let guesses = (0..60).map(|i| {
        let guess = format!("wrong guess number {i}");
        let (app, attacker, email) = (&app, &attacker, owner.email.clone());
        async move { login_with(app, attacker, &email, &guess, &[]).await }
    });
    let answers = join_all(guesses).await;
    let evaluated = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(evaluated <= 5, "{evaluated} guesses evaluated");
    assert_eq!(evaluated + refused.len(), 60, "{answers:?}");
    for (_, h, b) in &refused {
        assert_eq!(b["error"]["code"], "RATE_LIMITED", "{b}");
        assert!((1..=15 * 60).contains(&retry_after(h)));
    }
    let (s, _, b) = login_with(&app, &attacker, &owner.email, PASSWORD, &[]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let (s, _, b) = login_with(&app, &client_from("127.0.0.3"), &owner.email, PASSWORD, &[]).await;
    assert_eq!(s, StatusCode::OK, "the owner is locked out: {b}");
}

/// Behind a trusted proxy the client is the forwarded address: two clients of one proxy are
/// throttled apart. Without `TRUSTED_PROXIES`, a forwarded header names nobody.
async fn the_client_behind_a_trusted_proxy(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.security.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let owner = app.sign_up().await;
    let proxy = reqwest::Client::new();
    let guesser = [("x-forwarded-for", "198.51.100.7")];
    for _ in 0..5 {
        let (s, _, b) =
            login_with(&app, &proxy, &owner.email, "not the passphrase!", &guesser).await;
        assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    }
    let (s, _, b) = login_with(&app, &proxy, &owner.email, PASSWORD, &guesser).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let other = [("forwarded", "for=198.51.100.8;proto=https")];
    let (s, _, b) = login_with(&app, &proxy, &owner.email, PASSWORD, &other).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    drop(app);

    // Not trusted: the header is ignored, so changing it does not dodge the count.
    let app = TestApp::spawn(backend).await;
    let owner = app.sign_up().await;
    let client = reqwest::Client::new();
    for i in 0..5 {
        let forged = format!("203.0.113.{i}");
        let h = [("x-forwarded-for", forged.as_str())];
        let (s, _, b) = login_with(&app, &client, &owner.email, "not the passphrase!", &h).await;
        assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    }
    let h = [("x-forwarded-for", "203.0.113.99")];
    let (s, _, b) = login_with(&app, &client, &owner.email, PASSWORD, &h).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
}

/// Password checks beyond the gate's room are refused at once with 503 and `Retry-After`;
/// nothing else goes wrong.
async fn a_login_flood_is_shed_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.security.hash_concurrency = 1;
        s.security.hash_queue = 1;
    })
    .await;
    let client = reqwest::Client::new();
    let flood = (0..24).map(|i| {
        let email = format!("flood-{i}@people.test");
        let (app, client) = (&app, &client);
        async move { login_with(app, client, &email, "some passphrase here", &[]).await }
    });
    let answers = join_all(flood).await;
    let shed: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!shed.is_empty(), "nothing shed: {answers:?}");
    for (s, h, b) in &answers {
        match *s {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(b["error"]["code"], "SERVICE_UNAVAILABLE", "{b}");
                assert!(retry_after(h) >= 1);
            }
            other => panic!("{other}: {b}"),
        }
    }
}

/// Only a refresh secret the session really spent revokes it; a wrong one changes nothing.
async fn only_a_spent_refresh_secret_revokes_its_session(app: TestApp) {
    let who = app.sign_up().await;
    let sid = who.session_id().to_owned();
    let (s, b) = app
        .refresh(&format!("{sid}.a-guessed-secret-that-never-was"))
        .await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = app.refresh(&who.refresh).await;
    assert_eq!(s, StatusCode::OK, "a wrong guess ended the session: {b}");
    let next = b["data"]["refresh_token"].as_str().unwrap().to_owned();
    // The first token again: spent, so copied: the session ends.
    let (s, _) = app.refresh(&who.refresh).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.refresh(&next).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a reused token must end the session"
    );
}

/// Passwords are judged for strength, and a new one must differ from the current one.
async fn weak_and_unchanged_passwords_are_refused(app: TestApp) {
    let email = crate::common::unique_email("weak");
    for weak in ["qwertyuiopasdfgh", "passwordpassword"] {
        let (s, b) = app
            .call_as(
                None,
                Method::POST,
                "/auth/register",
                json!({"name": "Pat", "email": email, "phone": "+1 555 010 0000", "password": weak}),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert_eq!(crate::common::error_fields(&b), ["password"], "{b}");
    }
    let who = app.sign_up().await;
    let (s, b) = app
        .as_user(
            &who,
            Method::POST,
            "/auth/password",
            json!({"current_password": PASSWORD, "new_password": PASSWORD}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(crate::common::error_fields(&b), ["new_password"], "{b}");
}

backends!(
    parallel_guesses_evaluate_at_most_the_limit,
    only_a_spent_refresh_secret_revokes_its_session,
    weak_and_unchanged_passwords_are_refused,
);

crate::on_both!(
    the_client_behind_a_trusted_proxy,
    a_login_flood_is_shed_at_once
);
