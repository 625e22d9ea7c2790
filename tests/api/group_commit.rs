//! Group commit on SQLite (and the same answers on PostgreSQL): concurrent bookings share one
//! transaction, each in its own savepoint. A burst mixing successes and refusals must leave
//! every success committed with its audit row, access record and outbox rows, every refusal
//! without a trace, and no slot over its seats; an overdue hold expired inside a group must
//! stay expired although the booking that expired it was refused.

use std::collections::{HashMap, HashSet};

use carebook::jobs::expiry::sweep_once;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::{Backend, TestApp};
use crate::concurrency::assert_no_5xx;

/// One booking request of a burst, with its Idempotency-Key if any.
struct Req {
    body: Value,
    key: Option<String>,
}

fn req(patient: &str, doctor: &str, slot: &str) -> Req {
    Req {
        body: json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}),
        key: None,
    }
}

/// Sends every booking at once; (status, body) in order.
async fn burst(app: &TestApp, requests: &[Req]) -> Vec<(StatusCode, Value)> {
    join_all(requests.iter().map(|r| {
        let mut call = app
            .client
            .post(format!("{}/appointments", app.base))
            .json(&r.body);
        if let Some(k) = &r.key {
            call = call.header("Idempotency-Key", k);
        }
        async move {
            let res = call.send().await.expect("request");
            let status = res.status();
            (status, res.json::<Value>().await.expect("JSON body"))
        }
    }))
    .await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Row counts of what a booking writes, to compare before and after a burst.
async fn counts(app: &TestApp) -> [i64; 5] {
    [
        app.count_rows("appointments").await,
        app.count_rows("appointment_audit_log").await,
        app.count_rows("access_records WHERE action = 'create'")
            .await,
        app.count_rows("outbox").await,
        app.count_rows("idempotency_keys").await,
    ]
}

/// The audit actions of an appointment, oldest first.
async fn history(app: &TestApp, id: &str) -> Vec<String> {
    let (s, h) = app.get(&format!("/appointments/{id}/history")).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    h["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Sixty bookings at once: twenty patients for a three-seat slot, ten patients twice each for
/// a roomy slot, ten unknown patients, five idempotent pairs, and one key sent with two
/// different bodies.
async fn mixed_burst_commits_each_success_and_nothing_of_each_refusal(app: TestApp) {
    let doctor = app.doctor().await;
    let small = app.slot(&doctor, 2, "09:00", 3).await;
    let roomy = app.slot(&doctor, 2, "10:00", 50).await;
    let other = app.slot(&doctor, 2, "11:00", 50).await;
    let patients = join_all((0..37).map(|_| app.patient())).await;
    let mut requests = Vec::new();
    // 0..20: twenty patients race for three seats.
    for p in &patients[0..20] {
        requests.push(req(p, &doctor, &small));
    }
    // 20..40: ten patients book the roomy slot twice each.
    for p in &patients[20..30] {
        requests.push(req(p, &doctor, &roomy));
        requests.push(req(p, &doctor, &roomy));
    }
    // 40..50: patients that do not exist.
    for _ in 0..10 {
        requests.push(req(&uuid::Uuid::new_v4().to_string(), &doctor, &roomy));
    }
    // 50..60: five idempotent pairs, each pair one key and one body.
    for (n, p) in patients[30..35].iter().enumerate() {
        for _ in 0..2 {
            let mut r = req(p, &doctor, &other);
            r.key = Some(format!("group-pair-{n}"));
            requests.push(r);
        }
    }
    // 60..62: one key with two different requests.
    for p in &patients[35..37] {
        let mut r = req(p, &doctor, &other);
        r.key = Some("group-reused".into());
        requests.push(r);
    }
    let before = counts(&app).await;
    let results = burst(&app, &requests).await;
    assert_no_5xx(&results);

    let small_wins = results[0..20]
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(small_wins, 3, "{:?}", &results[0..20]);
    for (s, b) in results[0..20]
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
    {
        assert_eq!((s.as_u16(), code(b)), (409, "SLOT_UNAVAILABLE"), "{b}");
    }
    for pair in results[20..40].chunks(2) {
        let mut got: Vec<_> = pair.iter().map(|(s, b)| (s.as_u16(), code(b))).collect();
        got.sort_unstable();
        assert_eq!(got, [(201, ""), (409, "ALREADY_BOOKED")], "{pair:?}");
    }
    for (s, b) in &results[40..50] {
        assert_eq!((s.as_u16(), code(b)), (404, "NOT_FOUND"), "{b}");
    }
    for pair in results[50..60].chunks(2) {
        assert!(
            pair.iter().all(|(s, _)| *s == StatusCode::CREATED),
            "{pair:?}"
        );
        assert_eq!(pair[0].1["data"]["id"], pair[1].1["data"]["id"], "{pair:?}");
    }
    let mut reused: Vec<_> = results[60..62]
        .iter()
        .map(|(s, b)| (s.as_u16(), code(b)))
        .collect();
    reused.sort_unstable();
    assert_eq!(reused, [(201, ""), (422, "IDEMPOTENCY_KEY_REUSED")]);

    // Every 201 is committed: readable, with its BOOK entry and nothing else.
    let booked: HashSet<String> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| b["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    let new_bookings = 3 + 10 + 5 + 1;
    assert_eq!(booked.len(), new_bookings);
    for id in &booked {
        let (s, b) = app.get(&format!("/appointments/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["data"]["status"], "PENDING", "{b}");
        assert_eq!(history(&app, id).await, ["BOOK"]);
    }
    // Refusals left nothing: exactly one appointment, audit row and access record per new
    // booking, the outbox rows the BOOK action triggers, and one key per keyed booking.
    let per_book = app
        .count_rows("outbox_actions WHERE action = 'BOOK' AND email")
        .await;
    let after = counts(&app).await;
    let n = i64::try_from(new_bookings).unwrap();
    let grew: Vec<i64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    assert_eq!(grew, [n, n, n, n * per_book, 6]);
    // Seats match the live appointments and never exceed the capacity.
    for (slot, seats) in [(&small, 3), (&roomy, 10), (&other, 6)] {
        let view = app.slot_view(&doctor, slot).await;
        assert_eq!(view["current_bookings"], seats, "{view}");
        assert_eq!(app.live_on_slot(&doctor, slot).await, seats);
    }
}

/// A booking refused after it expired an overdue hold on its slot keeps that expiry: in a
/// group, its savepoint is released, not rolled back, while its neighbours' successes commit.
/// (SQLite only: how PostgreSQL's one-statement booking treats an overdue hold on a refused
/// booking is its own business.)
async fn refusal_keeps_the_expiry_it_made(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "09:00", 1).await;
    let roomy = app.slot(&doctor, 2, "10:00", 20).await;
    let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let lapsed = b["data"]["id"].as_str().unwrap().to_owned();
    app.expire_hold(&lapsed).await;
    // Only refused bookings touch the slot of the overdue hold; others succeed beside them.
    let others = join_all((0..10).map(|_| app.patient())).await;
    let mut requests = Vec::new();
    for p in &others {
        requests.push(req(&uuid::Uuid::new_v4().to_string(), &doctor, &slot));
        requests.push(req(p, &doctor, &roomy));
    }
    let before = counts(&app).await;
    let results = burst(&app, &requests).await;
    assert_no_5xx(&results);
    for pair in results.chunks(2) {
        let (s, b) = &pair[0];
        assert_eq!((s.as_u16(), code(b)), (404, "NOT_FOUND"), "{b}");
        let (s, b) = &pair[1];
        assert_eq!(*s, StatusCode::CREATED, "{b}");
    }
    assert_eq!(history(&app, &lapsed).await, ["BOOK", "EXPIRE"]);
    let (_, b) = app.get(&format!("/appointments/{lapsed}")).await;
    assert_eq!(b["data"]["status"], "EXPIRED", "{b}");
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
    assert_eq!(app.slot_view(&doctor, &roomy).await["current_bookings"], 10);
    // Ten bookings, one EXPIRE entry (by the system: no access record).
    let after = counts(&app).await;
    let grew: Vec<i64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    assert_eq!(&grew[..3], [10, 11, 10]);
}

/// Bookings and a sweep of more overdue holds than one sweeper transaction takes, at once:
/// every overdue hold is expired once with its seat back, and every booking commits.
async fn sweep_in_small_transactions_interleaves_with_bookings(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "09:00", 200).await;
    let patients = join_all((0..133).map(|_| app.patient())).await;
    let mut holds = Vec::new();
    for chunk in patients.chunks(40) {
        let reqs: Vec<Req> = chunk.iter().map(|p| req(p, &doctor, &slot)).collect();
        for (s, b) in burst(&app, &reqs).await {
            assert_eq!(s, StatusCode::CREATED, "{b}");
            holds.push(b["data"]["id"].as_str().unwrap().to_owned());
        }
    }
    app.expire_holds(&holds).await;
    let other = app.slot(&doctor, 3, "10:00", 60).await;
    let bookers = join_all((0..40).map(|_| app.patient())).await;
    let reqs: Vec<Req> = bookers.iter().map(|p| req(p, &doctor, &other)).collect();
    let (results, swept) = tokio::join!(burst(&app, &reqs), async {
        sweep_once(&*app.store).await.expect("sweep")
    });
    assert_no_5xx(&results);
    assert!(results.iter().all(|(s, _)| *s == StatusCode::CREATED));
    assert_eq!(swept, 133);
    assert_eq!(sweep_once(&*app.store).await.expect("sweep"), 0);
    for id in holds.iter().step_by(11) {
        assert_eq!(history(&app, id).await, ["BOOK", "EXPIRE"]);
    }
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
    assert_eq!(app.slot_view(&doctor, &other).await["current_bookings"], 40);
}

/// The hold cap holds inside a group: a patient capped at two holds who books six slots at
/// once gets two.
async fn hold_cap_inside_a_group(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.booking.max_pending_holds = Some(2)).await;
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let mut slots = Vec::new();
    for h in 9..15 {
        slots.push(app.slot(&doctor, 2, &format!("{h:02}:00"), 5).await);
    }
    let reqs: Vec<Req> = slots.iter().map(|s| req(&patient, &doctor, s)).collect();
    let results = burst(&app, &reqs).await;
    assert_no_5xx(&results);
    let mut tally: HashMap<(u16, &str), usize> = HashMap::new();
    for (s, b) in &results {
        *tally.entry((s.as_u16(), code(b))).or_default() += 1;
    }
    assert_eq!(tally.get(&(201, "")), Some(&2), "{tally:?}");
    assert_eq!(tally.get(&(409, "HOLD_LIMIT")), Some(&4), "{tally:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_keeps_the_expiry_it_made_sqlite() {
    refusal_keeps_the_expiry_it_made(TestApp::spawn(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_cap_inside_a_group_sqlite() {
    hold_cap_inside_a_group(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_cap_inside_a_group_postgres() {
    hold_cap_inside_a_group(Backend::Postgres).await;
}

backends!(
    mixed_burst_commits_each_success_and_nothing_of_each_refusal,
    sweep_in_small_transactions_interleaves_with_bookings,
);
