//! The pages for people, over HTTP as a browser sends them: forms posted with their token and
//! the session cookies, redirects read rather than followed. What the pages change is checked
//! through the API, as the admin.

use reqwest::header::SET_COOKIE;
use reqwest::StatusCode;
use serde_json::json;

use crate::backends;
use crate::common::browser::Browser;
use crate::common::TestApp;
use crate::common::{unique_email, PASSWORD};

/// The date `days` from today in UTC (the test doctors' zone).
fn day_ahead(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// The appointment id of an appointment page's path.
fn id_of(path: &str) -> &str {
    path.trim_start_matches("/me/appointments/")
}

/// A patient signs up, holds a time, confirms it, downloads it for a calendar, moves it and
/// cancels it, all on the pages; each change is the API's, with the patient as its actor.
async fn a_patient_books_confirms_moves_and_cancels(app: TestApp) {
    let doctor = app.doctor().await;
    for time in ["09:00", "10:00", "11:00"] {
        app.slot(&doctor, 3, time, 1).await;
    }
    let mut b = Browser::new(&app);
    b.sign_up().await;
    let path = b.hold(&doctor, &day_ahead(3), 0).await;
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("aria-live=\"polite\""),
        "the hold's deadline is announced"
    );
    assert!(page.body.contains("not yet confirmed"));
    let token = page.csrf();
    let done = b
        .post(&format!("{path}/confirm"), &[("csrf", &token)])
        .await;
    assert_eq!(
        (done.status, done.location()),
        (StatusCode::SEE_OTHER, path.as_str())
    );
    let (_, a) = app.get(&format!("/appointments/{}", id_of(&path))).await;
    assert_eq!(a["data"]["status"], "CONFIRMED", "{a}");

    let ics = b.get(&format!("{path}/calendar.ics")).await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(ics.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let starts = a["data"]["slot"]["starts_at"].as_str().unwrap();
    let stamp = chrono::DateTime::parse_from_rfc3339(starts).unwrap();
    let line = format!("DTSTART:{}", stamp.format("%Y%m%dT%H%M%SZ"));
    assert!(ics.body.contains(&line), "{line} in {}", ics.body);

    let choose = b.get(&format!("{path}/reschedule")).await;
    let slot = choose.input("slot", 1).expect("another free time");
    let token = choose.csrf();
    let moved = b
        .post(
            &format!("{path}/reschedule"),
            &[("csrf", &token), ("slot", &slot)],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let (_, a) = app.get(&format!("/appointments/{}", id_of(&path))).await;
    assert_eq!(a["data"]["time_slot_id"], slot.as_str(), "{a}");

    let cancelled = b
        .post(
            &format!("{path}/cancel"),
            &[("csrf", &token), ("reason", "away")],
        )
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    let (_, h) = app
        .get(&format!("/appointments/{}/history", id_of(&path)))
        .await;
    let actions: Vec<&str> = h["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["BOOK", "CONFIRM", "RESCHEDULED", "CANCEL"]);
    for e in h["data"].as_array().unwrap() {
        assert_eq!(e["actor_role"], "patient", "{e}");
    }
    let me = b.get("/me").await;
    assert!(me.body.contains(id_of(&path)));
}

/// Every page read of patient data is in the access log, with the person's own identity and
/// the page's route.
async fn page_reads_leave_access_records(app: TestApp) {
    let doctor = app.doctor().await;
    app.slot(&doctor, 2, "09:00", 1).await;
    let mut b = Browser::new(&app);
    let email = b.sign_up().await;
    let path = b.hold(&doctor, &day_ahead(2), 0).await;
    assert_eq!(b.get(&path).await.status, StatusCode::OK);
    assert_eq!(b.get("/me").await.status, StatusCode::OK);
    let me = app.sign_in(&email).await;
    let records = app.access_records(&format!("user_id={}", me.user_id)).await;
    let routes: Vec<&str> = records.iter().filter_map(|r| r["route"].as_str()).collect();
    assert!(routes.contains(&"/me/appointments/{id}"), "{routes:?}");
    assert!(routes.contains(&"/me"), "{routes:?}");
}

/// A form posted without its token, or with another browser's, changes nothing: 403.
async fn a_form_without_its_token_changes_nothing(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "09:00", 1).await;
    let mut b = Browser::new(&app);
    b.sign_up().await;
    let mut other = Browser::new(&app);
    let foreign = other.get("/login").await.csrf();
    let day = day_ahead(2);
    for token in [None, Some(""), Some("forged"), Some(foreign.as_str())] {
        let mut form = vec![("slot", slot.as_str()), ("day", day.as_str())];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let res = b.post(&format!("/doctors/{doctor}/book"), &form).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "token {token:?}");
        assert!(res.body.contains("<h1>Not allowed</h1>"), "{}", res.body);
    }
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
}

/// The session cookies authorise nothing on the API, which reads bearer tokens only.
async fn cookies_authorise_nothing_on_the_api(app: TestApp) {
    let mut b = Browser::new(&app);
    b.sign_up().await;
    assert!(b.cookies.contains_key("cb_access"));
    let res = b.get("/api/auth/me").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    let res = b.get("/api/patients").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

/// Another patient's appointment is a 404 on every page of it, and stays as it was.
async fn another_patients_appointment_is_not_found(app: TestApp) {
    let doctor = app.doctor().await;
    app.slot(&doctor, 2, "09:00", 1).await;
    let mut owner = Browser::new(&app);
    owner.sign_up().await;
    let path = owner.hold(&doctor, &day_ahead(2), 0).await;
    let mut intruder = Browser::new(&app);
    intruder.sign_up().await;
    for page in [
        path.clone(),
        format!("{path}/calendar.ics"),
        format!("{path}/reschedule"),
    ] {
        assert_eq!(
            intruder.get(&page).await.status,
            StatusCode::NOT_FOUND,
            "{page}"
        );
    }
    let token = intruder.get("/me").await.csrf();
    for action in ["confirm", "cancel"] {
        let res = intruder
            .post(&format!("{path}/{action}"), &[("csrf", &token)])
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{action}");
    }
    let (_, a) = app.get(&format!("/appointments/{}", id_of(&path))).await;
    assert_eq!(a["data"]["status"], "PENDING");
    // Signed out, the pages ask for a sign-in first.
    let mut nobody = Browser::new(&app);
    let res = nobody.get(&path).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location().starts_with("/login?next="),
        "{}",
        res.location()
    );
}

/// Every page carries the content policy and is never stored; the cookies are HttpOnly and
/// SameSite=Lax; values are escaped.
async fn pages_carry_their_headers_and_escape_values(app: TestApp) {
    let (s, b) = app
        .post(
            "/doctors",
            json!({"name": "Dr. <script>alert(1)</script>", "specialization": "Cardiology",
                   "email": unique_email("doc"), "license_number": format!("L{}", uuid::Uuid::new_v4().simple())}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let mut browser = Browser::new(&app);
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.body.contains("<script>alert"), "values are escaped");
    assert!(home.body.contains("&lt;script&gt;alert(1)"));
    let policy = home.headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline"));
    assert_eq!(home.headers["referrer-policy"], "same-origin");
    assert_eq!(home.headers["cache-control"], "no-store");
    let form_cookie = home.headers[SET_COOKIE].to_str().unwrap();
    assert!(form_cookie.contains("HttpOnly") && form_cookie.contains("SameSite=Lax"));
    assert!(!form_cookie.contains("Secure"));
    let missing = browser
        .get(&format!("/doctors/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.headers["cache-control"], "no-store");
    // A page's error is a page, not the API's JSON.
    assert!(missing.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        missing.body.contains("<h1>Not found</h1>"),
        "{}",
        missing.body
    );
}

/// Signing out ends the session everywhere: the old cookies open nothing afterwards.
async fn signing_out_ends_the_session(app: TestApp) {
    let mut b = Browser::new(&app);
    b.sign_up().await;
    let kept = b.cookies.clone();
    let token = b.get("/me").await.csrf();
    let out = b.post("/logout", &[("csrf", &token)]).await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/"));
    assert!(!b.cookies.contains_key("cb_session"));
    b.cookies = kept;
    let res = b.get("/me").await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "a revoked session opens nothing"
    );
    assert!(res.location().starts_with("/login"));
}

/// A wrong password shows the form again with why (401), and nothing is signed in.
async fn a_wrong_password_shows_the_form_again(app: TestApp) {
    let mut b = Browser::new(&app);
    let email = b.sign_up().await;
    let mut fresh = Browser::new(&app);
    let token = fresh.get("/login").await.csrf();
    let res = fresh
        .post(
            "/login",
            &[
                ("csrf", &token),
                ("email", &email),
                ("password", "not it at all"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.body.contains("role=\"alert\""), "{}", res.body);
    assert!(!fresh.cookies.contains_key("cb_session"));
    let res = fresh
        .post(
            "/login",
            &[
                ("csrf", &token),
                ("email", &email),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.location(),
        "/me",
        "only a path on this site is a next page"
    );
}

backends!(
    a_patient_books_confirms_moves_and_cancels,
    page_reads_leave_access_records,
    a_form_without_its_token_changes_nothing,
    cookies_authorise_nothing_on_the_api,
    another_patients_appointment_is_not_found,
    pages_carry_their_headers_and_escape_values,
    signing_out_ends_the_session,
    a_wrong_password_shows_the_form_again,
);

/// `COOKIE_SECURE=true`: the cookies are sent over HTTPS only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_when_asked() {
    let app = TestApp::spawn_with(crate::common::Backend::Sqlite, |s| {
        s.pages.cookie_secure = true
    })
    .await;
    let mut b = Browser::new(&app);
    let res = b.get("/").await;
    assert!(res.headers[SET_COOKIE]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
}
