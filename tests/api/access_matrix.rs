//! Every cell of the role table, tried over HTTP, generated from one route list: the policy's
//! own `RULES`. The list must name exactly the operations of the served OpenAPI document (so a
//! new route without a rule fails here) and say what the issue's table says; then, for each row,
//! an anonymous caller and one account per role get the answer the row promises.

use std::collections::BTreeSet;

use carebook::http::policy::{Rule, RULES};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{Account, TestApp, PASSWORD};
use crate::operations::root;

const ROLES: [&str; 4] = ["admin", "scheduler", "doctor", "patient"];

/// The issue's table, written out independently of the code: method, route, and who may call
/// it (`public`, `any` signed-in caller, or the roles).
const TABLE: &[(&str, &str, &str)] = &[
    ("GET", "/fhir/R4/metadata", "public"),
    ("GET", "/fhir/R4/.well-known/smart-configuration", "public"),
    ("GET", "/fhir/R4/Practitioner", "any"),
    ("GET", "/fhir/R4/Practitioner/{id}", "any"),
    ("GET", "/fhir/R4/PractitionerRole", "any"),
    ("GET", "/fhir/R4/PractitionerRole/{id}", "any"),
    ("GET", "/fhir/R4/Schedule", "any"),
    ("GET", "/fhir/R4/Schedule/{id}", "any"),
    ("GET", "/fhir/R4/Slot", "any"),
    ("GET", "/fhir/R4/Slot/{id}", "any"),
    ("GET", "/fhir/R4/Patient", "patient scheduler admin"),
    (
        "GET",
        "/fhir/R4/Patient/{id}",
        "patient doctor scheduler admin",
    ),
    (
        "GET",
        "/fhir/R4/Appointment",
        "patient doctor scheduler admin",
    ),
    (
        "GET",
        "/fhir/R4/Appointment/{id}",
        "patient doctor scheduler admin",
    ),
    ("POST", "/fhir/R4/Appointment/$find", "any"),
    ("GET", "/fhir/R4/AuditEvent", "patient admin"),
    ("GET", "/fhir/R4/AuditEvent/{id}", "patient admin"),
    (
        "POST",
        "/fhir/R4/Appointment/$hold",
        "patient scheduler admin",
    ),
    (
        "POST",
        "/fhir/R4/Appointment/$book",
        "patient scheduler admin",
    ),
    ("GET", "/health", "public"),
    ("GET", "/health/ready", "public"),
    ("GET", "/docs", "public"),
    ("GET", "/docs/{file}", "public"),
    ("GET", "/api/health", "public"),
    ("GET", "/api/health/ready", "public"),
    ("GET", "/api/openapi.json", "public"),
    ("GET", "/api/openapi.yaml", "public"),
    ("POST", "/api/auth/register", "public"),
    ("POST", "/api/auth/login", "public"),
    ("POST", "/api/auth/refresh", "public"),
    ("POST", "/api/auth/verify", "public"),
    ("POST", "/api/auth/accept-invitation", "public"),
    ("POST", "/api/auth/password-reset", "public"),
    ("POST", "/api/auth/password-reset/confirm", "public"),
    ("POST", "/api/auth/logout", "any"),
    ("GET", "/api/auth/me", "any"),
    ("POST", "/api/auth/password", "any"),
    ("POST", "/api/auth/totp", "admin scheduler doctor"),
    ("DELETE", "/api/auth/totp", "admin scheduler doctor"),
    ("POST", "/api/auth/totp/confirm", "admin scheduler doctor"),
    ("DELETE", "/api/users/{id}/totp", "admin"),
    ("GET", "/api/doctors", "public"),
    ("POST", "/api/doctors", "admin"),
    (
        "GET",
        "/api/doctors/specialization/{specialization}",
        "public",
    ),
    ("GET", "/api/doctors/{id}", "public"),
    ("PATCH", "/api/doctors/{id}", "doctor scheduler admin"),
    ("GET", "/api/doctors/{id}/available-slots", "public"),
    (
        "POST",
        "/api/doctors/{id}/time-slots",
        "doctor scheduler admin",
    ),
    (
        "GET",
        "/api/doctors/{id}/time-slots",
        "doctor scheduler admin",
    ),
    (
        "POST",
        "/api/doctors/{id}/time-slots/bulk",
        "doctor scheduler admin",
    ),
    (
        "PATCH",
        "/api/doctors/{id}/time-slots/{slotId}",
        "doctor scheduler admin",
    ),
    (
        "DELETE",
        "/api/doctors/{id}/time-slots/{slotId}",
        "doctor scheduler admin",
    ),
    (
        "POST",
        "/api/doctors/{id}/schedules",
        "doctor scheduler admin",
    ),
    (
        "GET",
        "/api/doctors/{id}/schedules",
        "doctor scheduler admin",
    ),
    (
        "PATCH",
        "/api/doctors/{id}/schedules/{ruleId}",
        "doctor scheduler admin",
    ),
    (
        "DELETE",
        "/api/doctors/{id}/schedules/{ruleId}",
        "doctor scheduler admin",
    ),
    (
        "POST",
        "/api/doctors/{id}/time-off",
        "doctor scheduler admin",
    ),
    (
        "GET",
        "/api/doctors/{id}/time-off",
        "doctor scheduler admin",
    ),
    (
        "DELETE",
        "/api/doctors/{id}/time-off/{timeOffId}",
        "doctor scheduler admin",
    ),
    ("POST", "/api/patients", "scheduler admin"),
    ("GET", "/api/patients", "scheduler admin"),
    (
        "GET",
        "/api/patients/{id}",
        "patient doctor scheduler admin",
    ),
    ("PATCH", "/api/patients/{id}", "patient scheduler admin"),
    ("POST", "/api/patients/{id}/invite", "scheduler admin"),
    ("GET", "/api/patients/{id}/access-log", "patient admin"),
    ("POST", "/api/appointments", "patient scheduler admin"),
    (
        "GET",
        "/api/appointments/{id}",
        "patient doctor scheduler admin",
    ),
    (
        "GET",
        "/api/appointments/{id}/history",
        "patient doctor scheduler admin",
    ),
    (
        "POST",
        "/api/appointments/{id}/confirm",
        "patient scheduler admin",
    ),
    (
        "POST",
        "/api/appointments/{id}/cancel",
        "patient doctor scheduler admin",
    ),
    ("POST", "/api/appointments/{id}/complete", "doctor admin"),
    (
        "POST",
        "/api/appointments/{id}/reschedule",
        "patient doctor scheduler admin",
    ),
    (
        "POST",
        "/api/appointments/{id}/no-show",
        "doctor scheduler admin",
    ),
    ("POST", "/api/appointments/{id}/review", "patient"),
    ("GET", "/api/doctors/{id}/reviews", "public"),
    (
        "GET",
        "/api/appointments/patient/{patientId}",
        "patient scheduler admin",
    ),
    (
        "GET",
        "/api/appointments/doctor/{doctorId}",
        "doctor scheduler admin",
    ),
    ("POST", "/api/users", "admin"),
    ("GET", "/api/users", "admin"),
    ("PATCH", "/api/users/{id}", "admin"),
    ("GET", "/api/audit/access", "admin"),
    ("POST", "/api/webhooks", "admin"),
    ("GET", "/api/webhooks", "admin"),
    ("DELETE", "/api/webhooks/{id}", "admin"),
    ("GET", "/api/outbox", "admin"),
    ("POST", "/api/outbox/{id}/retry", "admin"),
    ("GET", "/api/available-slots", "public"),
    ("POST", "/api/waitlist", "patient doctor scheduler admin"),
    ("GET", "/api/waitlist", "patient doctor scheduler admin"),
    (
        "DELETE",
        "/api/waitlist/{id}",
        "patient doctor scheduler admin",
    ),
];

/// A rule as the table spells it.
fn spelled(rule: Rule) -> String {
    match rule {
        Rule::Public => "public".into(),
        Rule::Roles([]) => "any".into(),
        Rule::Roles(roles) => {
            let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            names.sort_unstable();
            names.join(" ")
        }
    }
}

fn sorted_words(s: &str) -> String {
    let mut w: Vec<&str> = s.split_whitespace().collect();
    w.sort_unstable();
    w.join(" ")
}

/// The served OpenAPI document.
async fn spec(app: &TestApp) -> Value {
    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    doc
}

/// The (method, route) pairs of an OpenAPI document.
fn spec_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// The (method, route) pairs of the FHIR facade, from its CapabilityStatement: each resource
/// read and searched, its operations, and the two conformance documents.
async fn fhir_operations(app: &TestApp) -> BTreeSet<(String, String)> {
    let url = format!("{}/fhir/R4/metadata", root(app));
    let (s, _, cs) = app.send(None, Method::GET, &url, Value::Null, &[]).await;
    assert_eq!(s, StatusCode::OK, "{cs}");
    let mut ops = BTreeSet::new();
    for doc in [
        "/fhir/R4/metadata",
        "/fhir/R4/.well-known/smart-configuration",
    ] {
        ops.insert(("GET".to_owned(), doc.to_owned()));
    }
    for r in cs["rest"][0]["resource"].as_array().expect("resources") {
        let kind = r["type"].as_str().expect("type");
        ops.insert(("GET".to_owned(), format!("/fhir/R4/{kind}")));
        ops.insert(("GET".to_owned(), format!("/fhir/R4/{kind}/{{id}}")));
        for op in r["operation"].as_array().into_iter().flatten() {
            let name = op["name"].as_str().expect("name");
            ops.insert(("POST".to_owned(), format!("/fhir/R4/{kind}/${name}")));
        }
    }
    ops
}

async fn the_role_table_covers_exactly_the_served_operations(app: TestApp) {
    let rules: Vec<(String, String)> = RULES
        .iter()
        .map(|(m, p, _)| (m.to_string(), (*p).to_owned()))
        .collect();
    let ruled: BTreeSet<_> = rules.iter().cloned().collect();
    assert_eq!(ruled.len(), rules.len(), "a route has two rules");
    let doc = spec(&app).await;
    let mut spec = spec_operations(&doc);
    spec.extend(fhir_operations(&app).await);
    let unruled: Vec<_> = spec.difference(&ruled).collect();
    assert!(unruled.is_empty(), "served without a rule: {unruled:?}");
    let unserved: Vec<_> = ruled.difference(&spec).collect();
    assert!(unserved.is_empty(), "a rule for no operation: {unserved:?}");

    // And the rules say what the issue's table says.
    let code: BTreeSet<(String, String, String)> = RULES
        .iter()
        .map(|(m, p, r)| (m.to_string(), (*p).to_owned(), spelled(*r)))
        .collect();
    let issue: BTreeSet<(String, String, String)> = TABLE
        .iter()
        .map(|(m, p, r)| ((*m).to_owned(), (*p).to_owned(), sorted_words(r)))
        .collect();
    let differ: Vec<_> = code.symmetric_difference(&issue).collect();
    assert!(
        differ.is_empty(),
        "rules and the issue's table differ: {differ:?}"
    );

    // The spec shows each operation's security and the answers the rule adds (the FHIR
    // facade's contract is its CapabilityStatement, checked above and in `fhir.rs`).
    for (m, route, rule) in RULES.iter().filter(|(_, r, _)| !r.starts_with("/fhir/")) {
        let op = &doc["paths"][route][m.as_str().to_lowercase()];
        let responses = &op["responses"];
        let bearer = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let documented = |code: &str| responses.get(code).is_some();
        let what = format!("{m} {route}");
        assert!(documented("429"), "{what}: no 429");
        match rule {
            Rule::Public => assert!(!bearer, "{what} is public but asks for a token"),
            Rule::Roles(roles) => {
                assert!(bearer && documented("401"), "{what}: no security or 401");
                assert_eq!(documented("403"), !roles.is_empty(), "{what}: 403");
            }
        }
    }
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
}

/// One account per role, each owning the objects the paths are filled with.
struct World {
    accounts: Vec<Account>,
    doctor: String,
    patient: String,
    slot: String,
    appointment: String,
    spare_user: String,
}

async fn world(app: &TestApp) -> World {
    let doctor = app.doctor_account().await;
    let patient = app.sign_up().await;
    let (doctor_id, patient_id) = (
        doctor.doctor_id.clone().unwrap(),
        patient.patient_id.clone().unwrap(),
    );
    let slot = app.slot(&doctor_id, 2, "10:00", 5).await;
    let (s, b) = app.book(&patient_id, &doctor_id, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let spare = app.account("scheduler", None).await;
    let accounts = vec![
        app.account("admin", None).await,
        app.account("scheduler", None).await,
        doctor,
        patient,
    ];
    let roles: Vec<&str> = accounts.iter().map(|a| a.role.as_str()).collect();
    assert_eq!(roles, ROLES, "one account per role");
    World {
        accounts,
        doctor: doctor_id,
        patient: patient_id,
        slot,
        appointment: b["data"]["id"].as_str().unwrap().to_owned(),
        spare_user: spare.user_id,
    }
}

/// A concrete URL for a route: each parameter filled with an object of the world (owned by the
/// role accounts). An unknown parameter fails the test, so a new route gets a value here.
fn fill(app: &TestApp, route: &str, w: &World) -> String {
    let segments: Vec<&str> = route.split('/').collect();
    let filled: Vec<String> = segments
        .iter()
        .enumerate()
        .map(|(i, seg)| {
            if !seg.starts_with('{') {
                return (*seg).to_owned();
            }
            let value = match (segments[i - 1], *seg) {
                ("doctors", "{id}") | ("doctor", "{doctorId}") => w.doctor.as_str(),
                ("patients", "{id}") | ("patient", "{patientId}") => w.patient.as_str(),
                ("appointments", "{id}") => w.appointment.as_str(),
                ("time-slots", "{slotId}") => w.slot.as_str(),
                // No such rule or time off: an allowed caller gets 404, past the role check.
                ("schedules", "{ruleId}") | ("time-off", "{timeOffId}") | ("waitlist", "{id}") => {
                    "00000000-0000-4000-8000-000000000000"
                }
                ("users", "{id}") => w.spare_user.as_str(),
                // No such webhook: an admin gets 404, past the role check.
                ("webhooks", "{id}") => "00000000-0000-4000-8000-000000000000",
                // No such outbox row: an admin gets 404, past the role check.
                ("outbox", "{id}") => "987654321",
                ("specialization", _) => "Cardiology",
                ("docs", "{file}") => "init.js",
                ("Practitioner" | "PractitionerRole" | "Schedule", "{id}") => w.doctor.as_str(),
                ("Patient", "{id}") => w.patient.as_str(),
                ("Appointment", "{id}") => w.appointment.as_str(),
                ("Slot", "{id}") => w.slot.as_str(),
                // No such record: an allowed caller gets 404, past the role check.
                ("AuditEvent", "{id}") => "x",
                _ => panic!("no value for {seg} in {route}: add one"),
            };
            value.to_owned()
        })
        .collect();
    format!("{}{}", root(app), filled.join("/"))
}

fn method(m: &axum::http::Method) -> Method {
    Method::from_bytes(m.as_str().as_bytes()).unwrap()
}

/// A body for the route: `{}` for writes (a 400 is an answer past the role check), none else.
fn body_for(m: &Method) -> Value {
    if m == Method::POST || m == Method::PATCH {
        json!({})
    } else {
        Value::Null
    }
}

/// The error code of an answer: the API's envelope's, or the one a FHIR OperationOutcome
/// carries beside FHIR's issue type.
fn code(b: &Value) -> &str {
    b["error"]["code"]
        .as_str()
        .or_else(|| b["issue"][0]["details"]["coding"][0]["code"].as_str())
        .unwrap_or_default()
}

async fn every_cell_of_the_role_table_answers_as_written(app: TestApp) {
    let w = world(&app).await;
    let mut wrong = Vec::new();
    for (m, route, rule) in RULES {
        let (m, url) = (method(m), fill(&app, route, &w));
        let (s, h, b) = app.send(None, m.clone(), &url, body_for(&m), &[]).await;
        let cell = format!("{m} {route} anonymous");
        match rule {
            Rule::Public if matches!(s.as_u16(), 401 | 403) || s.is_server_error() => {
                wrong.push(format!("{cell}: {s} {b}"))
            }
            Rule::Public => {}
            Rule::Roles(_) => {
                let challenge = h.get("www-authenticate").and_then(|v| v.to_str().ok());
                let bearer = challenge.is_some_and(|c| c.starts_with("Bearer"));
                if s != StatusCode::UNAUTHORIZED || code(&b) != "UNAUTHORIZED" || !bearer {
                    wrong.push(format!("{cell}: {s} {challenge:?} {b}"));
                }
            }
        }
        let Rule::Roles(allowed) = rule else { continue };
        for who in &w.accounts {
            let may = allowed.is_empty() || allowed.iter().any(|r| r.as_str() == who.role);
            // Logging out ends the session: spend a fresh one on it.
            let token = if route.ends_with("/logout") {
                app.login(&who.email, PASSWORD).await["access_token"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            } else {
                who.access.clone()
            };
            let (s, _, b) = app
                .send(Some(&token), m.clone(), &url, body_for(&m), &[])
                .await;
            let cell = format!("{m} {route} as {}", who.role);
            let ok = if may {
                !matches!(s.as_u16(), 401 | 403) && !s.is_server_error()
            } else {
                s == StatusCode::FORBIDDEN && code(&b) == "FORBIDDEN"
            };
            if !ok {
                wrong.push(format!("{cell} (allowed: {may}): {s} {b}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "cells answering otherwise:\n{}",
        wrong.join("\n")
    );
}

backends!(
    the_role_table_covers_exactly_the_served_operations,
    every_cell_of_the_role_table_answers_as_written,
);
