use chrono::{Duration, TimeZone as _, Utc};

use super::*;
use crate::domain::outbox::AppointmentFacts;
use crate::domain::{AppointmentId, DoctorId, PatientId, SlotId};

fn notice() -> Notice {
    let starts_at = Utc.with_ymd_and_hms(2030, 1, 10, 8, 0, 0).unwrap();
    Notice {
        outbox_id: 42,
        event: "appointment.booked".into(),
        occurred_at: Utc.with_ymd_and_hms(2030, 1, 1, 9, 30, 0).unwrap(),
        facts: AppointmentFacts {
            appointment_id: AppointmentId::random(),
            patient_id: PatientId::random(),
            doctor_id: DoctorId::random(),
            slot_id: SlotId::random(),
            status: "PENDING".into(),
            patient_name: "Alice Example".into(),
            patient_email: "alice@example.com".into(),
            doctor_name: "Dr Bob".into(),
            doctor_timezone: "Europe/Berlin".into(),
            starts_at,
            ends_at: starts_at + Duration::minutes(30),
            expires_at: Some(starts_at - Duration::days(1)),
            consultation_type: "IN_PERSON".into(),
            sequence: 1,
        },
        reminder_hours: None,
    }
}

fn target(url: &str) -> WebhookTarget {
    WebhookTarget {
        id: uuid::Uuid::new_v4(),
        url: url.into(),
        secret: "0123456789abcdef01234567".into(),
    }
}

#[test]
fn the_body_carries_ids_status_and_times_only() {
    let n = notice();
    let body: serde_json::Value = serde_json::from_slice(&body(&n)).unwrap();
    assert_eq!(body["type"], "appointment.booked");
    assert_eq!(body["timestamp"], "2030-01-01T09:30:00Z");
    let data = body["data"].as_object().unwrap();
    assert_eq!(data["appointment_id"], n.facts.appointment_id.to_string());
    assert_eq!(data["status"], "PENDING");
    assert_eq!(data["starts_at"], "2030-01-10T08:00:00Z");
    let text = body.to_string();
    for private in ["Alice", "alice@example.com", "Dr Bob"] {
        assert!(!text.contains(private), "{private} leaked: {text}");
    }
}

#[test]
fn answers_settle_as_delivered_permanent_or_retried() {
    use reqwest::StatusCode as S;
    assert!(outcome(S::OK).is_ok());
    assert!(outcome(S::NO_CONTENT).is_ok());
    assert!(outcome(S::GONE).unwrap_err().permanent);
    for s in [
        S::MOVED_PERMANENTLY,
        S::BAD_REQUEST,
        S::TOO_MANY_REQUESTS,
        S::BAD_GATEWAY,
    ] {
        let e = outcome(s).unwrap_err();
        assert!(!e.permanent, "{s}");
        assert!(e.message.contains(s.as_str()), "{}", e.message);
    }
}

#[tokio::test]
async fn private_hosts_fail_for_good_at_delivery() {
    let sender = Sender::new(false, true);
    // A literal address is refused before connecting; a name by the resolver.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/",
        "http://localhost:9/hook",
    ] {
        let e = sender.send(&target(url), &notice()).await.unwrap_err();
        assert!(e.permanent, "{url}: {e:?}");
        assert!(e.message.contains("non-public"), "{url}: {}", e.message);
    }
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried() {
    // Port 9 (discard) on loopback is closed here; allowed, so only the connection fails.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let e = Sender::new(true, true)
        .send(&target(&format!("http://127.0.0.1:{port}/")), &notice())
        .await
        .unwrap_err();
    assert!(!e.permanent, "{e:?}");
    assert!(!e.message.contains("127.0.0.1"), "{}", e.message);
}

#[tokio::test]
async fn plain_http_fails_for_good_unless_allowed() {
    let e = Sender::new(true, false)
        .send(&target("http://127.0.0.1:9/hook"), &notice())
        .await
        .unwrap_err();
    assert!(e.permanent && e.message.contains("https"), "{e:?}");
}
