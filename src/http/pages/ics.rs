//! An appointment as an iCalendar (RFC 5545) event, for "add to calendar": one event in UTC,
//! escaped and folded by the e-mail invites' own writer (`notify::email::ics`).

use crate::domain::appointment::AppointmentDetail;
use crate::notify::email::ics::{escape_text, fold, uid};

/// The `.ics` file of one appointment, times in UTC.
pub fn event(d: &AppointmentDetail, clinic: &str) -> String {
    let s = &d.slot;
    let end = s.starts_at + chrono::Duration::minutes(i64::from(s.duration_minutes));
    let utc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let place = d.doctor.clinic_name.as_deref().unwrap_or(clinic);
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//carebook//appointments//EN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", uid(&d.appointment.id.to_string())),
        format!("DTSTAMP:{}", utc(chrono::Utc::now())),
        format!("DTSTART:{}", utc(s.starts_at)),
        format!("DTEND:{}", utc(end)),
        format!(
            "SUMMARY:{}",
            escape_text(&format!("Appointment with {}", d.doctor.name))
        ),
        format!("LOCATION:{}", escape_text(place)),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}
