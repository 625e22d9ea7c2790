//! Sign-up that reveals nothing (`REGISTRATION=verify`), the e-mailed links (verification,
//! invitation, password reset: single use, expiring by the database clock), and sign-up closed.
//! Every link arrives through a real SMTP server on loopback.

use std::time::{Duration, Instant};

use carebook::config::{NotifySettings, Registration, Secret};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::smtp::SmtpSink;
use crate::common::{assert_error, unique_email, Backend, TestApp, PASSWORD};

/// An app in `mode` whose e-mail goes to a sink of its own.
pub async fn app_with_mail(backend: Backend, mode: Registration) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let notify = NotifySettings {
        smtp_url: Some(Secret(sink.url())),
        smtp_from: "Clinic <clinic@carebook.test>".into(),
        poll_interval: Duration::from_secs(3600),
        ..NotifySettings::default()
    };
    let app = TestApp::spawn_with(backend, |s| {
        s.notify = notify;
        s.security.registration = mode;
    })
    .await;
    (app, sink)
}

/// The token in the newest message to `to`, waiting (bounded) for `n` messages in all.
pub async fn token_in(sink: &SmtpSink, n: usize, to: &str) -> String {
    let got = sink.wait_for(n, Duration::from_secs(20)).await;
    let m = got
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t == to))
        .unwrap_or_else(|| panic!("no message to {to}"));
    let text = m.parsed().body_text(0).unwrap_or_default().into_owned();
    let at = text
        .find("token=")
        .unwrap_or_else(|| panic!("no link in {text}"));
    text[at + 6..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn subject_of(sink: &SmtpSink, to: &str) -> String {
    let got = sink.received();
    let m = got
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t == to))
        .unwrap();
    m.parsed().subject().unwrap_or_default().to_owned()
}

async fn register(app: &TestApp, email: &str) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let (s, b) = app
        .call_as(
            None,
            Method::POST,
            "/auth/register",
            json!({"name": "Pat Signup", "email": email, "phone": "+1 555 010 0001", "password": PASSWORD}),
        )
        .await;
    (s, b, started.elapsed())
}

async fn try_login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    let body = json!({"email": email, "password": password});
    app.call_as(None, Method::POST, "/auth/login", body).await.0
}

/// Sign-up answers a new and a known address alike (status, body, time within noise); the
/// new one gets a link and no account until it is followed; the known one, a note; a record
/// the clinic made is never taken over by a sign-up.
async fn sign_up_reveals_nothing(backend: Backend) {
    let (app, sink) = app_with_mail(backend, Registration::Verify).await;
    let known = app.sign_up_open_free_address().await;
    let (mut fresh_times, mut known_times) = (Vec::new(), Vec::new());
    let mut fresh_addresses = Vec::new();
    for i in 0..5 {
        let fresh = unique_email(&format!("new{i}"));
        let (s1, b1, t1) = register(&app, &fresh).await;
        let (s2, b2, t2) = register(&app, &known).await;
        assert_eq!(s1, StatusCode::ACCEPTED, "{b1}");
        assert_eq!(
            (s1, &b1),
            (s2, &b2),
            "a new and a known address answered apart"
        );
        fresh_times.push(t1);
        known_times.push(t2);
        fresh_addresses.push(fresh);
    }
    fresh_times.sort();
    known_times.sort();
    let (a, b) = (fresh_times[2].as_secs_f64(), known_times[2].as_secs_f64());
    assert!(
        (a - b).abs() <= 0.05 + 0.5 * a.max(b),
        "median times differ: new {a:.3}s, known {b:.3}s"
    );
    // Ten messages: a link for each new address, a note for the known one each time.
    let fresh = &fresh_addresses[0];
    let token = token_in(&sink, 10, fresh).await;
    assert_eq!(subject_of(&sink, &known), "You already have an account");
    assert!(subject_of(&sink, fresh).contains("Confirm"));
    // Not an account yet.
    assert_eq!(
        try_login(&app, fresh, PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    let verify = |t: &str| app.call_as(None, Method::POST, "/auth/verify", json!({"token": t}));
    let (s, b) = verify(&token).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["email"], fresh.as_str());
    assert_eq!(try_login(&app, fresh, PASSWORD).await, StatusCode::OK);
    // Single use.
    let (s, b) = verify(&token).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    // Expired by the database clock.
    let late = &fresh_addresses[1];
    let token = token_in(&sink, 10, late).await;
    expire_links(&app).await;
    let (s, b) = verify(&token).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");

    // A patient the front desk registered: a sign-up with that address makes no account, and
    // the password chosen by whoever signed up opens nothing.
    let desk_email = unique_email("desk");
    let (s, b) = app
        .post(
            "/patients",
            json!({"name": "Desk Made", "email": desk_email, "phone": "+1 555 010 0002"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, _) = register(&app, &desk_email).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    sink.wait_for(11, Duration::from_secs(20)).await;
    assert_eq!(
        subject_of(&sink, &desk_email),
        "You already have an account"
    );
    assert_eq!(
        try_login(&app, &desk_email, PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Every link of the app's database lapses now.
async fn expire_links(app: &TestApp) {
    let sql = match app.backend {
        Backend::Postgres => "UPDATE link_tokens SET expires_at = now() - interval '1 minute'",
        Backend::Sqlite => {
            "UPDATE link_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds')"
        }
    };
    app.execute_raw(sql).await.unwrap();
}

/// The front desk invites a patient it registered; the link makes the account of that record,
/// once.
async fn an_invitation_links_the_clinics_record(backend: Backend) {
    let (app, sink) = app_with_mail(backend, Registration::Closed).await;
    let email = unique_email("invited");
    let (s, b) = app
        .post(
            "/patients",
            json!({"name": "Invited Pat", "email": email, "phone": "+1 555 010 0003"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let patient = b["data"]["id"].as_str().unwrap().to_owned();
    let desk = app.account("scheduler", None).await;
    let path = format!("/patients/{patient}/invite");
    let (s, b) = app.as_user(&desk, Method::POST, &path, Value::Null).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let token = token_in(&sink, 1, &email).await;
    let accept = |t: &str, pw: &str| {
        app.call_as(
            None,
            Method::POST,
            "/auth/accept-invitation",
            json!({"token": t, "password": pw}),
        )
    };
    let (s, b) = accept(&token, "password").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (s, b) = accept(&token, PASSWORD).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["patient_id"], patient.as_str());
    assert_eq!(try_login(&app, &email, PASSWORD).await, StatusCode::OK);
    let (s, b) = accept(&token, PASSWORD).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    // A patient with an account is not invited again; a patient cannot invite.
    let (s, b) = app.as_user(&desk, Method::POST, &path, Value::Null).await;
    assert_error(s, &b, 409, "DUPLICATE");
    let who = app.sign_in(&email).await;
    let (s, b) = app.as_user(&who, Method::POST, &path, Value::Null).await;
    assert_error(s, &b, 403, "FORBIDDEN");
    // Sign-up is closed: 403.
    let (s, b, _) = register(&app, &unique_email("closed")).await;
    assert_error(s, &b, 403, "FORBIDDEN");
}

/// A reset answers any address alike, e-mails a known one, sets a new password once and ends
/// every session.
async fn a_password_reset_ends_every_session(backend: Backend) {
    let (app, sink) = app_with_mail(backend, Registration::Open).await;
    let who = app.sign_up().await;
    let ask = |email: &str| {
        app.call_as(
            None,
            Method::POST,
            "/auth/password-reset",
            json!({"email": email}),
        )
    };
    let (s1, b1) = ask(&who.email).await;
    let (s2, b2) = ask("nobody-here@people.test").await;
    assert_eq!(s1, StatusCode::ACCEPTED, "{b1}");
    assert_eq!((s1, b1), (s2, b2));
    let token = token_in(&sink, 1, &who.email).await;
    let confirm = |t: &str, pw: &str| {
        app.call_as(
            None,
            Method::POST,
            "/auth/password-reset/confirm",
            json!({"token": t, "new_password": pw}),
        )
    };
    let new = "a brand new passphrase for me";
    let (s, b) = confirm(&token, new).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app.refresh(&who.refresh).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old session must end");
    assert_eq!(
        try_login(&app, &who.email, PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(try_login(&app, &who.email, new).await, StatusCode::OK);
    let (s, b) = confirm(&token, "another new passphrase here").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    // The same password again is refused.
    ask(&who.email).await;
    let token = token_in(&sink, 2, &who.email).await;
    let (s, b) = confirm(&token, new).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(crate::common::error_fields(&b), ["new_password"]);
}

crate::on_both!(
    sign_up_reveals_nothing,
    an_invitation_links_the_clinics_record,
    a_password_reset_ends_every_session
);

impl TestApp {
    /// An address with an account, made by the admin (sign-up is not open here).
    async fn sign_up_open_free_address(&self) -> String {
        self.account("scheduler", None).await.email
    }
}
