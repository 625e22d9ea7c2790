//! An appointment as an iCalendar (RFC 5545) event, for "add to calendar".
//!
//! Written here rather than with a crate: one event of six properties, whose only subtleties
//! are escaping text values and folding lines over 75 octets, both below and tested.

use crate::domain::appointment::AppointmentDetail;

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
        format!("UID:{}@carebook", d.appointment.id),
        format!("DTSTAMP:{}", utc(chrono::Utc::now())),
        format!("DTSTART:{}", utc(s.starts_at)),
        format!("DTEND:{}", utc(end)),
        format!(
            "SUMMARY:{}",
            text(&format!("Appointment with {}", d.doctor.name))
        ),
        format!("LOCATION:{}", text(place)),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

/// A TEXT value: backslash, semicolon and comma escaped, line breaks as `\n`, other control
/// characters dropped.
fn text(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line ended by CRLF, folded so that no line is over 75 octets (a continuation
/// starts with a space), never inside a character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(text("a,b;c\\d\ne\u{7}"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        for part in folded.split("\r\n").filter(|p| !p.is_empty()) {
            assert!(part.len() <= 75, "{} octets", part.len());
        }
        let joined: String = folded.replace("\r\n ", "").trim_end().to_owned();
        assert_eq!(joined, line);
    }
}
