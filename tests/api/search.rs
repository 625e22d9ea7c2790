//! `GET /available-slots`: the earliest free slots across doctors, over HTTP and anonymously,
//! with dates computed from today.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, Backend, TestApp};

/// The date `n` days from today (UTC), `YYYY-MM-DD`.
fn day(n: i64) -> String {
    (Utc::now().date_naive() + Duration::days(n)).to_string()
}

/// Registers a doctor of `specialization` working in `tz`; returns its id.
async fn doctor_of(app: &TestApp, specialization: &str, tz: &str) -> String {
    let n = uuid::Uuid::new_v4().simple().to_string();
    let (s, b) = app
        .post(
            "/doctors",
            json!({"name": format!("Dr {n}"), "specialization": specialization,
                   "email": format!("d{n}@clinic.test"), "license_number": format!("LIC-{n}"),
                   "clinic_name": "Town Clinic", "timezone": tz}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// Creates a slot of `doctor` `days` from today at local `time`; returns its id.
async fn slot_at(app: &TestApp, doctor: &str, days: i64, time: &str, capacity: i64) -> String {
    let (s, b) = app
        .post(
            &format!("/doctors/{doctor}/time-slots"),
            json!({"slot_date": day(days), "slot_time": time, "max_capacity": capacity}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// The search answer for `query`, asked anonymously; panics unless 200.
async fn search(app: &TestApp, query: &str) -> Value {
    let (s, b) = app
        .call_as(
            None,
            Method::GET,
            &format!("/available-slots{query}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {b}");
    assert_eq!(b["success"], true, "{b}");
    b
}

/// The slot ids of a search answer, in order.
fn ids(b: &Value) -> Vec<String> {
    b["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Marks a doctor inactive behind the API's back (the API has no route for it yet).
async fn deactivate(app: &TestApp, doctor: &str) {
    let id: uuid::Uuid = doctor.parse().unwrap();
    let sql = match app.backend {
        Backend::Postgres => format!("UPDATE doctors SET is_active = false WHERE id = '{id}'"),
        Backend::Sqlite => format!(
            "UPDATE doctors SET is_active = 0 WHERE id = X'{}'",
            id.simple()
        ),
    };
    assert_eq!(app.execute_raw(&sql).await, Ok(1));
}

async fn finds_the_earliest_free_slots_across_doctors_in_order(app: TestApp) {
    let (a, b) = (
        doctor_of(&app, "Cardiology", "UTC").await,
        doctor_of(&app, "cardiology", "UTC").await,
    );
    // 20:00 in Auckland (UTC+12/+13) is the morning before in UTC: earlier than 09:00 UTC.
    let auckland = doctor_of(&app, "CARDIOLOGY", "Pacific/Auckland").await;
    let derm = doctor_of(&app, "Dermatology", "UTC").await;
    let a_late = slot_at(&app, &a, 3, "10:00", 1).await;
    let b_first = slot_at(&app, &b, 2, "08:00", 3).await;
    let a_second = slot_at(&app, &a, 2, "15:00", 1).await;
    let nz = slot_at(&app, &auckland, 3, "20:00", 1).await;
    let b_last = slot_at(&app, &b, 4, "09:00", 1).await;
    slot_at(&app, &derm, 2, "07:00", 1).await;
    let want = [b_first, a_second, nz, a_late, b_last];
    let range = format!("from_date={}&to_date={}", day(0), day(6));
    for spelling in ["cardiology", "CARDIOLOGY", "Cardiology", "%20cardiology%20"] {
        let got = search(&app, &format!("?specialization={spelling}&{range}")).await;
        assert_eq!(ids(&got), want, "{spelling}: {got}");
    }
    let got = search(&app, &format!("?specialization=cardiology&{range}")).await;
    let items = got["data"].as_array().unwrap();
    let starts: Vec<&str> = items
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap())
        .collect();
    let parsed: Vec<_> = starts
        .iter()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap())
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    let first = &items[0];
    assert_eq!(first["status"], "AVAILABLE");
    assert_eq!(first["available_capacity"], 3);
    assert_eq!(first["doctor_id"], b.as_str());
    let doctor = first["doctor"].as_object().unwrap();
    let mut keys: Vec<&str> = doctor.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["clinic_name", "id", "name", "specialization", "timezone"]
    );
    assert_eq!(doctor["id"], b.as_str());
    assert_eq!(doctor["specialization"], "cardiology");
    assert_eq!(items[2]["doctor"]["timezone"], "Pacific/Auckland");
    assert_eq!(got["pagination"]["limit"], 20);
    assert!(got["pagination"]["next_cursor"].is_null(), "{got}");
    // Another specialization sees only its own.
    let got = search(&app, &format!("?specialization=dermatology&{range}")).await;
    assert_eq!(got["data"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["data"][0]["doctor"]["id"], derm.as_str());
    let got = search(&app, &format!("?specialization=neurology&{range}")).await;
    assert_eq!(got["data"], json!([]));
}

async fn leaves_out_full_blocked_started_and_inactive_doctors_slots(app: TestApp) {
    let doctor = doctor_of(&app, "Cardiology", "UTC").await;
    let gone = doctor_of(&app, "Cardiology", "UTC").await;
    let patient = app.patient().await;
    let full = slot_at(&app, &doctor, 1, "09:00", 1).await;
    let blocked = slot_at(&app, &doctor, 1, "10:00", 2).await;
    let started = slot_at(&app, &doctor, 1, "11:00", 2).await;
    let lapsed = slot_at(&app, &doctor, 1, "12:00", 1).await;
    let open = slot_at(&app, &doctor, 1, "13:00", 2).await;
    let half = slot_at(&app, &doctor, 1, "14:00", 2).await;
    slot_at(&app, &gone, 1, "08:00", 1).await;
    let (s, r) = app.book(&patient, &doctor, &full).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = app.book(&patient, &doctor, &half).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = app.book(&patient, &doctor, &lapsed).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    app.expire_hold(r["data"]["id"].as_str().unwrap()).await;
    let (s, r) = app
        .patch(
            &format!("/doctors/{doctor}/time-slots/{blocked}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    app.start_slot(&started).await;
    deactivate(&app, &gone).await;

    let q = format!(
        "?specialization=cardiology&from_date={}&to_date={}",
        day(-1),
        day(3)
    );
    let got = search(&app, &q).await;
    // The overdue hold no longer holds its seat, even before the sweeper runs.
    assert_eq!(ids(&got), [lapsed.clone(), open, half.clone()], "{got}");
    let seats: Vec<(i64, i64)> = got["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |f: &str| s[f].as_i64().unwrap();
            (n("current_bookings"), n("available_capacity"))
        })
        .collect();
    assert_eq!(seats, [(0, 1), (0, 2), (1, 1)]);
    // Every specialization: the inactive doctor's slot is still left out.
    let got = search(&app, &format!("?from_date={}&to_date={}", day(-1), day(3))).await;
    assert_eq!(ids(&got).len(), 3, "{got}");
}

async fn pages_by_cursor_without_gaps_or_duplicates(app: TestApp) {
    let (a, b) = (
        doctor_of(&app, "Cardiology", "UTC").await,
        doctor_of(&app, "Cardiology", "Europe/Berlin").await,
    );
    for doctor in [&a, &b] {
        // 08:00-13:00 local: Berlin's hours fall on whole UTC hours, most of them on the UTC
        // doctor's instants, so ties are broken by slot id.
        let items: Vec<Value> = (0..13)
            .map(|i| json!({"slot_date": day(1 + i / 6), "slot_time": format!("{:02}:00", 8 + i % 6)}))
            .collect();
        let (s, r) = app
            .post(
                &format!("/doctors/{doctor}/time-slots/bulk"),
                json!({"slots": items}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    let range = format!(
        "specialization=cardiology&from_date={}&to_date={}",
        day(0),
        day(5)
    );
    let everything = search(&app, &format!("?{range}&limit=100")).await;
    let all = ids(&everything);
    assert_eq!(all.len(), 26);
    let (mut walked, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let q = match &cursor {
            Some(c) => format!("?{range}&limit=5&cursor={c}"),
            None => format!("?{range}&limit=5"),
        };
        let page = search(&app, &q).await;
        pages += 1;
        assert_eq!(page["pagination"]["limit"], 5);
        walked.extend(ids(&page));
        match page["pagination"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "the cursor does not advance");
    }
    assert_eq!(walked, all);
    assert_eq!(pages, 6);
    // A page that ends exactly at the last slot says there is no next one.
    let page = search(&app, &format!("?{range}&limit=26")).await;
    assert!(page["pagination"]["next_cursor"].is_null(), "{page}");
    let page = search(&app, &format!("?{range}&limit=25")).await;
    assert!(page["pagination"]["next_cursor"].is_string(), "{page}");
    // A booking between pages moves nothing: the next page starts after the cursor.
    let first = search(&app, &format!("?{range}&limit=3")).await;
    let patient = app.patient().await;
    let owner = everything["data"][1]["doctor_id"].as_str().unwrap();
    let (s, r) = app.book(&patient, owner, &all[1]).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let next = first["pagination"]["next_cursor"].as_str().unwrap();
    let second = search(&app, &format!("?{range}&limit=3&cursor={next}")).await;
    assert_eq!(ids(&second), all[3..6]);
    // No dates and no limit: today … today+30, 20 slots (the one just booked left out).
    let got = search(&app, "?specialization=cardiology").await;
    let left: Vec<&String> = all.iter().filter(|id| **id != all[1]).take(20).collect();
    assert_eq!(ids(&got).iter().collect::<Vec<_>>(), left);
    assert!(got["pagination"]["next_cursor"].is_string());
}

async fn every_specialization_when_none_is_named(app: TestApp) {
    let card = doctor_of(&app, "Cardiology", "UTC").await;
    let derm = doctor_of(&app, "Dermatology", "UTC").await;
    let s1 = slot_at(&app, &derm, 1, "09:00", 1).await;
    let s2 = slot_at(&app, &card, 1, "10:00", 1).await;
    let s3 = slot_at(&app, &derm, 30, "10:00", 1).await;
    slot_at(&app, &card, 40, "10:00", 1).await;
    // The default range is today … today+30.
    for q in ["", "?specialization=", "?specialization=%20%20"] {
        assert_eq!(
            ids(&search(&app, q).await),
            [&s1, &s2, &s3].map(String::clone),
            "{q}"
        );
    }
}

async fn refuses_bad_input_naming_the_field(app: TestApp) {
    let long = "x".repeat(201);
    let cases = [
        ("?from_date=2030-13-01".to_owned(), vec!["from_date"]),
        ("?to_date=next-week".to_owned(), vec!["to_date"]),
        (
            format!("?from_date={}&to_date={}", day(5), day(4)),
            vec!["to_date"],
        ),
        (
            format!("?from_date={}&to_date={}", day(1), day(94)),
            vec!["to_date"],
        ),
        ("?limit=0".to_owned(), vec!["limit"]),
        ("?limit=101".to_owned(), vec!["limit"]),
        ("?limit=-3".to_owned(), vec!["limit"]),
        ("?limit=ten".to_owned(), vec!["limit"]),
        ("?cursor=not-a-cursor".to_owned(), vec!["cursor"]),
        ("?cursor=AAAA".to_owned(), vec!["cursor"]),
        (format!("?specialization={long}"), vec!["specialization"]),
        (
            "?from_date=01/02/2030&limit=0&cursor=%25".to_owned(),
            vec!["cursor", "from_date", "limit"],
        ),
    ];
    for (q, fields) in cases {
        let (s, r) = app
            .call_as(
                None,
                Method::GET,
                &format!("/available-slots{q}"),
                Value::Null,
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        let mut got = error_fields(&r);
        got.sort();
        assert_eq!(got, fields, "{q}: {r}");
    }
    // The edges are fine: 92 days, limit 1 and 100, a signed-in caller.
    let ok = format!("?from_date={}&to_date={}&limit=1", day(1), day(93));
    search(&app, &ok).await;
    let (s, r) = app.get("/available-slots?limit=100").await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

backends!(
    finds_the_earliest_free_slots_across_doctors_in_order,
    leaves_out_full_blocked_started_and_inactive_doctors_slots,
    pages_by_cursor_without_gaps_or_duplicates,
    every_specialization_when_none_is_named,
    refuses_bad_input_naming_the_field,
);
