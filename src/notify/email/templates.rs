//! The patient's messages, from the files in `templates/email/` (embedded in the binary).
//!
//! Each event has `<name>.txt`, whose first line is `Subject: …` and whose rest after a blank
//! line is the plain-text body, and `<name>.html`, the HTML body placed into `layout.html`.
//! A `{{details}}` line in either stands for `details.txt` or `details.html`: the appointment's
//! doctor, date, time, consultation type and reference, the same in every message.
//! `{{name}}` is replaced by a value (HTML-escaped in the HTML part). Only what the patient
//! needs to find the appointment is offered: doctor, date, time and zone, consultation type,
//! deadlines and a reference. No medical fields exist in the facts to begin with.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::ics::{Invite, Method};
use crate::domain::outbox::AppointmentFacts;
use crate::notify::notice::{DeliveryError, Notice};

/// A message ready to be sent.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The calendar invite attached, if the event carries one.
    pub invite: Option<Invite>,
}

/// One event's templates.
struct Template {
    text: &'static str,
    html: &'static str,
    /// Carries an invite with this method.
    invite: Option<Method>,
}

pub(super) const LAYOUT: &str = include_str!("../../../templates/email/layout.html");
/// The appointment's details, as every message shows them: a template's `{{details}}` line.
const DETAILS_TEXT: &str = include_str!("../../../templates/email/details.txt");
const DETAILS_HTML: &str = include_str!("../../../templates/email/details.html");

macro_rules! template {
    ($name:literal, $invite:expr) => {
        Template {
            text: include_str!(concat!("../../../templates/email/", $name, ".txt")),
            html: include_str!(concat!("../../../templates/email/", $name, ".html")),
            invite: $invite,
        }
    };
}

/// The templates of an event that e-mails the patient.
fn template(event: &str) -> Option<Template> {
    Some(match event {
        "appointment.booked" => template!("booked", None),
        "waitlist.offered" => template!("offered", None),
        "appointment.confirmed" => template!("confirmed", Some(Method::Request)),
        "appointment.rescheduled" => template!("rescheduled", Some(Method::Request)),
        "appointment.cancelled" => template!("cancelled", Some(Method::Cancel)),
        "appointment.reminder" => template!("reminder", None),
        "appointment.expired" => template!("expired", None),
        "appointment.completed" => template!("completed", None),
        "appointment.no_show" => template!("no_show", None),
        _ => return None,
    })
}

/// Every event with templates (the events the patient is e-mailed about).
pub const EVENTS: [&str; 9] = [
    "appointment.booked",
    "waitlist.offered",
    "appointment.confirmed",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.reminder",
    "appointment.expired",
    "appointment.completed",
    "appointment.no_show",
];

/// Renders the notice's message; `organizer` is the sender's bare address (for the invite).
/// Errors are permanent: an event without templates, a doctor's zone that is not known.
pub fn render(notice: &Notice, organizer: &str) -> Result<Rendered, DeliveryError> {
    let t = template(&notice.event).ok_or_else(|| {
        DeliveryError::permanent(format!("no e-mail template for {}", notice.event))
    })?;
    let facts = &notice.facts;
    let zone: Tz = facts
        .doctor_timezone
        .parse()
        .map_err(|_| DeliveryError::permanent("the doctor's time zone is not a known IANA zone"))?;
    let values = values(notice, zone);
    let (text, html) = (
        with_details(t.text, DETAILS_TEXT),
        with_details(t.html, DETAILS_HTML),
    );
    let (subject, text) = split_subject(&text);
    let subject = substitute(subject, &values, one_line);
    let title = html_escape(&subject);
    let html_body = substitute(&html, &values, html_escape);
    let html = substitute(
        LAYOUT,
        &[("title", title), ("body", html_body)],
        str::to_owned,
    );
    Ok(Rendered {
        text: substitute(text, &values, str::to_owned),
        html,
        invite: t
            .invite
            .map(|method| invite(facts, zone, method, organizer)),
        subject,
    })
}

/// A template with its `{{details}}` line replaced by the details part (whose own `{{…}}`
/// are then substituted like the template's).
fn with_details(template: &str, details: &str) -> String {
    template.replace("{{details}}\n", details)
}

/// The invite for the appointment as the facts tell it.
fn invite(facts: &AppointmentFacts, zone: Tz, method: Method, organizer: &str) -> Invite {
    Invite {
        method,
        appointment_id: facts.appointment_id.to_string(),
        sequence: facts.sequence,
        stamp: Utc::now(),
        starts_at: facts.starts_at,
        ends_at: facts.ends_at,
        zone,
        summary: format!("Appointment with {}", facts.doctor_name),
        description: format!(
            "{} appointment with {}. Reference: {}",
            consultation(&facts.consultation_type),
            facts.doctor_name,
            facts.appointment_id
        ),
        organizer: organizer.to_owned(),
        attendee_name: facts.patient_name.clone(),
        attendee_email: facts.patient_email.clone(),
    }
}

/// The values templates may name.
fn values(notice: &Notice, zone: Tz) -> Vec<(&'static str, String)> {
    let f = &notice.facts;
    let start = f.starts_at.with_timezone(&zone);
    let hours = notice.reminder_hours.unwrap_or(0);
    vec![
        ("patient", f.patient_name.clone()),
        ("doctor", f.doctor_name.clone()),
        ("date", start.format("%Y-%m-%d").to_string()),
        ("weekday", start.format("%A").to_string()),
        ("time", start.format("%H:%M").to_string()),
        (
            "end_time",
            f.ends_at.with_timezone(&zone).format("%H:%M").to_string(),
        ),
        ("zone", zone.name().to_owned()),
        (
            "consultation",
            consultation(&f.consultation_type).to_owned(),
        ),
        ("deadline", deadline(f.expires_at, zone)),
        (
            "hours",
            match hours {
                1 => "1 hour".to_owned(),
                h => format!("{h} hours"),
            },
        ),
        ("reference", f.appointment_id.to_string()),
    ]
}

/// A confirm deadline in the doctor's zone.
fn deadline(at: Option<DateTime<Utc>>, zone: Tz) -> String {
    match at {
        Some(at) => format!(
            "{} ({})",
            at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
            zone.name()
        ),
        None => "the deadline shown with your booking".into(),
    }
}

/// A consultation type as people say it.
fn consultation(raw: &str) -> &str {
    match raw {
        "in-person" => "In-person",
        "video" => "Video",
        "phone" => "Phone",
        other => other,
    }
}

/// Splits a `.txt` template into its `Subject:` line and its body.
pub(super) fn split_subject(text: &str) -> (&str, &str) {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let subject = first.strip_prefix("Subject:").unwrap_or(first).trim();
    (subject, rest.trim_start_matches(['\r', '\n']))
}

/// Replaces each `{{name}}` by its value passed through `encode`; an unknown name by nothing.
pub fn substitute(
    template: &str,
    values: &[(&str, String)],
    encode: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = after[..close].trim();
        if let Some((_, v)) = values.iter().find(|(n, _)| *n == name) {
            out.push_str(&encode(v));
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// The names a template uses.
pub fn placeholders(template: &str) -> Vec<&str> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|p| p.split_once("}}").map(|(n, _)| n.trim()))
        .collect()
}

/// A value for a header: controls (line breaks) become spaces.
fn one_line(v: &str) -> String {
    crate::domain::text::one_line(v)
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
