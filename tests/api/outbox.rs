//! The transactional outbox: every audited change queues its deliveries in its own
//! transaction, claims are exclusive and in order per appointment, leases run out, failures
//! back off and die, admins see and retry them, and reminders are queued once.

use std::collections::HashSet;

use carebook::config::NotifySettings;
use carebook::domain::outbox::{Claimed, Settlement};
use carebook::notify::{reminders, worker, Channels};
use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, TestApp};
use crate::reschedule::booked;

/// The worker's channels with e-mail off and no private webhooks.
fn channels() -> Channels {
    Channels::from_settings(&NotifySettings::default(), crate::common::test_vault())
        .expect("channels")
}

async fn outbox(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, b) = app.get(&format!("/outbox?limit=100{query}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().expect("rows").clone()
}

fn events_of<'a>(rows: &'a [Value], appointment: &str) -> Vec<&'a str> {
    let mut mine: Vec<&Value> = rows
        .iter()
        .filter(|r| r["appointment_id"] == appointment)
        .collect();
    mine.sort_by_key(|r| r["id"].as_i64());
    mine.iter().map(|r| r["event"].as_str().unwrap()).collect()
}

async fn confirm(app: &TestApp, id: &str) {
    let (s, b) = app
        .post(&format!("/appointments/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn every_audited_change_queues_its_events(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "10:00", 1).await;
    let first = booked(&app, &app.patient().await, &doctor, &slot).await;
    confirm(&app, &first).await;
    let (s, b) = app
        .post(
            &format!("/appointments/{first}/cancel"),
            json!({"reason": "cannot come"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let second = booked(&app, &app.patient().await, &doctor, &slot).await;
    app.expire_hold(&second).await;
    carebook::jobs::expiry::sweep_once(&*app.store)
        .await
        .expect("sweep");
    let visit = app.slot(&doctor, 4, "10:00", 2).await;
    let (third, fourth) = (
        booked(&app, &app.patient().await, &doctor, &visit).await,
        booked(&app, &app.patient().await, &doctor, &visit).await,
    );
    confirm(&app, &third).await;
    confirm(&app, &fourth).await;
    app.start_slot(&visit).await;
    for (id, action) in [(&third, "complete"), (&fourth, "no-show")] {
        let (s, b) = app
            .post(&format!("/appointments/{id}/{action}"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{action}: {b}");
    }

    let rows = outbox(&app, "").await;
    assert_eq!(
        events_of(&rows, &first),
        [
            "appointment.booked",
            "appointment.confirmed",
            "appointment.cancelled"
        ],
        "{rows:?}"
    );
    // Every change is told to the patient, even with no webhook subscribed.
    assert_eq!(
        events_of(&rows, &second),
        ["appointment.booked", "appointment.expired"],
        "{rows:?}"
    );
    for (id, last) in [
        (&third, "appointment.completed"),
        (&fourth, "appointment.no_show"),
    ] {
        let told = events_of(&rows, id);
        assert_eq!(
            told,
            ["appointment.booked", "appointment.confirmed", last],
            "{rows:?}"
        );
    }
    assert!(rows
        .iter()
        .all(|r| r["status"] == "pending" && r["channel"] == "email" && r["attempts"] == 0));
    // One e-mail row per e-mailing audit entry, nothing else.
    let audited = app
        .count_rows(
            "appointment_audit_log l JOIN outbox_actions a ON a.action = l.action WHERE a.email",
        )
        .await;
    assert_eq!(audited, app.count_rows("outbox").await);

    // E-mail off: the worker settles them skipped, and nothing stays pending.
    let step = worker::deliver_once(&*app.store, &channels(), &NotifySettings::default())
        .await
        .expect("step");
    assert_eq!(step.skipped, 4, "the first of each appointment: {step:?}");
    while worker::deliver_once(&*app.store, &channels(), &NotifySettings::default())
        .await
        .expect("step")
        .skipped
        > 0
    {}
    assert!(outbox(&app, "&status=pending").await.is_empty());
    let skipped = outbox(&app, "&status=skipped").await;
    assert_eq!(skipped.len(), 11, "{skipped:?}");
    assert!(skipped
        .iter()
        .all(|r| r["last_error"].as_str().unwrap().contains("SMTP_URL")));
}

async fn a_refused_change_queues_nothing(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "11:00", 1).await;
    booked(&app, &app.patient().await, &doctor, &slot).await;
    let before = app.count_rows("outbox").await;
    let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");
    assert_eq!(app.count_rows("outbox").await, before);
}

fn ids(claimed: &[Claimed]) -> HashSet<i64> {
    claimed.iter().map(|c| c.item.id).collect()
}

async fn claims_are_exclusive_and_in_order(app: TestApp) {
    let doctor = app.doctor().await;
    let mut appointments = Vec::new();
    for i in 0..8 {
        let slot = app.slot(&doctor, 4, &format!("{:02}:00", 8 + i), 1).await;
        let id = booked(&app, &app.patient().await, &doctor, &slot).await;
        confirm(&app, &id).await;
        appointments.push(id);
    }
    let other = app.another_instance().await;
    let (a, b) = tokio::join!(
        app.store.claim_outbox(100, 60),
        other.store.claim_outbox(100, 60)
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    assert!(ids(&a).is_disjoint(&ids(&b)), "one row claimed twice");
    let first: Vec<&Claimed> = a.iter().chain(&b).collect();
    // Only the earliest event of each appointment: its confirmation waits for it.
    assert_eq!(first.len(), 8);
    assert!(first.iter().all(|c| c.item.event == "appointment.booked"));
    assert!(app.store.claim_outbox(100, 60).await.unwrap().is_empty());
    let facts = first[0].facts.as_ref().expect("facts");
    assert!(appointments.contains(&facts.appointment_id.to_string()));
    assert_eq!(facts.doctor_timezone, "UTC");
    assert!(facts.patient_email.contains('@'));
    assert!(facts.ends_at > facts.starts_at);

    // Each worker settles its step in one call; a row under the other's lease is left alone.
    let (mine, theirs) = if a.is_empty() { (&b, &a) } else { (&a, &b) };
    let mut batch: Vec<(i64, Settlement)> = mine
        .iter()
        .map(|c| (c.item.id, Settlement::Delivered))
        .collect();
    if let Some(foreign) = theirs.first() {
        batch.push((foreign.item.id, Settlement::Dead("not mine".into())));
    }
    let done = app
        .store
        .settle_outbox_all(mine[0].lease, &batch)
        .await
        .unwrap();
    assert_eq!(done, mine.len() as u64, "only rows under the lease settle");
    if !theirs.is_empty() {
        let rows: Vec<(i64, Settlement)> = theirs
            .iter()
            .map(|c| (c.item.id, Settlement::Delivered))
            .collect();
        let done = other
            .store
            .settle_outbox_all(theirs[0].lease, &rows)
            .await
            .unwrap();
        assert_eq!(done, theirs.len() as u64);
    }
    assert_eq!(outbox(&app, "&status=delivered").await.len(), 8);
    let next = app.store.claim_outbox(100, 60).await.unwrap();
    assert_eq!(next.len(), 8);
    assert!(next.iter().all(|c| c.item.event == "appointment.confirmed"));
    // The SEQUENCE of a later event is higher.
    assert!(next[0].facts.as_ref().unwrap().sequence > facts.sequence - 1);
}

async fn a_lapsed_lease_frees_the_row(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "12:00", 1).await;
    booked(&app, &app.patient().await, &doctor, &slot).await;
    let lost = app.store.claim_outbox(10, 60).await.unwrap();
    assert_eq!(lost.len(), 1);
    // Leased: no one else takes it.
    assert!(app.store.claim_outbox(10, 60).await.unwrap().is_empty());
    // The worker died; its lease runs out.
    app.execute_raw(&lapse("lease_until", app.backend))
        .await
        .unwrap();
    let again = app.store.claim_outbox(10, 60).await.unwrap();
    assert_eq!(ids(&again), ids(&lost));
    assert_eq!(again[0].item.attempts, 2);
    // The dead worker's late settle changes nothing; the new owner's counts.
    let late = app
        .store
        .settle_outbox(lost[0].item.id, lost[0].lease, Settlement::Delivered)
        .await
        .unwrap();
    assert!(!late);
    let now = app
        .store
        .settle_outbox(again[0].item.id, again[0].lease, Settlement::Delivered)
        .await
        .unwrap();
    assert!(now);
    let rows = outbox(&app, "&status=delivered").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["delivered_at"].is_string());
}

/// SQL moving every outbox row's `column` an hour into the past.
fn lapse(column: &str, backend: crate::common::Backend) -> String {
    match backend {
        crate::common::Backend::Postgres => {
            format!("UPDATE outbox SET {column} = now() - interval '1 hour'")
        }
        crate::common::Backend::Sqlite => format!(
            "UPDATE outbox SET {column} = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hours')"
        ),
    }
}

/// An UPDATE moving `column` of every outbox row an hour ahead.
fn delay(column: &str, backend: crate::common::Backend) -> String {
    lapse(column, backend)
        .replace("now() - interval", "now() + interval")
        .replace("'-1 hours'", "'+1 hours'")
}

async fn failures_back_off_die_and_admins_retry(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "13:00", 1).await;
    booked(&app, &app.patient().await, &doctor, &slot).await;
    let c = app.store.claim_outbox(10, 60).await.unwrap().remove(0);
    let retry = Settlement::Retry {
        after_secs: 120,
        error: "connection refused".into(),
    };
    assert!(app
        .store
        .settle_outbox(c.item.id, c.lease, retry)
        .await
        .unwrap());
    // Not due before its time.
    assert!(app.store.claim_outbox(10, 60).await.unwrap().is_empty());
    let rows = outbox(&app, "&status=pending").await;
    assert_eq!(rows[0]["last_error"], "connection refused");
    app.execute_raw(&lapse("next_attempt_at", app.backend))
        .await
        .unwrap();
    let c = app.store.claim_outbox(10, 60).await.unwrap().remove(0);
    let dead = Settlement::Dead("refused for good".into());
    assert!(app
        .store
        .settle_outbox(c.item.id, c.lease, dead)
        .await
        .unwrap());
    let rows = outbox(&app, "&status=dead").await;
    assert_eq!((rows.len(), rows[0]["attempts"].as_i64()), (1, Some(2)));
    assert!(app.store.claim_outbox(10, 60).await.unwrap().is_empty());

    let id = rows[0]["id"].as_i64().unwrap();
    let (s, b) = app.post(&format!("/outbox/{id}/retry"), Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["data"]["status"].as_str(), b["data"]["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    // A pending row waiting for its next attempt is made due now.
    app.execute_raw(&delay("next_attempt_at", app.backend))
        .await
        .unwrap();
    assert!(app.store.claim_outbox(10, 60).await.unwrap().is_empty());
    let (s, b) = app.post(&format!("/outbox/{id}/retry"), Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "pending", "{b}");
    let (s, b) = app.post("/outbox/987654321/retry", Value::Null).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app.post("/outbox/x/retry", Value::Null).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = app.get("/outbox?status=lost").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // Any case; an empty filter is no filter.
    assert_eq!(outbox(&app, "&status=PENDING").await.len(), 1);
    let all = outbox(&app, "").await.len();
    assert!(all >= 1);
    assert_eq!(outbox(&app, "&status=").await.len(), all);
    assert_eq!(app.store.claim_outbox(10, 60).await.unwrap().len(), 1);
}

async fn only_admins_see_the_outbox(app: TestApp) {
    let patient = app.sign_up().await;
    let (s, b) = app
        .as_user(&patient, Method::GET, "/outbox", Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let scheduler = app.account("scheduler", None).await;
    let (s, b) = app
        .as_user(&scheduler, Method::POST, "/outbox/1/retry", Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let (s, b) = app.call_as(None, Method::GET, "/outbox", Value::Null).await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
}

async fn reminders_are_queued_once_per_lead_time(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 5, "09:00", 2).await;
    let id = booked(&app, &app.patient().await, &doctor, &slot).await;
    confirm(&app, &id).await;
    let pending = booked(&app, &app.patient().await, &doctor, &slot).await;
    let hours = [24, 2];
    // Five days out: nothing yet.
    assert_eq!(
        reminders::remind_once(&*app.store, &hours).await.unwrap(),
        0
    );
    app.move_slot_start(&slot, Duration::hours(23)).await;
    assert_eq!(
        reminders::remind_once(&*app.store, &hours).await.unwrap(),
        1
    );
    assert_eq!(
        reminders::remind_once(&*app.store, &hours).await.unwrap(),
        0
    );
    app.move_slot_start(&slot, Duration::minutes(90)).await;
    assert_eq!(
        reminders::remind_once(&*app.store, &hours).await.unwrap(),
        1
    );
    assert_eq!(
        reminders::remind_once(&*app.store, &hours).await.unwrap(),
        0
    );
    let rows = outbox(&app, "").await;
    let reminders: Vec<&Value> = rows
        .iter()
        .filter(|r| r["event"] == "appointment.reminder")
        .collect();
    assert_eq!(reminders.len(), 2, "{rows:?}");
    // Only the confirmed appointment is reminded.
    assert!(reminders.iter().all(|r| r["appointment_id"] == id.as_str()));
    assert!(events_of(&rows, &pending)
        .iter()
        .all(|e| *e != "appointment.reminder"));
}

backends!(
    every_audited_change_queues_its_events,
    a_refused_change_queues_nothing,
    claims_are_exclusive_and_in_order,
    a_lapsed_lease_frees_the_row,
    failures_back_off_die_and_admins_retry,
    only_admins_see_the_outbox,
    reminders_are_queued_once_per_lead_time
);
