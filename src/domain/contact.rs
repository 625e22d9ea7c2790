//! E-mail addresses and phone numbers.

use super::text::string_serde;

/// An e-mail address, stored lower-cased so uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// A pragmatic check: one `@`, a non-empty local part, a dotted domain of letters, digits
    /// and inner hyphens, no spaces, at most 254 characters (as the document counts them).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let e = raw.trim().to_lowercase();
        let bad = || Err("must be a valid e-mail address".to_string());
        let long = e.chars().count() > 254;
        if long || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
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
        Ok(Self(e))
    }

    /// A value read back from the database, where only parsed addresses are written.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(Email);

/// A phone number: digits with an optional leading `+`, spaces, dashes and parentheses; 7–20
/// characters with at least 7 digits. Kept as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let p = raw.trim();
        let len = p.chars().count();
        let body = p.strip_prefix('+').unwrap_or(p);
        let chars_ok = body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !(7..=20).contains(&len) || !chars_ok || digits < 7 {
            return Err("must be a phone number: digits with optional leading +, spaces, dashes, parentheses (7-20 characters)".into());
        }
        Ok(Self(p.to_owned()))
    }

    /// A value read back from the database, where only parsed numbers are written.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(Phone);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" A@B.co ").unwrap().as_str(), "a@b.co");
        for bad in [
            "not-an-email",
            "a@b",
            "@b.co",
            "a b@c.co",
            "a@-b.co",
            "a@b..co",
            "",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert!(Phone::parse("+1 (555) 123-4567").is_ok());
        assert!(Phone::parse("1234567").is_ok());
        for bad in [
            "123456",
            "12345abc90",
            "++1234567",
            "1".repeat(21).as_str(),
            "- - - - - -",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
