//! `/doctors`: registration, validation, uniqueness, listing, search, lookup and partial update.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};

/// A valid registration body with a unique e-mail and licence number.
fn body(tag: &str) -> Value {
    let n = uuid::Uuid::new_v4().simple().to_string();
    json!({
        "name": format!("Dr {tag}"),
        "specialization": "Cardiology",
        "email": format!("{tag}.{n}@clinic.test").to_lowercase(),
        "license_number": format!("LIC-{n}"),
    })
}

/// Registers a doctor from `b`, asserting 201; returns the created record.
async fn create(app: &TestApp, b: Value) -> Value {
    let (s, r) = app.post("/doctors", b).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["data"].clone()
}

/// The total number of active doctors as the list route reports it.
async fn total(app: &TestApp) -> i64 {
    let (s, b) = app.get("/doctors").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["pagination"]["total"].as_i64().expect("total")
}

/// Sends a raw body with a JSON content type.
async fn raw(app: &TestApp, method: reqwest::Method, path: &str, raw: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(raw.to_owned())
        .send()
        .await
        .expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body {status}: {text}"));
    (status, json)
}

fn is_rfc3339_utc(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

async fn create_returns_201_with_trimmed_fields_and_defaults(app: TestApp) {
    let (s, b) = app
        .post(
            "/doctors",
            json!({
                "name": "  Dr Ann Lee  ",
                "specialization": "\tCardiology ",
                "email": "  Ann.Lee@Clinic.EXAMPLE ",
                "license_number": " LIC-0001 ",
                "phone": " +1 (555) 123-4567 ",
                "clinic_name": "  Heart Centre ",
                "address": " 1 Main St ",
                "bio": " Twenty years of practice. ",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["success"], true, "{b}");
    assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()), "{b}");
    let d = &b["data"];
    assert!(
        d["id"]
            .as_str()
            .and_then(|i| uuid::Uuid::parse_str(i).ok())
            .is_some(),
        "{d}"
    );
    assert_eq!(d["name"], "Dr Ann Lee");
    assert_eq!(d["specialization"], "Cardiology");
    assert_eq!(d["email"], "ann.lee@clinic.example");
    assert_eq!(d["license_number"], "LIC-0001");
    assert_eq!(d["phone"], "+1 (555) 123-4567");
    assert_eq!(d["clinic_name"], "Heart Centre");
    assert_eq!(d["address"], "1 Main St");
    assert_eq!(d["bio"], "Twenty years of practice.");
    // CLINIC_TIMEZONE is UTC in the test settings.
    assert_eq!(d["timezone"], "UTC");
    assert_eq!(d["is_active"], true);
    assert!(is_rfc3339_utc(&d["created_at"]), "{d}");
    assert!(is_rfc3339_utc(&d["updated_at"]), "{d}");

    // What was stored is what was answered.
    let (s, got) = app
        .get(&format!("/doctors/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["success"], true);
    assert_eq!(&got["data"], d);
}

async fn create_without_optional_fields_stores_nulls(app: TestApp) {
    let d = create(&app, body("minimal")).await;
    for field in ["phone", "clinic_name", "address", "bio"] {
        assert!(d[field].is_null(), "{field}: {d}");
    }
    // Empty optional text reads as absent.
    let mut b = body("blank-optional");
    b["clinic_name"] = json!("   ");
    b["bio"] = json!("");
    b["phone"] = json!(null);
    let d = create(&app, b).await;
    assert!(
        d["clinic_name"].is_null() && d["bio"].is_null() && d["phone"].is_null(),
        "{d}"
    );
}

async fn create_accepts_an_iana_timezone(app: TestApp) {
    let mut b = body("kolkata");
    b["timezone"] = json!("Asia/Kolkata");
    assert_eq!(create(&app, b).await["timezone"], "Asia/Kolkata");
    let mut b = body("paris");
    b["timezone"] = json!("  Europe/Paris ");
    assert_eq!(create(&app, b).await["timezone"], "Europe/Paris");
}

async fn create_rejects_unknown_timezone(app: TestApp) {
    for tz in ["Mars/Olympus", "Europe/Atlantis", "GMT+25", ""] {
        let mut b = body("tz");
        b["timezone"] = json!(tz);
        let (s, r) = app.post("/doctors", b).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["timezone"], "{tz}: {r}");
    }
    assert_eq!(total(&app).await, 0);
}

async fn create_names_every_missing_field(app: TestApp) {
    let (s, r) = app.post("/doctors", json!({})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let fields = error_fields(&r);
    for f in ["name", "specialization", "email", "license_number"] {
        assert!(fields.contains(&f.to_owned()), "{f} not named: {r}");
    }
    for d in r["error"]["details"].as_array().unwrap() {
        assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    }

    // Only the missing one is named.
    let mut b = body("partial");
    b.as_object_mut().unwrap().remove("license_number");
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["license_number"], "{r}");

    // Explicit nulls count as missing.
    let (s, r) = app
        .post(
            "/doctors",
            json!({"name": null, "specialization": "X", "email": "n@x.test", "license_number": "L-null"}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["name"], "{r}");

    // No body at all.
    let res = app
        .client
        .post(format!("{}/doctors", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["error"]["code"], "VALIDATION_ERROR", "{r}");
    assert_eq!(total(&app).await, 0);
}

async fn create_rejects_empty_and_blank_strings(app: TestApp) {
    let (s, r) = app
        .post(
            "/doctors",
            json!({"name": "", "specialization": "   ", "email": "", "license_number": " \t "}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(
        fields,
        ["email", "license_number", "name", "specialization"],
        "{r}"
    );
    assert_eq!(total(&app).await, 0);
}

async fn create_rejects_bad_emails(app: TestApp) {
    for email in [
        "not-an-email",
        "a@b",
        "@clinic.test",
        "ann@",
        "ann lee@clinic.test",
        "ann@clinic..test",
        "ann@@clinic.test",
        "ann@-clinic.test",
    ] {
        let mut b = body("email");
        b["email"] = json!(email);
        let (s, r) = app.post("/doctors", b).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["email"], "{email}: {r}");
    }
    assert_eq!(total(&app).await, 0);
}

async fn create_rejects_bad_phone(app: TestApp) {
    for phone in ["abc", "123", "555-CALL-NOW", "1".repeat(21).as_str()] {
        let mut b = body("phone");
        b["phone"] = json!(phone);
        let (s, r) = app.post("/doctors", b).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["phone"], "{phone}: {r}");
    }
    assert_eq!(total(&app).await, 0);
}

async fn create_enforces_maximum_lengths(app: TestApp) {
    let mut b = body("long");
    b["name"] = json!("N".repeat(201));
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["name"], "{r}");

    let mut b = body("long");
    b["specialization"] = json!("S".repeat(1000));
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["specialization"], "{r}");

    let mut b = body("long");
    b["bio"] = json!("B".repeat(100_000));
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["bio"], "{r}");

    let mut b = body("long");
    b["email"] = json!(format!("{}@clinic.test", "e".repeat(300)));
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["email"], "{r}");
    assert_eq!(total(&app).await, 0);

    // A 200-character name (multi-byte characters count as one) is fine.
    let mut b = body("long");
    b["name"] = json!("é".repeat(200));
    assert_eq!(create(&app, b).await["name"], "é".repeat(200));
}

async fn create_rejects_wrong_json_types(app: TestApp) {
    let (s, r) = app
        .post(
            "/doctors",
            json!({"name": 5, "specialization": ["Cardiology"], "email": true, "license_number": {"n": 1},
                   "phone": 5551234567_i64, "timezone": 0, "bio": false}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let fields = error_fields(&r);
    for f in [
        "name",
        "specialization",
        "email",
        "license_number",
        "phone",
        "timezone",
        "bio",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} not named: {r}");
    }

    let mut b = body("types");
    b["name"] = json!(5);
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["name"], "{r}");
    assert_eq!(total(&app).await, 0);
}

async fn create_rejects_malformed_and_non_object_json(app: TestApp) {
    for bad in [
        r#"{"name": "Dr A", "#,
        "{name: 'x'}",
        "not json",
        r#"{"name": "x"} trailing"#,
    ] {
        let (s, r) = raw(&app, reqwest::Method::POST, "/doctors", bad).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    for bad in [
        json!([body("arr")]),
        json!("a string"),
        json!(42),
        json!(true),
    ] {
        let (s, r) = app.post("/doctors", bad.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    let (s, r) = raw(&app, reqwest::Method::POST, "/doctors", "null").await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(total(&app).await, 0);
}

async fn duplicate_email_is_409_case_insensitively(app: TestApp) {
    let mut first = body("dup");
    first["email"] = json!("Dup.Doc@Clinic.Example");
    let d = create(&app, first).await;
    assert_eq!(d["email"], "dup.doc@clinic.example");

    for email in [
        "dup.doc@clinic.example",
        "DUP.DOC@CLINIC.EXAMPLE",
        "  Dup.Doc@clinic.example ",
    ] {
        let mut b = body("dup");
        b["email"] = json!(email);
        let (s, r) = app.post("/doctors", b).await;
        assert_error(s, &r, 409, "DUPLICATE");
    }
    assert_eq!(total(&app).await, 1);
}

async fn duplicate_license_number_is_409(app: TestApp) {
    let mut first = body("lic");
    first["license_number"] = json!("MED-12345");
    create(&app, first).await;

    let mut b = body("lic2");
    b["license_number"] = json!("  MED-12345 ");
    let (s, r) = app.post("/doctors", b).await;
    assert_error(s, &r, 409, "DUPLICATE");
    assert_eq!(total(&app).await, 1);

    // Another licence with the same e-mail prefix is fine.
    let mut b = body("lic3");
    b["license_number"] = json!("MED-12346");
    create(&app, b).await;
    assert_eq!(total(&app).await, 2);
}

async fn list_paginates_with_defaults_and_total(app: TestApp) {
    let (s, b) = app.get("/doctors").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    assert_eq!(b["data"], json!([]));
    assert_eq!(
        b["pagination"],
        json!({"limit": 20, "offset": 0, "total": 0})
    );

    for i in 0..25 {
        create(&app, body(&format!("list{i:02}"))).await;
    }
    let (s, b) = app.get("/doctors").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"].as_array().unwrap().len(), 20);
    assert_eq!(
        b["pagination"],
        json!({"limit": 20, "offset": 0, "total": 25})
    );

    let (_, b) = app.get("/doctors?limit=10&offset=20").await;
    assert_eq!(b["data"].as_array().unwrap().len(), 5);
    assert_eq!(
        b["pagination"],
        json!({"limit": 10, "offset": 20, "total": 25})
    );

    let (s, b) = app.get("/doctors?offset=500").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"], json!([]));
    assert_eq!(b["pagination"]["total"], 25);

    let (_, b) = app.get("/doctors?limit=1").await;
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
}

async fn list_clamps_limit_to_100(app: TestApp) {
    for i in 0..105 {
        create(&app, body(&format!("clamp{i:03}"))).await;
    }
    for limit in ["101", "500", "1000000"] {
        let (s, b) = app.get(&format!("/doctors?limit={limit}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["data"].as_array().unwrap().len(), 100, "{limit}");
        assert_eq!(b["pagination"]["limit"], 100);
        assert_eq!(b["pagination"]["total"], 105);
    }
    let (_, b) = app.get("/doctors?limit=100&offset=100").await;
    assert_eq!(b["data"].as_array().unwrap().len(), 5);
}

async fn list_rejects_bad_limit_and_offset(app: TestApp) {
    for (q, field) in [
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("offset=-3", "offset"),
        ("offset=x", "offset"),
        ("offset=2e3", "offset"),
    ] {
        let (s, r) = app.get(&format!("/doctors?{q}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(error_fields(&r).contains(&field.to_owned()), "{q}: {r}");
    }
    let (s, r) = app.get("/doctors?limit=-5&offset=-5").await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, ["limit", "offset"], "{r}");
    // The same rules hold on the specialization search.
    let (s, r) = app.get("/doctors/specialization/Cardiology?limit=-1").await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, r) = app
        .get("/doctors/specialization/Cardiology?offset=nope")
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
}

async fn list_order_is_stable_across_pages(app: TestApp) {
    // Identical names force the tie-breaker to decide.
    for i in 0..12 {
        let mut b = body("same");
        b["name"] = json!(if i % 3 == 0 { "Dr Same" } else { "Dr Other" });
        create(&app, b).await;
    }
    let ids = |b: &Value| -> Vec<String> {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = app.get("/doctors?limit=100").await;
    let all = ids(&all);
    assert_eq!(all.len(), 12);
    let mut paged = Vec::new();
    for offset in (0..12).step_by(5) {
        let (_, b) = app.get(&format!("/doctors?limit=5&offset={offset}")).await;
        paged.extend(ids(&b));
    }
    assert_eq!(
        paged, all,
        "pages must tile the full list in the same order"
    );
    for _ in 0..3 {
        let (_, again) = app.get("/doctors?limit=100").await;
        assert_eq!(ids(&again), all);
    }
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 12);
}

async fn search_by_specialization_is_case_insensitive(app: TestApp) {
    for (tag, spec) in [
        ("c1", "Cardiology"),
        ("c2", "cardiology"),
        ("c3", "CARDIOLOGY"),
        ("n1", "Neurology"),
        ("g1", "General Practice"),
    ] {
        let mut b = body(tag);
        b["specialization"] = json!(spec);
        create(&app, b).await;
    }
    for q in ["cardiology", "Cardiology", "CaRdIoLoGy"] {
        let (s, b) = app.get(&format!("/doctors/specialization/{q}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["success"], true);
        let items = b["data"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{q}: {b}");
        assert!(items.iter().all(|d| d["specialization"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("cardiology")));
        assert_eq!(
            b["pagination"],
            json!({"limit": 20, "offset": 0, "total": 3})
        );
    }
    let (_, b) = app.get("/doctors/specialization/neurology").await;
    assert_eq!(b["pagination"]["total"], 1);
    assert_eq!(b["data"][0]["specialization"], "Neurology");

    let (_, b) = app.get("/doctors/specialization/general%20practice").await;
    assert_eq!(b["pagination"]["total"], 1, "{b}");

    // A prefix is not a match.
    let (_, b) = app.get("/doctors/specialization/cardio").await;
    assert_eq!(b["pagination"]["total"], 0, "{b}");

    let (s, b) = app.get("/doctors/specialization/Dermatology").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"], json!([]));
    assert_eq!(b["pagination"]["total"], 0);

    let (_, b) = app
        .get("/doctors/specialization/cardiology?limit=2&offset=0")
        .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        b["pagination"],
        json!({"limit": 2, "offset": 0, "total": 3})
    );
    let (_, b2) = app
        .get("/doctors/specialization/cardiology?limit=2&offset=2")
        .await;
    assert_eq!(b2["data"].as_array().unwrap().len(), 1);
    assert_ne!(b["data"][0]["id"], b2["data"][0]["id"]);
}

async fn search_treats_wildcards_literally(app: TestApp) {
    let mut b = body("wild");
    b["specialization"] = json!("Ear_Nose 100%");
    create(&app, b).await;
    create(&app, body("plain")).await;
    for (q, want) in [
        ("%25", 0),
        ("_", 0),
        ("ear_nose%20100%25", 1),
        ("EAR_NOSE%20100%25", 1),
        ("%2A", 0),
        ("'%20OR%201=1--", 0),
    ] {
        let (s, r) = app.get(&format!("/doctors/specialization/{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {r}");
        assert_eq!(r["pagination"]["total"], want, "{q}: {r}");
    }
    // A huge offset is an empty page.
    let (s, r) = app.get("/doctors?offset=9223372036854775807").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["data"], json!([]));
    assert_eq!(r["pagination"]["total"], 2);
}

async fn search_with_a_nul_byte_is_not_a_server_error(app: TestApp) {
    create(&app, body("nul-search")).await;
    // A NUL byte is a search that matches nothing (or a 400), never a 5xx.
    let (s, r) = app.get("/doctors/specialization/card%00iology").await;
    assert!(
        s == StatusCode::OK || s == StatusCode::BAD_REQUEST,
        "{s}: {r}"
    );
}

async fn nul_characters_in_text_are_not_a_server_error(app: TestApp) {
    let mut failures = Vec::new();
    for (field, value) in [
        ("name", "Dr \u{0} Null"),
        ("specialization", "Cardio\u{0}"),
        ("license_number", "LIC\u{0}1"),
        ("clinic_name", "A\u{0}B"),
        ("bio", "line one\u{0}line two"),
    ] {
        let mut b = body("nul");
        b[field] = json!(value);
        let (s, r) = app.post("/doctors", b).await;
        if s != StatusCode::BAD_REQUEST && s != StatusCode::CREATED {
            failures.push(format!("POST {field}: {s} {r}"));
        }
    }
    let d = create(&app, body("nul-patch")).await;
    let (s, r) = app
        .patch(
            &format!("/doctors/{}", d["id"].as_str().unwrap()),
            json!({"address": "A\u{0}B"}),
        )
        .await;
    if s != StatusCode::BAD_REQUEST && s != StatusCode::OK {
        failures.push(format!("PATCH address: {s} {r}"));
    }
    assert!(
        failures.is_empty(),
        "NUL in text gave server errors:\n{}",
        failures.join("\n")
    );
}

async fn default_timezone_comes_from_clinic_timezone(app: TestApp) {
    let paris = TestApp::spawn_with(app.backend, |s| {
        s.clinic_timezone = chrono_tz::Europe::Paris
    })
    .await;
    assert_eq!(
        create(&paris, body("paris")).await["timezone"],
        "Europe/Paris"
    );
    let mut b = body("explicit");
    b["timezone"] = json!("UTC");
    assert_eq!(create(&paris, b).await["timezone"], "UTC");
}

async fn get_by_id_404_and_400(app: TestApp) {
    let d = create(&app, body("get")).await;
    let (s, b) = app
        .get(&format!("/doctors/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["id"], d["id"]);

    let (s, r) = app.get(&format!("/doctors/{}", uuid::Uuid::new_v4())).await;
    assert_error(s, &r, 404, "NOT_FOUND");

    for bad in [
        "not-a-uuid",
        "12345",
        "00000000-0000-0000-0000-00000000000g",
        "%20",
    ] {
        let (s, r) = app.get(&format!("/doctors/{bad}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["id"], "{bad}: {r}");
    }
}

async fn invalid_utf8_in_id_is_a_validation_error(app: TestApp) {
    // A path segment that is not even UTF-8 is still just a malformed UUID.
    let (s, r) = app.get("/doctors/%FF%FE").await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
}

async fn patch_updates_only_sent_fields(app: TestApp) {
    let mut b = body("patch");
    b["phone"] = json!("+44 20 7946 0958");
    b["clinic_name"] = json!("Old Clinic");
    b["address"] = json!("Old Street 1");
    b["bio"] = json!("Old bio");
    let d = create(&app, b).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let path = format!("/doctors/{id}");

    let (s, r) = app.patch(&path, json!({"name": "  Dr Renamed  "})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["success"], true);
    let u = &r["data"];
    assert_eq!(u["name"], "Dr Renamed");
    for f in [
        "id",
        "specialization",
        "email",
        "license_number",
        "phone",
        "clinic_name",
        "address",
        "bio",
        "timezone",
        "is_active",
        "created_at",
    ] {
        assert_eq!(u[f], d[f], "{f} changed: {u}");
    }
    let (before, after) = (
        chrono::DateTime::parse_from_rfc3339(d["updated_at"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339(u["updated_at"].as_str().unwrap()).unwrap(),
    );
    assert!(after >= before);

    // An empty body changes nothing.
    let (s, r) = app.patch(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["data"]["name"], "Dr Renamed");
    assert_eq!(r["data"]["bio"], "Old bio");

    let (s, r) = app
        .patch(&path, json!({"specialization": " Neurology ", "timezone": "America/New_York", "address": " New Road 2 "}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["data"]["specialization"], "Neurology");
    assert_eq!(r["data"]["timezone"], "America/New_York");
    assert_eq!(r["data"]["address"], "New Road 2");
    assert_eq!(r["data"]["phone"], d["phone"]);

    // The change is stored and visible to search.
    let (_, g) = app.get(&path).await;
    assert_eq!(g["data"], r["data"]);
    let (_, s1) = app.get("/doctors/specialization/neurology").await;
    assert_eq!(s1["pagination"]["total"], 1);
    let (_, s2) = app.get("/doctors/specialization/cardiology").await;
    assert_eq!(s2["pagination"]["total"], 0);
}

async fn patch_null_or_empty_clears_optional_fields(app: TestApp) {
    let mut b = body("clear");
    b["phone"] = json!("555-0100-22");
    b["clinic_name"] = json!("Clinic");
    b["address"] = json!("Address");
    b["bio"] = json!("Bio");
    let d = create(&app, b).await;
    let path = format!("/doctors/{}", d["id"].as_str().unwrap());

    let (s, r) = app
        .patch(
            &path,
            json!({"phone": null, "clinic_name": "", "bio": "   "}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["data"]["phone"].is_null(), "{r}");
    assert!(r["data"]["clinic_name"].is_null(), "{r}");
    assert!(r["data"]["bio"].is_null(), "{r}");
    assert_eq!(r["data"]["address"], "Address");
    assert_eq!(r["data"]["name"], d["name"]);

    let (_, g) = app.get(&path).await;
    assert!(
        g["data"]["phone"].is_null()
            && g["data"]["clinic_name"].is_null()
            && g["data"]["bio"].is_null()
    );
    let (s, r) = app.patch(&path, json!({"address": null})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["data"]["address"].is_null());
}

async fn patch_rejects_invalid_values_and_changes_nothing(app: TestApp) {
    let mut b = body("reject");
    b["phone"] = json!("+1 555 010 0000");
    let d = create(&app, b).await;
    let path = format!("/doctors/{}", d["id"].as_str().unwrap());

    for (patch, field) in [
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "N".repeat(201)}), "name"),
        (json!({"specialization": null}), "specialization"),
        (json!({"specialization": ""}), "specialization"),
        (json!({"timezone": "Nowhere/Else"}), "timezone"),
        (json!({"timezone": null}), "timezone"),
        (json!({"phone": "not a phone"}), "phone"),
        (json!({"bio": ["x"]}), "bio"),
        // A valid field next to an invalid one is not applied either.
        (
            json!({"bio": "new bio", "timezone": "Mars/Base"}),
            "timezone",
        ),
    ] {
        let (s, r) = app.patch(&path, patch.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(error_fields(&r).contains(&field.to_owned()), "{patch}: {r}");
    }
    for bad in ["[1]", "\"x\"", "{\"name\": ", "nope"] {
        let (s, r) = raw(&app, reqwest::Method::PATCH, &path, bad).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    let (_, g) = app.get(&path).await;
    assert_eq!(g["data"], d, "a rejected PATCH changed the doctor");
}

async fn patch_cannot_change_email_or_license(app: TestApp) {
    let d = create(&app, body("identity")).await;
    let path = format!("/doctors/{}", d["id"].as_str().unwrap());
    let (s, r) = app
        .patch(
            &path,
            json!({"email": "other@clinic.test", "license_number": "OTHER-1"}),
        )
        .await;
    assert!(
        s == StatusCode::OK || s == StatusCode::BAD_REQUEST,
        "{s}: {r}"
    );
    let (_, g) = app.get(&path).await;
    assert_eq!(g["data"]["email"], d["email"]);
    assert_eq!(g["data"]["license_number"], d["license_number"]);
}

async fn patch_unknown_or_malformed_id(app: TestApp) {
    let (s, r) = app
        .patch(
            &format!("/doctors/{}", uuid::Uuid::new_v4()),
            json!({"name": "Dr X"}),
        )
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app
        .patch("/doctors/not-a-uuid", json!({"name": "Dr X"}))
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["id"], "{r}");
    assert_eq!(total(&app).await, 0);
}

backends!(
    create_returns_201_with_trimmed_fields_and_defaults,
    create_without_optional_fields_stores_nulls,
    create_accepts_an_iana_timezone,
    create_rejects_unknown_timezone,
    create_names_every_missing_field,
    create_rejects_empty_and_blank_strings,
    create_rejects_bad_emails,
    create_rejects_bad_phone,
    create_enforces_maximum_lengths,
    create_rejects_wrong_json_types,
    create_rejects_malformed_and_non_object_json,
    duplicate_email_is_409_case_insensitively,
    duplicate_license_number_is_409,
    list_paginates_with_defaults_and_total,
    list_clamps_limit_to_100,
    list_rejects_bad_limit_and_offset,
    list_order_is_stable_across_pages,
    search_by_specialization_is_case_insensitive,
    search_treats_wildcards_literally,
    search_with_a_nul_byte_is_not_a_server_error,
    default_timezone_comes_from_clinic_timezone,
    nul_characters_in_text_are_not_a_server_error,
    get_by_id_404_and_400,
    invalid_utf8_in_id_is_a_validation_error,
    patch_updates_only_sent_fields,
    patch_null_or_empty_clears_optional_fields,
    patch_rejects_invalid_values_and_changes_nothing,
    patch_cannot_change_email_or_license,
    patch_unknown_or_malformed_id,
);
