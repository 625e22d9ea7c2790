//! What the front desk needs on day one: a doctor deactivated and back, a slot laid by mistake
//! deleted, read-only fields refused by name, and every wrong field of a request named once.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};

fn day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

/// A deactivated doctor leaves the public lists and takes no bookings (409 `DOCTOR_INACTIVE`);
/// existing appointments stay; only the desk or an admin changes it; reactivated, all is back.
async fn a_doctor_is_deactivated_and_back(app: TestApp) {
    let doc = app.doctor_account().await;
    let d = doc.doctor_id.clone().unwrap();
    let slot = app.slot(&d, 2, "09:00", 3).await;
    let (s, b) = app.book(&app.patient().await, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let kept = b["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/doctors/{d}");
    let (s, b) = app
        .as_user(&doc, Method::PATCH, &path, json!({"is_active": false}))
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let desk = app.account("scheduler", None).await;
    let (s, b) = app
        .as_user(&desk, Method::PATCH, &path, json!({"is_active": false}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["is_active"], false);
    let (_, list) = app
        .call_as(None, Method::GET, "/doctors?limit=100", Value::Null)
        .await;
    assert!(
        !list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == d.as_str()),
        "{list}"
    );
    let (s, b) = app.book(&app.patient().await, &d, &slot).await;
    assert_error(s, &b, 409, "DOCTOR_INACTIVE");
    let (s, b) = app.get(&format!("/appointments/{kept}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "PENDING");
    let (s, b) = app.patch(&path, json!({"is_active": true})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.book(&app.patient().await, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

/// A slot that never held an appointment is deleted (204); one that did, or that a weekly rule
/// laid, is refused with its own code; another doctor's or an unknown one is 404.
async fn a_slot_laid_by_mistake_is_deleted(app: TestApp) {
    let d = app.doctor().await;
    let free = app.slot(&d, 3, "10:00", 1).await;
    let path = |s: &str| format!("/doctors/{d}/time-slots/{s}");
    let url = format!("{}{}", app.base, path(&free));
    let (s, _, b) = app
        .send(Some(&app.token), Method::DELETE, &url, Value::Null, &[])
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, b) = app.get(&format!("/doctors/{d}/time-slots")).await;
    assert!(
        !b["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == free.as_str()),
        "{b}"
    );
    let (s, b) = app.call(Method::DELETE, &path(&free), Value::Null).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let used = app.slot(&d, 3, "11:00", 1).await;
    let (s, b) = app.book(&app.patient().await, &d, &used).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .post(&format!("/appointments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.call(Method::DELETE, &path(&used), Value::Null).await;
    assert_error(s, &b, 409, "SLOT_IN_USE");
    let (s, b) = app
        .post(
            &format!("/doctors/{d}/schedules"),
            json!({"weekdays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "start_time": "14:00",
                   "end_time": "15:00", "slot_minutes": 30, "capacity": 1, "valid_from": day(1)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, b) = app.get(&format!("/doctors/{d}/time-slots")).await;
    let ruled = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["slot_time"].as_str().unwrap_or("").starts_with("14:00"))
        .expect("a slot of the rule")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = app.call(Method::DELETE, &path(&ruled), Value::Null).await;
    assert_error(s, &b, 409, "SLOT_FROM_SCHEDULE");
    let other = app.doctor().await;
    let theirs = app.slot(&other, 3, "10:00", 1).await;
    let (s, b) = app.call(Method::DELETE, &path(&theirs), Value::Null).await;
    assert_error(s, &b, 404, "NOT_FOUND");
}

/// A field that exists but may not change is refused as such, every one named; an unknown
/// field is still unknown.
async fn read_only_fields_are_named(app: TestApp) {
    let d = app.doctor().await;
    let (s, b) = app
        .patch(
            &format!("/doctors/{d}"),
            json!({"email": "new@clinic.test", "license_number": "X", "nickname": "Doc", "bio": "Hi"}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let details = b["error"]["details"].as_array().unwrap();
    let said = |f: &str| {
        details
            .iter()
            .find(|e| e["field"] == f)
            .map(|e| e["message"].as_str().unwrap().to_owned())
    };
    assert_eq!(said("email").as_deref(), Some("cannot be changed"), "{b}");
    assert_eq!(
        said("license_number").as_deref(),
        Some("cannot be changed"),
        "{b}"
    );
    assert_eq!(
        said("nickname").as_deref(),
        Some("is not a known field"),
        "{b}"
    );
    assert_eq!(details.len(), 3, "{b}");
    let (_, now) = app.get(&format!("/doctors/{d}")).await;
    assert!(
        now["data"]["bio"].is_null(),
        "a refused change changed something: {now}"
    );
    let p = app.patient().await;
    let (s, b) = app
        .patch(
            &format!("/patients/{p}"),
            json!({"id": p, "created_at": "x"}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["id", "created_at"]);
    let slot = app.slot(&d, 2, "09:00", 1).await;
    let (s, b) = app
        .patch(
            &format!("/doctors/{d}/time-slots/{slot}"),
            json!({"status": "BLOCKED", "max_capacity": 5}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["max_capacity"]);
}

/// Every wrong field of a weekly rule is named exactly once, a wrong weekday included.
async fn every_wrong_field_is_named_once(app: TestApp) {
    let d = app.doctor().await;
    let (s, b) = app
        .post(
            &format!("/doctors/{d}/schedules"),
            json!({"weekdays": ["MON", "FUNDAY", "WED", 7], "start_time": "25:00", "end_time": "12:00",
                   "slot_minutes": 2, "capacity": 1, "valid_from": day(1)}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let fields = error_fields(&b);
    for want in ["weekdays[1]", "weekdays[3]", "start_time", "slot_minutes"] {
        assert_eq!(
            fields.iter().filter(|f| *f == want).count(),
            1,
            "{want}: {b}"
        );
    }
    let mut unique = fields.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fields.len(), "a field named twice: {b}");
}

backends!(
    a_doctor_is_deactivated_and_back,
    a_slot_laid_by_mistake_is_deleted,
    read_only_fields_are_named,
    every_wrong_field_is_named_once,
);

/// Patient search: words match the start of a word of the name, e-mail or phone in any case;
/// a date of birth matches exactly; names starting with the first word come first; paged.
async fn the_front_desk_finds_patients(app: TestApp) {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let people = [
        ("Maria Garcia", "mgarcia", "+1 555 010 1111", "1980-02-03"),
        (
            "Ana Maria Lopez",
            "ana.lopez",
            "+44 20 7946 0001",
            "1990-01-15",
        ),
        ("Mariano Ruiz", "m.ruiz", "+1 555 010 2222", "1975-06-30"),
        ("Oscar Wilde", "oscar", "+1 555 777 3333", "1990-01-15"),
    ];
    for (name, local, phone, born) in people {
        let (s, b) = app
            .post(
                "/patients",
                json!({"name": name, "email": format!("{local}.{tag}@mail.test"), "phone": phone,
                       "date_of_birth": born}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let names = |b: &Value| -> Vec<String> {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |q: String| {
        let app = &app;
        async move {
            let path = format!("/patients?q={}", form_encode(&q));
            let (s, b) = app.get(&path).await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            b
        }
    };
    // Name words, any case, prefix first: "maria" finds all three Marias, "Maria Garcia" and
    // "Mariano Ruiz" (names starting with it) before "Ana Maria Lopez".
    let b = search("MARIA".into()).await;
    assert_eq!(
        names(&b),
        ["Maria Garcia", "Mariano Ruiz", "Ana Maria Lopez"],
        "{b}"
    );
    assert_eq!(b["pagination"]["total"], 3);
    let b = search(format!("maria {tag}")).await;
    assert_eq!(names(&b).len(), 3, "{b}");
    let b = search("garc".into()).await;
    assert_eq!(names(&b), ["Maria Garcia"]);
    // E-mail words and the phone's groups or digits.
    let b = search(format!("ruiz.{tag}")).await;
    assert_eq!(names(&b), ["Mariano Ruiz"], "{b}");
    let b = search("7946".into()).await;
    assert_eq!(names(&b), ["Ana Maria Lopez"], "{b}");
    let b = search("15550102222".into()).await;
    assert_eq!(names(&b), ["Mariano Ruiz"], "{b}");
    // An exact date of birth.
    let b = search("1990-01-15".into()).await;
    let mut born = names(&b);
    born.sort();
    assert_eq!(born, ["Ana Maria Lopez", "Oscar Wilde"], "{b}");
    // Paged, and nothing for what matches nothing (search syntax is just text).
    let (_, b) = app.get("/patients?q=maria&limit=1&offset=1").await;
    assert_eq!(names(&b), ["Mariano Ruiz"], "{b}");
    assert_eq!(b["pagination"]["total"], 3);
    // A page past the end is empty and still counts the matches.
    let (_, b) = app.get("/patients?q=maria&limit=2&offset=10").await;
    assert!(names(&b).is_empty(), "{b}");
    assert_eq!(b["pagination"]["total"], 3, "{b}");
    for q in [
        "nobody-at-all",
        "*",
        "maria:* | x",
        "' OR 1=1 --",
        "\"maria\"",
    ] {
        let b = search(q.into()).await;
        assert!(
            names(&b).is_empty() || names(&b).iter().all(|n| n.contains("Mari")),
            "{q}: {b}"
        );
    }
    // The front desk only.
    let doc = app.doctor_account().await;
    let (s, b) = app
        .as_user(&doc, Method::GET, "/patients?q=maria", Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A doctor's day list names the patients and leaves out cancelled and lapsed appointments
/// unless asked; a patient's own list names the doctors.
async fn day_lists_name_people(app: TestApp) {
    let d = app.doctor().await;
    let (keep, gone) = (app.patient().await, app.patient().await);
    let s1 = app.slot(&d, 2, "09:00", 1).await;
    let s2 = app.slot(&d, 2, "09:30", 1).await;
    let (_, b) = app.book(&keep, &d, &s1).await;
    let kept = b["data"]["id"].as_str().unwrap().to_owned();
    let (_, b) = app.book(&gone, &d, &s2).await;
    let cancelled = b["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .post(&format!("/appointments/{cancelled}/cancel"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let date = day(2);
    let (s, b) = app
        .get(&format!("/appointments/doctor/{d}?date={date}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let rows = b["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{b}");
    assert_eq!(rows[0]["id"], kept.as_str());
    assert_eq!(rows[0]["patient_name"], "Pat Test");
    assert_eq!(rows[0]["doctor_name"], "Dr Test");
    let (_, b) = app
        .get(&format!(
            "/appointments/doctor/{d}?date={date}&status=cancelled"
        ))
        .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["data"][0]["id"], cancelled.as_str());
    let (_, b) = app
        .get(&format!("/appointments/doctor/{d}?date={date}&status="))
        .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 2, "{b}");
    let (_, b) = app.get(&format!("/appointments/patient/{keep}")).await;
    assert_eq!(b["data"][0]["doctor_name"], "Dr Test", "{b}");
}

backends!(the_front_desk_finds_patients, day_lists_name_people);
