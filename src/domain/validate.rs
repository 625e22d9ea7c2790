//! Small parsers shared by the request types: trimmed text, e-mail, phone, dates, times.

use chrono::{NaiveDate, NaiveTime, Timelike};

use super::error::FieldError;

/// Collects field errors while a request is parsed, so the client hears about all of them at once.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// Records a failure and returns `None`; passes a success through.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.0.push(FieldError::new(field, message));
                None
            }
        }
    }

    /// Like [`Errors::check`] for an optional field: absent stays `None` without error.
    pub fn check_opt<T, I>(
        &mut self,
        field: &str,
        raw: Option<I>,
        parse: impl FnOnce(I) -> Result<T, String>,
    ) -> Option<T> {
        raw.and_then(|raw| self.check(field, parse(raw)))
    }

    /// Records that a required field is missing.
    pub fn missing(&mut self, field: &str) {
        self.0.push(FieldError::new(field, "is required"));
    }

    /// Parses a required field, recording "is required" when it is absent.
    pub fn required<T, I>(
        &mut self,
        field: &str,
        raw: Option<I>,
        parse: impl FnOnce(I) -> Result<T, String>,
    ) -> Option<T> {
        match raw {
            Some(raw) => self.check(field, parse(raw)),
            None => {
                self.missing(field);
                None
            }
        }
    }

    /// `Ok(())` when nothing failed, else the collected errors.
    pub fn finish(self) -> Result<(), super::DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(super::DomainError::Validation(self.0))
        }
    }
}

/// Trims `raw` and requires 1..=`max` characters.
pub fn text(raw: String, max: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    // NUL cannot be stored by PostgreSQL; other control characters (but tab and line breaks)
    // have no place in a name or a note either.
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("must not contain control characters".into());
    }
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(t.to_owned())
}

/// Trims `raw`; empty is allowed and becomes `None` (used to clear optional text).
pub fn optional_text(raw: String, max: usize) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    text(raw, max).map(Some)
}

/// A pragmatic e-mail check: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Stored lower-cased so uniqueness is case-insensitive.
pub fn email(raw: String) -> Result<String, String> {
    let e = raw.trim().to_lowercase();
    let bad = || Err("must be a valid e-mail address".to_string());
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = e.split_once('@') else {
        return bad();
    };
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if local.is_empty() || local.len() > 64 || !domain.contains('.') || !labels_ok {
        return bad();
    }
    Ok(e)
}

/// Digits with an optional leading `+`, spaces, dashes and parentheses; 7–20 characters, 7+ digits.
pub fn phone(raw: String) -> Result<String, String> {
    let p = raw.trim();
    let msg = "must be a phone number: digits with optional leading +, spaces, dashes, parentheses (7-20 characters)";
    let len = p.chars().count();
    let body = p.strip_prefix('+').unwrap_or(p);
    let chars_ok = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !(7..=20).contains(&len) || !chars_ok || digits < 7 {
        return Err(msg.into());
    }
    Ok(p.to_owned())
}

/// A calendar date in `YYYY-MM-DD`.
pub fn date(raw: &str) -> Result<NaiveDate, String> {
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
        Ok(d) if ok_shape => Ok(d),
        _ => Err("must be a valid date in YYYY-MM-DD format".into()),
    }
}

/// A time of day in `HH:MM` or `HH:MM:SS`.
pub fn time(raw: &str) -> Result<NaiveTime, String> {
    let parsed = match raw.len() {
        5 => NaiveTime::parse_from_str(raw, "%H:%M"),
        8 => NaiveTime::parse_from_str(raw, "%H:%M:%S"),
        _ => return Err("must be a valid time in HH:MM or HH:MM:SS format".into()),
    };
    match parsed {
        // chrono reads second 60 as a leap second; no clinic schedules one.
        Ok(t) if t.nanosecond() < 1_000_000_000 => Ok(t),
        _ => Err("must be a valid time in HH:MM or HH:MM:SS format".into()),
    }
}

/// An integer within `min..=max`.
pub fn int_in(raw: i64, min: i64, max: i64) -> Result<i32, String> {
    if (min..=max).contains(&raw) {
        Ok(raw as i32)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

/// An IANA time-zone name such as `Europe/Paris`.
pub fn timezone(raw: String) -> Result<String, String> {
    let t = raw.trim();
    t.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| "must be an IANA time zone name such as Europe/Paris".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" A@B.co ".into()).unwrap(), "a@b.co");
        for bad in [
            "not-an-email",
            "a@b",
            "@b.co",
            "a b@c.co",
            "a@-b.co",
            "a@b..co",
            "",
        ] {
            assert!(email(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert!(phone("+1 (555) 123-4567".into()).is_ok());
        assert!(phone("1234567".into()).is_ok());
        for bad in [
            "123456",
            "12345abc90",
            "++1234567",
            "1".repeat(21).as_str(),
            "- - - - - -",
        ] {
            assert!(phone(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_and_times() {
        assert!(date("2030-02-28").is_ok());
        for bad in [
            "2030-02-30",
            "2030-2-3",
            "20300101",
            "tomorrow",
            "-001-01-01",
            "+001-01-01",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            time("09:30").unwrap(),
            NaiveTime::from_hms_opt(9, 30, 0).unwrap()
        );
        assert_eq!(
            time("09:30:15").unwrap(),
            NaiveTime::from_hms_opt(9, 30, 15).unwrap()
        );
        for bad in [
            "9:30",
            "25:00",
            "09:60",
            "09:30:00.5",
            "09:30:60",
            "23:59:60",
            "",
        ] {
            assert!(time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_and_zones() {
        assert_eq!(text("  hi ".into(), 10).unwrap(), "hi");
        assert!(text("   ".into(), 10).is_err());
        assert!(text("a\0b".into(), 10).is_err());
        assert_eq!(text("line\nbreak".into(), 20).unwrap(), "line\nbreak");
        assert!(text("abcdef".into(), 5).is_err());
        assert_eq!(optional_text(" ".into(), 5).unwrap(), None);
        assert_eq!(timezone("Europe/Paris".into()).unwrap(), "Europe/Paris");
        assert!(timezone("Mars/Olympus".into()).is_err());
        assert!(int_in(0, 1, 10).is_err());
        assert_eq!(int_in(10, 1, 10).unwrap(), 10);
    }
}
