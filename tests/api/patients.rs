//! `/patients`: registration, validation, uniqueness, listing, lookup and partial update.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};

const BLOOD_GROUPS: [&str; 8] = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];

/// A valid registration body with a unique e-mail.
fn body(tag: &str) -> Value {
    let n = uuid::Uuid::new_v4().simple().to_string();
    json!({"name": format!("Pat {tag}"), "email": format!("{tag}.{n}@mail.test"), "phone": "+1 555 010 0000"})
}

/// Registers a patient from `b`, asserting 201; returns the created record.
async fn create(app: &TestApp, b: Value) -> Value {
    let (s, r) = app.post("/patients", b).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["data"].clone()
}

/// The number of patients as the list route reports it.
async fn total(app: &TestApp) -> i64 {
    let (s, b) = app.get("/patients").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["pagination"]["total"].as_i64().expect("total")
}

/// A date `days` from today (UTC, the test clinic's zone) as `YYYY-MM-DD`.
fn day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
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

/// Posts `b` and expects a 400 naming exactly `field`.
async fn rejects(app: &TestApp, b: Value, field: &str) {
    let (s, r) = app.post("/patients", b.clone()).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), [field], "{b}: {r}");
}

async fn create_returns_201_with_every_field(app: TestApp) {
    let (s, b) = app
        .post(
            "/patients",
            json!({
                "name": "  Maria Garcia ",
                "email": " Maria.Garcia@Mail.TEST ",
                "phone": " +34 (91) 123-4567 ",
                "date_of_birth": "1990-05-17",
                "gender": " female ",
                "blood_group": "AB-",
                "allergies": " Penicillin ",
                "medical_history": " Asthma since childhood ",
                "emergency_contact_name": " Jose Garcia ",
                "emergency_contact_phone": " 555-0100-22 ",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["success"], true);
    assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()));
    let p = &b["data"];
    assert!(
        p["id"]
            .as_str()
            .and_then(|i| uuid::Uuid::parse_str(i).ok())
            .is_some(),
        "{p}"
    );
    assert_eq!(p["name"], "Maria Garcia");
    assert_eq!(p["email"], "maria.garcia@mail.test");
    assert_eq!(p["phone"], "+34 (91) 123-4567");
    assert_eq!(p["date_of_birth"], "1990-05-17");
    assert_eq!(p["gender"], "female");
    assert_eq!(p["blood_group"], "AB-");
    assert_eq!(p["allergies"], "Penicillin");
    assert_eq!(p["medical_history"], "Asthma since childhood");
    assert_eq!(p["emergency_contact_name"], "Jose Garcia");
    assert_eq!(p["emergency_contact_phone"], "555-0100-22");
    for f in ["created_at", "updated_at"] {
        let v = p[f].as_str().unwrap_or_default();
        assert!(
            v.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(v).is_ok(),
            "{f}: {p}"
        );
    }
    let (s, g) = app
        .get(&format!("/patients/{}", p["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(&g["data"], p);
}

async fn create_without_optional_fields_stores_nulls(app: TestApp) {
    let p = create(&app, body("minimal")).await;
    for f in [
        "date_of_birth",
        "gender",
        "blood_group",
        "allergies",
        "medical_history",
        "emergency_contact_name",
        "emergency_contact_phone",
    ] {
        assert!(p[f].is_null(), "{f}: {p}");
    }
}

async fn create_names_every_missing_field(app: TestApp) {
    let (s, r) = app.post("/patients", json!({})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, ["email", "name", "phone"], "{r}");

    let (s, r) = app
        .post("/patients", json!({"name": "", "email": "  ", "phone": ""}))
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, ["email", "name", "phone"], "{r}");

    let mut b = body("nophone");
    b.as_object_mut().unwrap().remove("phone");
    rejects(&app, b, "phone").await;
    assert_eq!(total(&app).await, 0);
}

async fn create_checks_email_syntax(app: TestApp) {
    for email in [
        "plainaddress",
        "a@b",
        "@mail.test",
        "pat@",
        "pat one@mail.test",
        "pat@mail..test",
    ] {
        let mut b = body("email");
        b["email"] = json!(email);
        rejects(&app, b, "email").await;
    }
    assert_eq!(total(&app).await, 0);
}

async fn create_checks_phone_syntax(app: TestApp) {
    for phone in [
        "1234567",
        "+1 (555) 123-4567",
        "(020) 7946 0958",
        "555-0100",
        "+44 20 7946 0958",
        "12345678901234567890",
    ] {
        let mut b = body("phone-ok");
        b["phone"] = json!(phone);
        assert_eq!(create(&app, b).await["phone"], phone);
    }
    let ok = total(&app).await;
    for phone in [
        "123456",
        "123456789012345678901",
        "+1 555 ABC 4567",
        "555.123.4567",
        "++15551234567",
        "1555+1234567",
        "phone",
        "+",
        "- - - - - - -",
        "555/123/4567",
    ] {
        let mut b = body("phone-bad");
        b["phone"] = json!(phone);
        rejects(&app, b, "phone").await;
        let mut b = body("ec-bad");
        b["emergency_contact_phone"] = json!(phone);
        rejects(&app, b, "emergency_contact_phone").await;
    }
    let mut b = body("phone-num");
    b["phone"] = json!(5551234567_i64);
    rejects(&app, b, "phone").await;
    assert_eq!(total(&app).await, ok);
}

async fn create_checks_blood_group(app: TestApp) {
    for g in BLOOD_GROUPS {
        let mut b = body("blood");
        b["blood_group"] = json!(g);
        assert_eq!(create(&app, b).await["blood_group"], g);
    }
    for g in ["C+", "AB", "O", "A", "0+", "A++", "AB+-", "B positive"] {
        let mut b = body("blood-bad");
        b["blood_group"] = json!(g);
        rejects(&app, b, "blood_group").await;
    }
    assert_eq!(total(&app).await, 8);
}

async fn create_checks_date_of_birth(app: TestApp) {
    // Today is allowed; later is not.
    let mut b = body("dob-today");
    b["date_of_birth"] = json!(day(0));
    create(&app, b).await;
    for future in [day(2), day(400), "2999-01-01".to_owned()] {
        let mut b = body("dob-future");
        b["date_of_birth"] = json!(future);
        rejects(&app, b, "date_of_birth").await;
    }
    for bad in [
        "1990-13-01",
        "1990-02-30",
        "17/05/1990",
        "1990-5-7",
        "19900517",
        "yesterday",
        "1990-05-17T00:00:00Z",
    ] {
        let mut b = body("dob-bad");
        b["date_of_birth"] = json!(bad);
        rejects(&app, b, "date_of_birth").await;
    }
    let mut b = body("dob-num");
    b["date_of_birth"] = json!(19900517);
    rejects(&app, b, "date_of_birth").await;
    // Leap day in a leap year is a real date.
    let mut b = body("dob-leap");
    b["date_of_birth"] = json!("2000-02-29");
    assert_eq!(create(&app, b).await["date_of_birth"], "2000-02-29");
    assert_eq!(total(&app).await, 2);
}

async fn date_of_birth_rejects_signed_years(app: TestApp) {
    // YYYY-MM-DD has four digits of year and no sign.
    let mut failures = Vec::new();
    for bad in ["-001-01-01", "+001-01-01"] {
        let mut b = body("dob-signed");
        b["date_of_birth"] = json!(bad);
        let (s, r) = app.post("/patients", b).await;
        if s != StatusCode::BAD_REQUEST || error_fields(&r) != ["date_of_birth"] {
            failures.push(format!("{bad}: {s} {r}"));
        }
    }
    assert!(
        failures.is_empty(),
        "signed years accepted:\n{}",
        failures.join("\n")
    );
    assert_eq!(total(&app).await, 0);
}

async fn create_rejects_wrong_types_and_long_text(app: TestApp) {
    let (s, r) = app
        .post(
            "/patients",
            json!({"name": 5, "email": ["a@b.co"], "phone": true, "allergies": 3, "gender": {}}),
        )
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let fields = error_fields(&r);
    for f in ["name", "email", "phone", "allergies", "gender"] {
        assert!(fields.contains(&f.to_owned()), "{f} not named: {r}");
    }
    let mut b = body("long");
    b["name"] = json!("x".repeat(201));
    rejects(&app, b, "name").await;
    let mut b = body("long");
    b["medical_history"] = json!("m".repeat(200_000));
    rejects(&app, b, "medical_history").await;
    assert_eq!(total(&app).await, 0);
}

async fn create_rejects_malformed_and_non_object_json(app: TestApp) {
    for bad in [r#"{"name": "P""#, "{'name': 'P'}", "<xml/>"] {
        let (s, r) = raw(&app, reqwest::Method::POST, "/patients", bad).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    for bad in [json!([]), json!("patient"), json!(1)] {
        let (s, r) = app.post("/patients", bad).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    assert_eq!(total(&app).await, 0);
}

async fn nul_characters_in_text_are_not_a_server_error(app: TestApp) {
    let mut failures = Vec::new();
    for (field, value) in [
        ("name", "Pat\u{0}"),
        ("gender", "f\u{0}"),
        ("allergies", "dust\u{0}mites"),
        ("medical_history", "\u{0}"),
        ("emergency_contact_name", "Kim\u{0}Lee"),
    ] {
        let mut b = body("nul");
        b[field] = json!(value);
        let (s, r) = app.post("/patients", b).await;
        if s != StatusCode::BAD_REQUEST && s != StatusCode::CREATED {
            failures.push(format!("POST {field}: {s} {r}"));
        }
    }
    let p = create(&app, body("nul-patch")).await;
    let (s, r) = app
        .patch(
            &format!("/patients/{}", p["id"].as_str().unwrap()),
            json!({"allergies": "a\u{0}b"}),
        )
        .await;
    if s != StatusCode::BAD_REQUEST && s != StatusCode::OK {
        failures.push(format!("PATCH allergies: {s} {r}"));
    }
    assert!(
        failures.is_empty(),
        "NUL in text gave server errors:\n{}",
        failures.join("\n")
    );
}

async fn date_of_birth_is_bounded_by_the_clinic_today(app: TestApp) {
    // Kiritimati (UTC+14) is often a day ahead of UTC: its today is a valid birth date there.
    let tz = chrono_tz::Pacific::Kiritimati;
    let clinic = TestApp::spawn_with(app.backend, |s| s.clinic_timezone = tz).await;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let mut b = body("kiri-today");
    b["date_of_birth"] = json!(today.to_string());
    assert_eq!(create(&clinic, b).await["date_of_birth"], today.to_string());
    let mut b = body("kiri-tomorrow");
    b["date_of_birth"] = json!((today + chrono::Duration::days(2)).to_string());
    let (s, r) = clinic.post("/patients", b).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["date_of_birth"], "{r}");
}

async fn duplicate_email_is_409_case_insensitively(app: TestApp) {
    let mut b = body("dup");
    b["email"] = json!("Same.Person@Mail.Test");
    create(&app, b).await;
    for email in [
        "same.person@mail.test",
        "SAME.PERSON@MAIL.TEST",
        " same.person@mail.test ",
    ] {
        let mut b = body("dup2");
        b["email"] = json!(email);
        let (s, r) = app.post("/patients", b).await;
        assert_error(s, &r, 409, "DUPLICATE");
    }
    assert_eq!(total(&app).await, 1);
}

async fn list_paginates_with_defaults_and_total(app: TestApp) {
    let (s, b) = app.get("/patients").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"], json!([]));
    assert_eq!(
        b["pagination"],
        json!({"limit": 20, "offset": 0, "total": 0})
    );

    let mut created = Vec::new();
    for i in 0..23 {
        created.push(create(&app, body(&format!("p{i}"))).await["id"].clone());
    }
    let (_, b) = app.get("/patients").await;
    assert_eq!(b["data"].as_array().unwrap().len(), 20);
    assert_eq!(
        b["pagination"],
        json!({"limit": 20, "offset": 0, "total": 23})
    );

    let (_, b) = app.get("/patients?limit=500").await;
    assert_eq!(b["pagination"]["limit"], 100);
    let all: Vec<Value> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(all.len(), 23);

    // Pages tile the full list in the same order.
    let mut paged = Vec::new();
    for offset in (0..23).step_by(7) {
        let (_, b) = app.get(&format!("/patients?limit=7&offset={offset}")).await;
        assert_eq!(b["pagination"]["offset"], offset);
        paged.extend(
            b["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].clone()),
        );
    }
    assert_eq!(paged, all);
    let mut sorted_created = created.clone();
    sorted_created.sort_by_key(|v| v.to_string());
    let mut sorted_all = all.clone();
    sorted_all.sort_by_key(|v| v.to_string());
    assert_eq!(sorted_all, sorted_created);

    let (_, b) = app.get("/patients?offset=100").await;
    assert_eq!(b["data"], json!([]));
    assert_eq!(b["pagination"]["total"], 23);
}

async fn list_rejects_bad_limit_and_offset(app: TestApp) {
    for (q, field) in [
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.0", "offset"),
    ] {
        let (s, r) = app.get(&format!("/patients?{q}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), [field], "{q}: {r}");
    }
}

async fn get_by_id_404_and_400(app: TestApp) {
    let p = create(&app, body("get")).await;
    let (s, b) = app
        .get(&format!("/patients/{}", p["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["id"], p["id"]);
    let (s, r) = app
        .get(&format!("/patients/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    // A doctor's id is not a patient's.
    let doctor = app.doctor().await;
    let (s, r) = app.get(&format!("/patients/{doctor}")).await;
    assert_error(s, &r, 404, "NOT_FOUND");
    for bad in ["nope", "1", "6f1c0c36-5bd1-4c0e-9d8e"] {
        let (s, r) = app.get(&format!("/patients/{bad}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["id"], "{r}");
    }
}

async fn patch_updates_only_sent_fields(app: TestApp) {
    let mut b = body("patch");
    b["date_of_birth"] = json!("1985-01-31");
    b["blood_group"] = json!("O+");
    b["allergies"] = json!("Peanuts");
    let p = create(&app, b).await;
    let path = format!("/patients/{}", p["id"].as_str().unwrap());

    let (s, r) = app.patch(&path, json!({"phone": " (555) 999-0000 "})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["success"], true);
    let u = &r["data"];
    assert_eq!(u["phone"], "(555) 999-0000");
    for f in [
        "id",
        "name",
        "email",
        "date_of_birth",
        "blood_group",
        "allergies",
        "gender",
        "created_at",
    ] {
        assert_eq!(u[f], p[f], "{f} changed: {u}");
    }

    let (s, r) = app
        .patch(
            &path,
            json!({"name": " New Name ", "email": " New.Address@Mail.Test ", "blood_group": "B-",
                   "date_of_birth": "1986-02-01", "medical_history": "Diabetes", "emergency_contact_name": "Kim"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let u = &r["data"];
    assert_eq!(u["name"], "New Name");
    assert_eq!(u["email"], "new.address@mail.test");
    assert_eq!(u["blood_group"], "B-");
    assert_eq!(u["date_of_birth"], "1986-02-01");
    assert_eq!(u["medical_history"], "Diabetes");
    assert_eq!(u["emergency_contact_name"], "Kim");
    assert_eq!(u["allergies"], "Peanuts");
    assert_eq!(u["phone"], "(555) 999-0000");
    let (_, g) = app.get(&path).await;
    assert_eq!(&g["data"], u);

    // Re-sending one's own e-mail in another case is no conflict.
    let (s, r) = app
        .patch(&path, json!({"email": "NEW.ADDRESS@mail.test"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["data"]["email"], "new.address@mail.test");
}

async fn patch_null_or_empty_clears_optional_fields(app: TestApp) {
    let mut b = body("clear");
    b["date_of_birth"] = json!("1970-07-07");
    b["gender"] = json!("male");
    b["blood_group"] = json!("A+");
    b["allergies"] = json!("Dust");
    b["medical_history"] = json!("None");
    b["emergency_contact_name"] = json!("Sam");
    b["emergency_contact_phone"] = json!("+1 555 222 3333");
    let p = create(&app, b).await;
    let path = format!("/patients/{}", p["id"].as_str().unwrap());

    let (s, r) = app
        .patch(
            &path,
            json!({"date_of_birth": null, "gender": "", "blood_group": null, "allergies": "  ",
                   "emergency_contact_phone": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let u = &r["data"];
    for f in [
        "date_of_birth",
        "gender",
        "blood_group",
        "allergies",
        "emergency_contact_phone",
    ] {
        assert!(u[f].is_null(), "{f} not cleared: {u}");
    }
    assert_eq!(u["medical_history"], "None");
    assert_eq!(u["emergency_contact_name"], "Sam");
    assert_eq!(u["name"], p["name"]);
    let (_, g) = app.get(&path).await;
    assert_eq!(&g["data"], u);
}

async fn patch_rejects_invalid_values_and_changes_nothing(app: TestApp) {
    let p = create(&app, body("reject")).await;
    let path = format!("/patients/{}", p["id"].as_str().unwrap());
    for (patch, field) in [
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"email": null}), "email"),
        (json!({"email": "broken"}), "email"),
        (json!({"phone": null}), "phone"),
        (json!({"phone": "12"}), "phone"),
        (json!({"phone": 5551234567_i64}), "phone"),
        (json!({"blood_group": "Z+"}), "blood_group"),
        (json!({"date_of_birth": day(3)}), "date_of_birth"),
        (json!({"date_of_birth": "2001-02-29"}), "date_of_birth"),
        (
            json!({"emergency_contact_phone": "call me"}),
            "emergency_contact_phone",
        ),
        (
            json!({"name": "Valid Name", "blood_group": "X"}),
            "blood_group",
        ),
    ] {
        let (s, r) = app.patch(&path, patch.clone()).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert!(error_fields(&r).contains(&field.to_owned()), "{patch}: {r}");
    }
    for bad in ["[]", "{", "42"] {
        let (s, r) = raw(&app, reqwest::Method::PATCH, &path, bad).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    let (_, g) = app.get(&path).await;
    assert_eq!(g["data"], p, "a rejected PATCH changed the patient");
}

async fn patch_to_a_taken_email_is_409(app: TestApp) {
    let mut a = body("a");
    a["email"] = json!("first@mail.test");
    create(&app, a).await;
    let b = create(&app, body("b")).await;
    let path = format!("/patients/{}", b["id"].as_str().unwrap());
    for email in ["first@mail.test", "FIRST@Mail.Test"] {
        let (s, r) = app
            .patch(&path, json!({"email": email, "name": "Changed"}))
            .await;
        assert_error(s, &r, 409, "DUPLICATE");
    }
    let (_, g) = app.get(&path).await;
    assert_eq!(g["data"], b, "a rejected PATCH changed the patient");
}

async fn patch_unknown_or_malformed_id(app: TestApp) {
    let (s, r) = app
        .patch(
            &format!("/patients/{}", uuid::Uuid::new_v4()),
            json!({"name": "X"}),
        )
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = app.patch("/patients/xyz", json!({"name": "X"})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["id"], "{r}");
}

backends!(
    create_returns_201_with_every_field,
    create_without_optional_fields_stores_nulls,
    create_names_every_missing_field,
    create_checks_email_syntax,
    create_checks_phone_syntax,
    create_checks_blood_group,
    create_checks_date_of_birth,
    date_of_birth_rejects_signed_years,
    create_rejects_wrong_types_and_long_text,
    create_rejects_malformed_and_non_object_json,
    nul_characters_in_text_are_not_a_server_error,
    date_of_birth_is_bounded_by_the_clinic_today,
    duplicate_email_is_409_case_insensitively,
    list_paginates_with_defaults_and_total,
    list_rejects_bad_limit_and_offset,
    get_by_id_404_and_400,
    patch_updates_only_sent_fields,
    patch_null_or_empty_clears_optional_fields,
    patch_rejects_invalid_values_and_changes_nothing,
    patch_to_a_taken_email_is_409,
    patch_unknown_or_malformed_id,
);
