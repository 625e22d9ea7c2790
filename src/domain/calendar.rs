//! Calendar values as clients send them (strict `YYYY-MM-DD` dates, `HH:MM[:SS]` times, IANA
//! zone names) and the pinning of a local date and time to an instant.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Timelike, Utc};
use chrono_tz::Tz;

use super::text::string_serde;

/// A calendar date read strictly as `YYYY-MM-DD` (no signed or short years, no 2-digit parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl Day {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let b = raw.as_bytes();
        let ok_shape = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) if ok_shape => Ok(Self(d)),
            _ => Err("must be a valid date in YYYY-MM-DD format".into()),
        }
    }

    /// The date.
    pub fn as_str(&self) -> String {
        self.0.to_string()
    }
}

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl<'de> serde::Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A time of day read as `HH:MM` or `HH:MM:SS` (no fractions, no leap second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay(pub NaiveTime);

impl TimeOfDay {
    /// Parses `HH:MM` or `HH:MM:SS`, two digits each (chrono alone would skip a space before a
    /// number and read `09: 3` as 09:03).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let ok_shape = raw.bytes().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                c == b':'
            } else {
                c.is_ascii_digit()
            }
        });
        let parsed = match raw.len() {
            5 if ok_shape => NaiveTime::parse_from_str(raw, "%H:%M"),
            8 if ok_shape => NaiveTime::parse_from_str(raw, "%H:%M:%S"),
            _ => return Err("must be a valid time in HH:MM or HH:MM:SS format".into()),
        };
        match parsed {
            // chrono reads second 60 as a leap second; no clinic schedules one.
            Ok(t) if t.nanosecond() < 1_000_000_000 => Ok(Self(t)),
            _ => Err("must be a valid time in HH:MM or HH:MM:SS format".into()),
        }
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl<'de> serde::Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An IANA time zone such as `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub Tz);

impl TimeZone {
    /// Parses an IANA zone name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| "must be an IANA time zone name such as Europe/Paris".into())
    }

    /// The zone's canonical name.
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// Today's date in this zone.
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.0).date_naive()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(TimeZone);

/// The absolute instant of a local date and time in `tz`. A time skipped by a DST change is an
/// error; a repeated one (DST end) resolves to its first occurrence.
pub fn locate(tz: Tz, date: NaiveDate, time: NaiveTime) -> Result<DateTime<Utc>, String> {
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("{date} {time} does not exist in time zone {tz} (daylight-saving gap)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration};

    #[test]
    fn dates_and_times() {
        assert!(Day::parse("2030-02-28").is_ok());
        for bad in [
            "2030-02-30",
            "2030-2-3",
            "20300101",
            "tomorrow",
            "-001-01-01",
            "+001-01-01",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert_eq!(TimeOfDay::parse("09:30").unwrap().0, t(9, 30, 0));
        assert_eq!(TimeOfDay::parse("09:30:15").unwrap().0, t(9, 30, 15));
        for bad in [
            "9:30",
            "09: 3",
            "9:30: 15",
            "25:00",
            "09:60",
            "09:30:00.5",
            "09:30:60",
            "23:59:60",
            "",
        ] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zones() {
        assert_eq!(
            TimeZone::parse("Europe/Paris").unwrap().as_str(),
            "Europe/Paris"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn local_time_pins_to_the_doctors_zone() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let d = Utc::now().date_naive() + Duration::days(30);
        let t = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let at = locate(tz, d, t).unwrap();
        // Kolkata is UTC+05:30 all year.
        assert_eq!(at, d.and_hms_opt(3, 30, 0).unwrap().and_utc());
    }

    /// The first day after today on which `tz`'s UTC offset at local noon differs from the
    /// day before's, searching up to two years ahead, with the direction of the change.
    fn next_change(tz: Tz) -> (NaiveDate, bool) {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let offset = |d: NaiveDate| locate(tz, d, noon).unwrap() - d.and_time(noon).and_utc();
        let mut d = Utc::now().date_naive();
        for _ in 0..730 {
            let next = d + Duration::days(1);
            if offset(next) != offset(d) {
                // Offsets are "UTC minus local": a smaller one means clocks went forward.
                return (next, offset(next) < offset(d));
            }
            d = next;
        }
        panic!("no DST change in two years in {tz}");
    }

    #[test]
    fn dst_gap_is_rejected_and_overlap_takes_the_first() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let (first, forward) = next_change(tz);
        let mut spring = if forward {
            first
        } else {
            next_change_after(tz, first)
        };
        let mut autumn = if forward {
            next_change_after(tz, first)
        } else {
            first
        };
        // Both changes happen at 02:00 local on a Sunday in New York.
        assert_eq!(spring.weekday(), chrono::Weekday::Sun);
        let gap = locate(tz, spring, NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert!(gap.is_err());
        let overlap = locate(tz, autumn, NaiveTime::from_hms_opt(1, 30, 0).unwrap()).unwrap();
        // The first 01:30 is still daylight time (UTC-4).
        assert_eq!(overlap, autumn.and_hms_opt(5, 30, 0).unwrap().and_utc());
        spring = spring.pred_opt().unwrap();
        autumn = autumn.pred_opt().unwrap();
        assert!(locate(tz, spring, NaiveTime::from_hms_opt(2, 30, 0).unwrap()).is_ok());
        assert!(locate(tz, autumn, NaiveTime::from_hms_opt(1, 30, 0).unwrap()).is_ok());
    }

    fn next_change_after(tz: Tz, after: NaiveDate) -> NaiveDate {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let offset = |d: NaiveDate| locate(tz, d, noon).unwrap() - d.and_time(noon).and_utc();
        let mut d = after;
        for _ in 0..730 {
            let next = d + Duration::days(1);
            if offset(next) != offset(d) {
                return next;
            }
            d = next;
        }
        panic!("no second DST change in {tz}");
    }
}
