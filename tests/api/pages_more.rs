//! More of the patient's pages: who looked at their record, a review of a completed visit, and
//! the waitlist of a full day.

use reqwest::StatusCode;

use crate::backends;
use crate::common::browser::Browser;
use crate::common::TestApp;

/// The patient's access log page lists the front desk's read of their record.
async fn the_patient_sees_who_looked_at_their_record(app: TestApp) {
    let mut b = Browser::new(&app);
    let email = b.sign_up().await;
    let patient = app
        .sign_in(&email)
        .await
        .patient_id
        .expect("a patient's account");
    let desk = app.account("scheduler", None).await;
    let (s, _) = app
        .as_user(
            &desk,
            reqwest::Method::GET,
            &format!("/patients/{patient}"),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let log = b.get("/me/access-log").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    assert!(log.body.contains("the front desk"), "{}", log.body);
    assert!(log.body.contains("looked at"));
}

/// A completed visit can be reviewed once from its page; the review is the API's.
async fn a_completed_visit_is_reviewed(app: TestApp) {
    let doctor = app.doctor().await;
    app.slot(&doctor, 2, "09:00", 1).await;
    let mut b = Browser::new(&app);
    b.sign_up().await;
    let day = (chrono::Utc::now().date_naive() + chrono::Duration::days(2)).to_string();
    let path = b.hold(&doctor, &day, 0).await;
    let id = path.trim_start_matches("/me/appointments/").to_owned();
    app.post(
        &format!("/appointments/{id}/confirm"),
        serde_json::json!({}),
    )
    .await;
    let (s, body) = app
        .post(
            &format!("/appointments/{id}/complete"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let page = b.get(&path).await;
    assert!(page.body.contains("How was your visit?"));
    let sent = b
        .post(
            &format!("{path}/review"),
            &[
                ("csrf", &page.csrf()),
                ("rating", "4"),
                ("comment", "Kind and on time"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let (_, reviews) = app.get(&format!("/doctors/{doctor}/reviews")).await;
    assert_eq!(reviews["data"][0]["rating"], 4, "{reviews}");
    let again = b
        .post(
            &format!("{path}/review"),
            &[("csrf", &page.csrf()), ("rating", "1")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "one review per visit");
}

/// A full day offers its waitlist; joining puts the patient in line for that day.
async fn a_full_day_offers_its_waitlist(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "09:00", 1).await;
    let other = app.patient().await;
    let (s, _) = app.book(&other, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut b = Browser::new(&app);
    b.sign_up().await;
    let day = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let page = b.get(&format!("/doctors/{doctor}?day={day}")).await;
    assert!(page.body.contains("Join the waitlist"), "{}", page.body);
    let joined = b
        .post(
            &format!("/doctors/{doctor}/waitlist"),
            &[("csrf", &page.csrf()), ("day", &day)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let shown = b.get(joined.location()).await;
    assert!(shown.body.contains("You are on the waitlist"));
    let (_, line) = app.get(&format!("/waitlist?doctor_id={doctor}")).await;
    assert_eq!(line["data"].as_array().map(Vec::len), Some(1), "{line}");
}

backends!(
    the_patient_sees_who_looked_at_their_record,
    a_completed_visit_is_reviewed,
    a_full_day_offers_its_waitlist,
);
