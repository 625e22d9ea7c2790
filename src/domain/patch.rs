//! A field of a partial update: leave it, clear it, or set it.

/// A field of a PATCH body: absent, explicitly null, or a value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Not sent: leave as is.
    #[default]
    Keep,
    /// Sent as `null` (or, for optional text, blank): clear it.
    Clear,
    /// Sent with a value: set it.
    Set(T),
}

impl<T> Patch<T> {
    /// Applies the patch to `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }

    /// Maps the value of a `Set`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => Patch::Set(f(v)),
        }
    }
}

impl<T> Patch<super::text::Blank<T>> {
    /// A blank value clears, like `null`.
    pub fn flatten(self) -> Patch<T> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear | Patch::Set(super::text::Blank(None)) => Patch::Clear,
            Patch::Set(super::text::Blank(Some(v))) => Patch::Set(v),
        }
    }
}

/// `null` clears; a value sets. Absent fields take `Keep` through `#[serde(default)]`.
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Clear,
            Some(v) => Patch::Set(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply() {
        assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
        let blank: Patch<super::super::text::Blank<i32>> =
            Patch::Set(super::super::text::Blank(None));
        assert_eq!(blank.flatten(), Patch::Clear);
    }
}
