//! `/api/webhooks`: the routes, their validation and role, the SSRF rule, and deliveries to a
//! receiver the test runs on loopback, driven one worker step at a time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::Engine as _;
use carebook::config::NotifySettings;
use carebook::domain::outbox::OutboxStatus;
use carebook::domain::page::Page;
use carebook::notify::worker::{deliver_once, Step};
use carebook::notify::Channels;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, Backend, TestApp};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Recorder {
    got: Arc<Mutex<Vec<Delivery>>>,
    /// Statuses to answer, in order; 200 once they run out.
    answers: Arc<Mutex<VecDeque<u16>>>,
    /// A permit per answer when set: requests wait here until the test releases them.
    held: Option<Arc<tokio::sync::Semaphore>>,
}

/// A webhook receiver on 127.0.0.1, recording every request before it answers.
pub(crate) struct Receiver {
    pub(crate) url: String,
    rec: Recorder,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Receiver {
    pub(crate) async fn start(answers: &[u16]) -> Self {
        Self::serve(Recorder::default(), answers).await
    }

    /// A receiver that records each request and then holds it until [`Self::release`].
    async fn start_held() -> Self {
        let rec = Recorder {
            held: Some(Arc::new(tokio::sync::Semaphore::new(0))),
            ..Recorder::default()
        };
        Self::serve(rec, &[]).await
    }

    /// Lets `n` held requests be answered.
    fn release(&self, n: usize) {
        if let Some(held) = &self.rec.held {
            held.add_permits(n);
        }
    }

    async fn serve(rec: Recorder, answers: &[u16]) -> Self {
        async fn hook(State(rec): State<Recorder>, headers: HeaderMap, body: Bytes) -> AxumStatus {
            rec.got.lock().unwrap().push(Delivery { headers, body });
            if let Some(held) = &rec.held {
                held.acquire().await.unwrap().forget();
            }
            let code = rec.answers.lock().unwrap().pop_front().unwrap_or(200);
            AxumStatus::from_u16(code).unwrap()
        }
        rec.answers.lock().unwrap().extend(answers);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook?token=t1", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(rec.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            url,
            rec,
            _stop: stop,
        }
    }

    pub(crate) fn got(&self) -> Vec<Delivery> {
        self.rec.got.lock().unwrap().clone()
    }
}

const SECRET: &str = "a shared secret of the clinic";
const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// Subscribes `url` to `events` with `secret` as the admin; returns the webhook's id.
async fn subscribe(app: &TestApp, url: &str, events: &[&str], secret: &str) -> String {
    let (s, b) = app
        .post(
            "/webhooks",
            json!({"url": url, "events": events, "secret": secret}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// `DELETE /api/webhooks/{id}` as the admin: status and body (`Null` when empty).
async fn delete(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let url = format!("{}/webhooks/{id}", app.base);
    let (s, _, b) = app
        .send(Some(&app.token), Method::DELETE, &url, Value::Null, &[])
        .await;
    (s, b)
}

/// One worker step with the given SSRF setting.
async fn step(app: &TestApp, allow_private: bool) -> Step {
    let settings = NotifySettings {
        webhook_allow_private: allow_private,
        webhook_allow_http: true,
        ..NotifySettings::default()
    };
    let channels = Channels::from_settings(&settings, crate::common::test_vault()).unwrap();
    deliver_once(&*app.store, &channels, &settings)
        .await
        .expect("a worker step")
}

/// Makes every pending outbox row due now, as if its retry time had come.
async fn make_due(app: &TestApp) -> u64 {
    let sql = match app.backend {
        Backend::Postgres => "UPDATE outbox SET next_attempt_at = now() WHERE status = 'pending'",
        Backend::Sqlite => {
            "UPDATE outbox SET next_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
              WHERE status = 'pending'"
        }
    };
    app.execute_raw(sql).await.unwrap()
}

/// The webhook rows of the outbox in `status`.
async fn rows(app: &TestApp, status: OutboxStatus) -> Vec<carebook::domain::outbox::OutboxItem> {
    let page = Page::new(Some(100), None);
    let all = app.store.list_outbox(Some(status), page).await.unwrap();
    all.items
        .into_iter()
        .filter(|i| i.webhook_id.is_some())
        .collect()
}

/// Checks a delivery's Standard Webhooks headers and signature with `key`, independently of
/// carebook's code.
fn assert_signed(d: &Delivery, key: &[u8]) {
    assert_eq!(d.header("content-type"), "application/json");
    let id = d.header("webhook-id");
    let ts = d.header("webhook-timestamp");
    let age = chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap();
    assert!((-5..300).contains(&age), "timestamp {ts} is {age} s old");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&d.body);
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(d.header("webhook-signature"), format!("v1,{want}"));
}

/// A booked appointment: (patient, doctor, slot, appointment).
async fn booking(app: &TestApp) -> (String, String, String, String) {
    let (doctor, patient) = (app.doctor().await, app.patient().await);
    let slot = app.slot(&doctor, 3, "10:00", 2).await;
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    (patient, doctor, slot, id)
}

async fn create_list_delete(app: TestApp) {
    let url = "https://93.184.216.34/hooks/carebook?token=abc";
    let events = ["appointment.cancelled", "appointment.booked"];
    let (s, b) = app
        .post(
            "/webhooks",
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let hook = &b["data"];
    let id = hook["id"].as_str().unwrap().to_owned();
    assert_eq!(hook["url"], url);
    // Listed in the documented order, whatever order they came in.
    assert_eq!(
        hook["events"],
        json!(["appointment.booked", "appointment.cancelled"])
    );
    assert!(hook["created_at"].is_string());
    assert!(
        !b.to_string().contains(SECRET),
        "the secret is never echoed"
    );

    let second = subscribe(&app, "http://93.184.216.35/", &["waitlist.offered"], WHSEC).await;
    let (s, b) = app.get("/webhooks").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["pagination"]["total"], 2);
    let listed: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [id.as_str(), second.as_str()]);
    assert_eq!(b["data"][0]["events"], hook["events"]);
    assert!(!b.to_string().contains("secret"), "{b}");
    let (_, b) = app.get("/webhooks?limit=1&offset=1").await;
    assert_eq!(b["data"][0]["id"], second.as_str());

    let (s, b) = delete(&app, &id).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = delete(&app, &id).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = delete(&app, "not-a-uuid").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let (_, b) = app.get("/webhooks").await;
    assert_eq!(b["pagination"]["total"], 1);
    assert_eq!(b["data"][0]["id"], second.as_str());
}

async fn bad_input_is_refused(app: TestApp) {
    let ok = json!({"url": "https://93.184.216.34/hook", "events": ["appointment.booked"],
                    "secret": SECRET});
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = ok.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (without("url"), "url"),
        (without("events"), "events"),
        (without("secret"), "secret"),
        (with("url", json!("ftp://93.184.216.34/")), "url"),
        (with("url", json!("/relative/hook")), "url"),
        (with("url", json!("https://user:pw@93.184.216.34/")), "url"),
        (
            with(
                "url",
                json!(format!("https://93.184.216.34/{}", "a".repeat(2100))),
            ),
            "url",
        ),
        (with("url", json!(42)), "url"),
        (with("events", json!([])), "events"),
        (with("events", json!("appointment.booked")), "events"),
        (
            with(
                "events",
                json!(["appointment.booked", "appointment.deleted"]),
            ),
            "events[1]",
        ),
        (
            with(
                "events",
                json!(["appointment.booked", "appointment.booked"]),
            ),
            "events",
        ),
        (with("secret", json!("")), "secret"),
        (with("secret", json!("x".repeat(257))), "secret"),
        (with("secret", json!("whsec_not*base64*at*all")), "secret"),
        (with("secret", json!("whsec_")), "secret"),
        // Fewer than 24 bytes of key, raw or Standard Webhooks.
        (with("secret", json!("twenty-three bytes long")), "secret"),
        (with("secret", json!("whsec_c2hvcnQ=")), "secret"),
        (with("description", json!("unknown")), "description"),
    ];
    for (body, field) in cases {
        let (s, b) = app.post("/webhooks", body.clone()).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert!(
            error_fields(&b).iter().any(|f| f == field),
            "{body} should name {field}: {b}"
        );
    }
    let (_, b) = app.get("/webhooks").await;
    assert_eq!(b["pagination"]["total"], 0, "nothing was stored");
}

async fn private_urls_are_refused_by_default(app: TestApp) {
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
    ] {
        let body = json!({"url": url, "events": ["appointment.booked"], "secret": SECRET});
        let (s, b) = app.post("/webhooks", body).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&b), ["url"], "{url}: {b}");
        assert!(b.to_string().contains("WEBHOOK_ALLOW_PRIVATE"), "{b}");
    }
    // A name that does not resolve yet is accepted: every delivery resolves and checks it.
    let body = json!({"url": "https://carebook-test.invalid/", "events": ["appointment.booked"],
                      "secret": SECRET});
    let (s, b) = app.post("/webhooks", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

async fn only_admins_manage_webhooks(app: TestApp) {
    let id = subscribe(
        &app,
        "https://93.184.216.34/",
        &["appointment.booked"],
        SECRET,
    )
    .await;
    let scheduler = app.account("scheduler", None).await;
    let doctor = app.doctor_account().await;
    let patient = app.sign_up().await;
    let body = json!({"url": "https://93.184.216.34/", "events": ["appointment.booked"],
                      "secret": SECRET});
    let calls = [
        (Method::POST, "/webhooks".to_owned(), body),
        (Method::GET, "/webhooks".to_owned(), Value::Null),
        (Method::DELETE, format!("/webhooks/{id}"), Value::Null),
    ];
    for (method, path, body) in calls {
        for who in [&scheduler, &doctor, &patient] {
            let (s, b) = app.as_user(who, method.clone(), &path, body.clone()).await;
            assert_error(s, &b, 403, "FORBIDDEN");
        }
        let (s, b) = app.call_as(None, method.clone(), &path, body.clone()).await;
        assert_error(s, &b, 401, "UNAUTHORIZED");
    }
    let (_, b) = app.get("/webhooks").await;
    assert_eq!(b["pagination"]["total"], 1, "the webhook is still there");
}

backends!(
    create_list_delete,
    bad_input_is_refused,
    private_urls_are_refused_by_default,
    only_admins_manage_webhooks,
);

/// Like `backends!`, with `WEBHOOK_ALLOW_PRIVATE=true` so the loopback receiver is allowed.
macro_rules! allowing_private {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            async fn app(backend: $crate::common::Backend) -> $crate::common::TestApp {
                $crate::common::TestApp::spawn_with(backend, |s| {
                    s.notify.webhook_allow_private = true
                })
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(app($crate::common::Backend::Postgres).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(app($crate::common::Backend::Sqlite).await).await
            }
        }
    )*};
}

async fn private_urls_are_accepted_when_allowed(app: TestApp) {
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/",
        "http://[::1]/",
        "http://10.0.0.1/",
    ] {
        subscribe(&app, url, &["appointment.booked"], SECRET).await;
    }
    let (_, b) = app.get("/webhooks").await;
    assert_eq!(b["pagination"]["total"], 4);
}

async fn subscribed_events_arrive_signed(app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    let events = ["appointment.booked", "appointment.cancelled"];
    let hook = subscribe(&app, &receiver.url, &events, SECRET).await;
    let (patient, doctor, slot, id) = booking(&app).await;
    assert_eq!(step(&app, true).await.delivered, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let d = &got[0];
    assert_signed(d, SECRET.as_bytes());
    assert!(d.header("webhook-id").starts_with("msg_"));
    let body = d.json();
    assert_eq!(body["type"], "appointment.booked");
    assert!(body["timestamp"].is_string());
    let data = &body["data"];
    assert_eq!(data["appointment_id"], id.as_str());
    assert_eq!(data["patient_id"], patient.as_str());
    assert_eq!(data["doctor_id"], doctor.as_str());
    assert_eq!(data["slot_id"], slot.as_str());
    assert_eq!(data["status"], "PENDING");
    assert!(data["starts_at"].is_string() && data["ends_at"].is_string());
    let text = body.to_string();
    for personal in ["Pat Test", "Dr Test", "@mail.test", "+1 555"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // Not subscribed to confirmations: nothing is queued for this webhook, nothing arrives.
    let (s, b) = app
        .post(&format!("/appointments/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    step(&app, true).await;
    assert_eq!(receiver.got().len(), 1);

    let (s, b) = app
        .post(&format!("/appointments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(step(&app, true).await.delivered, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_signed(&got[1], SECRET.as_bytes());
    assert_eq!(got[1].json()["type"], "appointment.cancelled");
    assert_eq!(got[1].json()["data"]["status"], "CANCELLED");
    assert_ne!(got[0].header("webhook-id"), got[1].header("webhook-id"));

    // Deleted: later changes queue nothing for it, and nothing more arrives.
    let (s, _) = delete(&app, &hook).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    booking(&app).await;
    step(&app, true).await;
    assert_eq!(receiver.got().len(), 2);
    assert_eq!(rows(&app, OutboxStatus::Delivered).await.len(), 2);
    assert!(rows(&app, OutboxStatus::Pending).await.is_empty());
}

/// Four changes made before the worker runs arrive as four events, in order, each with the
/// appointment as it was at that event: the booking still PENDING on its first slot, the
/// confirmation on the first slot, the reschedule and the cancel on the second.
async fn a_backlog_of_events_arrives_as_each_happened(app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    let events = [
        "appointment.booked",
        "appointment.confirmed",
        "appointment.rescheduled",
        "appointment.cancelled",
    ];
    subscribe(&app, &receiver.url, &events, SECRET).await;
    let (_, doctor, first, id) = booking(&app).await;
    let second = app.slot(&doctor, 4, "11:00", 2).await;
    for (action, body) in [
        ("confirm", json!({})),
        ("reschedule", json!({"time_slot_id": second})),
        ("cancel", json!({})),
    ] {
        let (s, b) = app
            .post(&format!("/appointments/{id}/{action}"), body)
            .await;
        assert_eq!(s, StatusCode::OK, "{action}: {b}");
    }
    // One row per appointment and receiver at a time: one step per event.
    for _ in 0..4 {
        assert_eq!(step(&app, true).await.delivered, 1);
    }
    let got: Vec<Value> = receiver.got().iter().map(Delivery::json).collect();
    let seen: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|b| {
            let d = &b["data"];
            (
                str_of(&b["type"]),
                str_of(&d["status"]),
                str_of(&d["slot_id"]),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("appointment.booked", "PENDING", first.as_str()),
            ("appointment.confirmed", "CONFIRMED", first.as_str()),
            ("appointment.rescheduled", "CONFIRMED", second.as_str()),
            ("appointment.cancelled", "CANCELLED", second.as_str()),
        ]
    );
    assert!(got[0]["data"]["expires_at"].is_string(), "{}", got[0]);
    assert_ne!(got[1]["data"]["starts_at"], got[2]["data"]["starts_at"]);
}

/// A step whose delivery outlasts its lease keeps its rows: the worker renews the lease while
/// the receiver holds the request, so a second worker claims nothing and the event arrives
/// once. The lease running out is simulated by moving `lease_until` into the past; the renewal
/// (every second for a 3 s lease) must move it forward again.
async fn a_slow_step_renews_its_lease(app: TestApp) {
    let receiver = Receiver::start_held().await;
    subscribe(&app, &receiver.url, &["appointment.booked"], SECRET).await;
    booking(&app).await;
    let settings = NotifySettings {
        webhook_allow_private: true,
        webhook_allow_http: true,
        lease: std::time::Duration::from_secs(3),
        ..NotifySettings::default()
    };
    let channels = Channels::from_settings(&settings, crate::common::test_vault()).unwrap();
    let stepping = deliver_once(&*app.store, &channels, &settings);
    let probing = async {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while receiver.got().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery started"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(app.execute_raw(&lapse_leases(app.backend)).await, Ok(2));
        let live = match app.backend {
            Backend::Postgres => "outbox WHERE status = 'pending' AND lease_until > now()",
            Backend::Sqlite => {
                "outbox WHERE status = 'pending'
                   AND lease_until > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
            }
        };
        while app.count_rows(live).await < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the lease was not renewed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let taken = app.store.claim_outbox(10, 60).await.unwrap();
        assert!(
            taken.is_empty(),
            "a second worker took {} rows",
            taken.len()
        );
        receiver.release(1);
    };
    let (step, ()) = tokio::join!(stepping, probing);
    let step = step.expect("a worker step");
    assert_eq!((step.delivered, step.skipped), (1, 1), "{step:?}");
    assert_eq!(receiver.got().len(), 1);
}

/// Moves every pending row's lease one hour into the past.
fn lapse_leases(backend: Backend) -> String {
    match backend {
        Backend::Postgres => {
            "UPDATE outbox SET lease_until = now() - interval '1 hour' WHERE status = 'pending'"
                .into()
        }
        Backend::Sqlite => "UPDATE outbox SET lease_until = \
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hours') WHERE status = 'pending'"
            .into(),
    }
}

/// A JSON string's text, or "" for anything else.
fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

async fn a_standard_webhooks_secret_signs_with_its_key(app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    subscribe(&app, &receiver.url, &["appointment.booked"], WHSEC).await;
    booking(&app).await;
    assert_eq!(step(&app, true).await.delivered, 1);
    let key = base64::engine::general_purpose::STANDARD
        .decode(WHSEC.trim_start_matches("whsec_"))
        .unwrap();
    assert_signed(&receiver.got()[0], &key);
}

async fn a_deleted_webhooks_pending_delivery_is_skipped(app: TestApp) {
    let receiver = Receiver::start(&[]).await;
    let hook = subscribe(&app, &receiver.url, &["appointment.booked"], SECRET).await;
    booking(&app).await;
    let (s, _) = delete(&app, &hook).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        step(&app, true).await.skipped,
        2,
        "its row, and the e-mail (SMTP off)"
    );
    assert!(receiver.got().is_empty());
    assert_eq!(rows(&app, OutboxStatus::Skipped).await.len(), 1);
}

async fn a_failing_receiver_is_retried(app: TestApp) {
    let receiver = Receiver::start(&[500, 503]).await;
    subscribe(&app, &receiver.url, &["appointment.booked"], SECRET).await;
    booking(&app).await;
    assert_eq!(step(&app, true).await.retried, 1);
    let pending = rows(&app, OutboxStatus::Pending).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(
        pending[0].last_error.as_deref(),
        Some("the receiver answered 500")
    );
    // Not due yet: the next step leaves it alone.
    step(&app, true).await;
    assert_eq!(receiver.got().len(), 1);

    assert_eq!(make_due(&app).await, 1);
    assert_eq!(step(&app, true).await.retried, 1);
    assert_eq!(make_due(&app).await, 1);
    assert_eq!(step(&app, true).await.delivered, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    for d in &got {
        assert_signed(d, SECRET.as_bytes());
        // The same message each time: one id, one body.
        assert_eq!(d.header("webhook-id"), got[0].header("webhook-id"));
        assert_eq!(d.body, got[0].body);
    }
    let delivered = rows(&app, OutboxStatus::Delivered).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].attempts, 3);
    assert_eq!(make_due(&app).await, 0, "nothing left pending");
}

async fn gone_and_private_receivers_fail_for_good(app: TestApp) {
    let gone = Receiver::start(&[410]).await;
    let hook = subscribe(&app, &gone.url, &["appointment.booked"], SECRET).await;
    booking(&app).await;
    assert_eq!(step(&app, true).await.dead, 1);
    assert_eq!(gone.got().len(), 1);
    let dead = rows(&app, OutboxStatus::Dead).await;
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("the receiver answered 410 Gone")
    );
    let (s, _) = delete(&app, &hook).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Allowed when it was created, refused when delivered by a worker that does not allow
    // private addresses: checked again at delivery, never sent.
    let private = Receiver::start(&[]).await;
    subscribe(&app, &private.url, &["appointment.booked"], SECRET).await;
    booking(&app).await;
    let s = step(&app, false).await;
    assert_eq!(s.dead, 1, "{s:?}");
    assert!(private.got().is_empty());
    let dead = rows(&app, OutboxStatus::Dead).await;
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().any(|r| r
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("non-public"))));
}

allowing_private!(
    private_urls_are_accepted_when_allowed,
    subscribed_events_arrive_signed,
    a_backlog_of_events_arrives_as_each_happened,
    a_slow_step_renews_its_lease,
    a_standard_webhooks_secret_signs_with_its_key,
    a_deleted_webhooks_pending_delivery_is_skipped,
    a_failing_receiver_is_retried,
    gone_and_private_receivers_fail_for_good,
);
