//! The published contract: the OpenAPI document matches what is served, and the typed boundary
//! names every failing field and refuses fields it does not know.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};
use crate::operations::root;

/// The served OpenAPI document.
async fn spec(app: &TestApp) -> Value {
    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    doc
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A concrete path for a template: a random id for each id, a plausible value otherwise.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{specialization}" => "cardiology".to_owned(),
            "{file}" => "init.js".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a concrete path is one the template describes.
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t == p || t.starts_with('{'))
}

/// Whether an answer is the router's own "no such route" (not a resource's 404).
fn is_unrouted(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::NOT_FOUND && body["message"] == "The requested resource was not found"
}

async fn call(app: &TestApp, method: &str, path: &str) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let res = app
        .client
        .request(method, format!("{}{path}", root(app)))
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn spec_lists_exactly_the_served_routes(app: TestApp) {
    let doc = spec(&app).await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{}", paths.len());
    for (template, item) in paths {
        let path = fill(template);
        for method in METHODS {
            let (status, body) = call(&app, method, &path).await;
            if item.get(method).is_some() {
                // Listed: served, whatever the answer to a request with made-up ids.
                assert!(
                    !is_unrouted(status, &body) && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is in the spec but not served: {status} {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is served but not in the spec: {body}"
                );
            }
        }
        // Every shorter path and one level deeper: served only if the spec lists it.
        let segments: Vec<&str> = template.split('/').collect();
        let mut probes: Vec<String> = (2..segments.len())
            .map(|n| segments[..n].join("/"))
            .collect();
        probes.push(format!("{template}/extra"));
        for probe in probes {
            if paths.keys().any(|t| matches_template(t, &probe)) {
                continue;
            }
            for method in METHODS {
                let (status, body) = call(&app, method, &fill(&probe)).await;
                assert!(
                    is_unrouted(status, &body),
                    "{method} {probe} is served but not in the spec: {status} {body}"
                );
            }
        }
    }
}

async fn spec_is_openapi_3_1_with_examples(app: TestApp) {
    let doc = spec(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemas = &doc["components"]["schemas"];
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {template}"
            );
            assert!(responses.contains_key("503"), "{method} {template}");
            // Every request body is a named schema with a realistic example.
            if let Some(body) = op.get("requestBody") {
                let schema = &body["content"]["application/json"]["schema"];
                let one_of = schema["oneOf"].as_array().cloned().unwrap_or_default();
                let name = schema["$ref"]
                    .as_str()
                    .or_else(|| one_of.iter().find_map(|s| s["$ref"].as_str()))
                    .unwrap_or_else(|| panic!("{method} {template}: {schema}"))
                    .rsplit('/')
                    .next()
                    .unwrap();
                assert!(
                    schemas[name]["example"].is_object(),
                    "{method} {template}: {name} has no example"
                );
                assert!(responses.contains_key("400") && responses.contains_key("413"));
            }
        }
    }
    // The error codes a route can carry are named in its responses.
    let book = &doc["paths"]["/api/appointments"]["post"]["responses"];
    for (status, code) in [
        ("409", "SLOT_UNAVAILABLE"),
        ("409", "ALREADY_BOOKED"),
        ("422", "IDEMPOTENCY_KEY_REUSED"),
        ("404", "NOT_FOUND"),
        ("400", "VALIDATION_ERROR"),
    ] {
        let text = book[status]["description"].as_str().unwrap_or_default();
        assert!(text.contains(code), "{status} {code}: {book}");
    }
}

async fn every_failing_field_is_named(app: TestApp) {
    let (s, r) = app
        .post(
            "/doctors",
            json!({"name": 5, "email": "nope", "timezone": "Mars/Olympus", "phone": "abc",
                   "bio": ["x"], "license_number": "   ", "nickname": "Doc"}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&r),
        [
            "name",
            "specialization",
            "email",
            "license_number",
            "phone",
            "bio",
            "timezone",
            "nickname"
        ],
        "{r}"
    );
    let messages: Vec<&str> = r["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(messages.contains(&"must be a string"), "{r}");
    assert!(messages.contains(&"is not a known field"), "{r}");
    // Nothing was created.
    let (_, list) = app.get("/doctors").await;
    assert_eq!(list["pagination"]["total"], 0);

    // Query parameters too, each named.
    let doctor = app.doctor().await;
    let (s, r) = app
        .get(&format!(
            "/appointments/doctor/{doctor}?date=soon&status=DONE&limit=0&offset=x"
        ))
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&r),
        ["date", "status", "limit", "offset"],
        "{r}"
    );
}

async fn unknown_fields_are_refused(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "10:00", 2).await;
    let n = uuid::Uuid::new_v4().simple();
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    // Mass assignment of a field the API computes itself.
    let cases = [
        (
            Method::POST,
            "/doctors".to_owned(),
            json!({"name": "Dr X", "specialization": "S", "email": format!("x{n}@c.test"),
                   "license_number": format!("L{n}"), "is_active": false}),
            "is_active",
        ),
        (
            Method::PATCH,
            format!("/doctors/{doctor}"),
            json!({"email": "changed@c.test"}),
            "email",
        ),
        (
            Method::POST,
            "/patients".to_owned(),
            json!({"name": "P", "email": format!("p{n}@c.test"), "phone": "+1 555 010 0000",
                   "id": uuid::Uuid::new_v4()}),
            "id",
        ),
        (
            Method::PATCH,
            format!("/patients/{patient}"),
            json!({"created_at": "2000-01-01T00:00:00Z"}),
            "created_at",
        ),
        (
            Method::POST,
            format!("/doctors/{doctor}/time-slots"),
            json!({"slot_date": day, "slot_time": "10:00", "current_bookings": 5}),
            "current_bookings",
        ),
        (
            Method::POST,
            format!("/doctors/{doctor}/time-slots/bulk"),
            json!({"slots": [{"slot_date": day, "slot_time": "10:00", "status": "BLOCKED"}]}),
            "slots[0].status",
        ),
        (
            Method::PATCH,
            format!("/doctors/{doctor}/time-slots/{slot}"),
            json!({"status": "BLOCKED", "max_capacity": 100}),
            "max_capacity",
        ),
        (
            Method::POST,
            "/appointments".to_owned(),
            json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot,
                   "status": "CONFIRMED"}),
            "status",
        ),
    ];
    for (method, path, body, field) in cases {
        let (s, r) = app.call(method.clone(), &path, body).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), [field], "{method} {path}: {r}");
    }
    // None of them changed anything.
    let (_, doctors) = app.get("/doctors").await;
    assert_eq!(doctors["pagination"]["total"], 1);
    let (_, patients) = app.get("/patients").await;
    assert_eq!(patients["pagination"]["total"], 1);
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(
        (view["status"].as_str(), view["current_bookings"].as_i64()),
        (Some("AVAILABLE"), Some(0))
    );
    let (_, slots) = app.get(&format!("/doctors/{doctor}/time-slots")).await;
    assert_eq!(slots["data"].as_array().unwrap().len(), 1);
}

backends!(
    spec_lists_exactly_the_served_routes,
    spec_is_openapi_3_1_with_examples,
    every_failing_field_is_named,
    unknown_fields_are_refused,
);
