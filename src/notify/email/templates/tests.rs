use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::domain::{AppointmentId, DoctorId, PatientId, SlotId};

/// A notice about a 30-minute appointment at 09:00 Berlin time, 20 days from now.
fn notice(event: &str) -> Notice {
    let zone = chrono_tz::Europe::Berlin;
    let date = Utc::now().with_timezone(&zone).date_naive() + Duration::days(20);
    let starts_at = zone
        .from_local_datetime(&date.and_hms_opt(9, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    Notice {
        outbox_id: 7,
        event: event.into(),
        occurred_at: Utc::now(),
        facts: AppointmentFacts {
            appointment_id: AppointmentId::random(),
            patient_id: PatientId::random(),
            doctor_id: DoctorId::random(),
            slot_id: SlotId::random(),
            status: "CONFIRMED".into(),
            patient_name: "Pat <b>Bold</b> & Co".into(),
            patient_email: "pat@mail.test".into(),
            doctor_name: "Dr Ana Smith".into(),
            doctor_timezone: "Europe/Berlin".into(),
            starts_at,
            ends_at: starts_at + Duration::minutes(30),
            expires_at: Some(Utc::now() + Duration::minutes(15)),
            consultation_type: "video".into(),
            sequence: 2,
        },
        reminder_hours: Some(24),
    }
}

#[test]
fn every_placeholder_in_every_template_has_a_value() {
    let known: Vec<&str> = values(&notice("appointment.booked"), chrono_tz::UTC)
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for event in EVENTS {
        let t = template(event).expect(event);
        // Every message shows the appointment's details block, in both parts.
        let (text, html) = (
            with_details(t.text, DETAILS_TEXT),
            with_details(t.html, DETAILS_HTML),
        );
        assert!(
            text.contains("{{reference}}") && html.contains("{{reference}}"),
            "{event}"
        );
        let (subject, _) = split_subject(&text);
        assert!(!subject.is_empty() && !subject.contains('\n'), "{event}");
        for name in placeholders(&text).into_iter().chain(placeholders(&html)) {
            assert!(known.contains(&name), "{event}: unknown {{{{{name}}}}}");
        }
    }
    assert_eq!(placeholders(LAYOUT), ["title", "body"]);
}

#[test]
fn subjects_name_the_doctor_and_the_local_date_and_time() {
    let n = notice("appointment.booked");
    let date = n
        .facts
        .starts_at
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%d");
    for (event, prefix) in [
        ("appointment.booked", "Booking received"),
        ("waitlist.offered", "Seat offered"),
        ("appointment.confirmed", "Appointment confirmed"),
        ("appointment.rescheduled", "Appointment rescheduled"),
        ("appointment.cancelled", "Appointment cancelled"),
        ("appointment.reminder", "Reminder"),
    ] {
        let r = render(&notice(event), "carebook@clinic.test").unwrap();
        assert_eq!(
            r.subject,
            format!("{prefix}: Dr Ana Smith on {date} at 09:00"),
            "{event}"
        );
        assert!(
            r.text.contains("09:00 to 09:30 (Europe/Berlin)"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Video"), "{}", r.text);
        assert!(r.html.contains("09:00 to 09:30 (Europe/Berlin)"));
    }
}

#[test]
fn values_are_escaped_in_html_only() {
    let r = render(&notice("appointment.booked"), "carebook@clinic.test").unwrap();
    assert!(
        r.text.starts_with("Hello Pat <b>Bold</b> & Co,"),
        "{}",
        r.text
    );
    assert!(r
        .html
        .contains("Hello Pat &lt;b&gt;Bold&lt;/b&gt; &amp; Co,"));
    assert!(!r.html.contains("<b>Bold"));
    assert!(r.html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn invites_go_with_confirmations_reschedules_and_cancellations() {
    let method = |event| {
        render(&notice(event), "carebook@clinic.test")
            .unwrap()
            .invite
            .map(|i| i.method)
    };
    assert_eq!(method("appointment.booked"), None);
    assert_eq!(method("waitlist.offered"), None);
    assert_eq!(method("appointment.reminder"), None);
    assert_eq!(method("appointment.confirmed"), Some(Method::Request));
    assert_eq!(method("appointment.rescheduled"), Some(Method::Request));
    assert_eq!(method("appointment.cancelled"), Some(Method::Cancel));
}

#[test]
fn deadlines_and_reminder_lead_times_are_spelled_out() {
    let n = notice("appointment.booked");
    let deadline = n
        .facts
        .expires_at
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%d %H:%M (Europe/Berlin)")
        .to_string();
    let r = render(&n, "carebook@clinic.test").unwrap();
    assert!(r.text.contains(&deadline), "{}", r.text);
    let mut n = notice("appointment.reminder");
    n.reminder_hours = Some(2);
    let r = render(&n, "carebook@clinic.test").unwrap();
    assert!(r.text.contains("in less than 2 hours"), "{}", r.text);
    n.reminder_hours = Some(1);
    let r = render(&n, "carebook@clinic.test").unwrap();
    assert!(r.text.contains("in less than 1 hour."), "{}", r.text);
}

#[test]
fn unknown_events_and_zones_fail_for_good_without_personal_data() {
    let e = render(&notice("appointment.unknown"), "x@y.test").unwrap_err();
    assert!(e.permanent);
    let mut n = notice("appointment.booked");
    n.facts.doctor_timezone = "Mars/Olympus".into();
    let e = render(&n, "x@y.test").unwrap_err();
    assert!(e.permanent && !e.message.contains("pat@"), "{e}");
}

#[test]
fn substitution_leaves_unknown_names_empty_and_unclosed_braces_alone() {
    let v = [("a", "1".to_owned())];
    assert_eq!(substitute("x{{a}}y{{ a }}z", &v, str::to_owned), "x1y1z");
    assert_eq!(substitute("{{nope}}!", &v, str::to_owned), "!");
    assert_eq!(substitute("open {{a", &v, str::to_owned), "open {{a");
    assert_eq!(one_line("a\r\nb"), "a  b");
}
