//! Races that break a wrong implementation: overbooking, double booking, lost transitions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use carebook::jobs::expiry::sweep_once;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::TestApp;

/// Sends all requests at once and returns (status, body) in order.
async fn burst(app: &TestApp, requests: Vec<(String, Value)>) -> Vec<(StatusCode, Value)> {
    let calls = requests.into_iter().map(|(path, body)| {
        let req = app.client.post(format!("{}{path}", app.base)).json(&body);
        async move {
            let res = req.send().await.expect("request");
            let status = res.status();
            (status, res.json::<Value>().await.expect("JSON body"))
        }
    });
    join_all(calls).await
}

fn tally(results: &[(StatusCode, Value)]) -> HashMap<(u16, String), usize> {
    let mut t = HashMap::new();
    for (s, b) in results {
        let code = b["error"]["code"].as_str().unwrap_or("").to_owned();
        *t.entry((s.as_u16(), code)).or_default() += 1;
    }
    t
}

pub(crate) fn assert_no_5xx(results: &[(StatusCode, Value)]) {
    let bad: Vec<_> = results
        .iter()
        .filter(|(s, _)| s.is_server_error())
        .collect();
    assert!(bad.is_empty(), "server errors: {bad:?}");
}

async fn sixty_patients_race_for_five_seats(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 5).await;
    let patients = join_all((0..60).map(|_| app.patient())).await;
    let requests = patients
        .iter()
        .map(|p| {
            (
                "/appointments".to_owned(),
                json!({"patient_id": p, "doctor_id": doctor, "time_slot_id": slot}),
            )
        })
        .collect();
    let results = burst(&app, requests).await;
    assert_no_5xx(&results);
    let t = tally(&results);
    assert_eq!(t.get(&(201, String::new())), Some(&5), "{t:?}");
    assert_eq!(t.get(&(409, "SLOT_UNAVAILABLE".into())), Some(&55), "{t:?}");
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        (view["current_bookings"].as_i64(), view["status"].as_str()),
        (Some(5), Some("BOOKED"))
    );
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 5);
}

async fn thirty_identical_requests_book_once(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 10).await;
    let patient = app.patient().await;
    let body = json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot});
    let results = burst(&app, vec![("/appointments".to_owned(), body); 30]).await;
    assert_no_5xx(&results);
    let t = tally(&results);
    assert_eq!(t.get(&(201, String::new())), Some(&1), "{t:?}");
    assert_eq!(t.get(&(409, "ALREADY_BOOKED".into())), Some(&29), "{t:?}");
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 1);
}

async fn confirm_races_cancel(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 20).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    let requests = ids
        .iter()
        .flat_map(|a| {
            [
                (format!("/appointments/{a}/confirm"), Value::Null),
                (
                    format!("/appointments/{a}/cancel"),
                    json!({"reason": "race"}),
                ),
            ]
        })
        .collect();
    let results = burst(&app, requests).await;
    assert_no_5xx(&results);
    for (n, a) in ids.iter().enumerate() {
        let (confirm, cancel) = (&results[2 * n], &results[2 * n + 1]);
        assert_eq!(
            cancel.0,
            StatusCode::OK,
            "cancel always wins in the end: {:?}",
            cancel.1
        );
        let (_, b) = app.get(&format!("/appointments/{a}")).await;
        assert_eq!(b["data"]["status"], "CANCELLED");
        let (_, h) = app.get(&format!("/appointments/{a}/history")).await;
        let actions: Vec<_> = h["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        if confirm.0 == StatusCode::OK {
            assert_eq!(actions, ["BOOK", "CONFIRM", "CANCEL"]);
        } else {
            assert_eq!(
                confirm.1["error"]["code"], "INVALID_TRANSITION",
                "{:?}",
                confirm.1
            );
            assert_eq!(actions, ["BOOK", "CANCEL"]);
        }
    }
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 0);
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 0);
}

async fn double_cancel_releases_one_seat(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 3).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, b) = app.book(&app.patient().await, &doctor, &slot).await;
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    let results = burst(
        &app,
        (0..10)
            .map(|_| (format!("/appointments/{}/cancel", ids[0]), Value::Null))
            .collect(),
    )
    .await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "{results:?}"
    );
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 2);
    let (_, h) = app.get(&format!("/appointments/{}/history", ids[0])).await;
    assert_eq!(
        h["data"].as_array().unwrap().len(),
        2,
        "one BOOK, one CANCEL"
    );
}

async fn confirm_races_the_sweeper_at_expiry(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 30).await;
    let patients = join_all((0..30).map(|_| app.patient())).await;
    let mut ids = Vec::new();
    for p in &patients {
        let (s, b) = app.book(p, &doctor, &slot).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    // A third of the holds are overdue, a third lapse one by one while the burst runs (every
    // 10 ms from 5 ms on), a third keep their five minutes. Sweeps run until every confirm is
    // answered.
    let (overdue, rest) = ids.split_at(10);
    let (lapsing, fresh) = rest.split_at(10);
    app.expire_holds(overdue).await;
    let lapse: Vec<_> = (0..)
        .zip(lapsing)
        .map(|(i, a)| (a.as_str(), chrono::Duration::milliseconds(5 + 10 * i)))
        .collect();
    app.move_expiries(&lapse).await;
    let answered = AtomicBool::new(false);
    let confirms = async {
        let results = burst(
            &app,
            ids.iter()
                .map(|a| (format!("/appointments/{a}/confirm"), Value::Null))
                .collect(),
        )
        .await;
        answered.store(true, Ordering::Release);
        results
    };
    let sweeps = async {
        let mut swept = 0;
        while !answered.load(Ordering::Acquire) {
            swept += sweep_once(&*app.store).await.expect("sweep");
            tokio::task::yield_now().await;
        }
        swept
    };
    let (results, swept) = tokio::join!(confirms, sweeps);
    assert_no_5xx(&results);
    let outcome = |a: &String| &results[ids.iter().position(|x| x == a).unwrap()];
    for a in overdue {
        let (s, b) = outcome(a);
        assert_eq!(b["error"]["code"], "HOLD_EXPIRED", "overdue hold: {s} {b}");
    }
    for a in fresh {
        let (s, b) = outcome(a);
        assert_eq!(*s, StatusCode::OK, "unexpired hold: {b}");
    }
    let expired = results.iter().filter(|(s, _)| !s.is_success()).count();
    assert!(
        swept as usize <= expired,
        "swept {swept}, expired {expired}"
    );
    // Later still, every hold is past its expiry: the sweeper must find nothing left to do.
    app.expire_holds(&ids).await;
    assert_eq!(sweep_once(&*app.store).await.expect("final sweep"), 0);
    let mut confirmed = 0;
    for ((status, body), a) in results.iter().zip(&ids) {
        let (_, b) = app.get(&format!("/appointments/{a}")).await;
        let final_status = b["data"]["status"].as_str().unwrap().to_owned();
        let (_, h) = app.get(&format!("/appointments/{a}/history")).await;
        let actions: Vec<_> = h["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        if *status == StatusCode::OK {
            confirmed += 1;
            assert_eq!(final_status, "CONFIRMED");
            assert_eq!(actions, ["BOOK", "CONFIRM"]);
        } else {
            assert_eq!(body["error"]["code"], "HOLD_EXPIRED", "{body}");
            assert_eq!(final_status, "EXPIRED");
            assert_eq!(actions, ["BOOK", "EXPIRE"]);
        }
    }
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(view["current_bookings"].as_i64(), Some(confirmed));
    assert_eq!(app.live_on_slot(&doctor, &slot).await as i64, confirmed);
}

async fn concurrent_retries_with_one_idempotency_key_replay(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 10).await;
    let patient = app.patient().await;
    let body = json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot});
    let calls = (0..30).map(|_| {
        let req = app
            .client
            .post(format!("{}/appointments", app.base))
            .header("Idempotency-Key", "retry-storm")
            .json(&body);
        async move {
            let res = req.send().await.expect("request");
            (res.status(), res.json::<Value>().await.expect("JSON body"))
        }
    });
    let results = join_all(calls).await;
    assert_no_5xx(&results);
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::CREATED),
        "{results:?}"
    );
    let first = &results[0].1["data"]["id"];
    assert!(results.iter().all(|(_, b)| &b["data"]["id"] == first));
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 1);
}

/// Full batches of slots for several doctors at once, each doctor's one after another: each
/// batch is one transaction, and none may fail another (batches read back slot by slot had
/// their predicate locks promoted to the whole table under SERIALIZABLE, and concurrent ones
/// failed each other until their retries ran out: 503).
async fn batches_of_slots_for_different_doctors_all_commit(app: TestApp) {
    const BATCH: i64 = 1000;
    let mut doctors = Vec::new();
    for _ in 0..8 {
        doctors.push(app.doctor().await);
    }
    let runs = doctors.iter().map(|doctor| {
        let app = &app;
        async move {
            let mut results = Vec::new();
            for batch in 0..3 {
                let day = crate::slots::day(3 + batch);
                let slots: Vec<Value> = (0..BATCH)
                    .map(|minute| {
                        let time = format!("{:02}:{:02}", minute / 60, minute % 60);
                        json!({"slot_date": day, "slot_time": time})
                    })
                    .collect();
                let path = format!("/doctors/{doctor}/time-slots/bulk");
                results.extend(burst(app, vec![(path, json!({ "slots": slots }))]).await);
            }
            results
        }
    });
    let results: Vec<_> = join_all(runs).await.into_iter().flatten().collect();
    assert_no_5xx(&results);
    let made = |b: &Value| b["data"]["created"].as_array().map(Vec::len);
    assert!(
        results
            .iter()
            .all(|(s, b)| *s == StatusCode::CREATED && made(b) == Some(BATCH as usize)),
        "{:?}",
        tally(&results)
    );
}

backends!(
    concurrent_retries_with_one_idempotency_key_replay,
    sixty_patients_race_for_five_seats,
    thirty_identical_requests_book_once,
    confirm_races_cancel,
    double_cancel_releases_one_seat,
    confirm_races_the_sweeper_at_expiry,
    batches_of_slots_for_different_doctors_all_commit,
);
