//! The FHIR R4 facade over HTTP on both backends: the CapabilityStatement lists exactly what
//! is served, a scheduling flow through FHIR alone agrees with the API's seat counts, parallel
//! holds never overbook, and a patient's token reaches only that patient's records.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{TestApp, PASSWORD};

/// `(status, body)` of a FHIR request with `token` (none when `None`).
async fn fhir(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let root = app.base.trim_end_matches("/api");
    let mut req = reqwest::Client::new().request(method, format!("{root}/fhir/R4{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if !body.is_null() {
        req = req
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let kind = res.headers().get("content-type").cloned();
    let text = res.text().await.expect("body");
    if status != StatusCode::NOT_MODIFIED && !path.starts_with("/.well-known") {
        assert_eq!(
            kind.as_ref().and_then(|k| k.to_str().ok()),
            Some("application/fhir+json"),
            "{path}: {text}"
        );
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET` of a FHIR path with `token`.
async fn get(app: &TestApp, token: Option<&str>, path: &str) -> (StatusCode, Value) {
    fhir(app, token, Method::GET, path, Value::Null).await
}

/// Asserts an `OperationOutcome` with this status and issue type.
fn outcome(status: StatusCode, body: &Value, want: u16, issue: &str) {
    assert_eq!(status.as_u16(), want, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["code"], issue, "{body}");
}

/// The ids of a searchset's matches.
fn ids(bundle: &Value) -> Vec<String> {
    assert_eq!(bundle["type"], "searchset", "{bundle}");
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|x| x["resource"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every resource and search parameter the CapabilityStatement lists is served (a listed
/// parameter is accepted, an unlisted one refused), and nothing anonymous reaches a resource.
async fn the_statement_lists_what_is_served(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "09:00", 2).await;
    let patient = app.patient().await;
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let appointment = b["data"]["id"].as_str().unwrap().to_owned();
    let admin = Some(app.token.as_str());
    let (s, cs) = get(&app, None, "/metadata").await;
    assert_eq!(s, StatusCode::OK, "{cs}");
    assert_eq!(
        (
            cs["resourceType"].as_str(),
            cs["fhirVersion"].as_str(),
            cs["kind"].as_str()
        ),
        (Some("CapabilityStatement"), Some("4.0.1"), Some("instance"))
    );
    // The booking's access record, as an AuditEvent.
    let q = format!("/AuditEvent?patient=Patient/{patient}");
    let (s, events) = get(&app, admin, &q).await;
    assert_eq!(s, StatusCode::OK, "{events}");
    let event = ids(&events).first().cloned().expect("an access record");
    let ids_of = |kind: &str| match kind {
        "AuditEvent" => event.clone(),
        "Slot" => slot.clone(),
        "Patient" => patient.clone(),
        "Appointment" => appointment.clone(),
        _ => doctor.clone(),
    };
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let kinds: Vec<&str> = resources
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "Practitioner",
            "PractitionerRole",
            "Schedule",
            "Slot",
            "Patient",
            "Appointment",
            "AuditEvent"
        ]
    );
    for r in resources {
        let kind = r["type"].as_str().unwrap();
        let id = ids_of(kind);
        let (s, b) = get(&app, admin, &format!("/{kind}/{id}")).await;
        assert_eq!(
            (s, b["resourceType"].as_str(), b["id"].as_str()),
            (StatusCode::OK, Some(kind), Some(id.as_str())),
            "{b}"
        );
        let (s, b) = get(&app, None, &format!("/{kind}/{id}")).await;
        outcome(s, &b, 401, "security");
        // The narrowest filter each search needs to run at all.
        let anchor = match kind {
            "Slot" => format!("schedule=Schedule/{doctor}&"),
            "Appointment" => format!("patient=Patient/{patient}&"),
            _ => String::new(),
        };
        for p in r["searchParam"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let value = match (kind, name) {
                (_, "_id") => id.clone(),
                // Any past date: the search is run, whoever it finds.
                (_, "birthdate") => (chrono::Utc::now() - chrono::Duration::days(40 * 365))
                    .date_naive()
                    .to_string(),
                (_, "start" | "date") => {
                    format!("ge{}", chrono::Utc::now().date_naive())
                }
                (_, "status") if kind == "Slot" => "free".into(),
                (_, "status") => "pending".into(),
                (_, "schedule") => format!("Schedule/{doctor}"),
                (_, "patient") => format!("Patient/{patient}"),
                (_, "slot") => format!("Slot/{slot}"),
                (_, "practitioner" | "actor") => format!("Practitioner/{doctor}"),
                _ => "x".into(),
            };
            // The anchor's own parameter is sent once (a repeat is refused).
            let before = if anchor.starts_with(&format!("{name}=")) {
                ""
            } else {
                anchor.as_str()
            };
            let q = format!("/{kind}?{before}{name}={}", urlencoding(&value));
            let (s, b) = get(&app, admin, &q).await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            assert_eq!(b["resourceType"], "Bundle", "{q}: {b}");
        }
        // Each `_include` listed brings the resources it names, marked as included.
        let listed = r["searchInclude"].as_array().cloned().unwrap_or_default();
        for inc in listed.iter().filter_map(Value::as_str) {
            let q = format!("/{kind}?{anchor}_include={inc}");
            let (s, b) = get(&app, admin, &q).await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            let want = match inc.split(':').nth(1) {
                Some("patient") => "Patient",
                Some("practitioner") => "Practitioner",
                Some("slot") => "Slot",
                _ => "Schedule",
            };
            let entries = b["entry"].as_array().cloned().unwrap_or_default();
            let included: Vec<&Value> = entries
                .iter()
                .filter(|e| e["search"]["mode"] == "include")
                .collect();
            assert!(!included.is_empty(), "{q}: {b}");
            assert!(
                included
                    .iter()
                    .all(|e| e["resource"]["resourceType"] == want),
                "{q}: {b}"
            );
        }
        let q = format!("/{kind}?{anchor}_include={kind}:nothing");
        let (s, b) = get(&app, admin, &q).await;
        outcome(s, &b, 400, "invalid");
        let (s, b) = get(&app, admin, &format!("/{kind}?{anchor}colour=blue")).await;
        outcome(s, &b, 400, "invalid");
    }
    let ops: Vec<&str> = resources[5]["operation"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(ops, ["find", "hold", "book"]);
    let (s, b) = get(&app, admin, "/Encounter").await;
    outcome(s, &b, 404, "not-found");
    let (s, b) = get(&app, admin, &format!("/Practitioner/{doctor}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let version = b["meta"]["versionId"].as_str().unwrap();
    let root = app.base.trim_end_matches("/api");
    let res = reqwest::Client::new()
        .get(format!("{root}/fhir/R4/Practitioner/{doctor}"))
        .bearer_auth(&app.token)
        .header("if-none-match", format!("W/\"{version}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

fn urlencoding(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// A `Parameters` body.
fn parameters(list: Value) -> Value {
    json!({"resourceType": "Parameters", "parameter": list})
}

/// A patient finds, holds, books, lists and cancels through FHIR alone; the API's seat count
/// follows each step; another patient reaches none of it.
async fn a_patient_schedules_through_fhir_alone(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 2).await;
    let me = app.sign_up().await;
    let other = app.sign_up().await;
    let mine = me.patient_id.clone().unwrap();
    // The token's SMART scopes, as the smart-configuration lists them.
    let login = app.login(&me.email, PASSWORD).await;
    let scope = login["scope"].as_str().unwrap_or_default().to_owned();
    assert!(
        scope.split(' ').any(|s| s == "patient/Appointment.crus"),
        "{login}"
    );
    let (_, smart) = get(&app, None, "/.well-known/smart-configuration").await;
    let listed: Vec<&str> = smart["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        scope.split(' ').all(|s| listed.contains(&s)),
        "{scope} / {listed:?}"
    );
    let token = Some(me.access.as_str());
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let find = parameters(json!([
        {"name": "start", "valueDate": day.to_string()},
        {"name": "end", "valueDate": (day + chrono::Duration::days(1)).to_string()},
        {"name": "practitioner", "valueReference": {"reference": format!("Practitioner/{doctor}")}},
    ]));
    let (s, b) = fhir(&app, token, Method::POST, "/Appointment/$find", find).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let proposed = b["entry"][0]["resource"].clone();
    assert_eq!(proposed["status"], "proposed", "{b}");
    assert_eq!(proposed["slot"][0]["reference"], format!("Slot/{slot}"));

    let hold = parameters(json!([{"name": "appointment", "resource": proposed}]));
    let (s, held) = fhir(&app, token, Method::POST, "/Appointment/$hold", hold).await;
    assert_eq!(s, StatusCode::OK, "{held}");
    assert_eq!(held["status"], "pending", "{held}");
    assert!(held["extension"][0]["valueInstant"].is_string(), "{held}");
    assert_eq!(app.slot_view(&doctor, &slot).await["available_capacity"], 1);
    let id = held["id"].as_str().unwrap().to_owned();

    let book = parameters(json!([{"name": "appointment", "resource": held}]));
    let (s, booked) = fhir(&app, token, Method::POST, "/Appointment/$book", book).await;
    assert_eq!(
        (s, booked["status"].as_str()),
        (StatusCode::OK, Some("booked")),
        "{booked}"
    );
    let (_, api) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(api["data"]["status"], "CONFIRMED", "{api}");

    let (s, b) = get(&app, token, &format!("/Appointment?patient=Patient/{mine}")).await;
    assert_eq!((s, ids(&b)), (StatusCode::OK, vec![id.clone()]), "{b}");
    // Another patient: not their appointment nor their patient, and their search is their own.
    let theirs = Some(other.access.as_str());
    let (s, b) = get(&app, theirs, &format!("/Appointment/{id}")).await;
    outcome(s, &b, 404, "not-found");
    let (s, b) = get(&app, theirs, &format!("/Patient/{mine}")).await;
    outcome(s, &b, 404, "not-found");
    let (s, b) = get(
        &app,
        theirs,
        &format!("/Appointment?patient=Patient/{mine}"),
    )
    .await;
    assert_eq!((s, ids(&b)), (StatusCode::OK, vec![]), "{b}");
    let (s, b) = get(&app, theirs, "/Patient").await;
    assert_eq!(
        (s, ids(&b)),
        (StatusCode::OK, vec![other.patient_id.clone().unwrap()]),
        "{b}"
    );
    let cancel = parameters(
        json!([{"name": "appointment", "resource": {"resourceType": "Appointment", "id": id, "status": "cancelled"}}]),
    );
    let (s, b) = fhir(
        &app,
        theirs,
        Method::POST,
        "/Appointment/$book",
        cancel.clone(),
    )
    .await;
    outcome(s, &b, 404, "not-found");

    let (s, b) = fhir(&app, token, Method::POST, "/Appointment/$book", cancel).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{b}"
    );
    assert_eq!(app.slot_view(&doctor, &slot).await["available_capacity"], 2);
    // Every FHIR read of the patient's data is in their access log under its FHIR route.
    let (s, log) = app
        .get(&format!("/patients/{mine}/access-log?limit=100"))
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let routes: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["route"].as_str())
        .collect();
    assert!(routes.contains(&"/fhir/R4/Appointment"), "{routes:?}");
    assert!(routes.contains(&"/fhir/R4/Appointment/$book"), "{routes:?}");
}

/// Sixty parallel `$hold`s of sixty patients on a five-seat slot: exactly five holds, the rest
/// OperationOutcomes with a 4xx, none a 5xx.
async fn parallel_holds_never_overbook(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "11:00", 5).await;
    let mut patients = Vec::new();
    for _ in 0..60 {
        patients.push(app.patient().await);
    }
    let holds = patients.iter().map(|p| {
        let body = parameters(json!([
            {"name": "slot", "valueReference": {"reference": format!("Slot/{slot}")}},
            {"name": "patient", "valueReference": {"reference": format!("Patient/{p}")}},
        ]));
        let app = &app;
        async move {
            fhir(
                app,
                Some(&app.token),
                Method::POST,
                "/Appointment/$hold",
                body,
            )
            .await
        }
    });
    let answers = join_all(holds).await;
    let held = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::OK && b["status"] == "pending")
        .count();
    assert_eq!(held, 5, "{answers:?}");
    for (s, b) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        // A full slot is a refusal, never a 5xx.
        assert!(s.is_client_error(), "{s} {b}");
        assert_eq!(b["resourceType"], "OperationOutcome", "{b}");
    }
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 5);
    let (s, b) = get(&app, Some(&app.token), &format!("/Slot/{slot}")).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("busy")),
        "{b}"
    );
}

/// A conditional `$hold` (`If-None-Exist`, an Appointment search) answers the one
/// appointment it finds instead of booking again; several matches are 412.
async fn if_none_exist_books_once(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "13:00", 3).await;
    let me = app.sign_up().await;
    let root = app.base.trim_end_matches("/api");
    let hold = |condition: &'static str| {
        let body = parameters(json!([
            {"name": "slot", "valueReference": {"reference": format!("Slot/{slot}")}},
        ]));
        reqwest::Client::new()
            .post(format!("{root}/fhir/R4/Appointment/$hold"))
            .bearer_auth(&me.access)
            .header("content-type", "application/fhir+json")
            .header(
                "if-none-exist",
                format!("slot=Slot/{slot}&status={condition}"),
            )
            .body(body.to_string())
            .send()
    };
    let first: Value = hold("pending").await.unwrap().json().await.unwrap();
    assert_eq!(first["status"], "pending", "{first}");
    let again = hold("pending").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"], "{again}");
    assert_eq!(app.slot_view(&doctor, &slot).await["available_capacity"], 2);
    // Nothing matches a cancelled one: the patient already holds this slot, so the API's
    // own refusal answers.
    let (s, b) = {
        let res = hold("cancelled").await.unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    outcome(s, &b, 409, "conflict");
    // The desk holds the slot for another patient with the same condition: the first
    // patient's hold does not answer it (the seat asked for narrows the search).
    let other = app.patient().await;
    let desk_hold = |patient: String, condition: &'static str| {
        let body = parameters(json!([
            {"name": "slot", "valueReference": {"reference": format!("Slot/{slot}")}},
            {"name": "patient", "valueReference": {"reference": format!("Patient/{patient}")}},
        ]));
        reqwest::Client::new()
            .post(format!("{root}/fhir/R4/Appointment/$hold"))
            .bearer_auth(&app.token)
            .header("if-none-exist", condition)
            .body(body.to_string())
            .send()
    };
    let res = desk_hold(other.clone(), "status=pending,booked")
        .await
        .unwrap();
    let theirs: Value = res.json().await.unwrap();
    assert_eq!(theirs["status"], "pending", "{theirs}");
    assert_ne!(theirs["id"], first["id"], "{theirs}");
    let patient_ref = format!("Patient/{other}");
    assert_eq!(
        theirs["participant"][0]["actor"]["reference"],
        patient_ref.as_str()
    );
    // Two appointments of one patient on the slot (one cancelled): a condition matching
    // both is 412.
    let (s, b) = app
        .post(
            &format!("/appointments/{}/cancel", theirs["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.book(&other, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let res = desk_hold(other.clone(), "_count=10").await.unwrap();
    let (s, b) = (res.status(), res.json::<Value>().await.unwrap());
    outcome(s, &b, 412, "multiple-matches");
}

/// Hostile or unsupported input is a 4xx OperationOutcome that changes nothing: dates
/// outside the calendar, modifiers, repeats, huge offsets, control characters, media types
/// the facade does not speak, parameters an operation does not take. A search naming
/// nothing that exists is an empty Bundle.
async fn odd_input_is_refused(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "15:00", 1).await;
    let patient = app.patient().await;
    let admin = Some(app.token.as_str());
    let far = "-262143-01-01";
    for (path, status, issue) in [
        (format!("/AuditEvent?date=lt{far}"), 400, "invalid"),
        (
            format!("/Slot?schedule={doctor}&start=ge{far}"),
            400,
            "invalid",
        ),
        (
            format!(
                "/AuditEvent/{}.zzzzzzzzzzzzz.1",
                uuid::Uuid::new_v4().simple()
            ),
            404,
            "not-found",
        ),
        (
            "/Practitioner?_offset=18446744073709551615".to_owned(),
            400,
            "invalid",
        ),
        (
            "/Patient?_offset=9223372036854775808".to_owned(),
            400,
            "invalid",
        ),
        ("/Patient?name:exact=Zzz".to_owned(), 400, "invalid"),
        (
            format!("/Slot?schedule={doctor}&status:not=free"),
            400,
            "invalid",
        ),
        (
            format!("/Patient?_id={patient}&_id={}", uuid::Uuid::new_v4()),
            400,
            "invalid",
        ),
        ("/Patient?name=a%00b".to_owned(), 400, "invalid"),
        ("/Patient?_format=xml".to_owned(), 406, "not-supported"),
    ] {
        let (s, b) = get(&app, admin, &path).await;
        outcome(s, &b, status, issue);
    }
    let root = app.base.trim_end_matches("/api");
    let res = reqwest::Client::new()
        .get(format!("{root}/fhir/R4/Patient"))
        .bearer_auth(&app.token)
        .header("accept", "application/fhir+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let find = parameters(json!([{"name": "start", "valueDate": tomorrow.to_string()}]));
    let res = reqwest::Client::new()
        .post(format!("{root}/fhir/R4/Appointment/$find"))
        .bearer_auth(&app.token)
        .header("content-type", "text/plain")
        .body(find.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bogus = parameters(json!([{"name": "bogus", "valueString": "x"}]));
    let (s, b) = fhir(&app, admin, Method::POST, "/Appointment/$find", bogus).await;
    outcome(s, &b, 400, "invalid");
    // A reason with a control character cancels nothing.
    let (s, b) = app.book(&patient, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let cancel = parameters(
        json!([{"name": "appointment", "resource": {"resourceType": "Appointment",
        "id": id, "status": "cancelled", "cancelationReason": {"text": "x\u{0}y"}}}]),
    );
    let (s, b) = fhir(&app, admin, Method::POST, "/Appointment/$book", cancel).await;
    outcome(s, &b, 400, "invalid");
    let (_, a) = app.get(&format!("/appointments/{id}")).await;
    assert_eq!(a["data"]["status"], "PENDING", "{a}");
    // Nothing that exists: an empty Bundle; an appointment by its id alone.
    let nobody = uuid::Uuid::new_v4();
    let (s, b) = get(
        &app,
        admin,
        &format!("/Appointment?patient=Patient/{nobody}"),
    )
    .await;
    assert_eq!((s, ids(&b)), (StatusCode::OK, vec![]), "{b}");
    let (s, b) = get(&app, admin, &format!("/Appointment?_id={id}")).await;
    assert_eq!((s, ids(&b)), (StatusCode::OK, vec![id.clone()]), "{b}");
    let (s, b) = get(&app, admin, "/Patient?_count=0").await;
    assert_eq!((s, ids(&b)), (StatusCode::OK, vec![]), "{b}");
    assert!(b["total"].as_u64().unwrap() >= 1, "{b}");
}

/// A hold made through FHIR lapses like any other: once past its deadline it reads
/// `cancelled` (the hold expired), its seat is free again, and `$book` refuses it.
async fn a_fhir_hold_expires(app: TestApp) {
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "14:00", 1).await;
    let me = app.sign_up().await;
    let token = Some(me.access.as_str());
    let hold = parameters(json!([
        {"name": "slot", "valueReference": {"reference": format!("Slot/{slot}")}},
    ]));
    let (s, held) = fhir(&app, token, Method::POST, "/Appointment/$hold", hold).await;
    assert_eq!(
        (s, held["status"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{held}"
    );
    let id = held["id"].as_str().unwrap().to_owned();
    assert_eq!(app.slot_view(&doctor, &slot).await["available_capacity"], 0);
    app.expire_hold(&id).await;
    let (s, b) = get(&app, token, &format!("/Appointment/{id}")).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{b}"
    );
    assert!(
        b["cancelationReason"]["text"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{b}"
    );
    let (s, b) = get(&app, token, &format!("/Slot/{slot}")).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("free")),
        "{b}"
    );
    let book = parameters(json!([{"name": "appointment", "resource": held}]));
    let (s, b) = fhir(&app, token, Method::POST, "/Appointment/$book", book).await;
    outcome(s, &b, 409, "business-rule");
}

backends!(
    odd_input_is_refused,
    a_fhir_hold_expires,
    if_none_exist_books_once,
    the_statement_lists_what_is_served,
    a_patient_schedules_through_fhir_alone,
    parallel_holds_never_overbook,
);
