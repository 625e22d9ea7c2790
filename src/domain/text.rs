//! Text read from clients: trimmed, bounded, free of control characters — and the serde glue
//! that lets every string-shaped value type parse itself while a request is deserialized.

/// Implements `TryFrom<String>`-based `Deserialize` and `as_str`-based `Serialize` for a
/// string-shaped value type, so a bad value fails deserialization of its own field with the
/// type's own message.
macro_rules! string_serde {
    ($ty:ty) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                <$ty>::try_from(raw).map_err(serde::de::Error::custom)
            }
        }

        $crate::domain::text::string_ser!($ty);
    };
}
pub(crate) use string_serde;

/// Implements `as_str`-based `Serialize` for a string-shaped value type.
macro_rules! string_ser {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_ser;

/// Whether `c` may not appear in single-line text: control characters (C0 with tab and line
/// breaks, DEL, C1) and the Unicode line and paragraph separators. Anything here could split a
/// mail header, a log line or a CSV cell.
pub fn breaks_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Whether `s` is free of everything [`breaks_line`] refuses.
pub fn is_single_line(s: &str) -> bool {
    !s.chars().any(breaks_line)
}

/// Replaces every character [`breaks_line`] refuses with a space: for text stored before the
/// rules held (or from elsewhere) on its way into a header or another single-line place.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if breaks_line(c) { ' ' } else { c })
        .collect()
}

fn bounded(t: &str, max: usize) -> Result<(), String> {
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(())
}

/// Single-line text: trims `raw` and requires 1..=`max` characters with no control character
/// (tab and line breaks included) and no line or paragraph separator.
pub fn clean(raw: &str, max: usize) -> Result<String, String> {
    let t = raw.trim();
    bounded(t, max)?;
    if !is_single_line(t) {
        return Err("must be a single line without control characters".into());
    }
    Ok(t.to_owned())
}

/// Multi-line text: line breaks (CRLF, CR, U+2028, U+2029) become LF, the result is trimmed
/// and must be 1..=`max` characters with no control character but LF.
pub fn clean_prose(raw: &str, max: usize) -> Result<String, String> {
    let normalised = raw
        .replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}'], "\n");
    let t = normalised.trim();
    bounded(t, max)?;
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters other than line breaks".into());
    }
    Ok(t.to_owned())
}

/// Required single-line free text (a name, a specialization, an address) of at most `MAX`
/// characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owned text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        clean(&raw, MAX).map(Self)
    }
}

impl<'de, const MAX: usize> serde::Deserialize<'de> for Text<MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// Required multi-line free text (a medical history, a bio, a reason) of at most `MAX`
/// characters: line breaks kept as LF, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prose<const MAX: usize>(String);

impl<const MAX: usize> Prose<MAX> {
    /// The owned text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> TryFrom<String> for Prose<MAX> {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        clean_prose(&raw, MAX).map(Self)
    }
}

impl<'de, const MAX: usize> serde::Deserialize<'de> for Prose<MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// An optional value sent as a string, where an empty (or blank) string means "none".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blank<T>(pub Option<T>);

impl<'de, T: TryFrom<String, Error = String>> serde::Deserialize<'de> for Blank<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if raw.trim().is_empty() {
            return Ok(Self(None));
        }
        T::try_from(raw)
            .map(|v| Self(Some(v)))
            .map_err(serde::de::Error::custom)
    }
}

impl<T> Blank<T> {
    /// The value, if one was sent.
    pub fn into_option(self) -> Option<T> {
        self.0
    }
}

/// Optional single-line text as a request sends it: absent, blank or text — `None` for the
/// first two.
pub fn optional<const MAX: usize>(t: Option<Blank<Text<MAX>>>) -> Option<String> {
    t.and_then(Blank::into_option).map(Text::into_inner)
}

/// Optional multi-line text as a request sends it: absent, blank or text — `None` for the
/// first two.
pub fn optional_prose<const MAX: usize>(t: Option<Blank<Prose<MAX>>>) -> Option<String> {
    t.and_then(Blank::into_option).map(Prose::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_printable() {
        assert_eq!(clean("  hi ", 10).unwrap(), "hi");
        assert!(clean("   ", 10).is_err());
        assert!(clean("a\0b", 10).is_err());
        for bad in [
            "line\nbreak",
            "tab\there",
            "cr\rhere",
            "del\u{7f}",
            "c1\u{85}x",
            "ls\u{2028}x",
        ] {
            assert!(clean(bad, 20).is_err(), "{bad:?}");
        }
        assert!(clean("abcdef", 5).is_err());
        assert_eq!(clean("ééééé", 5).unwrap(), "ééééé");
        assert!(Text::<3>::try_from("abcd".to_owned()).is_err());
        assert_eq!(
            Text::<3>::try_from(" ab ".to_owned()).unwrap().as_str(),
            "ab"
        );
    }

    #[test]
    fn prose_keeps_line_breaks_only() {
        assert_eq!(clean_prose("a\r\nb\rc\u{2028}d", 20).unwrap(), "a\nb\nc\nd");
        assert_eq!(
            clean_prose("  two\n\nparas \n", 20).unwrap(),
            "two\n\nparas"
        );
        for bad in ["tab\there", "nul\0", "esc\u{1b}[31m", "c1\u{9b}"] {
            assert!(clean_prose(bad, 20).is_err(), "{bad:?}");
        }
        assert!(clean_prose("\n\r\n", 20).is_err());
    }

    #[test]
    fn one_line_makes_anything_safe_for_a_header() {
        assert_eq!(one_line("Eve\r\nBcc: x@y.z"), "Eve  Bcc: x@y.z");
        assert!(is_single_line(&one_line("a\u{2028}b\tc\u{85}")));
    }
}
