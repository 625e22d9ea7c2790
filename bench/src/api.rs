//! A thin client for the carebook API: the calls the benchmark makes, each timed.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// An API client bound to one base URL (e.g. `http://127.0.0.1:5000/api`).
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    /// The bearer token sent with every request, once logged in.
    token: Option<String>,
    /// Sends the token as the pages' session cookie rather than as a bearer token.
    as_cookie: bool,
}

/// One request's outcome: status 0 means no HTTP answer (connection error or timeout).
pub struct Reply {
    /// The HTTP status, or 0 when the request failed below HTTP.
    pub status: u16,
    /// From sending the request to having read the whole body.
    pub elapsed: Duration,
    /// The response body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `data.id` of a success envelope.
    pub fn data_id(&self) -> Option<String> {
        self.json()?
            .get("data")?
            .get("id")?
            .as_str()
            .map(str::to_owned)
    }

    /// `error.code` of an error envelope.
    pub fn error_code(&self) -> Option<String> {
        self.json()?
            .get("error")?
            .get("code")?
            .as_str()
            .map(str::to_owned)
    }

    /// A short description for error messages.
    pub fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let cut: String = text.chars().take(300).collect();
        format!("HTTP {}: {cut}", self.status)
    }
}

/// A slot to create: local date, local time and seats.
#[derive(Debug, Clone, Copy)]
pub struct SlotSpec {
    /// Local date in the doctor's zone.
    pub date: NaiveDate,
    /// Local time in the doctor's zone.
    pub time: NaiveTime,
    /// Seats.
    pub capacity: u32,
}

/// Most items one bulk request may carry.
pub const BULK_MAX: usize = 1000;

impl Api {
    /// A client for `base` keeping up to `connections` idle keep-alive connections.
    pub fn new(base: &str, connections: usize) -> Result<Self, String> {
        let client = Client::builder()
            .pool_max_idle_per_host(connections.max(1))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            as_cookie: false,
        })
    }

    /// The same signed-in person on the pages: the site's root rather than `/api`, the access
    /// token in the pages' session cookie.
    pub fn pages(&self) -> Self {
        Self {
            client: self.client.clone(),
            base: self.base.trim_end_matches("/api").to_owned(),
            token: self.token.clone(),
            as_cookie: true,
        }
    }

    /// Logs in; every later request carries the access token.
    pub async fn login(&mut self, email: &str, password: &str) -> Result<(), String> {
        let r = self
            .post(
                "/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        let token = r
            .json()
            .and_then(|v| v["data"]["access_token"].as_str().map(str::to_owned));
        match (r.status, token) {
            (200, Some(t)) => {
                self.token = Some(t);
                Ok(())
            }
            _ => Err(format!("cannot log in as {email}: {}", r.describe())),
        }
    }

    /// Sends one request (JSON body unless `Value::Null`) and reads the whole answer.
    pub async fn call(&self, method: Method, path: &str, body: &Value) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        match (&self.token, self.as_cookie) {
            (Some(t), false) => req = req.bearer_auth(t),
            (Some(t), true) => req = req.header("cookie", format!("cb_access={t}")),
            (None, _) => {}
        }
        if !body.is_null() {
            req = req.json(body);
        }
        let start = Instant::now();
        let answer = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                match res.bytes().await {
                    Ok(b) => (status, b.to_vec()),
                    Err(_) => (0, Vec::new()),
                }
            }
            Err(_) => (0, Vec::new()),
        };
        Reply {
            status: answer.0,
            elapsed: start.elapsed(),
            body: answer.1,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, &Value::Null).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, body).await
    }

    /// Waits until `GET /health` answers 200, for at most `limit`.
    pub async fn wait_healthy(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.get("/health").await;
            if r.status == 200 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{}/health did not answer 200: {}",
                    self.base,
                    r.describe()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Registers doctor number `n` of run `tag` in UTC and returns its id.
    pub async fn create_doctor(&self, tag: &str, n: usize) -> Result<String, String> {
        let body = json!({
            "name": format!("Dr Bench {n}"), "specialization": "General Practice",
            "email": format!("bench-{tag}-d{n}@clinic.example"),
            "license_number": format!("BENCH-{tag}-{n}"), "timezone": "UTC"});
        let r = self.post("/doctors", &body).await;
        r.data_id()
            .filter(|_| r.status == 201)
            .ok_or_else(|| format!("creating a doctor: {}", r.describe()))
    }

    /// Registers patient number `n` of run `tag` and returns its id.
    pub async fn create_patient(&self, tag: &str, n: usize) -> Result<String, String> {
        let body = json!({
            "name": format!("Bench Patient {n}"),
            "email": format!("bench-{tag}-p{n}@mail.example"), "phone": "+1 555 010 0000"});
        let r = self.post("/patients", &body).await;
        r.data_id()
            .filter(|_| r.status == 201)
            .ok_or_else(|| format!("creating a patient: {}", r.describe()))
    }

    /// Creates `slots` for `doctor` in bulk requests of at most [`BULK_MAX`]; returns the ids
    /// of the created slots. Any skipped item is an error (the benchmark's slots are all new).
    pub async fn create_slots(
        &self,
        doctor: &str,
        slots: &[SlotSpec],
    ) -> Result<Vec<String>, String> {
        let mut ids = Vec::with_capacity(slots.len());
        for chunk in slots.chunks(BULK_MAX) {
            let items: Vec<Value> = chunk
                .iter()
                .map(|s| {
                    json!({"slot_date": s.date.to_string(), "slot_time": s.time.format("%H:%M:%S").to_string(),
                           "duration_minutes": 15, "max_capacity": s.capacity})
                })
                .collect();
            let path = format!("/doctors/{doctor}/time-slots/bulk");
            let r = self.post(&path, &json!({ "slots": items })).await;
            let created = r
                .json()
                .filter(|_| r.status == 201)
                .and_then(|v| v["data"]["created"].as_array().cloned())
                .ok_or_else(|| format!("creating slots: {}", r.describe()))?;
            if created.len() != chunk.len() {
                return Err(format!(
                    "bulk creation made {} of {} slots: {}",
                    created.len(),
                    chunk.len(),
                    r.describe()
                ));
            }
            ids.extend(
                created
                    .iter()
                    .filter_map(|s| s["id"].as_str().map(str::to_owned)),
            );
        }
        Ok(ids)
    }

    /// Every slot of `doctor` between two dates, as the API lists them.
    pub async fn list_slots(
        &self,
        doctor: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Value>, String> {
        let r = self
            .get(&format!(
                "/doctors/{doctor}/time-slots?from_date={from}&to_date={to}"
            ))
            .await;
        r.json()
            .filter(|_| r.status == 200)
            .and_then(|v| v["data"].as_array().cloned())
            .ok_or_else(|| format!("listing slots: {}", r.describe()))
    }
}

/// The body of a booking request.
pub fn booking(patient: &str, doctor: &str, slot: &str) -> Value {
    json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot,
           "reason_for_visit": "benchmark booking", "consultation_type": "in-person"})
}
