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

/// Trims `raw` and requires 1..=`max` characters without control characters (tab and line
/// breaks excepted).
pub fn clean(raw: &str, max: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    // NUL cannot be stored by PostgreSQL; other control characters have no place in a name or a
    // note either.
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

/// Required free text of at most `MAX` characters, trimmed.
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

/// Optional free text as a request sends it: absent, blank or text — `None` for the first two.
pub fn optional<const MAX: usize>(t: Option<Blank<Text<MAX>>>) -> Option<String> {
    t.and_then(Blank::into_option).map(Text::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_printable() {
        assert_eq!(clean("  hi ", 10).unwrap(), "hi");
        assert!(clean("   ", 10).is_err());
        assert!(clean("a\0b", 10).is_err());
        assert_eq!(clean("line\nbreak", 20).unwrap(), "line\nbreak");
        assert!(clean("abcdef", 5).is_err());
        assert_eq!(clean("ééééé", 5).unwrap(), "ééééé");
        assert!(Text::<3>::try_from("abcd".to_owned()).is_err());
        assert_eq!(
            Text::<3>::try_from(" ab ".to_owned()).unwrap().as_str(),
            "ab"
        );
    }
}
