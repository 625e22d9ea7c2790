//! The front desk's other tools: moving a patient's appointment to another time from the day
//! view, and a doctor's waitlist (who waits, taking an entry off). Each change is checked
//! through the API, as the admin.

use reqwest::StatusCode;

use crate::backends;
use crate::common::browser::Browser;
use crate::common::{TestApp, PASSWORD};

/// The date `days` from today in UTC (the test doctors' zone).
fn day_ahead(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// The desk moves a booked appointment from the day view to another free time; the move is
/// the scheduler's in the history, and a form without its token moves nothing.
async fn the_desk_moves_an_appointment(app: TestApp) {
    let doctor = app.doctor().await;
    let first = app.slot(&doctor, 1, "09:00", 1).await;
    let later = app.slot(&doctor, 2, "10:00", 1).await;
    let patient = app.patient().await;
    let (s, b) = app.book(&patient, &doctor, &first).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let desk = app.account("scheduler", None).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&desk.email, PASSWORD).await;

    let grid = browser.get(&format!("/desk?day={}", day_ahead(1))).await;
    let form = format!("/desk/appointments/{id}/reschedule");
    assert!(grid.body.contains(&form), "{}", grid.body);
    let choose = browser.get(&form).await;
    assert_eq!(choose.status, StatusCode::OK, "{}", choose.body);
    assert_eq!(choose.input("slot", 0).as_deref(), Some(later.as_str()));

    let forged = browser.post(&form, &[("slot", &later)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (_, a) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(a["data"]["time_slot_id"], first.as_str(), "{a}");

    let moved = browser
        .post(&form, &[("csrf", &choose.csrf()), ("slot", &later)])
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(moved.location(), format!("/desk?day={}", day_ahead(2)));
    let (_, a) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(a["data"]["time_slot_id"], later.as_str(), "{a}");
    let (_, h) = app.get(&format!("/appointments/{id}/history")).await;
    let last = h["data"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(last["actor_role"], "scheduler", "{h}");

    // A patient cannot use the desk's form, even for their own appointment.
    let mut someone = Browser::new(&app);
    someone.sign_up().await;
    assert_eq!(someone.get(&form).await.status, StatusCode::FORBIDDEN);
    // An unknown appointment is a 404.
    let unknown = format!("/desk/appointments/{}/reschedule", uuid::Uuid::new_v4());
    assert_eq!(browser.get(&unknown).await.status, StatusCode::NOT_FOUND);
}

/// The desk sees a doctor's waitlist with the patients' names (each an access record of the
/// page) and takes an entry off it.
async fn the_desk_keeps_a_doctors_waitlist(app: TestApp) {
    let doctor = app.doctor().await;
    let mut patient = Browser::new(&app);
    let email = patient.sign_up().await;
    let who = app.sign_in(&email).await;
    let day = day_ahead(3);
    let patient_id = who.patient_id.clone().expect("a patient's account");
    let (s, b) = app
        .as_user(
            &who,
            reqwest::Method::POST,
            "/waitlist",
            serde_json::json!({
                "patient_id": patient_id, "doctor_id": doctor, "from_date": day, "to_date": day
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let entry = b["data"]["id"].as_str().unwrap().to_owned();

    let desk = app.account("scheduler", None).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&desk.email, PASSWORD).await;
    let line = browser
        .get(&format!("/desk/waitlist?doctor={doctor}"))
        .await;
    assert_eq!(line.status, StatusCode::OK, "{}", line.body);
    assert!(line.body.contains("Ann Page"), "{}", line.body);
    let records = app
        .access_records(&format!("patient_id={patient_id}&user_id={}", desk.user_id))
        .await;
    assert!(
        records.iter().any(|r| r["route"] == "/desk/waitlist"),
        "{records:?}"
    );

    let removed = browser
        .post(
            &format!("/desk/waitlist/{entry}/remove"),
            &[("csrf", &line.csrf())],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(
        removed.location(),
        format!("/desk/waitlist?doctor={doctor}")
    );
    let (_, left) = app.get(&format!("/waitlist?doctor_id={doctor}")).await;
    assert_eq!(left["data"].as_array().map(Vec::len), Some(0), "{left}");
    let again = browser.get(removed.location()).await;
    assert!(again.body.contains("Nobody is waiting"), "{}", again.body);

    assert_eq!(
        browser
            .get(&format!("/desk/waitlist?doctor={}", uuid::Uuid::new_v4()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        patient.get("/desk/waitlist").await.status,
        StatusCode::FORBIDDEN
    );
}

backends!(
    the_desk_moves_an_appointment,
    the_desk_keeps_a_doctors_waitlist
);
