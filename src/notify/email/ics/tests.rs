use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;

/// An invite for a 30-minute appointment starting at `local` 09:00 in `zone`, `days` from today.
fn invite(zone: Tz, days: i64, sequence: i64, method: Method) -> Invite {
    let date = Utc::now().with_timezone(&zone).date_naive() + Duration::days(days);
    let local = date.and_hms_opt(9, 0, 0).unwrap();
    let starts_at = zone
        .from_local_datetime(&local)
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    Invite {
        method,
        appointment_id: "0b6c5a3e-9a53-4d0e-8a43-5f1f4ad7c2b1".into(),
        sequence,
        stamp: Utc::now(),
        starts_at,
        ends_at: starts_at + Duration::minutes(30),
        zone,
        summary: "Appointment with Dr Ana Smith, MD; cardiology".into(),
        description: "Line one\nLine two, with a \\ backslash".into(),
        organizer: "carebook@clinic.test".into(),
        attendee_name: "Pat \"Quoted\" Test".into(),
        attendee_email: "pat@mail.test".into(),
    }
}

/// The content lines, unfolded.
fn unfold(ics: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn value<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(name))
        .filter_map(|rest| rest.strip_prefix(':'))
        .collect()
}

#[test]
fn lines_end_in_crlf_and_fold_at_75_octets() {
    let mut i = invite(chrono_tz::Europe::Berlin, 10, 1, Method::Request);
    i.description = "Ünïcödé ".repeat(40);
    let ics = i.render();
    assert!(ics.ends_with("\r\n"));
    assert!(!ics.replace("\r\n", "").contains('\n'), "a bare LF");
    assert!(!ics.replace("\r\n", "").contains('\r'), "a bare CR");
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    let lines = unfold(&ics);
    let description = value(&lines, "DESCRIPTION");
    assert_eq!(description, [i.description.as_str()]);
}

#[test]
fn fold_never_splits_a_character() {
    let line = format!("SUMMARY:{}", "é".repeat(100));
    let folded = fold(&line);
    for part in folded.split("\r\n") {
        assert!(part.len() <= 75);
    }
    assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
    assert_eq!(fold("SHORT:x"), "SHORT:x\r\n");
    assert_eq!(fold(&"x".repeat(75)), format!("{}\r\n", "x".repeat(75)));
    assert_eq!(
        fold(&"x".repeat(76)),
        format!("{}\r\n x\r\n", "x".repeat(75))
    );
}

#[test]
fn text_escapes_commas_semicolons_backslashes_and_newlines() {
    assert_eq!(escape_text("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
    let lines = unfold(&invite(Tz::UTC, 3, 0, Method::Request).render());
    assert_eq!(
        value(&lines, "SUMMARY"),
        ["Appointment with Dr Ana Smith\\, MD\\; cardiology"]
    );
    assert_eq!(
        value(&lines, "DESCRIPTION"),
        ["Line one\\nLine two\\, with a \\\\ backslash"]
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("ATTENDEE;CN=\"Pat Quoted Test\";")
            && l.ends_with(":mailto:pat@mail.test")));
}

#[test]
fn uid_is_the_appointments_across_changes_and_sequence_grows() {
    let first = unfold(&invite(Tz::UTC, 3, 2, Method::Request).render());
    let moved = unfold(&invite(Tz::UTC, 5, 3, Method::Request).render());
    let cancel = unfold(&invite(Tz::UTC, 5, 4, Method::Cancel).render());
    let want = ["0b6c5a3e-9a53-4d0e-8a43-5f1f4ad7c2b1@carebook"];
    for (lines, seq) in [(&first, "2"), (&moved, "3"), (&cancel, "4")] {
        assert_eq!(value(lines, "UID"), want);
        assert_eq!(value(lines, "SEQUENCE"), [seq]);
    }
    assert_eq!(value(&first, "METHOD"), ["REQUEST"]);
    assert_eq!(value(&first, "STATUS"), ["CONFIRMED"]);
    assert_eq!(value(&cancel, "METHOD"), ["CANCEL"]);
    assert_eq!(value(&cancel, "STATUS"), ["CANCELLED"]);
}

#[test]
fn utc_times_are_plain_z_without_a_timezone() {
    let i = invite(Tz::UTC, 3, 0, Method::Request);
    let lines = unfold(&i.render());
    assert!(!lines.iter().any(|l| l == "BEGIN:VTIMEZONE"));
    let start = i.starts_at.format("%Y%m%dT%H%M%SZ").to_string();
    assert_eq!(value(&lines, "DTSTART"), [start.as_str()]);
    assert!(value(&lines, "DTSTAMP")[0].ends_with('Z'));
}

/// The observances of a VTIMEZONE: (onset as UTC, offset to, kind).
fn observances(lines: &[String]) -> Vec<(DateTime<Utc>, i32, String)> {
    let parse_offset = |v: &str| {
        let sign = if v.starts_with('-') { -1 } else { 1 };
        let h: i32 = v[1..3].parse().unwrap();
        let m: i32 = v[3..5].parse().unwrap();
        sign * (h * 3600 + m * 60)
    };
    let mut found = Vec::new();
    let mut current: Option<(String, NaiveDateTime, i32, i32)> = None;
    for l in lines {
        match l.split_once(':') {
            Some(("BEGIN", k @ ("STANDARD" | "DAYLIGHT"))) => {
                current = Some((k.into(), NaiveDateTime::MIN, 0, 0));
            }
            Some(("DTSTART", v)) if current.is_some() => {
                current.as_mut().unwrap().1 =
                    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").unwrap();
            }
            Some(("TZOFFSETFROM", v)) => current.as_mut().unwrap().2 = parse_offset(v),
            Some(("TZOFFSETTO", v)) => current.as_mut().unwrap().3 = parse_offset(v),
            Some(("END", "STANDARD" | "DAYLIGHT")) => {
                let (kind, local, from, to) = current.take().unwrap();
                let onset = (local - Duration::seconds(i64::from(from))).and_utc();
                found.push((onset, to, kind));
            }
            _ => {}
        }
    }
    found
}

/// The offset a calendar reading the VTIMEZONE gives an instant: the latest onset before it.
fn offset_by_vtimezone(lines: &[String], at: DateTime<Utc>) -> i32 {
    observances(lines)
        .into_iter()
        .filter(|(onset, _, _)| *onset <= at)
        .max_by_key(|(onset, _, _)| *onset)
        .expect("an observance in effect")
        .1
}

#[test]
fn dst_zones_carry_observances_that_give_the_right_offset_all_year() {
    use chrono::Offset;
    for zone in [
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Sydney,
    ] {
        for days in (1..=366).step_by(11) {
            let i = invite(zone, days, 1, Method::Request);
            let lines = unfold(&i.render());
            assert_eq!(value(&lines, "TZID"), [zone.name()]);
            let dtstart = format!("DTSTART;TZID={}", zone.name());
            let local = i.starts_at.with_timezone(&zone).format("%Y%m%dT090000");
            assert_eq!(value(&lines, &dtstart), [local.to_string().as_str()]);
            for at in [i.starts_at, i.ends_at] {
                let want = zone.offset_from_utc_datetime(&at.naive_utc()).fix();
                assert_eq!(
                    offset_by_vtimezone(&lines, at),
                    want.local_minus_utc(),
                    "{zone} {at}"
                );
            }
            let kinds: Vec<String> = observances(&lines).into_iter().map(|o| o.2).collect();
            assert!(kinds.contains(&"STANDARD".to_owned()), "{zone}: {kinds:?}");
            assert!(kinds.contains(&"DAYLIGHT".to_owned()), "{zone}: {kinds:?}");
        }
    }
}

#[test]
fn zones_without_dst_have_one_standard_observance() {
    let lines = unfold(&invite(chrono_tz::Asia::Tokyo, 30, 1, Method::Request).render());
    let obs = observances(&lines);
    assert_eq!(obs.len(), 1, "{lines:?}");
    assert_eq!(obs[0].1, 9 * 3600);
    assert_eq!(obs[0].2, "STANDARD");
    assert!(lines.contains(&"TZOFFSETFROM:+0900".to_owned()));
    assert!(lines.contains(&"TZNAME:JST".to_owned()));
}

#[test]
fn offsets_with_seconds_and_negative_ones() {
    assert_eq!(utc_offset(3600), "+0100");
    assert_eq!(utc_offset(-(4 * 3600 + 30 * 60)), "-0430");
    assert_eq!(utc_offset(0), "+0000");
    assert_eq!(utc_offset(5 * 3600 + 53 * 60 + 28), "+055328");
}
