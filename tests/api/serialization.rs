//! Serialization retries on different rows do not run out: 64 clients on a pool of 64, each
//! booking its own slots as its own patient under the shipped hold cap, and confirming or
//! cancelling each hold, get no 5xx. The retries PostgreSQL still asked for are printed (and
//! recorded in BENCHMARKS.md); none may have been exhausted.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::backpressure::book;
use crate::common::{Backend, TestApp};
use crate::lock_hold::one_seat_slots;

const CLIENTS: usize = 64;
const BOOKINGS_PER_CLIENT: usize = 40;
/// Clients per doctor: each doctor's calendar is shared by a few clients, never a slot.
const CLIENTS_PER_DOCTOR: usize = 4;

/// The sum of a counter's samples whose label set contains `label` (all of them when empty).
fn counter(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Books each slot in turn, then confirms three holds in four and cancels the fourth; returns
/// every status that was not the expected 201 or 200.
async fn client(app: &TestApp, doctor: &str, patient: &str, slots: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        let (s, b) = app.book(patient, doctor, slot).await;
        if s != StatusCode::CREATED {
            wrong.push(format!("book {s}: {b}"));
            continue;
        }
        let id = b["data"]["id"].as_str().unwrap();
        let action = if i % 4 == 3 { "cancel" } else { "confirm" };
        let (s, b) = app
            .post(&format!("/appointments/{id}/{action}"), json!({}))
            .await;
        if s != StatusCode::OK {
            wrong.push(format!("{action} {s}: {b}"));
        }
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_slots_never_exhaust_serialization_retries_on_a_pool_of_64() {
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.pool_size = 64;
        // The shipped cap (MAX_PENDING_HOLDS_PER_PATIENT=3): its check is on the hot path.
        s.auth.max_pending_holds = Some(3);
    })
    .await;
    let mut work = Vec::new();
    for _ in 0..CLIENTS / CLIENTS_PER_DOCTOR {
        let d = app.doctor().await;
        let slots = one_seat_slots(&app, &d, CLIENTS_PER_DOCTOR * BOOKINGS_PER_CLIENT).await;
        for mine in slots.chunks(BOOKINGS_PER_CLIENT) {
            work.push((d.clone(), app.patient().await, mine.to_vec()));
        }
    }
    let before = app
        .anon
        .get(&app.metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wrong: Vec<String> = join_all(work.iter().map(|(d, p, s)| client(&app, d, p, s)))
        .await
        .concat();
    let after = app
        .anon
        .get(&app.metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let moved =
        |name: &str, label: &str| counter(&after, name, label) - counter(&before, name, label);
    eprintln!(
        "{} bookings and as many transitions: {} retries (40001: {}, 40P01: {}), {} exhausted",
        CLIENTS * BOOKINGS_PER_CLIENT,
        moved("carebook_db_retries_total", ""),
        moved("carebook_db_retries_total", r#"sqlstate="40001""#),
        moved("carebook_db_retries_total", r#"sqlstate="40P01""#),
        moved(
            "carebook_db_transactions_total",
            r#"outcome="retries_exhausted""#
        ),
    );
    assert!(
        wrong.is_empty(),
        "{} failed: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(
        moved(
            "carebook_db_transactions_total",
            r#"outcome="retries_exhausted""#
        ),
        0.0
    );
    // Every slot holds exactly its client's booking, unless it was cancelled.
    let kept = CLIENTS * BOOKINGS_PER_CLIENT * 3 / 4;
    let live = "appointments WHERE status IN ('PENDING', 'CONFIRMED')";
    assert_eq!(app.count_rows(live).await, kept as i64);
    let seats = app
        .count_rows("time_slots s, generate_series(1, s.current_bookings)")
        .await;
    assert_eq!(seats, kept as i64);
    // The hold counts on the patients' rows agree with the holds (all confirmed or cancelled).
    let counted = app.count_rows("patients WHERE pending_holds <> 0").await;
    assert_eq!(counted, 0);
    let (s, _) = book(&app, &work[0].1, &work[0].0, &work[1].2[0]).await;
    assert_eq!(s, StatusCode::CONFLICT, "a taken one-seat slot");
}
