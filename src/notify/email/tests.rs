use chrono::{Duration, Utc};

use super::*;
use crate::config::Secret;
use crate::domain::outbox::AppointmentFacts;
use crate::domain::{AppointmentId, DoctorId, PatientId, SlotId};

fn settings(url: Option<&str>, from: &str) -> NotifySettings {
    NotifySettings {
        smtp_url: url.map(|u| Secret(u.into())),
        smtp_from: from.into(),
        ..NotifySettings::default()
    }
}

fn notice(event: &str, email: &str) -> Notice {
    let starts_at = Utc::now() + Duration::days(3);
    Notice {
        outbox_id: 41,
        event: event.into(),
        occurred_at: Utc::now(),
        facts: AppointmentFacts {
            appointment_id: AppointmentId::random(),
            patient_id: PatientId::random(),
            doctor_id: DoctorId::random(),
            slot_id: SlotId::random(),
            status: "CONFIRMED".into(),
            patient_name: "Pat Test".into(),
            patient_email: email.into(),
            doctor_name: "Dr Test".into(),
            doctor_timezone: "America/New_York".into(),
            starts_at,
            ends_at: starts_at + Duration::minutes(30),
            expires_at: None,
            consultation_type: "in-person".into(),
            sequence: 3,
        },
        reminder_hours: None,
    }
}

#[test]
fn unset_url_is_off_and_bad_settings_are_one_line_errors() {
    assert!(Mailer::from_settings(&settings(None, "a@b.test"))
        .unwrap()
        .is_none());
    for url in [
        "http://mail.test",
        "smtp://",
        "not a url",
        "smtp://h?tls=maybe",
    ] {
        let e = Mailer::from_settings(&settings(Some(url), "a@b.test"))
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
        assert!(e.starts_with("SMTP_URL") && !e.contains('\n'), "{e}");
    }
    let e = Mailer::from_settings(&settings(Some("smtp://127.0.0.1:25"), "nobody"))
        .err()
        .expect("a bad sender");
    assert!(e.starts_with("SMTP_FROM"), "{e}");
    let e = Mailer::from_settings(&settings(Some("smtps://user:hunter2@h:99999"), "a@b.test"))
        .err()
        .expect("a bad port");
    assert!(!e.contains("hunter2"), "{e}");
    for url in [
        "smtp://127.0.0.1:2525",
        "smtps://user:pass@mail.test",
        "smtp://user:pass@mail.test:587?tls=required",
    ] {
        assert!(
            Mailer::from_settings(&settings(Some(url), "Clinic <clinic@mail.test>"))
                .unwrap()
                .is_some(),
            "{url}"
        );
    }
}

fn mailer() -> Mailer {
    Mailer::from_settings(&settings(
        Some("smtp://127.0.0.1:2525"),
        "Clinic <clinic@mail.test>",
    ))
    .unwrap()
    .unwrap()
}

#[test]
fn a_confirmation_is_text_html_and_a_calendar_request() {
    let n = notice("appointment.confirmed", "pat@mail.test");
    let raw = String::from_utf8(mailer().message(&n).unwrap().formatted()).unwrap();
    assert!(raw.contains("To: \"Pat Test\" <pat@mail.test>"), "{raw}");
    assert!(raw.contains("From: Clinic <clinic@mail.test>"), "{raw}");
    assert!(
        raw.contains("Subject: Appointment confirmed: Dr Test on "),
        "{raw}"
    );
    assert!(raw.contains(&format!(
        "Message-ID: <{}.41@mail.test>",
        n.facts.appointment_id
    )));
    assert!(raw.contains("Auto-Submitted: auto-generated"));
    assert!(raw.contains("multipart/mixed"));
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("text/plain"));
    assert!(raw.contains("text/html"));
    assert!(
        raw.contains("text/calendar; charset=utf-8; method=REQUEST"),
        "{raw}"
    );
    assert!(raw.contains("filename=\"invite.ics\""), "{raw}");
}

#[test]
fn a_booking_has_no_invite_and_a_cancellation_cancels() {
    let booked = mailer()
        .message(&notice("appointment.booked", "pat@mail.test"))
        .unwrap()
        .formatted();
    let booked = String::from_utf8(booked).unwrap();
    assert!(!booked.contains("text/calendar") && !booked.contains("multipart/mixed"));
    let cancel = mailer()
        .message(&notice("appointment.cancelled", "pat@mail.test"))
        .unwrap()
        .formatted();
    assert!(String::from_utf8(cancel)
        .unwrap()
        .contains("text/calendar; charset=utf-8; method=CANCEL"));
}

#[test]
fn an_unusable_patient_address_fails_for_good_without_naming_it() {
    let e = mailer()
        .message(&notice("appointment.booked", "not-an-address"))
        .unwrap_err();
    assert!(e.permanent);
    assert!(!e.message.contains("not-an-address"), "{e}");
}

#[test]
fn names_with_line_breaks_stored_earlier_make_one_line_headers() {
    let mailer = Mailer::from_settings(&settings(Some("smtp://127.0.0.1:25"), "a@b.test"))
        .unwrap()
        .unwrap();
    for name in [
        "Eve\nBcc: x@y.test",
        "Eve\r\n",
        "Eve\u{2028}x",
        "\u{85}Eve\t",
    ] {
        let mut n = notice("appointment.confirmed", "eve@mail.test");
        n.facts.patient_name = name.into();
        n.facts.doctor_name = format!("Dr {name}");
        let message = mailer.message(&n).expect("a message");
        let raw = String::from_utf8(message.formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        let to = headers.lines().find(|l| l.starts_with("To:")).unwrap();
        assert!(to.contains("eve@mail.test"), "{to}");
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    }
}
