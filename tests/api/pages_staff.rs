//! The pages of the clinic's staff, over HTTP as a browser sends them: the front desk's day,
//! finding and registering a patient, booking for them, confirming and recording a no-show;
//! the doctor's day, completing a visit and opening the record of a patient in their care.
//! Each change is checked through the API, as the admin.

use reqwest::StatusCode;

use crate::backends;
use crate::common::browser::Browser;
use crate::common::{unique_email, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD};

/// The date `days` from today in UTC (the test doctors' zone and the clinic's).
fn day_ahead(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// The front desk registers a patient, books for them, sees them on the day and confirms,
/// then records a no-show once the slot has started.
async fn the_desk_books_for_a_patient_and_runs_the_day(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 1, "09:00", 2).await;
    let desk = app.account("scheduler", None).await;
    let mut b = Browser::new(&app);
    let landed = b.sign_in(&desk.email, PASSWORD).await;
    assert_eq!(landed.location(), "/desk");

    let page = b.get("/desk/patients").await;
    assert_eq!(page.status, StatusCode::OK);
    let email = unique_email("walkin");
    let made = b
        .post(
            "/desk/patients",
            &[
                ("csrf", &page.csrf()),
                ("name", "Walk In"),
                ("email", &email),
                ("phone", "+1 555 010 0003"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let to = made.location().to_owned();
    assert!(to.starts_with("/desk/book?patient="), "{to}");
    let patient = to.trim_start_matches("/desk/book?patient=").to_owned();

    let found = b.get(&format!("/desk/patients?q={}", "Walk")).await;
    assert!(
        found.body.contains(&email),
        "the search finds the new patient"
    );

    let day = day_ahead(1);
    let choose = b
        .get(&format!(
            "/desk/book?patient={patient}&doctor={doctor}&day={day}"
        ))
        .await;
    assert_eq!(choose.status, StatusCode::OK, "{}", choose.body);
    assert_eq!(choose.input("slot", 0).as_deref(), Some(slot.as_str()));
    let booked = b
        .post(
            "/desk/book",
            &[
                ("csrf", &choose.csrf()),
                ("patient", &patient),
                ("doctor", &doctor),
                ("slot", &slot),
            ],
        )
        .await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    assert_eq!(booked.location(), format!("/desk?day={day}"));

    let grid = b.get(&format!("/desk?day={day}")).await;
    assert_eq!(grid.status, StatusCode::OK);
    assert!(grid.body.contains("Walk In: held"), "{}", grid.body);
    let (_, list) = app.get(&format!("/appointments/patient/{patient}")).await;
    let id = list["data"][0]["id"]
        .as_str()
        .expect("the booking")
        .to_owned();
    let confirmed = b
        .post(
            "/desk/act",
            &[
                ("csrf", &grid.csrf()),
                ("day", &day),
                ("do", &format!("confirm:{id}")),
            ],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let (_, a) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(a["data"]["status"], "CONFIRMED");

    // Not started yet: no-show is refused with the API's reason, and nothing changes.
    let early = b
        .post(
            "/desk/act",
            &[
                ("csrf", &grid.csrf()),
                ("day", &day),
                ("do", &format!("no-show:{id}")),
            ],
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    app.start_slot(&slot).await;
    let missed = b
        .post(
            "/desk/act",
            &[
                ("csrf", &grid.csrf()),
                ("day", &day),
                ("do", &format!("no-show:{id}")),
            ],
        )
        .await;
    assert_eq!(missed.status, StatusCode::SEE_OTHER, "{}", missed.body);
    let (_, h) = app.get(&format!("/appointments/{id}/history")).await;
    let by: Vec<&str> = h["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor_role"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(by, ["scheduler", "scheduler", "scheduler"], "{h}");
}

/// A doctor sees their day, completes a confirmed visit, and opens the record of a patient in
/// their care (an access record); another doctor's patient is a 404.
async fn a_doctor_completes_a_visit_and_reads_a_record_in_care(app: TestApp) {
    let doc = app.doctor_account().await;
    let doctor = doc.doctor_id.clone().unwrap();
    let slot = app.slot(&doctor, 1, "09:00", 1).await;
    let patient = app.patient().await;
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/appointments/{id}/confirm"),
        serde_json::json!({}),
    )
    .await;
    app.start_slot(&slot).await;
    let (_, a) = app.get(&format!("/appointments/{id}")).await;
    let day = a["data"]["appointment_date"].as_str().unwrap().to_owned();

    let mut browser = Browser::new(&app);
    let landed = browser.sign_in(&doc.email, PASSWORD).await;
    assert_eq!(landed.location(), "/doctor");
    let mine = browser.get(&format!("/doctor?day={day}")).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert!(mine.body.contains(&format!("/doctor/patients/{patient}")));
    let week = browser.get(&format!("/doctor?day={day}&days=7")).await;
    assert_eq!(week.status, StatusCode::OK);

    let done = browser
        .post(
            &format!("/doctor/appointments/{id}/complete"),
            &[("csrf", &mine.csrf()), ("day", &day)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, a) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(a["data"]["status"], "COMPLETED");

    let record = browser.get(&format!("/doctor/patients/{patient}")).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.body);
    let records = app
        .access_records(&format!("patient_id={patient}&user_id={}", doc.user_id))
        .await;
    assert!(
        records
            .iter()
            .any(|r| r["route"] == "/doctor/patients/{id}"),
        "{records:?}"
    );
    let stranger = app.patient().await;
    let hidden = browser.get(&format!("/doctor/patients/{stranger}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

/// Each staff page is for its roles only: a patient gets 403, a signed-out visitor the sign-in
/// page, and a doctor cannot act at the desk.
async fn staff_pages_are_for_staff(app: TestApp) {
    let mut patient = Browser::new(&app);
    patient.sign_up().await;
    for path in ["/desk", "/desk/patients", "/doctor"] {
        let res = patient.get(path).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    let token = patient.get("/me").await.csrf();
    let res = patient
        .post("/desk/patients", &[("csrf", &token), ("name", "X")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let mut nobody = Browser::new(&app);
    let res = nobody.get("/desk").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"));
    let doc = app.doctor_account().await;
    let mut doctor = Browser::new(&app);
    doctor.sign_in(&doc.email, PASSWORD).await;
    assert_eq!(doctor.get("/desk").await.status, StatusCode::FORBIDDEN);
    // Each refusal says whose page it is.
    let mine = doctor.get("/me/access-log").await;
    assert_eq!(mine.status, StatusCode::FORBIDDEN);
    assert!(
        mine.body.contains("This page is for patients"),
        "{}",
        mine.body
    );
    let desk = app.account("scheduler", None).await;
    let mut scheduler = Browser::new(&app);
    scheduler.sign_in(&desk.email, PASSWORD).await;
    let admin_only = scheduler.get("/admin").await;
    assert_eq!(admin_only.status, StatusCode::FORBIDDEN);
    assert!(
        admin_only.body.contains("administrators"),
        "{}",
        admin_only.body
    );
    // The admin runs the desk too.
    let mut admin = Browser::new(&app);
    let landed = admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(landed.location(), "/desk");
    assert_eq!(admin.get("/desk").await.status, StatusCode::OK);
}

backends!(
    the_desk_books_for_a_patient_and_runs_the_day,
    a_doctor_completes_a_visit_and_reads_a_record_in_care,
    staff_pages_are_for_staff,
);
