//! A read replica (`DATABASE_READ_URL`), on a private primary with a streaming replica of its
//! own: pure reads come from the replica and lag it; writes, sign-in and the reads that decide
//! a write go to the primary and see a write at once. Replay on the replica is paused to make
//! the lag as long as the test needs, then resumed; every wait polls against a deadline.

use std::time::Duration;

use carebook::config::Secret;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use crate::common::cluster::{eventually, Cluster};
use crate::common::{Account, TestApp};

/// The longest a test waits for the replica to catch up.
const CATCH_UP: Duration = Duration::from_secs(30);

/// The app on the cluster's primary, reading from its replica; and the test database's URL on
/// the replica.
async fn app_on(cluster: &Cluster) -> (TestApp, String) {
    let (primary, replica) = (cluster.primary_url(), cluster.replica_url());
    let mut read_url = String::new();
    let app = TestApp::spawn_on(&primary, |s| {
        read_url = s.database_url.0.replacen(&primary, &replica, 1);
        s.database_read_url = Some(Secret(read_url.clone()));
        // These tests watch the replica through `available-slots`: no answers from memory.
        s.availability_cache = Duration::ZERO;
    })
    .await;
    (app, read_url)
}

/// A connection to the test database on the replica, once the replica has it.
async fn replica_connection(url: &str) -> PgConnection {
    eventually(CATCH_UP, "the test database on the replica", || async {
        PgConnection::connect(url).await.ok()
    })
    .await
}

/// The ids of a doctor's bookable slots, as the API lists them (from the replica).
async fn available(app: &TestApp, doctor: &str) -> Vec<String> {
    listed(app, doctor)
        .await
        .expect("the doctor on the replica")
}

/// [`available`], or `None` while the replica does not know the doctor yet. Asked by a visitor,
/// whose reads are never sent to the primary to show them their own writes.
async fn listed(app: &TestApp, doctor: &str) -> Option<Vec<String>> {
    let url = format!("{}/doctors/{doctor}/available-slots", app.base);
    let res = app.anon.get(url).send().await.expect("request");
    let s = res.status();
    let b: Value = res.json().await.expect("JSON body");
    if s == StatusCode::NOT_FOUND {
        return None;
    }
    assert_eq!(s, StatusCode::OK, "{b}");
    let slots = b["data"].as_array().expect("slots");
    Some(
        slots
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect(),
    )
}

/// Connections of the test database on `conn`'s server opened by `application_name`.
async fn sessions_of(conn: &mut PgConnection, application: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(application)
    .fetch_one(conn)
    .await
    .expect("pg_stat_activity")
}

/// Appointments of a slot on `conn`'s server.
async fn appointments_on(conn: &mut PgConnection, slot: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM appointments WHERE time_slot_id = $1::uuid")
        .bind(slot)
        .fetch_one(conn)
        .await
        .expect("count appointments")
}

async fn pause_replay(replica: &mut PgConnection) {
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&mut *replica)
        .await
        .expect("pause replay");
    let deadline = std::time::Instant::now() + CATCH_UP;
    loop {
        let state: String = sqlx::query_scalar("SELECT pg_get_wal_replay_pause_state()")
            .fetch_one(&mut *replica)
            .await
            .expect("pause state");
        if state == "paused" {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "replay still {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET /api/health/ready`: status and body.
/// `carebook_replica_lag_bytes` from the private `/metrics`.
async fn replica_lag_bytes(app: &TestApp) -> f64 {
    let text = app.anon.get(&app.metrics).send().await.expect("scrape");
    let text = text.text().await.expect("metrics text");
    let line = text
        .lines()
        .find(|l| l.starts_with("carebook_replica_lag_bytes "))
        .unwrap_or_else(|| panic!("no replica lag in /metrics: {text}"));
    line.rsplit(' ').next().unwrap().parse().expect("a number")
}

async fn ready(app: &TestApp) -> (StatusCode, Value) {
    let url = format!("{}/health/ready", app.base);
    let (s, _, b) = app.send(None, Method::GET, &url, Value::Null, &[]).await;
    (s, b)
}

/// A patient (signed up) books `slot`; returns the appointment.
async fn book_as(app: &TestApp, patient: &Account, doctor: &str, slot: &str) -> Value {
    let body = json!({"patient_id": patient.patient_id, "doctor_id": doctor, "time_slot_id": slot});
    let (s, b) = app
        .as_user(patient, Method::POST, "/appointments", body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pure_reads_come_from_the_replica_and_lag_it_while_writes_see_their_own() {
    let cluster = Cluster::start().await;
    let (app, read_url) = app_on(&cluster).await;
    let mut replica = replica_connection(&read_url).await;
    let mut primary = app.pg_connection().await;

    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "10:00", 1).await;
    let patient = app.sign_up().await;
    eventually(CATCH_UP, "the slot listed from the replica", || async {
        listed(&app, &doctor).await?.contains(&slot).then_some(())
    })
    .await;
    // Each pool on its server, told apart by `application_name`.
    assert!(sessions_of(&mut replica, "carebook-read").await > 0);
    assert_eq!(sessions_of(&mut replica, "carebook-write").await, 0);
    assert!(sessions_of(&mut primary, "carebook-write").await > 0);
    assert!(sessions_of(&mut primary, "carebook-read-primary").await > 0);
    assert_eq!(sessions_of(&mut primary, "carebook-read").await, 0);

    // From here the replica lags the primary for as long as the test wants.
    pause_replay(&mut replica).await;
    let booked = book_as(&app, &patient, &doctor, &slot).await;
    let id = booked["id"].as_str().expect("appointment id").to_owned();
    assert_eq!(booked["status"], "PENDING", "{booked}");
    assert_eq!(booked["time_slot_id"], slot.as_str(), "{booked}");
    assert_eq!(booked["patient_id"], json!(patient.patient_id), "{booked}");
    assert_eq!(appointments_on(&mut primary, &slot).await, 1);
    assert_eq!(appointments_on(&mut replica, &slot).await, 0);
    // `/metrics` shows how far behind the replica is.
    let lag = replica_lag_bytes(&app).await;
    assert!(lag > 0.0, "replica lag while replay is paused: {lag}");
    // The patient who booked reads their own write: their reads go to the primary until the
    // replica has replayed it.
    let mine = format!(
        "/appointments/patient/{}?status=PENDING",
        patient.patient_id.as_deref().expect("a patient account")
    );
    let (s, b) = app.as_user(&patient, Method::GET, &mine, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"][0]["id"], id.as_str(), "{b}");
    // Everyone else's pure reads answer what the replica has: the seat still looks free, the
    // booking unknown.
    assert!(available(&app, &doctor).await.contains(&slot));
    let (s, b) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    // What decides a write reads the primary: the patient may confirm what they just booked.
    let (s, b) = app
        .as_user(
            &patient,
            Method::POST,
            &format!("/appointments/{id}/confirm"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "CONFIRMED", "{b}");
    // A doctor registered a moment ago gets a slot, though the replica does not know them yet;
    // the staff member who registered them reads them back, a visitor does not yet.
    let newcomer = app.doctor().await;
    app.slot(&newcomer, 4, "11:00", 2).await;
    let (s, b) = app.get(&format!("/doctors/{newcomer}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let visitor = app.anon.get(format!("{}/doctors/{newcomer}", app.base));
    let visitor = visitor.send().await.expect("request").status();
    assert_eq!(visitor, StatusCode::NOT_FOUND);
    // Sign-up then sign-in at once: credentials come from the primary, and the new patient
    // reads their own record back though the replica does not have it yet.
    let newcomer_patient = app.sign_up().await;
    let own = newcomer_patient
        .patient_id
        .as_deref()
        .expect("a patient account");
    let (s, b) = app
        .as_user(
            &newcomer_patient,
            Method::GET,
            &format!("/patients/{own}"),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&mut replica)
        .await
        .expect("resume replay");
    // Replay resumes in commit order: the booking may show PENDING before its confirm does.
    eventually(
        CATCH_UP,
        "the confirmed booking read from the replica",
        || async {
            let (_, b) = app.get(&format!("/appointments/{id}")).await;
            (b["data"]["status"] == "CONFIRMED").then_some(())
        },
    )
    .await;
    // The staff member's reads may still come from the primary: a visitor's show the replica.
    eventually(CATCH_UP, "the taken seat read from the replica", || async {
        (!available(&app, &doctor).await.contains(&slot)).then_some(())
    })
    .await;
    eventually(CATCH_UP, "the newcomer read from the replica", || async {
        let visitor = app.anon.get(format!("{}/doctors/{newcomer}", app.base));
        let s = visitor.send().await.expect("request").status();
        (s == StatusCode::OK).then_some(())
    })
    .await;
    assert_eq!(appointments_on(&mut replica, &slot).await, 1);
    eventually(CATCH_UP, "the replica lag back to 0", || async {
        (replica_lag_bytes(&app).await == 0.0).then_some(())
    })
    .await;
    // A paged list (its page and total in one REPEATABLE READ snapshot) on the replica.
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replica_fails_pure_reads_with_503_and_nothing_else() {
    let cluster = Cluster::start().await;
    let (app, read_url) = app_on(&cluster).await;
    drop(replica_connection(&read_url).await);
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "10:00", 2).await;
    eventually(CATCH_UP, "the slot listed from the replica", || async {
        listed(&app, &doctor).await?.contains(&slot).then_some(())
    })
    .await;
    let (s, b) = ready(&app).await;
    assert_eq!(
        (s, &b["data"]["replica"]),
        (StatusCode::OK, &json!("up")),
        "{b}"
    );

    cluster.stop_replica().await;
    let url = format!("{}/doctors/{doctor}/available-slots", app.base);
    let (s, headers, b) = app
        .send(Some(&app.token), Method::GET, &url, Value::Null, &[])
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    // The primary still takes every write, and the reads that decide them.
    let patient = app.sign_up().await;
    let booked = book_as(&app, &patient, &doctor, &slot).await;
    let (s, b) = app
        .as_user(
            &patient,
            Method::POST,
            &format!("/appointments/{}/confirm", booked["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Ready, since writes work; the replica reported down.
    let (s, b) = ready(&app).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["data"]["database"], &b["data"]["replica"]),
        (&json!("up"), &json!("down")),
        "{b}"
    );
}
