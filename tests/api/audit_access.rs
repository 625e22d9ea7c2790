//! The PHI access audit (45 CFR 164.312(b)): N accesses by known actors leave exactly those N
//! records; lists record one access per patient returned; writes record theirs with the change.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, Account, TestApp};

/// What a record says about an access: actor id, actor role, action, route, outcome.
pub(crate) type Access = (String, String, String, String, u64);

pub(crate) fn access(who: &Account, action: &str, route: &str, outcome: u64) -> Access {
    let route = format!("/api{route}");
    (
        who.user_id.clone(),
        who.role.clone(),
        action.into(),
        route,
        outcome,
    )
}

pub(crate) fn as_access(r: &Value) -> Access {
    let text = |k: &str| {
        r[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {r}"))
            .to_owned()
    };
    let outcome = r["outcome"].as_u64().expect("outcome");
    (
        text("actor_id"),
        text("actor_role"),
        text("action"),
        text("route"),
        outcome,
    )
}

fn sorted(mut v: Vec<Access>) -> Vec<Access> {
    v.sort();
    v
}

/// Sends a GET as `who`; panics unless 200.
pub(crate) async fn read(app: &TestApp, who: &Account, path: &str) -> Value {
    let (s, b) = app.as_user(who, Method::GET, path, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{path} as {}: {b}", who.role);
    b
}

async fn n_accesses_leave_exactly_n_records(app: TestApp) {
    let patient = app.sign_up().await;
    let (admin, desk) = (
        app.account("admin", None).await,
        app.account("scheduler", None).await,
    );
    let doctor = app.doctor_account().await;
    let (p, d) = (
        patient.patient_id.clone().unwrap(),
        doctor.doctor_id.clone().unwrap(),
    );
    let slot = app.slot(&d, 2, "10:00", 2).await;
    let (s, b) = app.book_as(&desk, &p, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let a = b["data"]["id"].as_str().unwrap().to_owned();
    let mut want = vec![
        access(&patient, "create", "/auth/register", 201),
        access(&desk, "create", "/appointments", 201),
    ];

    // A read with a request id of its own, to find it again.
    let url = format!("{}/patients/{p}", app.base);
    let (s, h, b) = app
        .send(
            Some(&admin.access),
            Method::GET,
            &url,
            Value::Null,
            &[("x-request-id", "audit-probe-1")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The client's id is a correlation id; the record carries the server's own request id.
    assert_eq!(h["x-correlation-id"], "audit-probe-1");
    let probe_id = h["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(probe_id, "audit-probe-1");
    want.push(access(&admin, "read", "/patients/{id}", 200));
    let reads: [(&Account, &str, &str, String); 9] = [
        (&admin, "read", "/patients/{id}", format!("/patients/{p}")),
        (&desk, "read", "/patients/{id}", format!("/patients/{p}")),
        (&doctor, "read", "/patients/{id}", format!("/patients/{p}")),
        (&patient, "read", "/patients/{id}", format!("/patients/{p}")),
        (
            &patient,
            "read",
            "/appointments/{id}",
            format!("/appointments/{a}"),
        ),
        (
            &doctor,
            "read",
            "/appointments/{id}/history",
            format!("/appointments/{a}/history"),
        ),
        (
            &desk,
            "list",
            "/appointments/patient/{patientId}",
            format!("/appointments/patient/{p}"),
        ),
        (
            &doctor,
            "list",
            "/appointments/doctor/{doctorId}",
            format!("/appointments/doctor/{d}"),
        ),
        (&admin, "list", "/patients", "/patients".to_owned()),
    ];
    for (who, action, route, path) in &reads {
        read(&app, who, path).await;
        want.push(access(who, action, route, 200));
    }
    let writes = [
        (
            Method::PATCH,
            format!("/patients/{p}"),
            json!({"phone": "+1 555 010 0099"}),
            "/patients/{id}",
        ),
        (
            Method::POST,
            format!("/appointments/{a}/confirm"),
            json!({}),
            "/appointments/{id}/confirm",
        ),
    ];
    for (method, path, body, route) in writes {
        let (s, b) = app.as_user(&patient, method, &path, body).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        want.push(access(&patient, "update", route, 200));
    }

    let records = app.access_records(&format!("patient_id={p}")).await;
    let got: Vec<Access> = records.iter().map(as_access).collect();
    assert_eq!(sorted(got), sorted(want.clone()), "{records:#?}");
    assert!(records.iter().all(|r| r["patient_id"] == p.as_str()));
    assert!(records.iter().all(|r| r["break_glass_reason"].is_null()));
    assert!(records
        .iter()
        .all(|r| r["request_id"].as_str().is_some_and(|i| !i.is_empty())));
    let probes: Vec<_> = records
        .iter()
        .filter(|r| r["request_id"] == probe_id.as_str())
        .collect();
    assert_eq!(probes.len(), 1, "{records:#?}");
    assert_eq!(probes[0]["actor_id"], admin.user_id.as_str());
    let ats: Vec<chrono::DateTime<chrono::Utc>> = records
        .iter()
        .map(|r| r["at"].as_str().unwrap().parse().expect("RFC 3339"))
        .collect();
    assert!(
        ats.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ats:?}"
    );

    // The patient's own accounting of disclosures says the same.
    let mine = read(
        &app,
        &patient,
        &format!("/patients/{p}/access-log?limit=100"),
    )
    .await;
    let got: Vec<Access> = mine["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_access)
        .collect();
    assert_eq!(sorted(got), sorted(want.clone()), "{mine}");
    // The filters: by actor, and by time.
    let by_desk: Vec<Access> = app
        .access_records(&format!("actor_id={}", desk.user_id))
        .await
        .iter()
        .map(as_access)
        .collect();
    let desk_want: Vec<Access> = want
        .iter()
        .filter(|a| a.0 == desk.user_id)
        .cloned()
        .collect();
    assert_eq!(sorted(by_desk), sorted(desk_want));
    let hour = chrono::Duration::hours(1);
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (past, future) = (
        stamp(chrono::Utc::now() - hour),
        stamp(chrono::Utc::now() + hour),
    );
    let q = format!("patient_id={p}&from={past}&to={future}");
    assert_eq!(app.access_records(&q).await.len(), want.len());
    assert!(app
        .access_records(&format!("patient_id={p}&from={future}"))
        .await
        .is_empty());
    assert!(app
        .access_records(&format!("patient_id={p}&to={past}"))
        .await
        .is_empty());
}

async fn a_list_records_each_patient_it_returns_once(app: TestApp) {
    let desk = app.account("scheduler", None).await;
    for _ in 0..3 {
        app.patient().await;
    }
    let b = read(&app, &desk, "/patients?limit=2").await;
    let shown: BTreeSet<String> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown.len(), 2, "{b}");
    let records = app
        .access_records(&format!("actor_id={}", desk.user_id))
        .await;
    let logged: BTreeSet<String> = records
        .iter()
        .map(|r| r["patient_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(logged, shown);
    assert!(records
        .iter()
        .all(|r| r["action"] == "list" && r["route"] == "/api/patients"));

    // A doctor's list with two appointments of one patient and one of another: two records.
    let doctor = app.doctor_account().await;
    let d = doctor.doctor_id.clone().unwrap();
    let (x, y) = (app.patient().await, app.patient().await);
    for (days, patient) in [(2, &x), (3, &x), (4, &y)] {
        let slot = app.slot(&d, days, "09:00", 1).await;
        let (s, b) = app.book(patient, &d, &slot).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let b = read(&app, &doctor, &format!("/appointments/doctor/{d}")).await;
    assert_eq!(b["data"].as_array().unwrap().len(), 3, "{b}");
    let records = app
        .access_records(&format!("actor_id={}", doctor.user_id))
        .await;
    let logged: Vec<&str> = records
        .iter()
        .map(|r| r["patient_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        sorted_ids(logged),
        sorted_ids(vec![x.as_str(), y.as_str()]),
        "{records:#?}"
    );
}

fn sorted_ids(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

async fn a_booking_records_its_create_and_a_refusal_nothing(app: TestApp) {
    let (pat, other) = (app.sign_up().await, app.sign_up().await);
    let (p, q) = (
        pat.patient_id.clone().unwrap(),
        other.patient_id.clone().unwrap(),
    );
    let d = app.doctor().await;
    let slot = app.slot(&d, 2, "11:00", 1).await;
    let (s, b) = app.book_as(&pat, &p, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let records = app.access_records(&format!("patient_id={p}")).await;
    let creates: Vec<&Value> = records
        .iter()
        .filter(|r| r["route"] == "/api/appointments")
        .collect();
    assert_eq!(creates.len(), 1, "{records:#?}");
    assert_eq!(
        as_access(creates[0]),
        access(&pat, "create", "/appointments", 201)
    );

    // Refused because the slot is full (409): no access happened, no record.
    let before = app.access_records(&format!("patient_id={q}")).await.len();
    let (s, b) = app.book_as(&other, &q, &d, &slot).await;
    assert_error(s, &b, 409, "SLOT_UNAVAILABLE");
    assert_eq!(
        app.access_records(&format!("patient_id={q}")).await.len(),
        before
    );
    // Refused because it is someone else's booking (403): the attempt is recorded, with its
    // outcome, against the patient it was aimed at.
    let (s, b) = app.book_as(&pat, &q, &d, &slot).await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let after = app.access_records(&format!("patient_id={q}")).await;
    assert_eq!(after.len(), before + 1, "{after:#?}");
    assert_eq!(
        as_access(&after[0]),
        access(&pat, "create", "/appointments", 403)
    );
}

backends!(
    n_accesses_leave_exactly_n_records,
    a_list_records_each_patient_it_returns_once,
    a_booking_records_its_create_and_a_refusal_nothing,
);
