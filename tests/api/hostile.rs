//! Findings of hostile-input fuzzing, each fixed and pinned: a declared but unsent large body,
//! non-canonical UUIDs, a repeated Idempotency-Key, and rejections below the router.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};
use crate::operations::{parse_raw, raw_exchange};

async fn declared_oversized_body_is_413_at_once(app: TestApp) {
    // Announce 2 MB and send nothing: the answer must not wait for the body.
    let req =
        b"POST /api/doctors HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Content-Length: 2000000\r\n\r\n"
            .to_vec();
    let started = Instant::now();
    let response = raw_exchange(&app, req, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?} for a body that never came",
        started.elapsed()
    );
    let (status, b) = parse_raw(&response);
    assert_eq!(status, 413, "{b}");
    assert_eq!(b["error"]["code"], "PAYLOAD_TOO_LARGE", "{b}");
    assert!(
        response.to_lowercase().contains("x-request-id:"),
        "{response:.300}"
    );
}

async fn non_canonical_uuids_are_refused(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    let forms = |id: &str| {
        [
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            id.replace('-', ""),
            format!(" {id}"),
        ]
    };
    for bad in forms(&doctor) {
        let (s, r) = app.get(&format!("/doctors/{bad}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["id"], "{bad}: {r}");
        let (s, r) = app.get(&format!("/appointments/doctor/{bad}")).await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["doctorId"], "{bad}: {r}");
    }
    for bad in forms(&slot) {
        let (s, r) = app
            .post(
                "/appointments",
                json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": bad}),
            )
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
        assert_eq!(error_fields(&r), ["time_slot_id"], "{bad}: {r}");
    }
    // Upper-case hex is the same canonical form.
    let (s, r) = app
        .get(&format!("/doctors/{}", doctor.to_uppercase()))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let view = app.slot_view(&doctor, &slot).await;
    assert_eq!(view["current_bookings"], 0);
}

async fn repeated_idempotency_key_is_refused(app: TestApp) {
    let doctor = app.doctor().await;
    let patient = app.patient().await;
    let slot = app.slot(&doctor, 2, "10:00", 2).await;
    let res = app
        .client
        .post(format!("{}/appointments", app.base))
        .header("idempotency-key", "key-one")
        .header("idempotency-key", "key-two")
        .json(&json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let r: serde_json::Value = res.json().await.unwrap();
    assert_error(status, &r, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["Idempotency-Key"], "{r}");
    assert_eq!(app.live_on_slot(&doctor, &slot).await, 0);
    // One key is fine.
    let res = app
        .client
        .post(format!("{}/appointments", app.base))
        .header("idempotency-key", "key-one")
        .json(&json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn rejections_below_the_handlers_carry_the_envelope(app: TestApp) {
    // A path segment that is not UTF-8 once decoded.
    let req = b"GET /api/doctors/%FF%FE HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let response = raw_exchange(&app, req.to_vec(), Duration::from_secs(10)).await;
    let (status, b) = parse_raw(&response);
    assert_eq!(
        (status, b["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR")),
        "{b}"
    );
    assert!(
        response.to_lowercase().contains("x-request-id:"),
        "{response:.300}"
    );

    // A URI over 8 KiB.
    let long = format!("/doctors?pad={}", "a".repeat(9000));
    let res = app
        .client
        .get(format!("{}{long}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::URI_TOO_LONG);
    assert!(res.headers().contains_key("x-request-id"));
    let b: serde_json::Value = res.json().await.unwrap();
    assert_eq!(b["error"]["code"], "URI_TOO_LONG", "{b}");

    // Headers over 32 KiB.
    let res = app
        .client
        .get(format!("{}/doctors", app.base))
        .header("x-padding", "p".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(res.headers().contains_key("x-request-id"));
    let b: serde_json::Value = res.json().await.unwrap();
    assert_eq!(b["error"]["code"], "HEADERS_TOO_LARGE", "{b}");

    // A raw byte the HTTP grammar forbids never reaches carebook: hyper answers a bare 400 and
    // closes (documented in the README). The server keeps serving.
    let req = b"GET /api/doc\xfftors HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let response = raw_exchange(&app, req.to_vec(), Duration::from_secs(10)).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response:?}");
    let (s, _) = app.get("/health").await;
    assert_eq!(s, StatusCode::OK);
}

async fn login_with_a_nul_in_the_email_is_a_plain_401(app: TestApp) {
    // PostgreSQL cannot hold a NUL in text: such an e-mail must never reach it.
    for email in ["a\u{0}b@clinic.test", "\u{0}", ""] {
        let (s, b) = app
            .call_as(
                None,
                reqwest::Method::POST,
                "/auth/login",
                json!({"email": email, "password": "whatever it is here"}),
            )
            .await;
        assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    }
}

async fn racing_sign_ups_with_one_email_get_one_201_and_409s(app: TestApp) {
    let body = json!({"name": "Twin", "email": "twin@mail.test", "phone": "+1 555 010 0000",
                      "password": "a twin passphrase"});
    let calls =
        (0..8).map(|_| app.call_as(None, reqwest::Method::POST, "/auth/register", body.clone()));
    let answers = futures::future::join_all(calls).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    for (s, b) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_error(*s, b, 409, "DUPLICATE");
    }
}

backends!(
    login_with_a_nul_in_the_email_is_a_plain_401,
    racing_sign_ups_with_one_email_get_one_201_and_409s,
    declared_oversized_body_is_413_at_once,
    non_canonical_uuids_are_refused,
    repeated_idempotency_key_is_refused,
    rejections_below_the_handlers_carry_the_envelope,
);
