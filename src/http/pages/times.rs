//! Times as pages show them: always with the doctor's zone, and marked up so that the page's
//! script can add the reader's own time when their browser is in another zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

/// A moment shown in a doctor's zone.
#[derive(Serialize)]
pub struct Shown {
    /// `2026-12-08T08:00:00Z`, for `<time datetime>` and the script.
    pub iso: String,
    /// `Tuesday 8 December 2026`.
    pub day: String,
    /// `09:00`.
    pub time: String,
    /// `Europe/Berlin`.
    pub zone: String,
}

/// `at` as shown in `zone` (its local date and time given, as slots store them).
pub fn shown(at: DateTime<Utc>, date: NaiveDate, time: NaiveTime, zone: &str) -> Shown {
    Shown {
        iso: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        day: long_day(date),
        time: time.format("%H:%M").to_string(),
        zone: zone.to_owned(),
    }
}

/// `Tuesday 8 December 2026`.
pub fn long_day(d: NaiveDate) -> String {
    d.format("%A %-d %B %Y").to_string()
}

/// A month's weeks for the calendar grid: Monday first, `None` outside the month.
pub fn weeks(first: NaiveDate) -> Vec<[Option<NaiveDate>; 7]> {
    let lead = first.weekday().num_days_from_monday() as i64;
    let mut weeks = Vec::new();
    let mut day = first - Duration::days(lead);
    while day <= last_of_month(first) {
        let mut week = [None; 7];
        for slot in &mut week {
            *slot = (day.month() == first.month()).then_some(day);
            day += Duration::days(1);
        }
        weeks.push(week);
    }
    weeks
}

/// The first day of `d`'s month.
pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The last day of the month of `first`.
pub fn last_of_month(first: NaiveDate) -> NaiveDate {
    next_month(first).pred_opt().unwrap_or(first)
}

/// The first day of the month after `first`'s.
pub fn next_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .map(first_of_month)
        .unwrap_or(first)
}

/// The first day of the month before `first`'s.
pub fn previous_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_sub_months(chrono::Months::new(1))
        .map(first_of_month)
        .unwrap_or(first)
}

/// A `YYYY-MM` month, read strictly.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    let b = raw.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_grid_starts_on_monday_and_holds_every_day_once() {
        let first = NaiveDate::from_ymd_opt(2031, 2, 1).unwrap();
        let weeks = weeks(first);
        let days: Vec<NaiveDate> = weeks.iter().flatten().flatten().copied().collect();
        assert_eq!(days.len(), 28);
        assert_eq!(days[0], first);
        // 1 February 2031 is a Saturday: five empty cells before it.
        assert_eq!(weeks[0].iter().take_while(|d| d.is_none()).count(), 5);
    }

    #[test]
    fn months_read_strictly() {
        assert_eq!(parse_month("2031-12"), NaiveDate::from_ymd_opt(2031, 12, 1));
        for bad in ["2031-13", "2031-1", "31-12", "2031-12-01", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}
