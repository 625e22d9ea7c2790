//! Timeouts and back-pressure (PostgreSQL, where another session can hold a row lock): a
//! booking blocked on a lock is answered 503 with `Retry-After` within the lock timeout while
//! other slots keep booking, a pool of two under 64 clients answers only 201, 409 or 503, and no
//! request answered 503 leaves a committed change behind once the lock goes.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::common::{Backend, TestApp};

/// Books over HTTP; returns the status and whether `Retry-After` came with it.
pub(crate) async fn book(
    app: &TestApp,
    patient: &str,
    doctor: &str,
    slot: &str,
) -> (StatusCode, bool) {
    let res = app
        .client
        .post(format!("{}/appointments", app.base))
        .json(&json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}))
        .send()
        .await
        .expect("book");
    let retry = res.headers().contains_key("retry-after");
    (res.status(), retry)
}

/// Holds `slot`'s row `FOR UPDATE` in a transaction of another session until dropped.
pub(crate) async fn hold_row(app: &TestApp, slot: &str) -> sqlx::PgConnection {
    let mut holder = app.pg_connection().await;
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    let id: uuid::Uuid = slot.parse().unwrap();
    sqlx::query("SELECT 1 FROM time_slots WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut holder)
        .await
        .unwrap();
    holder
}

/// Live (PENDING or CONFIRMED) appointments on `slot`, counted in the database.
pub(crate) async fn live_bookings(app: &TestApp, slot: &str) -> i64 {
    app.count_rows(&format!(
        "appointments WHERE time_slot_id = '{slot}' AND status IN ('PENDING', 'CONFIRMED')"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_slot_answers_503_in_time_and_commits_nothing() {
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.db.lock = Duration::from_millis(300);
    })
    .await;
    let d = app.doctor().await;
    let locked = app.slot(&d, 2, "10:00", 5).await;
    let free = app.slot(&d, 2, "11:00", 5).await;
    let (p1, p2) = (app.patient().await, app.patient().await);
    let holder = hold_row(&app, &locked).await;

    let started = Instant::now();
    let blocked = book(&app, &p1, &d, &locked);
    let other = async {
        let t = Instant::now();
        let answer = book(&app, &p2, &d, &free).await;
        (answer, t.elapsed())
    };
    let ((status, retry_after), ((other_status, _), other_took)) = tokio::join!(blocked, other);
    let took = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after, "503 without Retry-After");
    // Answered after the lock timeout, far inside the 30 s request timeout.
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Another slot books meanwhile, without waiting for the lock.
    assert_eq!(other_status, StatusCode::CREATED);
    assert!(other_took < took, "{other_took:?} vs {took:?}");

    holder.close().await.unwrap();
    assert_eq!(
        live_bookings(&app, &locked).await,
        0,
        "a refused booking committed"
    );
    let seats = app
        .count_rows(&format!(
            "time_slots WHERE id = '{locked}' AND current_bookings = 0"
        ))
        .await;
    assert_eq!(seats, 1, "the seat count moved");
    // Once the lock is gone, the same booking goes through.
    assert_eq!(book(&app, &p1, &d, &locked).await.0, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_two_under_64_clients_answers_2xx_409_or_503_and_never_hangs() {
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.pool_size = 2;
        s.db.lock = Duration::from_millis(500);
        s.db.acquire = Duration::from_millis(500);
    })
    .await;
    let d = app.doctor().await;
    let locked = app.slot(&d, 3, "09:00", 100).await;
    let mut slots = Vec::new();
    for hour in 10..14 {
        slots.push(app.slot(&d, 3, &format!("{hour}:00"), 100).await);
    }
    let mut patients = Vec::new();
    for _ in 0..64 {
        patients.push(app.patient().await);
    }
    let holder = hold_row(&app, &locked).await;
    let started = Instant::now();
    let answers = join_all(patients.iter().enumerate().map(|(i, p)| {
        let slot = if i % 4 == 0 {
            &locked
        } else {
            &slots[i % slots.len()]
        };
        let (app, d) = (&app, &d);
        async move { (slot.clone(), book(app, p, d, slot).await) }
    }))
    .await;
    let took = started.elapsed();
    holder.close().await.unwrap();
    assert!(took < Duration::from_secs(25), "{took:?}");
    let mut created = std::collections::HashMap::<String, i64>::new();
    for (slot, (status, retry_after)) in &answers {
        match *status {
            StatusCode::CREATED => *created.entry(slot.clone()).or_default() += 1,
            StatusCode::SERVICE_UNAVAILABLE => assert!(retry_after, "503 without Retry-After"),
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    let refused = answers
        .iter()
        .filter(|(_, (s, _))| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(
        refused >= 1,
        "the locked slot's bookings should have been refused"
    );
    // After the lock goes, exactly the answered bookings exist.
    for slot in slots.iter().chain([&locked]) {
        let answered = created.get(slot).copied().unwrap_or(0);
        assert_eq!(live_bookings(&app, slot).await, answered, "slot {slot}");
        let seats = app
            .count_rows(&format!(
                "time_slots WHERE id = '{slot}' AND current_bookings = {answered}"
            ))
            .await;
        assert_eq!(seats, 1, "slot {slot}'s seat count");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_in_flight_requests_are_shed_at_once() {
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.max_in_flight = 2;
        s.db.lock = Duration::from_millis(3000);
    })
    .await;
    let d = app.doctor().await;
    // Two slots, each held by another session: bookings of one slot queue in the process
    // (only the first waits on the row), so two in flight at once need two slots.
    let locked = [
        app.slot(&d, 2, "10:00", 5).await,
        app.slot(&d, 2, "11:00", 5).await,
    ];
    let (p1, p2) = (app.patient().await, app.patient().await);
    let mut holders = [
        hold_row(&app, &locked[0]).await,
        hold_row(&app, &locked[1]).await,
    ];
    let blocked =
        join_all([(&p1, &locked[0]), (&p2, &locked[1])].map(|(p, s)| book(&app, p, &d, s)));
    let shed = async {
        // Wait until both bookings are queued on the row lock, then ask for anything.
        let waiting = "SELECT count(*) FROM pg_stat_activity \
                       WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let mut watcher = app.pg_connection().await;
        loop {
            let n: i64 = sqlx::query_scalar(waiting)
                .fetch_one(&mut watcher)
                .await
                .unwrap();
            if n >= 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        let res = app
            .client
            .get(format!("{}/doctors", app.base))
            .send()
            .await
            .unwrap();
        let answer = (
            res.status(),
            res.headers().contains_key("retry-after"),
            started.elapsed(),
        );
        let body: serde_json::Value = res.json().await.unwrap();
        // Release the lock: the queued bookings then go through.
        for holder in &mut holders {
            sqlx::query("ROLLBACK").execute(holder).await.unwrap();
        }
        (answer, body)
    };
    let (booked, ((status, retry_after, took), body)) = tokio::join!(blocked, shed);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert!(retry_after, "503 without Retry-After");
    assert!(took < Duration::from_secs(2), "shed after {took:?}");
    for (status, _) in booked {
        assert_eq!(status, StatusCode::CREATED);
    }
    // With the load gone, requests are served again.
    let (s, _) = app.get("/doctors").await;
    assert_eq!(s, StatusCode::OK);
}
