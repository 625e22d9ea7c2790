//! Serialization retries on different rows do not run out: 64 clients on a pool of 64, with the
//! shipped hold cap, book one-seat slots of their own (each booking for a patient of its own,
//! every other one with an `Idempotency-Key`), then confirm three holds in four and cancel the
//! fourth, and get no 5xx. Bookings of distinct slots no longer conflict through the seat and
//! hold counts or the audit and idempotency foreign keys (migrations 0005-0007), so their
//! retries stay far below the three per booking measured before; transitions still conflict
//! (see BENCHMARKS.md), and their retries are printed, not bounded.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backpressure::book;
use crate::common::cluster::Cluster;
use crate::common::TestApp;
use crate::lock_hold::one_seat_slots;

const CLIENTS: usize = 64;
const BOOKINGS_PER_CLIENT: usize = 40;
const BOOKINGS: usize = CLIENTS * BOOKINGS_PER_CLIENT;
/// Clients per doctor: each doctor's calendar is shared by a few clients, never a slot.
const CLIENTS_PER_DOCTOR: usize = 4;

/// One client's share: its doctor, and (slot, patient) pairs.
struct Work {
    doctor: String,
    bookings: Vec<(String, String)>,
}

/// The sum of a metric's samples whose line contains `label` (all of them when empty).
fn sum(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The retry counters now: (all retries, retries exhausted).
async fn retries(app: &TestApp) -> (f64, f64) {
    let res = app.anon.get(&app.metrics).send().await.expect("scrape");
    let text = res.text().await.expect("metrics");
    (
        sum(&text, "carebook_db_retries_total", ""),
        sum(
            &text,
            "carebook_db_transactions_total",
            r#"outcome="retries_exhausted""#,
        ),
    )
}

/// Books `slot` for `patient`, with a fresh `Idempotency-Key` when `keyed`.
async fn book_once(
    app: &TestApp,
    doctor: &str,
    patient: &str,
    slot: &str,
    keyed: bool,
) -> (StatusCode, Value) {
    let mut req = app.client.post(format!("{}/appointments", app.base));
    if keyed {
        req = req.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    }
    let body = json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot});
    let res = req.json(&body).send().await.expect("book");
    (res.status(), res.json().await.expect("JSON body"))
}

/// Books each pair in turn, every other one with an `Idempotency-Key`; returns the appointment
/// ids and every answer that was not 201.
async fn book_all(app: &TestApp, w: &Work) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut wrong) = (Vec::new(), Vec::new());
    for (i, (slot, patient)) in w.bookings.iter().enumerate() {
        match book_once(app, &w.doctor, patient, slot, i % 2 == 0).await {
            (StatusCode::CREATED, b) => ids.push(b["data"]["id"].as_str().unwrap().to_owned()),
            (s, b) => wrong.push(format!("book {s}: {b}")),
        }
    }
    (ids, wrong)
}

/// Confirms three holds in four and cancels the fourth; returns every answer that was not 200.
async fn settle_all(app: &TestApp, ids: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let action = if i % 4 == 3 { "cancel" } else { "confirm" };
        let path = format!("/appointments/{id}/{action}");
        let (s, b) = app.post(&path, json!({})).await;
        if s != StatusCode::OK {
            wrong.push(format!("{action} {s}: {b}"));
        }
    }
    wrong
}

async fn setup(app: &TestApp) -> Vec<Work> {
    let mut patients = Vec::new();
    while patients.len() < BOOKINGS {
        patients.extend(join_all((0..32).map(|_| app.patient())).await);
    }
    let mut work = Vec::new();
    for _ in 0..CLIENTS / CLIENTS_PER_DOCTOR {
        let doctor = app.doctor().await;
        let slots = one_seat_slots(app, &doctor, CLIENTS_PER_DOCTOR * BOOKINGS_PER_CLIENT).await;
        for mine in slots.chunks(BOOKINGS_PER_CLIENT) {
            let bookings = mine.iter().cloned().zip(patients.drain(..mine.len()));
            work.push(Work {
                doctor: doctor.clone(),
                bookings: bookings.collect(),
            });
        }
    }
    work
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_slots_never_exhaust_serialization_retries_on_a_pool_of_64() {
    // A server of its own: SSI's bookkeeping is cluster-wide, and a long transaction of a
    // parallel test on the shared server (the minute-long lock hold, an import) fails most
    // bookings here however well they avoid each other (seen in CI: 2,555 of 2,560).
    let server = Cluster::primary_only(200).await;
    let app = TestApp::spawn_on(&server.primary_url(), |s| {
        s.pool_size = 64;
        // The shipped cap (MAX_PENDING_HOLDS_PER_PATIENT=3): its check is on the hot path.
        s.booking.max_pending_holds = Some(3);
    })
    .await;
    let work = setup(&app).await;

    let start = retries(&app).await;
    let booked = join_all(work.iter().map(|w| book_all(&app, w))).await;
    let after_booking = retries(&app).await;
    let ids: Vec<Vec<String>> = booked.iter().map(|b| b.0.clone()).collect();
    let mut wrong: Vec<String> = booked.into_iter().flat_map(|b| b.1).collect();
    wrong.extend(
        join_all(ids.iter().map(|i| settle_all(&app, i)))
            .await
            .concat(),
    );
    let end = retries(&app).await;
    let booking_retries = after_booking.0 - start.0;
    eprintln!(
        "{BOOKINGS} bookings: {booking_retries} retries; {BOOKINGS} confirms and cancels: {} \
         retries; {} exhausted",
        end.0 - after_booking.0,
        end.1 - start.1,
    );
    assert!(
        wrong.is_empty(),
        "{} failed: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(end.1 - start.1, 0.0, "retries exhausted");
    // Bookings of distinct slots by distinct patients share no row. Before migrations 0005-0007
    // each booking was retried about three times (6,774 retries here); after them none is (0 in
    // every run but those beside a long SERIALIZABLE transaction elsewhere on the cluster: see
    // BENCHMARKS.md). The bound is loose so that it speaks of the cause, not of the machine.
    assert!(
        booking_retries < BOOKINGS as f64,
        "{booking_retries} retries"
    );

    // Every slot holds exactly its booking, unless it was cancelled; no hold is left pending.
    let kept = (BOOKINGS - BOOKINGS / 4) as i64;
    let live = "appointments WHERE status IN ('PENDING', 'CONFIRMED')";
    assert_eq!(app.count_rows(live).await, kept);
    let seats = "time_slots s, generate_series(1, s.current_bookings)";
    assert_eq!(app.count_rows(seats).await, kept);
    assert_eq!(app.count_rows("patients WHERE pending_holds <> 0").await, 0);
    let (w, other) = (&work[0], &work[1].bookings[0].1);
    let (s, _) = book(&app, other, &w.doctor, &w.bookings[0].0).await;
    assert_eq!(s, StatusCode::CONFLICT, "a taken one-seat slot");
}
