//! The availability cache over HTTP: `ETag` and `If-None-Match` → 304, an instance's own
//! writes show at once, and across instances on one PostgreSQL a booking disappears from the
//! other instance's answer within `AVAILABILITY_CACHE_MS`, while a stale answer only ever costs
//! a 409 at booking.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::cluster::eventually;
use crate::common::{Backend, TestApp};

/// `GET {base}/doctors/{doctor}/available-slots` with an optional `If-None-Match`: the status,
/// the `ETag` and the slot ids listed (none for a 304).
async fn available(
    app: &TestApp,
    base: &str,
    doctor: &str,
    tag: Option<&str>,
) -> (StatusCode, String, Vec<String>) {
    let mut req = app
        .anon
        .get(format!("{base}/doctors/{doctor}/available-slots"));
    if let Some(t) = tag {
        req = req.header("If-None-Match", t);
    }
    let res = req.send().await.expect("available-slots");
    let status = res.status();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    let ids = if status == StatusCode::OK {
        let body: Value = serde_json::from_str(&text).unwrap();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    } else {
        assert!(text.is_empty(), "{status} with a body: {text}");
        Vec::new()
    };
    (status, etag, ids)
}

backends!(etag_and_if_none_match);

async fn etag_and_if_none_match(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    let (status, tag, ids) = available(&app, &app.base, &doctor, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
    assert_eq!(ids, vec![slot.clone()]);

    // Unchanged: 304, no body, the same tag; other tags and no tag: 200.
    let (status, again, _) = available(&app, &app.base, &doctor, Some(&tag)).await;
    assert_eq!(
        (status, again.as_str()),
        (StatusCode::NOT_MODIFIED, tag.as_str())
    );
    let list = format!("\"nope\", W/{tag}");
    let (status, _, _) = available(&app, &app.base, &doctor, Some(&list)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, _, ids) = available(&app, &app.base, &doctor, Some("\"nope\"")).await;
    assert_eq!((status, ids.len()), (StatusCode::OK, 1));

    // The last seat goes: the old tag no longer matches, and the slot is gone.
    let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (status, new_tag, ids) = available(&app, &app.base, &doctor, Some(&tag)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(new_tag, tag);
    assert!(ids.is_empty(), "{ids:?}");
}

/// With answers kept a minute, every write of this instance that changes seats or slots still
/// shows in the very next answer.
async fn own_writes_show_at_once(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, |s| s.availability_cache = Duration::from_secs(60)).await;
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    let base = app.base.clone();
    assert_eq!(
        available(&app, &base, &doctor, None).await.2,
        vec![slot.clone()]
    );

    let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(available(&app, &base, &doctor, None).await.2.is_empty());

    let id = b["data"]["id"].as_str().unwrap();
    let (s, b) = app
        .post(&format!("/appointments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        available(&app, &base, &doctor, None).await.2,
        vec![slot.clone()]
    );

    let (s, b) = app
        .patch(
            &format!("/doctors/{doctor}/time-slots/{slot}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(available(&app, &base, &doctor, None).await.2.is_empty());

    let added = app.slot(&doctor, 3, "11:00", 2).await;
    assert_eq!(available(&app, &base, &doctor, None).await.2, vec![added]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_show_at_once_postgres() {
    own_writes_show_at_once(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_show_at_once_sqlite() {
    own_writes_show_at_once(Backend::Sqlite).await
}

/// Two instances on one PostgreSQL: a booking through one leaves the other's answer within
/// the shipped bound (1 s), and an instance keeping answers a minute serves the stale one (as
/// documented) yet refuses the booking it suggests with 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_leaves_another_instances_answer_within_the_bound() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let bound = Duration::from_millis(1000);
    let other = app
        .another_instance_with(|s| s.availability_cache = bound)
        .await;
    let slow = app
        .another_instance_with(|s| s.availability_cache = Duration::from_secs(60))
        .await;
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    for base in [&other.base, &slow.base] {
        assert_eq!(
            available(&app, base, &doctor, None).await.2,
            vec![slot.clone()]
        );
    }

    let booked_at = Instant::now();
    let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let booked_took = booked_at.elapsed();
    let gone_after = eventually(
        bound + Duration::from_millis(500),
        "the booked slot leaving the other instance's answer",
        || async {
            let (_, _, ids) = available(&app, &other.base, &doctor, None).await;
            ids.is_empty().then(|| booked_at.elapsed())
        },
    )
    .await;
    // Within the bound counted from the commit (the booking's answer), with scheduling slack.
    assert!(
        gone_after <= bound + booked_took + Duration::from_millis(500),
        "{gone_after:?}"
    );

    // The instance keeping answers a minute still offers the seat…
    let (_, _, ids) = available(&app, &slow.base, &doctor, None).await;
    assert_eq!(ids, vec![slot.clone()], "the cache is not in use");
    // …and booking it there is refused: a stale answer never overbooks.
    let res = app
        .client
        .post(format!("{}/appointments", slow.base))
        .json(
            &json!({"patient_id": app.patient().await, "doctor_id": doctor, "time_slot_id": slot}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 1);
}

/// `AVAILABILITY_CACHE_MS=0` keeps nothing: a change made behind carebook's back shows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_turns_the_cache_off() {
    let app =
        TestApp::spawn_with(Backend::Postgres, |s| s.availability_cache = Duration::ZERO).await;
    let other = app
        .another_instance_with(|s| s.availability_cache = Duration::ZERO)
        .await;
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    assert_eq!(
        available(&app, &other.base, &doctor, None).await.2,
        vec![slot.clone()]
    );
    let (s, _) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(available(&app, &other.base, &doctor, None)
        .await
        .2
        .is_empty());
}
