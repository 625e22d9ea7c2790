//! Reviews: `POST /api/appointments/{id}/review` by the appointment's own patient once it is
//! COMPLETED, once; `GET /api/doctors/{id}/reviews` for anyone, without patient identity; and
//! `rating_average`/`rating_count` on every doctor answer, kept in the review's transaction.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, Account, Backend, TestApp};

fn path(appointment: &str) -> String {
    format!("/appointments/{appointment}/review")
}

/// A signed-up patient with a fresh doctor and one appointment with them, moved to `status`
/// (`PENDING`, `CONFIRMED`, `COMPLETED` or `CANCELLED`) by the admin.
async fn appointment(app: &TestApp, who: &Account, doctor: &str, status: &str) -> String {
    // A slot of its own: a day and a half hour no other appointment of this test takes.
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let time = format!("{:02}:{:02}", 8 + (n % 20) / 2, (n % 2) * 30);
    let patient = who.patient_id.as_deref().expect("a patient account");
    let slot = app.slot(doctor, 2 + n / 20, &time, 1).await;
    let (s, b) = app.book(patient, doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let steps: &[&str] = match status {
        "PENDING" => &[],
        "CONFIRMED" => &["confirm"],
        "COMPLETED" => &["confirm", "complete"],
        "CANCELLED" => &["cancel"],
        other => panic!("no way to {other}"),
    };
    for step in steps {
        let (s, b) = app
            .post(&format!("/appointments/{id}/{step}"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{step}: {b}");
    }
    id
}

async fn review(
    app: &TestApp,
    who: &Account,
    appointment: &str,
    body: Value,
) -> (StatusCode, Value) {
    app.as_user(who, Method::POST, &path(appointment), body)
        .await
}

/// `GET /doctors/{id}` (public): its `rating_average` and `rating_count`.
async fn rating(app: &TestApp, doctor: &str) -> (Value, Value) {
    let (s, b) = app
        .call_as(
            None,
            Method::GET,
            &format!("/doctors/{doctor}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (
        b["data"]["rating_average"].clone(),
        b["data"]["rating_count"].clone(),
    )
}

/// The public list of a doctor's reviews, as an anonymous caller.
async fn public_list(app: &TestApp, doctor: &str, query: &str) -> Value {
    let (s, b) = app
        .call_as(
            None,
            Method::GET,
            &format!("/doctors/{doctor}/reviews{query}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// Every doctor's stored rating equals a recount of its reviews.
async fn assert_ratings_match_recount(app: &TestApp) {
    let drifted = app
        .count_rows(
            "doctors d WHERE d.rating_count <> (SELECT count(*) FROM reviews r WHERE r.doctor_id = d.id)
             OR d.rating_sum <> (SELECT coalesce(sum(r.rating), 0) FROM reviews r WHERE r.doctor_id = d.id)",
        )
        .await;
    assert_eq!(drifted, 0, "a doctor's rating differs from its reviews");
}

async fn the_patient_reviews_a_completed_appointment(app: TestApp) {
    let me = app.sign_up().await;
    let doctor = app.doctor().await;
    assert_eq!(rating(&app, &doctor).await, (Value::Null, json!(0)));
    let first = appointment(&app, &me, &doctor, "COMPLETED").await;

    let body = json!({"rating": 4, "comment": "  Listened carefully.  "});
    let (s, b) = review(&app, &me, &first, body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let r = &b["data"];
    assert_eq!(r["appointment_id"], json!(first), "{b}");
    assert_eq!(r["doctor_id"], json!(doctor), "{b}");
    assert_eq!(r["rating"], 4, "{b}");
    assert_eq!(r["comment"], "Listened carefully.", "trimmed: {b}");
    assert!(
        r["id"].as_str().is_some() && r["created_at"].as_str().is_some(),
        "{b}"
    );
    assert_eq!(rating(&app, &doctor).await, (json!(4.0), json!(1)));

    // A second appointment with the same doctor is a second review; no comment is fine.
    let second = appointment(&app, &me, &doctor, "COMPLETED").await;
    let (s, b) = review(&app, &me, &second, json!({"rating": 5, "comment": null})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["comment"], Value::Null, "{b}");
    let third = appointment(&app, &me, &doctor, "COMPLETED").await;
    let (s, b) = review(&app, &me, &third, json!({"rating": 5, "comment": ""})).await;
    assert_eq!(
        (s, &b["data"]["comment"]),
        (StatusCode::CREATED, &Value::Null),
        "{b}"
    );
    // 14 / 3 = 4.666…: two decimals.
    assert_eq!(rating(&app, &doctor).await, (json!(4.67), json!(3)));

    // The write is in the access log, as a creation by the patient.
    let patient = me.patient_id.clone().unwrap();
    let records = app
        .access_records(&format!("patient_id={patient}&actor_id={}", me.user_id))
        .await;
    let reviews: Vec<&Value> = records
        .iter()
        .filter(|r| r["route"] == "/api/appointments/{id}/review")
        .collect();
    assert_eq!(reviews.len(), 3, "{records:?}");
    assert!(
        reviews.iter().all(|r| r["action"] == "create"
            && r["outcome"] == 201
            && r["actor_role"] == "patient"),
        "{reviews:?}"
    );
    assert_ratings_match_recount(&app).await;
}

async fn every_doctor_answer_carries_the_rating(app: TestApp) {
    let me = app.sign_up().await;
    let n = uuid::Uuid::new_v4().simple().to_string();
    let specialization = format!("Reviewology-{n}");
    let (s, b) = app
        .post(
            "/doctors",
            json!({"name": format!("Dr Rated {n}"), "specialization": specialization,
                   "email": format!("r{n}@clinic.test"), "license_number": format!("R-{n}")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        (&b["data"]["rating_average"], &b["data"]["rating_count"]),
        (&Value::Null, &json!(0)),
        "a new doctor: {b}"
    );
    let doctor = b["data"]["id"].as_str().unwrap().to_owned();
    let (a, c) = (
        appointment(&app, &me, &doctor, "COMPLETED").await,
        appointment(&app, &me, &doctor, "COMPLETED").await,
    );
    for (id, stars) in [(&a, 2), (&c, 3)] {
        let (s, b) = review(&app, &me, id, json!({"rating": stars})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let want = (json!(2.5), json!(2));
    let pair = |d: &Value| (d["rating_average"].clone(), d["rating_count"].clone());

    let (s, b) = app
        .patch(&format!("/doctors/{doctor}"), json!({"bio": "Rated"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(pair(&b["data"]), want, "PATCH: {b}");
    let (s, b) = app.get(&format!("/doctors/{doctor}")).await;
    assert_eq!(
        (s, pair(&b["data"])),
        (StatusCode::OK, want.clone()),
        "GET: {b}"
    );
    for list in [
        format!("/doctors/specialization/{}", specialization.to_lowercase()),
        "/doctors".to_owned(),
    ] {
        let mut found = None;
        for offset in (0..).step_by(100) {
            let (s, b) = app
                .call_as(
                    None,
                    Method::GET,
                    &format!("{list}?limit=100&offset={offset}"),
                    Value::Null,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            let items = b["data"].as_array().unwrap();
            found = found.or_else(|| items.iter().find(|d| d["id"] == doctor).cloned());
            // Every doctor listed has both keys, reviewed or not.
            for d in items {
                assert!(d["rating_count"].is_i64(), "{d}");
                assert!(d.get("rating_average").is_some(), "{d}");
            }
            if items.len() < 100 {
                break;
            }
        }
        let found = found.unwrap_or_else(|| panic!("{list}: doctor not listed"));
        assert_eq!(pair(&found), want, "{list}");
    }
    // The review changed the rating, not the doctor's profile.
    let (_, b) = app.get(&format!("/doctors/{doctor}")).await;
    assert_eq!(b["data"]["bio"], "Rated", "{b}");

    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let props = &doc["components"]["schemas"]["DoctorView"]["properties"];
    assert!(
        props["rating_average"].is_object() && props["rating_count"].is_object(),
        "{props}"
    );
    let paths = &doc["paths"];
    assert!(paths["/api/appointments/{id}/review"]["post"].is_object());
    assert!(paths["/api/doctors/{id}/reviews"]["get"].is_object());
}

async fn only_a_completed_appointment_is_reviewed(app: TestApp) {
    let me = app.sign_up().await;
    let doctor = app.doctor().await;
    for status in ["PENDING", "CONFIRMED", "CANCELLED"] {
        let id = appointment(&app, &me, &doctor, status).await;
        let (s, b) = review(&app, &me, &id, json!({"rating": 5})).await;
        assert_error(s, &b, 409, "INVALID_TRANSITION");
        assert!(
            b["message"].as_str().unwrap().contains(status),
            "{status}: {b}"
        );
    }
    assert_eq!(rating(&app, &doctor).await, (Value::Null, json!(0)));
    let b = public_list(&app, &doctor, "").await;
    assert_eq!(b["pagination"]["total"], 0, "{b}");
    assert_eq!(app.count_rows("reviews").await, 0);
}

async fn a_second_review_is_refused(app: TestApp) {
    let me = app.sign_up().await;
    let doctor = app.doctor().await;
    let id = appointment(&app, &me, &doctor, "COMPLETED").await;
    let (s, b) = review(&app, &me, &id, json!({"rating": 1, "comment": "Late"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for body in [
        json!({"rating": 5}),
        json!({"rating": 1, "comment": "Late"}),
    ] {
        let (s, b) = review(&app, &me, &id, body).await;
        assert_error(s, &b, 409, "ALREADY_REVIEWED");
    }
    assert_eq!(rating(&app, &doctor).await, (json!(1.0), json!(1)));
    let b = public_list(&app, &doctor, "").await;
    assert_eq!(b["data"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["data"][0]["comment"], "Late", "{b}");
    assert_ratings_match_recount(&app).await;
}

async fn only_the_appointments_own_patient_reviews(app: TestApp) {
    let me = app.sign_up().await;
    let other = app.sign_up().await;
    let doctor_account = app.doctor_account().await;
    let doctor = doctor_account.doctor_id.clone().unwrap();
    let id = appointment(&app, &me, &doctor, "COMPLETED").await;
    let body = json!({"rating": 5});

    // Another patient: as if it did not exist; so is an unknown appointment.
    let (s, b) = review(&app, &other, &id, body.clone()).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let unknown = uuid::Uuid::new_v4().to_string();
    let (s, b) = review(&app, &me, &unknown, body.clone()).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = review(&app, &me, "not-a-uuid", body.clone()).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");

    // Staff, the appointment's own doctor included, may not review: the role table says 403.
    let scheduler = app.account("scheduler", None).await;
    let admin = app.account("admin", None).await;
    for who in [&doctor_account, &scheduler, &admin] {
        let (s, b) = review(&app, who, &id, body.clone()).await;
        assert_error(s, &b, 403, "FORBIDDEN");
    }
    let (s, b) = app.post(&path(&id), body.clone()).await;
    assert_error(s, &b, 403, "FORBIDDEN");
    // No token at all.
    let (s, b) = app
        .call_as(None, Method::POST, &path(&id), body.clone())
        .await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    assert_eq!(app.count_rows("reviews").await, 0);

    let (s, b) = review(&app, &me, &id, body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

async fn a_bad_review_is_a_400_and_changes_nothing(app: TestApp) {
    let me = app.sign_up().await;
    let doctor = app.doctor().await;
    let id = appointment(&app, &me, &doctor, "COMPLETED").await;
    let long = "x".repeat(2001);
    let cases = [
        (json!({"rating": 0}), vec!["rating"]),
        (json!({"rating": 6}), vec!["rating"]),
        (json!({"rating": -1}), vec!["rating"]),
        (json!({"rating": "x"}), vec!["rating"]),
        (json!({"rating": "5"}), vec!["rating"]),
        (json!({"rating": 4.5}), vec!["rating"]),
        (json!({"rating": null}), vec!["rating"]),
        (json!({}), vec!["rating"]),
        (json!({"comment": "Fine"}), vec!["rating"]),
        (json!({"rating": 5, "comment": long}), vec!["comment"]),
        (json!({"rating": 5, "comment": 7}), vec!["comment"]),
        (json!({"rating": 5, "stars": 5}), vec!["stars"]),
        (
            json!({"rating": 5, "patient_id": me.patient_id}),
            vec!["patient_id"],
        ),
        (
            json!({"rating": 9, "comment": 1, "extra": true}),
            vec!["rating", "comment", "extra"],
        ),
    ];
    for (body, fields) in cases {
        let (s, b) = review(&app, &me, &id, body.clone()).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        let got: BTreeSet<String> = error_fields(&b).into_iter().collect();
        let want: BTreeSet<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        assert_eq!(got, want, "{body}: {b}");
    }
    // Not a JSON object.
    let (s, _, b) = app
        .send(
            Some(&me.access),
            Method::POST,
            &format!("{}{}", app.base, path(&id)),
            Value::String("{\"rating\": ".into()),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    assert_eq!(rating(&app, &doctor).await, (Value::Null, json!(0)));
    assert_eq!(app.count_rows("reviews").await, 0);
    // Nothing was recorded, so the appointment can still be reviewed; 2000 characters fit.
    let (s, b) = review(
        &app,
        &me,
        &id,
        json!({"rating": 5, "comment": "é".repeat(2000)}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["comment"].as_str().unwrap().chars().count(), 2000);
}

async fn the_public_list_names_no_patient(app: TestApp) {
    let doctor = app.doctor().await;
    let other_doctor = app.doctor().await;
    let mut ids = Vec::new();
    for stars in 1..=5 {
        // Five patients, one review each.
        let who = app.sign_up().await;
        let id = appointment(&app, &who, &doctor, "COMPLETED").await;
        let (s, b) = review(
            &app,
            &who,
            &id,
            json!({"rating": stars, "comment": format!("{stars} stars")}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
        // Apart in time, so "newest first" is not a tie.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    let b = public_list(&app, &doctor, "").await;
    assert_eq!(
        b["pagination"],
        json!({"limit": 20, "offset": 0, "total": 5}),
        "{b}"
    );
    let data = b["data"].as_array().unwrap();
    let listed: Vec<&str> = data.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first, "{b}");
    for r in data {
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["id", "rating", "comment", "created_at"]),
            "{r}"
        );
    }
    assert_eq!(data[0]["rating"], 5, "{b}");
    assert_eq!(data[0]["comment"], "5 stars", "{b}");

    // Pages like every other list: limit and offset, total from the same snapshot.
    let b = public_list(&app, &doctor, "?limit=2&offset=3").await;
    let listed: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, &newest_first[3..5], "{b}");
    assert_eq!(
        b["pagination"],
        json!({"limit": 2, "offset": 3, "total": 5})
    );
    let b = public_list(&app, &doctor, "?limit=500").await;
    assert_eq!(
        b["pagination"]["limit"], 100,
        "clamped like the other lists: {b}"
    );
    for bad in ["?limit=0", "?offset=-1", "?limit=x"] {
        let (s, b) = app
            .call_as(
                None,
                Method::GET,
                &format!("/doctors/{doctor}/reviews{bad}"),
                Value::Null,
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
    }
    // Another doctor's list holds none of them; an unknown doctor is a 404.
    let b = public_list(&app, &other_doctor, "").await;
    assert_eq!(
        (
            b["data"].as_array().unwrap().len(),
            &b["pagination"]["total"]
        ),
        (0, &json!(0))
    );
    let unknown = uuid::Uuid::new_v4();
    let (s, b) = app
        .call_as(
            None,
            Method::GET,
            &format!("/doctors/{unknown}/reviews"),
            Value::Null,
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app
        .call_as(None, Method::GET, "/doctors/nope/reviews", Value::Null)
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(rating(&app, &doctor).await, (json!(3.0), json!(5)));
}

async fn concurrent_reviews_of_one_appointment_record_one(app: TestApp) {
    let me = app.sign_up().await;
    let doctor = app.doctor().await;
    let id = appointment(&app, &me, &doctor, "COMPLETED").await;
    const RACERS: usize = 16;
    let answers = join_all((0..RACERS).map(|n| {
        let (app, me, id) = (&app, &me, &id);
        async move { review(app, me, id, json!({"rating": 1 + n % 5})).await }
    }))
    .await;
    let mut created = 0;
    for (s, b) in &answers {
        match s.as_u16() {
            201 => created += 1,
            409 => assert_eq!(b["error"]["code"], "ALREADY_REVIEWED", "{b}"),
            _ => panic!("neither 201 nor 409: {s} {b}"),
        }
    }
    assert_eq!(created, 1, "{answers:?}");
    let (_, count) = rating(&app, &doctor).await;
    assert_eq!(count, 1);
    assert_eq!(app.count_rows("reviews").await, 1);
    assert_ratings_match_recount(&app).await;
}

async fn concurrent_reviews_of_one_doctor_all_count(app: TestApp) {
    let doctor = app.doctor().await;
    const PATIENTS: usize = 8;
    let mut work = Vec::new();
    for _ in 0..PATIENTS {
        let who = app.sign_up().await;
        let id = appointment(&app, &who, &doctor, "COMPLETED").await;
        work.push((who, id));
    }
    // Every review updates the same doctor row: they serialize (and retry) on it, none is lost.
    let answers = join_all(work.iter().enumerate().map(|(n, (who, id))| {
        let app = &app;
        async move { review(app, who, id, json!({"rating": 1 + n % 5})).await }
    }))
    .await;
    for (s, b) in &answers {
        assert_eq!(*s, StatusCode::CREATED, "{b}");
    }
    let sum: usize = (0..PATIENTS).map(|n| 1 + n % 5).sum();
    let average = ((sum * 100) as f64 / PATIENTS as f64).round() / 100.0;
    assert_eq!(
        rating(&app, &doctor).await,
        (json!(average), json!(PATIENTS))
    );
    assert_ratings_match_recount(&app).await;
}

/// The schema refuses what the code never does: a review of an appointment that is not
/// COMPLETED, one naming another doctor, a second one, a rating outside 1-5.
async fn the_database_holds_the_rules_too(app: TestApp) {
    let me = app.sign_up().await;
    let doctor = app.doctor().await;
    let other = app.doctor().await;
    let done = appointment(&app, &me, &doctor, "COMPLETED").await;
    let open = appointment(&app, &me, &doctor, "CONFIRMED").await;
    let id = |u: &str| match app.backend {
        Backend::Postgres => format!("'{u}'::uuid"),
        Backend::Sqlite => format!("X'{}'", u.replace('-', "")),
    };
    let insert = |appointment: &str, doctor: &str, rating: i64| {
        let new = uuid::Uuid::new_v4().to_string();
        format!(
            "INSERT INTO reviews (id, appointment_id, doctor_id, rating) VALUES ({}, {}, {}, {rating})",
            id(&new),
            id(appointment),
            id(doctor)
        )
    };
    for (sql, why) in [
        (insert(&open, &doctor, 5), "not COMPLETED"),
        (insert(&done, &other, 5), "another doctor"),
        (insert(&done, &doctor, 0), "rating 0"),
        (insert(&done, &doctor, 6), "rating 6"),
    ] {
        assert!(app.execute_raw(&sql).await.is_err(), "{why}: accepted");
    }
    assert_eq!(app.execute_raw(&insert(&done, &doctor, 3)).await, Ok(1));
    assert!(
        app.execute_raw(&insert(&done, &doctor, 4)).await.is_err(),
        "a second review accepted"
    );
    assert_eq!(rating(&app, &doctor).await, (json!(3.0), json!(1)));
    assert_eq!(rating(&app, &other).await, (Value::Null, json!(0)));
}

backends!(
    the_patient_reviews_a_completed_appointment,
    every_doctor_answer_carries_the_rating,
    only_a_completed_appointment_is_reviewed,
    a_second_review_is_refused,
    only_the_appointments_own_patient_reviews,
    a_bad_review_is_a_400_and_changes_nothing,
    the_public_list_names_no_patient,
    concurrent_reviews_of_one_appointment_record_one,
    concurrent_reviews_of_one_doctor_all_count,
    the_database_holds_the_rules_too,
);
