//! The served document says what the server reads: its patterns accept and refuse the same
//! strings the server does, a body it marks required is required, and every operation that
//! schemathesis lets answer 400 to schema-valid data says why in its own 400 response.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};

async fn document(app: &TestApp) -> Value {
    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    doc
}

/// Whether `schema` (of the few keywords the document's string fields use) allows `value`.
fn allows(doc: &Value, schema: &Value, value: &str) -> bool {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        if !allows(doc, &doc["components"]["schemas"][name], value) {
            return false;
        }
    }
    let some = |key: &str| schema[key].as_array().map(|alts| alts.iter());
    if let Some(mut alts) = some("anyOf").or_else(|| some("oneOf")) {
        if !alts.any(|s| allows(doc, s, value)) {
            return false;
        }
    }
    if let Some(mut all) = some("allOf") {
        if !all.all(|s| allows(doc, s, value)) {
            return false;
        }
    }
    if schema["type"] == "null" {
        return false;
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.iter().any(|v| v == value) {
            return false;
        }
    }
    if let Some(p) = schema["pattern"].as_str() {
        let re = fancy_regex::RegexBuilder::new(p)
            .delegate_size_limit(1 << 28)
            .build()
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        if !re.is_match(value).unwrap() {
            return false;
        }
    }
    let n = value.chars().count() as u64;
    let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX);
    n >= schema["minLength"].as_u64().unwrap_or(0) && n <= max
}

/// The schema of a parameter.
fn parameter<'d>(doc: &'d Value, path: &str, method: &str, name: &str) -> &'d Value {
    let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
    let p = params.iter().find(|p| p["name"] == name).unwrap();
    &p["schema"]
}

/// Asserts the server accepts `sample` exactly when `schema` allows it; `send` answers the
/// status of a request carrying it, and the fields its 400 names.
async fn agree<F, Fut>(doc: &Value, schema: &Value, field: &str, samples: &[String], send: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    for s in samples {
        let documented = allows(doc, schema, s);
        let (status, body) = send(s.clone()).await;
        let refused = status == StatusCode::BAD_REQUEST;
        if refused {
            assert!(
                error_fields(&body).contains(&field.to_owned()),
                "{s:?}: {body}"
            );
        }
        assert_eq!(documented, !refused, "{field} {s:?}: {status} {body}");
    }
}

fn strings(samples: &[&str]) -> Vec<String> {
    samples.iter().map(|s| s.to_string()).collect()
}

async fn patterns_accept_what_the_server_accepts(app: TestApp) {
    let app = &app;
    let doc = document(app).await;
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let long = |n: usize| "é".repeat(n);
    let update = &doc["components"]["schemas"]["UpdateDoctor"]["properties"];
    let path = format!("/doctors/{doctor}");

    let mut names = strings(&[
        "Dr A",
        "  Dr B\t",
        "",
        "   ",
        "a\nb",
        "a\u{2028}b",
        "a\tb",
        "a\u{7f}",
        "\u{85}x\u{85}",
    ]);
    names.extend([long(200), long(201), format!("\u{3000}{}\r\n", long(200))]);
    agree(&doc, &update["name"], "name", &names, |s| {
        app.patch(&path, json!({ "name": s }))
    })
    .await;

    let bios = strings(&[
        "a\r\nb",
        "\u{2028}x",
        "",
        "  ",
        "a\tb",
        "x\u{1b}[31m",
        "x\u{9b}",
    ]);
    agree(&doc, &update["bio"], "bio", &bios, |s| {
        app.patch(&path, json!({ "bio": s }))
    })
    .await;

    let phones = strings(&[
        "+1 234 567 890",
        "1234567",
        "123456",
        "+000000",
        "  1234567\t",
        "",
        " ",
        "(12) 345-67",
        "12345678901234567890",
        "123456789012345678901",
        "++1234567",
        "1234567x",
        "- - - - - - -",
    ]);
    agree(&doc, &update["phone"], "phone", &phones, |s| {
        app.patch(&path, json!({ "phone": s }))
    })
    .await;

    let slot_time = &doc["components"]["schemas"]["CreateSlot"]["properties"]["slot_time"];
    let times = strings(&[
        "09:30",
        " 14:15:30 ",
        "24:00",
        "9:30",
        "09: 3",
        "23:59:59",
        "23:59:60",
        "09:30:00.5",
        "\u{3000}10:00",
        "1:2:3",
    ]);
    let day = std::sync::atomic::AtomicI64::new(1);
    agree(&doc, slot_time, "slot_time", &times, |s| {
        let n = day.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let date = (chrono::Utc::now() + chrono::Duration::days(n)).date_naive();
        let path = format!("/doctors/{doctor}/time-slots");
        let body = json!({"slot_date": date.to_string(), "slot_time": s});
        async move { app.post(&path, body).await }
    })
    .await;

    let reasons = strings(&["x", "  x  ", "", " ", "a\tb", "\tWhy\t", "~!"]);
    let mut reasons = reasons;
    reasons.extend(["r".repeat(500), "r".repeat(501)]);
    let schema = parameter(&doc, "/api/patients/{id}", "get", "Break-Glass-Reason");
    agree(&doc, schema, "Break-Glass-Reason", &reasons, |s| {
        let req = app
            .client
            .get(format!("{}/patients/{patient}", app.base))
            .header("Break-Glass-Reason", s);
        send(req)
    })
    .await;

    let mut keys = strings(&["k", " k ", "", "a b", "\tk"]);
    keys.extend(["k".repeat(255), "k".repeat(256)]);
    let schema = parameter(&doc, "/api/appointments", "post", "Idempotency-Key");
    let book = json!({"patient_id": patient, "doctor_id": doctor,
                      "time_slot_id": uuid::Uuid::new_v4()});
    agree(&doc, schema, "Idempotency-Key", &keys, |s| {
        let req = app
            .client
            .post(format!("{}/appointments", app.base))
            .header("Idempotency-Key", s)
            .json(&book);
        send(req)
    })
    .await;
}

/// Query values: the empty and blank values the server reads as "not sent", and the rest.
async fn blank_query_values_are_documented(app: TestApp) {
    let app = &app;
    let doc = document(app).await;
    let doctor = app.doctor().await;
    // Two free slots, so the first page of one hands out a cursor.
    app.slot(&doctor, 1, "09:00", 1).await;
    app.slot(&doctor, 1, "10:00", 1).await;
    let (s, page) = app.get("/available-slots?limit=1").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let cursor = page["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let statuses = strings(&["", " ", "\t", "\u{3000}", "CONFIRMED", "NOPE", "\u{85}"]);
    let schema = parameter(&doc, "/api/appointments/doctor/{doctorId}", "get", "status");
    let path = format!("/appointments/doctor/{doctor}");
    agree(&doc, schema, "status", &statuses, |s| {
        let url = format!("{path}?status={}", encode(&s));
        async move { app.get(&url).await }
    })
    .await;

    let cursors = [
        String::new(),
        " ".into(),
        "abc".into(),
        "\u{1b}".into(),
        format!("{cursor}="),
        format!(" {cursor}\t"),
        cursor.clone(),
        cursor[1..].to_owned(),
    ];
    let schema = parameter(&doc, "/api/available-slots", "get", "cursor");
    agree(&doc, schema, "cursor", &cursors, |s| {
        let url = format!("/available-slots?cursor={}", encode(&s));
        async move { app.get(&url).await }
    })
    .await;
    // The right shape, an instant no database stores (the 400 the route's description names).
    let (s, r) = app
        .get(&format!("/available-slots?cursor={}", "0".repeat(32)))
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["cursor"], "{r}");
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A request with a raw body (or none) and a JSON content type.
async fn raw(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("content-type", "application/json");
    if let Some(b) = body {
        req = req.body(b.to_owned());
    }
    send(req).await
}

async fn a_required_body_must_be_sent(app: TestApp) {
    let doc = document(&app).await;
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    let required = [
        (
            Method::PATCH,
            format!("/doctors/{doctor}"),
            "/api/doctors/{id}",
            "patch",
        ),
        (
            Method::PATCH,
            format!("/patients/{patient}"),
            "/api/patients/{id}",
            "patch",
        ),
        (
            Method::PATCH,
            format!("/doctors/{doctor}/time-slots/{slot}"),
            "/api/doctors/{id}/time-slots/{slotId}",
            "patch",
        ),
        (Method::POST, "/doctors".to_owned(), "/api/doctors", "post"),
    ];
    for (method, path, template, m) in required {
        assert_eq!(
            doc["paths"][template][m]["requestBody"]["required"], true,
            "{path}"
        );
        for body in [None, Some(""), Some("  \n"), Some("null")] {
            let (s, r) = raw(&app, method.clone(), &path, body).await;
            assert_error(s, &r, 400, "VALIDATION_ERROR");
            assert_eq!(
                r["message"], "The request body must be a JSON object",
                "{path} {body:?}"
            );
        }
    }
    // An empty object is a body: a PATCH that changes nothing.
    let (s, r) = raw(
        &app,
        Method::PATCH,
        &format!("/doctors/{doctor}"),
        Some("{}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    // An optional body may still be left out: the cancel reaches the appointment.
    let cancel = "/api/appointments/{id}/cancel";
    assert_eq!(
        doc["paths"][cancel]["post"]["requestBody"]["required"],
        false
    );
    let path = format!("/appointments/{}/cancel", uuid::Uuid::new_v4());
    for body in [None, Some("null")] {
        let (s, r) = raw(&app, Method::POST, &path, body).await;
        assert_error(s, &r, 404, "NOT_FOUND");
    }
}

/// Operations `schemathesis.toml` lets answer 400 to data their schemas allow: each exists and
/// says in its own 400 response which refusals depend on the time, what is stored, or another
/// field.
async fn every_fuzzing_exception_is_documented(app: TestApp) {
    let doc = document(&app).await;
    let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemathesis.toml"))
        .expect("schemathesis.toml");
    // Each `include-operation-id = "id"` or `= [ "id", ... ]`, over one line or several.
    let mut ids: Vec<String> = Vec::new();
    let mut open = false;
    for line in toml.lines() {
        let listed = match line.strip_prefix("include-operation-id =") {
            Some(value) => {
                open = value.contains('[') && !value.contains(']');
                value
            }
            None if open => {
                open = !line.contains(']');
                line
            }
            None => continue,
        };
        ids.extend(listed.split('"').skip(1).step_by(2).map(str::to_owned));
    }
    assert!(ids.len() >= 10, "{ids:?}");
    let generic =
        "`VALIDATION_ERROR`: a malformed parameter or body; `details` names every field at fault";
    for id in ids {
        let op = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .find(|op| op["operationId"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in the document"));
        let text = op["responses"]["400"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(!text.is_empty() && text != generic, "{id}: {text}");
    }
}

backends!(
    patterns_accept_what_the_server_accepts,
    blank_query_values_are_documented,
    a_required_body_must_be_sent,
    every_fuzzing_exception_is_documented,
);
