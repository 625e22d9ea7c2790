//! `/doctors/{id}/time-slots` listing and `/doctors/{id}/available-slots`: ranges, defaults,
//! order, what is available, and blocking a slot.

use chrono::{Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};
use crate::slots::{all_slots, available, create, date, day, ids, instant, slots_in, slots_path};

async fn list_returns_every_status_in_the_range(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let a = app.slot(&doctor, 3, "09:00", 1).await;
    let b = app.slot(&doctor, 3, "08:00", 2).await;
    let c = app.slot(&doctor, 4, "09:00", 1).await;
    let far = app.slot(&doctor, 40, "09:00", 1).await;
    // One full, one blocked.
    let (s, r) = app.book(&patient, &doctor, &a).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = app
        .patch(
            &format!("{}/{c}", slots_path(&doctor)),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");

    let listed = slots_in(&app, &doctor, &day(3), &day(4)).await;
    assert_eq!(
        ids(&listed),
        [b.clone(), a.clone(), c.clone()],
        "every status, ordered by start"
    );
    let by = |id: &str| listed.iter().find(|s| s["id"] == id).unwrap().clone();
    assert_eq!(by(&a)["status"], "BOOKED");
    assert_eq!(
        (
            by(&a)["current_bookings"].as_i64(),
            by(&a)["available_capacity"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(by(&b)["status"], "AVAILABLE");
    assert_eq!(by(&c)["status"], "BLOCKED");

    // Bounds are inclusive; each may be left out.
    assert_eq!(
        ids(&slots_in(&app, &doctor, &day(3), &day(3)).await),
        [b.clone(), a.clone()]
    );
    let (_, r) = app
        .get(&format!("{}?from_date={}", slots_path(&doctor), day(4)))
        .await;
    assert_eq!(
        ids(r["data"].as_array().unwrap()),
        [c.clone(), far.clone()],
        "{r}"
    );
    let (_, r) = app
        .get(&format!("{}?to_date={}", slots_path(&doctor), day(3)))
        .await;
    assert_eq!(
        ids(r["data"].as_array().unwrap()),
        [b.clone(), a.clone()],
        "{r}"
    );
    assert_eq!(ids(&all_slots(&app, &doctor).await), [b, a, c, far]);
}

async fn list_rejects_bad_ranges_and_unknown_doctors(app: TestApp) {
    let doctor = app.doctor().await;
    let p = slots_path(&doctor);
    for (q, field) in [
        ("from_date=2030-02-30", "from_date"),
        ("to_date=soon", "to_date"),
        (
            &*format!("from_date={}&to_date={}", day(5), day(4)),
            "to_date",
        ),
    ] {
        let (s, r) = app.get(&format!("{p}?{q}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(error_fields(&r).contains(&field.to_owned()), "{q}: {r}");
    }
    let (s, r) = app
        .get(&slots_path(&uuid::Uuid::new_v4().to_string()))
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app.get(&slots_path("bad-id")).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
}

async fn available_defaults_to_the_next_30_days(app: TestApp) {
    let doctor = app.doctor().await;
    let before = date(0);
    let d1 = app.slot(&doctor, 1, "10:00", 1).await;
    let d29 = app.slot(&doctor, 29, "10:00", 1).await;
    let d30 = app.slot(&doctor, 30, "10:00", 1).await;
    let d31 = app.slot(&doctor, 31, "10:00", 1).await;
    let d45 = app.slot(&doctor, 45, "10:00", 3).await;
    let got = available(&app, &doctor, "").await;
    if date(0) != before {
        return; // Midnight passed mid-test: the default window moved.
    }
    assert_eq!(
        ids(&got),
        [d1.clone(), d29.clone(), d30.clone()],
        "default range is today..today+30"
    );
    for s in &got {
        assert_eq!(s["status"], "AVAILABLE");
        assert_eq!(s["available_capacity"], 1, "{s}");
    }
    let got = available(
        &app,
        &doctor,
        &format!("?from_date={}&to_date={}", day(0), day(60)),
    )
    .await;
    assert_eq!(ids(&got), [d1, d29, d30, d31.clone(), d45.clone()]);
    assert_eq!(got[4]["available_capacity"], 3);
    let got = available(
        &app,
        &doctor,
        &format!("?from_date={}&to_date={}", day(31), day(31)),
    )
    .await;
    assert_eq!(ids(&got), [d31]);
    let got = available(&app, &doctor, &format!("?from_date={}", day(2))).await;
    assert_eq!(
        got.len(),
        3,
        "from_date alone opens a 30-day window from it: d29, d30, d31"
    );
}

async fn available_default_range_follows_the_doctors_today(app: TestApp) {
    // Kiritimati is UTC+14: its "today" is often the UTC tomorrow.
    let tz = chrono_tz::Pacific::Kiritimati;
    let doctor = app.doctor_in("Pacific/Kiritimati").await;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let at = |d: NaiveDate| json!({"slot_date": d.to_string(), "slot_time": "12:00"});
    let last = create(&app, &doctor, at(today + Duration::days(30))).await;
    let beyond = create(&app, &doctor, at(today + Duration::days(31))).await;
    let got = available(&app, &doctor, "").await;
    if Utc::now().with_timezone(&tz).date_naive() != today {
        return; // Midnight in Kiritimati passed mid-test.
    }
    assert_eq!(ids(&got), ids(&[last]), "{got:?}");
    let got = available(
        &app,
        &doctor,
        &format!("?to_date={}", today + Duration::days(31)),
    )
    .await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["id"], beyond["id"]);
}

async fn lists_return_every_slot_without_pagination(app: TestApp) {
    let doctor = app.doctor().await;
    let items: Vec<Value> = (0..150)
        .map(|i| json!({"slot_date": day(1 + i / 30), "slot_time": format!("{:02}:{:02}", 7 + (i % 30) / 4, (i % 4) * 15)}))
        .collect();
    let (s, r) = app
        .post(
            &format!("{}/bulk", slots_path(&doctor)),
            json!({"slots": items}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{}", r["message"]);
    let q = format!("?from_date={}&to_date={}", day(0), day(10));
    let (s, b) = app
        .get(&format!("/doctors/{doctor}/available-slots{q}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"].as_array().unwrap().len(), 150);
    let (s, b) = app.get(&format!("{}{q}", slots_path(&doctor))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"].as_array().unwrap().len(), 150);
    // A limit is not a pagination switch here.
    let (_, b) = app
        .get(&format!("/doctors/{doctor}/available-slots{q}&limit=10"))
        .await;
    assert_eq!(
        b["data"].as_array().map(Vec::len),
        Some(150),
        "{}",
        b["message"]
    );
}

async fn far_future_slot_keeps_an_rfc3339_instant(app: TestApp) {
    // 23:00 on the last day of 9999 in New York is already year 10000 in UTC. Refusing it is
    // fine; storing it must neither break RFC 3339 nor the doctor's listings.
    let ny = app.doctor_in("America/New_York").await;
    let (s, r) = app
        .post(
            &slots_path(&ny),
            json!({"slot_date": "9999-12-31", "slot_time": "23:00"}),
        )
        .await;
    let mut failures = Vec::new();
    if s == StatusCode::CREATED {
        let at = r["data"]["starts_at"].as_str().unwrap_or_default();
        if chrono::DateTime::parse_from_rfc3339(at).is_err() {
            failures.push(format!("starts_at is not RFC 3339: {at}"));
        }
    } else if s != StatusCode::BAD_REQUEST {
        failures.push(format!("create: {s} {r}"));
    }
    for path in [
        slots_path(&ny),
        format!("/doctors/{ny}/available-slots?from_date=9999-12-01&to_date=9999-12-31"),
    ] {
        let (s, r) = app.get(&path).await;
        if s != StatusCode::OK {
            failures.push(format!("GET {path}: {s} {r}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn available_is_ordered_by_start(app: TestApp) {
    let doctor = app.doctor().await;
    let later = app.slot(&doctor, 2, "15:00", 1).await;
    let earlier = app.slot(&doctor, 2, "07:45", 1).await;
    let next_day = app.slot(&doctor, 3, "06:00", 1).await;
    let got = available(
        &app,
        &doctor,
        &format!("?from_date={}&to_date={}", day(1), day(5)),
    )
    .await;
    assert_eq!(ids(&got), [earlier, later, next_day]);
    let starts: Vec<_> = got.iter().map(|s| instant(&s["starts_at"])).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]));
    for s in &got {
        for f in [
            "id",
            "doctor_id",
            "slot_date",
            "slot_time",
            "duration_minutes",
            "max_capacity",
            "current_bookings",
            "available_capacity",
            "status",
            "starts_at",
            "created_at",
            "updated_at",
        ] {
            assert!(!s[f].is_null(), "{f} missing: {s}");
        }
    }
}

async fn available_rejects_bad_ranges(app: TestApp) {
    let doctor = app.doctor().await;
    let p = format!("/doctors/{doctor}/available-slots");
    let start = date(1);
    let cases = [
        (
            format!("?from_date={}&to_date={}", day(5), day(4)),
            vec!["to_date"],
        ),
        (
            format!("?from_date={start}&to_date={}", start + Duration::days(93)),
            vec!["to_date"],
        ),
        (
            format!("?from_date={start}&to_date={}", start + Duration::days(400)),
            vec!["to_date"],
        ),
        ("?from_date=2030-13-01".to_owned(), vec!["from_date"]),
        ("?to_date=next-week".to_owned(), vec!["to_date"]),
        (
            "?from_date=01/02/2030&to_date=2030-1-2".to_owned(),
            vec!["from_date", "to_date"],
        ),
    ];
    for (q, fields) in cases {
        let (s, r) = app.get(&format!("{p}{q}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        let mut got = error_fields(&r);
        got.sort();
        assert_eq!(got, fields, "{q}: {r}");
    }
    // 90 days is within the limit.
    let (s, r) = app
        .get(&format!(
            "{p}?from_date={start}&to_date={}",
            start + Duration::days(90)
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, r) = app
        .get(&format!(
            "/doctors/{}/available-slots",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app.get("/doctors/not-a-uuid/available-slots").await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
}

async fn available_excludes_blocked_and_full_slots(app: TestApp) {
    let doctor = app.doctor().await;
    let (p1, p2) = (app.patient().await, app.patient().await);
    let single = app.slot(&doctor, 2, "09:00", 1).await;
    let pair = app.slot(&doctor, 2, "10:00", 2).await;
    let blocked = app.slot(&doctor, 2, "11:00", 5).await;
    let open = app.slot(&doctor, 2, "12:00", 1).await;
    let q = format!("?from_date={}&to_date={}", day(1), day(3));
    assert_eq!(available(&app, &doctor, &q).await.len(), 4);

    let (s, r) = app.book(&p1, &doctor, &single).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = app.book(&p1, &doctor, &pair).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = app
        .patch(
            &format!("{}/{blocked}", slots_path(&doctor)),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");

    let got = available(&app, &doctor, &q).await;
    assert_eq!(ids(&got), [pair.clone(), open.clone()]);
    assert_eq!(got[0]["available_capacity"], 1);
    assert_eq!(got[0]["current_bookings"], 1);
    assert_eq!(got[1]["available_capacity"], 1);

    // Filling the second seat removes it too; a full slot refuses more bookings.
    let (s, r) = app.book(&p2, &doctor, &pair).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(ids(&available(&app, &doctor, &q).await), [open]);
    let (s, r) = app.book(&p2, &doctor, &single).await;
    assert_error(s, &r, 409, "SLOT_UNAVAILABLE");
}

async fn available_excludes_slots_that_already_started(app: TestApp) {
    let doctor = app.doctor().await;
    // The API refuses past slots, so a slot is made to have just started in the database.
    let started = app.slot(&doctor, 1, "09:00", 1).await;
    app.start_slot(&started).await;
    let future = app.slot(&doctor, 1, "10:00", 1).await;
    let from = date(-1);
    let q = format!("?from_date={from}&to_date={}", from + Duration::days(3));
    assert_eq!(ids(&available(&app, &doctor, &q).await), [future]);
    // It still shows in the full list.
    let listed = slots_in(
        &app,
        &doctor,
        &from.to_string(),
        &(from + Duration::days(3)).to_string(),
    )
    .await;
    assert!(listed.iter().any(|s| s["id"] == started), "{listed:?}");
}

async fn block_and_unblock_a_slot(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "09:00", 2).await;
    let path = format!("{}/{slot}", slots_path(&doctor));
    let q = format!("?from_date={}&to_date={}", day(1), day(3));

    let (s, r) = app.patch(&path, json!({"status": "BLOCKED"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["id"], slot.as_str());
    assert_eq!(r["data"]["status"], "BLOCKED");
    assert_eq!(app.slot_view(&doctor, &slot).await["status"], "BLOCKED");
    assert!(available(&app, &doctor, &q).await.is_empty());

    let (s, r) = app.book(&patient, &doctor, &slot).await;
    assert_error(s, &r, 409, "SLOT_UNAVAILABLE");
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);

    // Blocking twice is harmless.
    let (s, _) = app.patch(&path, json!({"status": "BLOCKED"})).await;
    assert_eq!(s, StatusCode::OK);

    let (s, r) = app.patch(&path, json!({"status": "AVAILABLE"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["data"]["status"], "AVAILABLE");
    assert_eq!(ids(&available(&app, &doctor, &q).await), [slot.as_str()]);
    let (s, r) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    // Blocking keeps existing bookings but takes the slot out of availability.
    let (s, r) = app.patch(&path, json!({"status": "BLOCKED"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["data"]["current_bookings"], 1);
    assert!(available(&app, &doctor, &q).await.is_empty());
    let (s, r) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_error(s, &r, 409, "SLOT_UNAVAILABLE");
    let (s, _) = app.patch(&path, json!({"status": "AVAILABLE"})).await;
    assert_eq!(s, StatusCode::OK);
    let got = available(&app, &doctor, &q).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["available_capacity"], 1);
}

async fn slot_status_rejects_bad_requests(app: TestApp) {
    let doctor = app.doctor().await;
    let other = app.doctor().await;
    let slot = app.slot(&doctor, 2, "09:00", 1).await;
    let path = format!("{}/{slot}", slots_path(&doctor));
    for body in [
        json!({"status": "CLOSED"}),
        json!({"status": "BOOKED"}),
        json!({"status": ""}),
        json!({}),
        json!({"status": 1}),
        json!({"status": null}),
    ] {
        let (s, r) = app.patch(&path, body.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["status"], "{body}: {r}");
    }
    // Another doctor's slot, an unknown slot, an unknown doctor.
    let (s, r) = app
        .patch(
            &format!("{}/{slot}", slots_path(&other)),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app
        .patch(
            &format!("{}/{}", slots_path(&doctor), uuid::Uuid::new_v4()),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app
        .patch(
            &format!("/doctors/{}/time-slots/{slot}", uuid::Uuid::new_v4()),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app
        .patch(
            &format!("{}/not-a-slot", slots_path(&doctor)),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, r) = app
        .patch(
            &format!("/doctors/nope/time-slots/{slot}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        view["status"], "AVAILABLE",
        "a rejected PATCH changed the slot"
    );
}

backends!(
    list_returns_every_status_in_the_range,
    list_rejects_bad_ranges_and_unknown_doctors,
    available_defaults_to_the_next_30_days,
    available_default_range_follows_the_doctors_today,
    lists_return_every_slot_without_pagination,
    far_future_slot_keeps_an_rfc3339_instant,
    available_is_ordered_by_start,
    available_rejects_bad_ranges,
    available_excludes_blocked_and_full_slots,
    available_excludes_slots_that_already_started,
    block_and_unblock_a_slot,
    slot_status_rejects_bad_requests,
);
