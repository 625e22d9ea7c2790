//! Killing carebook (SIGKILL) between a booking's commit and its delivery loses nothing: the
//! next process delivers the e-mail and the webhook, once each.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::smtp::SmtpSink;
use crate::common::{Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::webhooks::Receiver;

/// A `carebook serve` process of the test's own on the app's database.
struct Process {
    child: Child,
    base: String,
}

impl Process {
    /// Starts carebook on a free port with e-mail to `smtp` and the outbox polled every
    /// `poll_ms`; returns once it answers `/health`.
    async fn start(app: &TestApp, smtp: &str, poll_ms: u64) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_carebook"))
            .arg("serve")
            .env("DATABASE_URL", app.db_url())
            .env_remove("DB_HOST")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("METRICS_ADDR", "off")
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SMTP_URL", smtp)
            .env("WEBHOOK_ALLOW_PRIVATE", "true")
            .env("WEBHOOK_ALLOW_HTTP", "true")
            .env("CAREBOOK_MASTER_KEY", crate::common::TEST_MASTER_KEY_BASE64)
            .env("OUTBOX_POLL_INTERVAL_MS", poll_ms.to_string())
            .env("DB_POOL_SIZE", "4")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start carebook");
        // Owned at once, so a failed start still kills and reaps it (Drop).
        let process = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/health", process.base)).send().await {
                if r.status() == StatusCode::OK {
                    return process;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("carebook did not start");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn nothing_is_lost_when_carebook_is_killed(app: TestApp) {
    let sink = SmtpSink::start().await;
    let receiver = Receiver::start(&[]).await;
    let (s, b) = app
        .post(
            "/webhooks",
            json!({"url": receiver.url, "events": ["appointment.booked"], "secret": "a secret of twenty-four bytes+"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 3, "09:30", 1).await;

    // The first process would poll the outbox an hour after its start: the booking
    // commits, and the process dies before anything is delivered.
    let mut first = Process::start(&app, &sink.url(), 3_600_000).await;
    let booked = app
        .anon
        .post(format!("{}/api/appointments", first.base))
        .bearer_auth(&app.token)
        .json(&json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}))
        .send()
        .await
        .expect("book");
    assert_eq!(booked.status(), StatusCode::CREATED);
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reap");
    assert!(sink.received().is_empty());
    assert!(receiver.got().is_empty());

    let _second = Process::start(&app, &sink.url(), 100).await;
    let mails = sink.wait_for(1, Duration::from_secs(30)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receiver.got().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every row settled delivered: a delivered row is never claimed again, so "once" holds
    // from here on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, b) = app.get("/outbox?limit=100").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let rows = b["data"].as_array().unwrap().clone();
        if rows.len() == 2 && rows.iter().all(|r| r["status"] == "delivered") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mails.len(), 1);
    assert_eq!(sink.received().len(), 1);
    assert_eq!(receiver.got().len(), 1);
    assert_eq!(receiver.got()[0].json()["type"], "appointment.booked");
}

/// The app with private webhook URLs allowed (the receiver is on loopback).
async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.notify.webhook_allow_private = true).await
}

mod nothing_is_lost {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        nothing_is_lost_when_carebook_is_killed(app(Backend::Postgres).await).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        nothing_is_lost_when_carebook_is_killed(app(Backend::Sqlite).await).await
    }
}
