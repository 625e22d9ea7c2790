//! Audit integrity: emergency access (break-glass) is granted, flagged and listed; the database
//! itself refuses to change or delete audit rows; the appointment history names the user and
//! their role, and the sweeper as `system`.

use carebook::jobs::expiry::sweep_once;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::audit_access::{access, as_access, read};
use crate::backends;
use crate::common::{assert_error, Backend, TestApp};

const BREAK_GLASS: &str = "Break-Glass-Reason";

async fn break_glass_is_granted_flagged_and_listed(app: TestApp) {
    let (patient, stranger) = (app.sign_up().await, app.sign_up().await);
    let doctor = app.doctor_account().await;
    let p = patient.patient_id.clone().unwrap();
    let url = format!("{}/patients/{p}", app.base);
    let (s, _, b) = app
        .send(Some(&doctor.access), Method::GET, &url, Value::Null, &[])
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let reason = "Unconscious in the ER: checking allergies";
    let (s, _, b) = app
        .send(
            Some(&doctor.access),
            Method::GET,
            &url,
            Value::Null,
            &[(BREAK_GLASS, reason)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["data"].get("allergies").is_some(), "{b}");

    let flagged = app.access_records("break_glass=true").await;
    assert_eq!(flagged.len(), 1, "{flagged:#?}");
    assert_eq!(
        as_access(&flagged[0]),
        access(&doctor, "read", "/patients/{id}", 200)
    );
    assert_eq!(flagged[0]["patient_id"], p.as_str());
    assert_eq!(flagged[0]["break_glass_reason"], reason);
    let plain = app
        .access_records(&format!("patient_id={p}&break_glass=false"))
        .await;
    assert!(
        !plain.is_empty() && plain.iter().all(|r| r["break_glass_reason"].is_null()),
        "{plain:#?}"
    );
    // The patient sees it in their accounting of disclosures.
    let mine = read(&app, &patient, &format!("/patients/{p}/access-log")).await;
    assert!(
        mine["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["break_glass_reason"] == reason),
        "{mine}"
    );

    // A blank reason is no reason, and the glass is for doctors only.
    let (s, _, b) = app
        .send(
            Some(&doctor.access),
            Method::GET,
            &url,
            Value::Null,
            &[(BREAK_GLASS, "   ")],
        )
        .await;
    assert!(matches!(s.as_u16(), 400 | 404), "{s} {b}");
    let (s, _, b) = app
        .send(
            Some(&stranger.access),
            Method::GET,
            &url,
            Value::Null,
            &[(BREAK_GLASS, reason)],
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    assert_eq!(app.access_records("break_glass=true").await.len(), 1);
}

async fn the_database_refuses_to_change_audit_rows(app: TestApp) {
    let patient = app.sign_up().await;
    let d = app.doctor().await;
    let slot = app.slot(&d, 2, "10:00", 1).await;
    let (s, b) = app
        .book(patient.patient_id.as_ref().unwrap(), &d, &slot)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let mut statements = vec![
        ("access_log", "UPDATE access_log SET outcome = 500"),
        ("access_log", "DELETE FROM access_log"),
        (
            "appointment_audit_log",
            "UPDATE appointment_audit_log SET reason = 'rewritten'",
        ),
        ("appointment_audit_log", "DELETE FROM appointment_audit_log"),
    ];
    if app.backend == Backend::Postgres {
        statements.push(("access_log", "TRUNCATE access_log"));
        statements.push(("appointment_audit_log", "TRUNCATE appointment_audit_log"));
    }
    for (table, sql) in statements {
        let before = app.count_rows(table).await;
        assert!(before > 0, "{table} has rows to protect");
        let refused = app.execute_raw(sql).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("append-only")),
            "{sql}: {refused:?}"
        );
        assert_eq!(app.count_rows(table).await, before, "{sql}");
    }
    // The booking's access record is kept in its audit row; the view that lists every access
    // record cannot be written through either.
    let records = app.count_rows("access_records").await;
    assert!(
        records >= 2,
        "the sign-up's and the booking's records: {records}"
    );
    for sql in [
        "UPDATE access_records SET outcome = 500",
        "DELETE FROM access_records",
    ] {
        assert!(app.execute_raw(sql).await.is_err(), "{sql}");
        assert_eq!(app.count_rows("access_records").await, records, "{sql}");
    }
    // Control: the same connection may change a table that is not an audit table.
    let changed = app
        .execute_raw("UPDATE sessions SET revoked_reason = revoked_reason")
        .await;
    assert!(changed.is_ok_and(|n| n > 0));
}

async fn the_history_names_the_user_and_role(app: TestApp) {
    let (patient, desk) = (app.sign_up().await, app.account("scheduler", None).await);
    let doctor = app.doctor_account().await;
    let (p, d) = (
        patient.patient_id.clone().unwrap(),
        doctor.doctor_id.clone().unwrap(),
    );
    let slot = app.slot(&d, 2, "10:00", 2).await;
    let (s, b) = app.book_as(&desk, &p, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let a = b["data"]["id"].as_str().unwrap().to_owned();
    let steps = [(&patient, "confirm"), (&doctor, "cancel")];
    for (who, action) in steps {
        let (s, b) = app
            .as_user(
                who,
                Method::POST,
                &format!("/appointments/{a}/{action}"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{action}: {b}");
    }
    let history = read(&app, &patient, &format!("/appointments/{a}/history")).await;
    let actors: Vec<(&str, &str)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["actor_role"].as_str().unwrap(),
            )
        })
        .collect();
    let want = [
        (&desk, "scheduler"),
        (&patient, "patient"),
        (&doctor, "doctor"),
    ];
    let want: Vec<(&str, &str)> = want.iter().map(|(w, r)| (w.user_id.as_str(), *r)).collect();
    assert_eq!(actors, want, "{history}");

    // The sweeper stays `system`.
    let other = app.slot(&d, 3, "10:00", 1).await;
    let (_, b) = app.book_as(&desk, &p, &d, &other).await;
    let held = b["data"]["id"].as_str().expect("booked").to_owned();
    app.expire_hold(&held).await;
    assert_eq!(sweep_once(&*app.store).await.expect("sweep"), 1);
    let history = app.get(&format!("/appointments/{held}/history")).await.1;
    let last = history["data"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(
        (last["actor"].as_str(), last["actor_role"].as_str()),
        (Some("system"), Some("system")),
        "{history}"
    );
}

backends!(
    break_glass_is_granted_flagged_and_listed,
    the_database_refuses_to_change_audit_rows,
    the_history_names_the_user_and_role,
);
