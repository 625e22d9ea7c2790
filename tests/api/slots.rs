//! `/doctors/{id}/time-slots`: creation (single and bulk) and time zones; the helpers the
//! listing tests (`slot_lists.rs`) share.

use chrono::{Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, next_clock_change, ClockChange, TestApp};

/// The UTC date `days` from now as `YYYY-MM-DD` (the date in a UTC doctor's zone).
pub(crate) fn day(days: i64) -> String {
    date(days).to_string()
}

pub(crate) fn date(days: i64) -> NaiveDate {
    (Utc::now() + Duration::days(days)).date_naive()
}

pub(crate) fn slots_path(doctor: &str) -> String {
    format!("/doctors/{doctor}/time-slots")
}

/// Creates one slot from `b`, asserting 201; returns the slot.
pub(crate) async fn create(app: &TestApp, doctor: &str, b: Value) -> Value {
    let (s, r) = app.post(&slots_path(doctor), b).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["data"].clone()
}

/// Every slot of the doctor, via the list route.
pub(crate) async fn all_slots(app: &TestApp, doctor: &str) -> Vec<Value> {
    let (s, b) = app.get(&slots_path(doctor)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().expect("array").clone()
}

/// Every slot of the doctor between two far-apart dates, via the list route with an explicit range.
pub(crate) async fn slots_in(app: &TestApp, doctor: &str, from: &str, to: &str) -> Vec<Value> {
    let (s, b) = app
        .get(&format!(
            "{}?from_date={from}&to_date={to}",
            slots_path(doctor)
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().expect("array").clone()
}

/// The number of slots of the doctor over the next two years.
pub(crate) async fn count(app: &TestApp, doctor: &str) -> usize {
    slots_in(app, doctor, &day(-2), &day(730)).await.len()
}

pub(crate) async fn available(app: &TestApp, doctor: &str, query: &str) -> Vec<Value> {
    let (s, b) = app
        .get(&format!("/doctors/{doctor}/available-slots{query}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    b["data"].as_array().expect("array").clone()
}

pub(crate) fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn instant(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("instant string")).expect("RFC 3339")
}

async fn create_returns_201_with_defaults(app: TestApp) {
    let doctor = app.doctor().await;
    let d = day(3);
    let (s, b) = app
        .post(
            &slots_path(&doctor),
            json!({"slot_date": d, "slot_time": "09:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["success"], true);
    assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()));
    let slot = &b["data"];
    assert!(
        slot["id"]
            .as_str()
            .and_then(|i| uuid::Uuid::parse_str(i).ok())
            .is_some(),
        "{slot}"
    );
    assert_eq!(slot["doctor_id"], doctor.as_str());
    assert_eq!(slot["slot_date"], d.as_str());
    assert_eq!(slot["slot_time"], "09:00:00");
    assert_eq!(slot["duration_minutes"], 30);
    assert_eq!(slot["max_capacity"], 1);
    assert_eq!(slot["current_bookings"], 0);
    assert_eq!(slot["available_capacity"], 1);
    assert_eq!(slot["status"], "AVAILABLE");
    let starts = slot["starts_at"].as_str().unwrap();
    assert!(starts.ends_with('Z'), "{slot}");
    assert_eq!(
        instant(&slot["starts_at"]).to_rfc3339(),
        format!("{d}T09:00:00+00:00")
    );
    for f in ["created_at", "updated_at"] {
        assert!(
            slot[f].as_str().is_some_and(|v| v.ends_with('Z')),
            "{f}: {slot}"
        );
        instant(&slot[f]);
    }
    let listed = all_slots(&app, &doctor).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(&listed[0], slot);
}

async fn create_accepts_seconds_duration_and_capacity(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = create(
        &app,
        &doctor,
        json!({"slot_date": day(4), "slot_time": " 14:15:30 ", "duration_minutes": 45, "max_capacity": 5}),
    )
    .await;
    assert_eq!(slot["slot_time"], "14:15:30");
    assert_eq!(slot["duration_minutes"], 45);
    assert_eq!(slot["max_capacity"], 5);
    assert_eq!(slot["available_capacity"], 5);
    // Range boundaries are inclusive.
    for (i, (dur, cap)) in [(5, 1), (480, 1000)].into_iter().enumerate() {
        let s = create(
            &app,
            &doctor,
            json!({"slot_date": day(5), "slot_time": format!("1{i}:00"), "duration_minutes": dur, "max_capacity": cap}),
        )
        .await;
        assert_eq!(
            (s["duration_minutes"].as_i64(), s["max_capacity"].as_i64()),
            (Some(dur), Some(cap))
        );
    }
    // Explicit nulls take the defaults.
    let s = create(
        &app,
        &doctor,
        json!({"slot_date": day(6), "slot_time": "08:00", "duration_minutes": null, "max_capacity": null}),
    )
    .await;
    assert_eq!(
        (s["duration_minutes"].as_i64(), s["max_capacity"].as_i64()),
        (Some(30), Some(1))
    );
}

async fn create_enforces_duration_and_capacity_ranges(app: TestApp) {
    let doctor = app.doctor().await;
    let d = day(3);
    for (extra, field) in [
        (json!({"duration_minutes": 4}), "duration_minutes"),
        (json!({"duration_minutes": 481}), "duration_minutes"),
        (json!({"duration_minutes": 0}), "duration_minutes"),
        (json!({"duration_minutes": -30}), "duration_minutes"),
        (json!({"duration_minutes": "30"}), "duration_minutes"),
        (json!({"duration_minutes": 30.5}), "duration_minutes"),
        (json!({"duration_minutes": 1e12}), "duration_minutes"),
        (json!({"max_capacity": 0}), "max_capacity"),
        (json!({"max_capacity": 1001}), "max_capacity"),
        (json!({"max_capacity": -1}), "max_capacity"),
        (json!({"max_capacity": "ten"}), "max_capacity"),
        (json!({"max_capacity": 2.5}), "max_capacity"),
        (json!({"max_capacity": 4294967297_i64}), "max_capacity"),
    ] {
        let mut b = json!({"slot_date": d, "slot_time": "10:00"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        let (s, r) = app.post(&slots_path(&doctor), b.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), [field], "{b}: {r}");
    }
    let (s, r) = app
        .post(
            &slots_path(&doctor),
            json!({"slot_date": d, "slot_time": "10:00", "duration_minutes": 1, "max_capacity": 0}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut f = error_fields(&r);
    f.sort();
    assert_eq!(f, ["duration_minutes", "max_capacity"], "{r}");
    assert_eq!(count(&app, &doctor).await, 0);
}

async fn create_requires_and_checks_date_and_time(app: TestApp) {
    let doctor = app.doctor().await;
    let (s, r) = app.post(&slots_path(&doctor), json!({})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut f = error_fields(&r);
    f.sort();
    assert_eq!(f, ["slot_date", "slot_time"], "{r}");

    let good_time = "10:00";
    for bad in [
        "2031-02-30",
        "2031-13-01",
        "tomorrow",
        "2031/01/01",
        "01-01-2031",
        "2031-1-1",
        "20310101",
        "",
    ] {
        let (s, r) = app
            .post(
                &slots_path(&doctor),
                json!({"slot_date": bad, "slot_time": good_time}),
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["slot_date"], "{bad}: {r}");
    }
    for bad in [
        "25:00",
        "9:30",
        "09:60",
        "noon",
        "09:30:00.5",
        "0930",
        "24:00",
        "09:30:61",
        "9am",
        "",
    ] {
        let (s, r) = app
            .post(
                &slots_path(&doctor),
                json!({"slot_date": day(3), "slot_time": bad}),
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["slot_time"], "{bad}: {r}");
    }
    let (s, r) = app
        .post(
            &slots_path(&doctor),
            json!({"slot_date": 20310101, "slot_time": 930}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut f = error_fields(&r);
    f.sort();
    assert_eq!(f, ["slot_date", "slot_time"], "{r}");
    for bad in ["[]", "\"slot\"", "{\"slot_date\": "] {
        let res = app
            .client
            .post(format!("{}{}", app.base, slots_path(&doctor)))
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        let r: Value = res.json().await.unwrap();
        assert_eq!(r["error"]["code"], "VALIDATION_ERROR", "{r}");
    }
    assert_eq!(count(&app, &doctor).await, 0);
}

async fn leap_second_times_are_rejected(app: TestApp) {
    // `HH:MM:SS` has at most 59 seconds; a 60th must not be silently stored as another time.
    let doctor = app.doctor().await;
    let mut failures = Vec::new();
    for t in ["09:30:60", "23:59:60"] {
        let (s, r) = app
            .post(
                &slots_path(&doctor),
                json!({"slot_date": day(3), "slot_time": t}),
            )
            .await;
        if s != StatusCode::BAD_REQUEST || error_fields(&r) != ["slot_time"] {
            failures.push(format!("{t}: {s} {r}"));
        }
    }
    let (s, r) = app
        .post(
            &format!("{}/bulk", slots_path(&doctor)),
            json!({"slots": [{"slot_date": day(4), "slot_time": "10:59:60"}]}),
        )
        .await;
    if s != StatusCode::BAD_REQUEST {
        failures.push(format!("bulk 10:59:60: {s} {r}"));
    }
    assert!(
        failures.is_empty(),
        "leap seconds accepted:\n{}",
        failures.join("\n")
    );
    assert_eq!(count(&app, &doctor).await, 0);
}

async fn create_in_the_past_is_400(app: TestApp) {
    let doctor = app.doctor().await;
    for (d, t) in [
        (day(-1), "10:00"),
        (day(-400), "10:00"),
        ("2001-01-01".to_owned(), "00:00"),
    ] {
        let (s, r) = app
            .post(
                &slots_path(&doctor),
                json!({"slot_date": d, "slot_time": t}),
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(!error_fields(&r).is_empty(), "{r}");
    }
    // Earlier today (a minute ago, at minute precision) has already started.
    let past = Utc::now() - Duration::minutes(2);
    let (s, r) = app
        .post(
            &slots_path(&doctor),
            json!({"slot_date": past.date_naive().to_string(), "slot_time": past.format("%H:%M").to_string()}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(count(&app, &doctor).await, 0);
}

async fn create_for_unknown_or_malformed_doctor(app: TestApp) {
    let b = json!({"slot_date": day(3), "slot_time": "10:00"});
    let (s, r) = app
        .post(&slots_path(&uuid::Uuid::new_v4().to_string()), b.clone())
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app.post(&slots_path("not-a-doctor"), b.clone()).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    // A patient's id is not a doctor's.
    let patient = app.patient().await;
    let (s, r) = app.post(&slots_path(&patient), b).await;
    assert_error(s, &r, 404, "NOT_FOUND");
}

async fn duplicate_slot_is_409(app: TestApp) {
    let doctor = app.doctor().await;
    let other = app.doctor().await;
    let d = day(3);
    create(&app, &doctor, json!({"slot_date": d, "slot_time": "09:00"})).await;
    for t in ["09:00", "09:00:00"] {
        let (s, r) = app
            .post(
                &slots_path(&doctor),
                json!({"slot_date": d, "slot_time": t, "max_capacity": 3}),
            )
            .await;
        assert_error(s, &r, 409, "DUPLICATE");
    }
    assert_eq!(count(&app, &doctor).await, 1);
    assert_eq!(
        all_slots(&app, &doctor).await[0]["max_capacity"],
        1,
        "the 409 changed the slot"
    );
    // Same time another day, another second, or another doctor is fine.
    create(
        &app,
        &doctor,
        json!({"slot_date": day(4), "slot_time": "09:00"}),
    )
    .await;
    create(
        &app,
        &doctor,
        json!({"slot_date": d, "slot_time": "09:00:01"}),
    )
    .await;
    create(&app, &other, json!({"slot_date": d, "slot_time": "09:00"})).await;
    assert_eq!(count(&app, &doctor).await, 3);
    assert_eq!(count(&app, &other).await, 1);
}

/// The next spring-forward day in New York, and the list range of ten days either side.
fn new_york_spring() -> (chrono_tz::Tz, NaiveDate, String, String) {
    let ny = chrono_tz::America::New_York;
    let d = next_clock_change(ny, ClockChange::Forward);
    let (from, to) = (d - Duration::days(10), d + Duration::days(10));
    (ny, d, from.to_string(), to.to_string())
}

async fn dst_gap_is_400_in_the_doctors_zone(app: TestApp) {
    let (tz, spring, from, to) = new_york_spring();
    let d = spring.to_string();
    let ny = app.doctor_in(tz.name()).await;
    for t in ["02:30", "02:00", "02:59:59"] {
        let (s, r) = app
            .post(&slots_path(&ny), json!({"slot_date": d, "slot_time": t}))
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(!error_fields(&r).is_empty(), "{r}");
    }
    assert_eq!(slots_in(&app, &ny, &from, &to).await.len(), 0);
    // Either side of the gap exists: EST (UTC-5) then EDT (UTC-4).
    let before = create(&app, &ny, json!({"slot_date": d, "slot_time": "01:30"})).await;
    assert_eq!(
        instant(&before["starts_at"]).to_rfc3339(),
        format!("{d}T06:30:00+00:00")
    );
    let after = create(&app, &ny, json!({"slot_date": d, "slot_time": "03:30"})).await;
    assert_eq!(
        instant(&after["starts_at"]).to_rfc3339(),
        format!("{d}T07:30:00+00:00")
    );
    // The repeated hour at the end of DST is a real local time; its first occurrence is EDT.
    let autumn = next_clock_change(tz, ClockChange::Back);
    let repeated = create(
        &app,
        &ny,
        json!({"slot_date": autumn.to_string(), "slot_time": "01:30"}),
    )
    .await;
    assert_eq!(
        instant(&repeated["starts_at"]).to_rfc3339(),
        format!("{autumn}T05:30:00+00:00")
    );
    // The same wall time is no gap for a UTC doctor.
    let utc = app.doctor().await;
    create(&app, &utc, json!({"slot_date": d, "slot_time": "02:30"})).await;
}

async fn slot_is_pinned_to_the_doctors_zone(app: TestApp) {
    let doctor = app.doctor_in("Asia/Kolkata").await;
    let d = date(20);
    let nine = create(
        &app,
        &doctor,
        json!({"slot_date": d.to_string(), "slot_time": "09:00"}),
    )
    .await;
    assert_eq!(nine["slot_date"], d.to_string());
    assert_eq!(nine["slot_time"], "09:00:00");
    assert_eq!(nine["starts_at"], format!("{d}T03:30:00Z"));
    // Early morning in Kolkata is the previous evening in UTC; the local date stays as sent.
    let early = create(
        &app,
        &doctor,
        json!({"slot_date": d.to_string(), "slot_time": "02:00"}),
    )
    .await;
    assert_eq!(early["slot_date"], d.to_string());
    assert_eq!(
        early["starts_at"],
        format!("{}T20:30:00Z", d.pred_opt().unwrap())
    );

    let listed = slots_in(&app, &doctor, &d.to_string(), &d.to_string()).await;
    assert_eq!(
        ids(&listed),
        ids(&[early.clone(), nine.clone()]),
        "ordered by start"
    );
    assert!(listed.iter().all(|s| s["slot_date"] == d.to_string()));
    let avail = available(&app, &doctor, &format!("?from_date={d}&to_date={d}")).await;
    assert_eq!(ids(&avail), ids(&[early, nine]));
    let (_, g) = app.get(&format!("/doctors/{doctor}")).await;
    assert_eq!(g["data"]["timezone"], "Asia/Kolkata");
}

async fn bulk_creates_and_reports_skipped(app: TestApp) {
    let doctor = app.doctor().await;
    let (d1, d2) = (day(5), day(6));
    let (s, b) = app
        .post(
            &format!("{}/bulk", slots_path(&doctor)),
            json!({"slots": [
                {"slot_date": d2, "slot_time": "09:00"},
                {"slot_date": d1, "slot_time": "10:00:00", "duration_minutes": 20, "max_capacity": 4},
                {"slot_date": d1, "slot_time": "09:30"},
            ]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["success"], true);
    let created = b["data"]["created"].as_array().unwrap();
    assert_eq!(created.len(), 3, "{b}");
    assert_eq!(b["data"]["skipped"], json!([]));
    let mut starts: Vec<_> = created.iter().map(|s| instant(&s["starts_at"])).collect();
    let sorted = {
        let mut v = starts.clone();
        v.sort();
        v
    };
    assert_eq!(starts, sorted, "created slots ordered by start");
    starts.dedup();
    assert_eq!(starts.len(), 3);
    let ten = created
        .iter()
        .find(|s| s["slot_time"] == "10:00:00")
        .expect("10:00 created");
    assert_eq!(
        (
            ten["duration_minutes"].as_i64(),
            ten["max_capacity"].as_i64()
        ),
        (Some(20), Some(4))
    );
    assert!(created
        .iter()
        .all(|s| s["doctor_id"] == doctor.as_str() && s["status"] == "AVAILABLE"));
    assert_eq!(count(&app, &doctor).await, 3);

    // Existing slots and in-batch repeats are skipped, the rest created.
    let (s, b) = app
        .post(
            &format!("{}/bulk", slots_path(&doctor)),
            json!({"slots": [
                {"slot_date": d1, "slot_time": "09:30:00"},
                {"slot_date": d1, "slot_time": "11:00"},
                {"slot_date": d1, "slot_time": "11:00:00", "max_capacity": 9},
                {"slot_date": d2, "slot_time": "09:00"},
                {"slot_date": d2, "slot_time": "12:00"},
            ]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let created = b["data"]["created"].as_array().unwrap();
    let mut got: Vec<_> = created
        .iter()
        .map(|s| (s["slot_date"].clone(), s["slot_time"].clone()))
        .collect();
    got.sort_by_key(|p| p.0.to_string() + p.1.as_str().unwrap());
    assert_eq!(
        got,
        [
            (json!(d1), json!("11:00:00")),
            (json!(d2), json!("12:00:00"))
        ],
        "{b}"
    );
    let eleven = created
        .iter()
        .find(|s| s["slot_time"] == "11:00:00")
        .unwrap();
    assert_eq!(eleven["max_capacity"], 1, "the first occurrence wins: {b}");
    let skipped = b["data"]["skipped"].as_array().unwrap();
    let idx: Vec<_> = skipped
        .iter()
        .map(|s| s["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [0, 2, 3], "{b}");
    for (sk, (d, t)) in
        skipped
            .iter()
            .zip([(&d1, "09:30:00"), (&d1, "11:00:00"), (&d2, "09:00:00")])
    {
        assert_eq!(sk["slot_date"], d.as_str(), "{sk}");
        assert_eq!(sk["slot_time"], t, "{sk}");
        assert!(sk["reason"].as_str().is_some_and(|r| !r.is_empty()), "{sk}");
    }
    assert_eq!(count(&app, &doctor).await, 5);

    // A batch where everything exists creates nothing and reports everything.
    let (s, b) = app
        .post(
            &format!("{}/bulk", slots_path(&doctor)),
            json!({"slots": [{"slot_date": d1, "slot_time": "11:00"}]}),
        )
        .await;
    assert!(s == StatusCode::CREATED || s == StatusCode::OK, "{s}: {b}");
    assert_eq!(b["data"]["created"], json!([]));
    assert_eq!(b["data"]["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(count(&app, &doctor).await, 5);
}

async fn bulk_with_an_invalid_item_creates_nothing(app: TestApp) {
    let doctor = app.doctor().await;
    let path = format!("{}/bulk", slots_path(&doctor));
    let good = |t: &str| json!({"slot_date": day(5), "slot_time": t});

    let (s, r) = app.post(&path, json!({"slots": [good("09:00"), {"slot_date": day(5), "slot_time": "9am"}, good("10:00")]})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["slots[1].slot_time"], "{r}");

    let (s, r) = app
        .post(
            &path,
            json!({"slots": [good("09:00"), good("09:30"), {"slot_time": "11:00"},
                             {"slot_date": day(5), "slot_time": "12:00", "duration_minutes": 1000}]}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&r),
        ["slots[2].slot_date", "slots[3].duration_minutes"],
        "{r}"
    );

    let (s, r) = app
        .post(
            &path,
            json!({"slots": [good("09:00"), {"slot_date": day(-1), "slot_time": "10:00"}]}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let f = error_fields(&r);
    assert!(f.len() == 1 && f[0].starts_with("slots[1]"), "{r}");

    let (s, r) = app.post(&path, json!({"slots": [good("09:00"), 5]})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let f = error_fields(&r);
    assert!(f.len() == 1 && f[0].starts_with("slots[1]"), "{r}");

    // A DST gap in one item fails the batch too.
    let (tz, spring, from, to) = new_york_spring();
    let ny = app.doctor_in(tz.name()).await;
    let (s, r) = app
        .post(
            &format!("{}/bulk", slots_path(&ny)),
            json!({"slots": [{"slot_date": spring.to_string(), "slot_time": "01:00"}, {"slot_date": spring.to_string(), "slot_time": "02:15"}]}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert!(
        error_fields(&r).iter().all(|f| f.starts_with("slots[1]")),
        "{r}"
    );
    assert_eq!(slots_in(&app, &ny, &from, &to).await.len(), 0);

    assert_eq!(
        count(&app, &doctor).await,
        0,
        "a rejected batch created slots"
    );
}

async fn bulk_needs_between_1_and_1000_items(app: TestApp) {
    let doctor = app.doctor().await;
    let path = format!("{}/bulk", slots_path(&doctor));
    for body in [
        json!({}),
        json!({"slots": []}),
        json!({"slots": "x"}),
        json!({"slots": {"slot_date": day(3)}}),
        json!({"slots": null}),
    ] {
        let (s, r) = app.post(&path, body.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["slots"], "{body}: {r}");
    }
    let (s, r) = app
        .post(&path, json!([{"slot_date": day(3), "slot_time": "09:00"}]))
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");

    // 1000 distinct items: 50 days × 20 times.
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({"slot_date": day(2 + i / 20), "slot_time": format!("{:02}:{:02}", 8 + (i % 20) / 2, (i % 2) * 30)}))
        .collect();
    let mut over = items.clone();
    over.push(json!({"slot_date": day(60), "slot_time": "09:00"}));
    let (s, r) = app.post(&path, json!({"slots": over})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["slots"], "{r}");
    assert_eq!(count(&app, &doctor).await, 0);

    let (s, r) = app.post(&path, json!({"slots": items})).await;
    assert_eq!(s, StatusCode::CREATED, "{}", r["message"]);
    assert_eq!(r["data"]["created"].as_array().unwrap().len(), 1000);
    assert_eq!(r["data"]["skipped"], json!([]));
    assert_eq!(count(&app, &doctor).await, 1000);
}

async fn bulk_for_unknown_or_malformed_doctor(app: TestApp) {
    let b = json!({"slots": [{"slot_date": day(3), "slot_time": "09:00"}]});
    let (s, r) = app
        .post(
            &format!("/doctors/{}/time-slots/bulk", uuid::Uuid::new_v4()),
            b.clone(),
        )
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app.post("/doctors/123/time-slots/bulk", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
}

backends!(
    create_returns_201_with_defaults,
    create_accepts_seconds_duration_and_capacity,
    create_enforces_duration_and_capacity_ranges,
    create_requires_and_checks_date_and_time,
    leap_second_times_are_rejected,
    create_in_the_past_is_400,
    create_for_unknown_or_malformed_doctor,
    duplicate_slot_is_409,
    dst_gap_is_400_in_the_doctors_zone,
    slot_is_pinned_to_the_doctors_zone,
    bulk_creates_and_reports_skipped,
    bulk_with_an_invalid_item_creates_nothing,
    bulk_needs_between_1_and_1000_items,
    bulk_for_unknown_or_malformed_doctor,
);
