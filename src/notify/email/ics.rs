//! iCalendar invites (RFC 5545, sent as iMIP, RFC 6047) for an appointment: one calendar entry
//! per appointment (`UID:<appointment id>@carebook`), updated by a later `SEQUENCE` and removed
//! by `METHOD:CANCEL`. Times are in the doctor's zone with a `VTIMEZONE` describing it around
//! the event; UTC appointments use plain `Z` times.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// Whether the invite adds/updates the entry or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `METHOD:REQUEST`: add the entry, or update it when the UID is known.
    Request,
    /// `METHOD:CANCEL` with `STATUS:CANCELLED`: remove the entry.
    Cancel,
}

impl Method {
    /// The `METHOD` value, also the `method` parameter of the MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }
}

/// What an invite says.
#[derive(Debug, Clone)]
pub struct Invite {
    pub method: Method,
    /// The appointment's id: the entry's UID is `<id>@carebook` for its whole life.
    pub appointment_id: String,
    /// Grows with every change of the appointment.
    pub sequence: i64,
    /// When the invite was made (`DTSTAMP`).
    pub stamp: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The doctor's zone.
    pub zone: Tz,
    pub summary: String,
    pub description: String,
    /// The sender address (`SMTP_FROM`, bare address).
    pub organizer: String,
    pub attendee_name: String,
    pub attendee_email: String,
}

impl Invite {
    /// The calendar object: CRLF line endings, lines folded at 75 octets.
    pub fn render(&self) -> String {
        let mut lines: Vec<String> = vec![
            "BEGIN:VCALENDAR".into(),
            "VERSION:2.0".into(),
            "PRODID:-//carebook//appointments//EN".into(),
            "CALSCALE:GREGORIAN".into(),
            format!("METHOD:{}", self.method.as_str()),
        ];
        if !is_utc(self.zone) {
            lines.extend(vtimezone(self.zone, self.starts_at, self.ends_at));
        }
        lines.extend(self.vevent());
        lines.push("END:VCALENDAR".into());
        lines.iter().map(|l| fold(l)).collect()
    }

    fn vevent(&self) -> Vec<String> {
        let status = match self.method {
            Method::Request => "CONFIRMED",
            Method::Cancel => "CANCELLED",
        };
        vec![
            "BEGIN:VEVENT".into(),
            format!("UID:{}", uid(&self.appointment_id)),
            format!("SEQUENCE:{}", self.sequence.max(0)),
            format!("DTSTAMP:{}", utc_stamp(self.stamp)),
            format!("DTSTART{}", self.time(self.starts_at)),
            format!("DTEND{}", self.time(self.ends_at)),
            format!("SUMMARY:{}", escape_text(&self.summary)),
            format!("DESCRIPTION:{}", escape_text(&self.description)),
            format!("ORGANIZER;CN=carebook:mailto:{}", self.organizer),
            format!(
                "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:{}",
                quote_param(&self.attendee_name),
                self.attendee_email
            ),
            format!("STATUS:{status}"),
            "TRANSP:OPAQUE".into(),
            "END:VEVENT".into(),
        ]
    }

    /// `;TZID=<zone>:<local>` or `:<utc>Z` (the property name goes before it).
    fn time(&self, at: DateTime<Utc>) -> String {
        if is_utc(self.zone) {
            format!(":{}", utc_stamp(at))
        } else {
            let local = at.with_timezone(&self.zone).naive_local();
            format!(";TZID={}:{}", self.zone.name(), local_stamp(local))
        }
    }
}

/// The calendar entry's UID for an appointment: the same for all its invites.
pub fn uid(appointment_id: &str) -> String {
    format!("{appointment_id}@carebook")
}

fn is_utc(zone: Tz) -> bool {
    matches!(zone, Tz::UTC | Tz::Etc__UTC)
}

fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%S").to_string()
}

/// Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines.
pub fn escape_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value in double quotes, which it cannot contain (RFC 5545 3.1), nor controls.
fn quote_param(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Folds a content line into lines of at most 75 octets (not splitting a UTF-8 character),
/// continuation lines starting with one space; each ends with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

/// An offset change of a zone: the instant and the offsets around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
    daylight: bool,
}

/// The zone's UTC offset in seconds at an instant.
fn offset_at(zone: Tz, at: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The zone's changes of offset in `(from, to]`, found day by day, then to the second.
fn transitions(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let mut found = Vec::new();
    let mut day = from;
    while day < to {
        let next = (day + Duration::days(1)).min(to);
        if offset_at(zone, day) != offset_at(zone, next) {
            let (mut lo, mut hi) = (day, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(zone, mid) == offset_at(zone, lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let after = zone.offset_from_utc_datetime(&hi.naive_utc());
            found.push(Transition {
                at: hi,
                from: offset_at(zone, lo),
                to: offset_at(zone, hi),
                daylight: !after.dst_offset().is_zero(),
            });
        }
        day = next;
    }
    found
}

/// A `VTIMEZONE` for the zone around an event: the last change of offset before its start,
/// those during it and the next one after; a single observance for a zone that has not changed
/// its offset for over a year.
fn vtimezone(zone: Tz, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Vec<String> {
    let around = transitions(
        zone,
        starts_at - Duration::days(400),
        ends_at + Duration::days(400),
    );
    let last_before = around.iter().rposition(|t| t.at <= starts_at);
    let first_after = around.iter().position(|t| t.at > ends_at);
    let mut lines = vec!["BEGIN:VTIMEZONE".into(), format!("TZID:{}", zone.name())];
    let keep = match (last_before, first_after) {
        (Some(b), Some(a)) => &around[b..=a],
        (Some(b), None) => &around[b..],
        (None, Some(a)) => &around[..=a],
        (None, None) => &around[..],
    };
    if last_before.is_none() {
        let offset = offset_at(zone, starts_at);
        let at = zone.offset_from_utc_datetime(&starts_at.naive_utc());
        lines.extend(observance(
            !at.dst_offset().is_zero(),
            "19700101T000000".into(),
            offset,
            offset,
            at.abbreviation(),
        ));
    }
    for t in keep {
        let local = t.at.naive_utc() + Duration::seconds(i64::from(t.from));
        let name = zone.offset_from_utc_datetime(&t.at.naive_utc());
        lines.extend(observance(
            t.daylight,
            local_stamp(local),
            t.from,
            t.to,
            name.abbreviation(),
        ));
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

/// One `STANDARD` or `DAYLIGHT` observance starting at local time `start` (in `from`).
fn observance(
    daylight: bool,
    start: String,
    from: i32,
    to: i32,
    name: Option<&str>,
) -> Vec<String> {
    let kind = if daylight { "DAYLIGHT" } else { "STANDARD" };
    let mut lines = vec![
        format!("BEGIN:{kind}"),
        format!("DTSTART:{start}"),
        format!("TZOFFSETFROM:{}", utc_offset(from)),
        format!("TZOFFSETTO:{}", utc_offset(to)),
    ];
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        lines.push(format!("TZNAME:{}", escape_text(name)));
    }
    lines.push(format!("END:{kind}"));
    lines
}

/// A UTC-OFFSET value: `+hhmm`, or `+hhmmss` when seconds are not zero.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

#[cfg(test)]
mod tests;
