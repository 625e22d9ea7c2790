//! Reads fields out of a JSON object with precise, per-field errors for wrong types.
//!
//! Requests are parsed from a `serde_json` object rather than straight into structs so that a
//! wrong type (`"max_capacity": "ten"`) is reported against its field, like every other rule.

use serde_json::{Map, Value};

use super::validate::Errors;

/// A JSON object being parsed, with the errors found so far.
pub struct Input<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
    /// Errors found so far.
    pub errors: Errors,
}

/// A field of a PATCH body: absent, explicitly null, or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: leave as is.
    Keep,
    /// Sent as `null` (or an empty string for optional text): clear it.
    Clear,
    /// Sent with a value: set it.
    Set(T),
}

impl<'a> Input<'a> {
    /// Starts parsing `obj`; `prefix` is prepended to field names in errors (e.g. `slots[2].`).
    pub fn new(obj: &'a Map<String, Value>, prefix: impl Into<String>) -> Self {
        Self {
            obj,
            prefix: prefix.into(),
            errors: Errors::default(),
        }
    }

    /// The field's full name for error messages.
    pub fn name(&self, field: &str) -> String {
        format!("{}{}", self.prefix, field)
    }

    fn typed<T>(
        &mut self,
        field: &str,
        pick: impl Fn(&Value) -> Option<T>,
        what: &str,
    ) -> Option<T> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => match pick(v) {
                Some(t) => Some(t),
                None => {
                    let name = self.name(field);
                    self.errors
                        .check::<()>(&name, Err(format!("must be {what}")));
                    None
                }
            },
        }
    }

    /// Whether the field was sent (even as null).
    pub fn has(&self, field: &str) -> bool {
        self.obj.contains_key(field)
    }

    /// Whether the field was sent as JSON `null`.
    pub fn is_null(&self, field: &str) -> bool {
        matches!(self.obj.get(field), Some(Value::Null))
    }

    /// A string field; `None` when absent, null or of the wrong type (the latter is recorded).
    pub fn string(&mut self, field: &str) -> Option<String> {
        self.typed(field, |v| v.as_str().map(str::to_owned), "a string")
    }

    /// An integer field; `None` when absent, null or of the wrong type (the latter is recorded).
    pub fn int(&mut self, field: &str) -> Option<i64> {
        self.typed(field, Value::as_i64, "an integer")
    }

    /// A required string parsed with `parse`.
    pub fn required<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(String) -> Result<T, String>,
    ) -> Option<T> {
        let wrong_type = self.has(field) && !self.is_null(field) && !self.obj[field].is_string();
        let raw = self.string(field);
        if wrong_type {
            return None;
        }
        let name = self.name(field);
        self.errors.required(&name, raw, parse)
    }

    /// An optional string parsed with `parse`.
    pub fn optional<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(String) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.string(field);
        let name = self.name(field);
        self.errors.check_opt(&name, raw, parse)
    }

    /// Optional free text: trimmed, empty means absent, at most `max` characters.
    pub fn optional_text(&mut self, field: &str, max: usize) -> Option<String> {
        self.optional(field, |s| super::validate::optional_text(s, max))
            .flatten()
    }

    /// An optional integer within `min..=max`, or `default` when absent.
    pub fn int_in(&mut self, field: &str, min: i64, max: i64, default: i32) -> i32 {
        let raw = self.int(field);
        let name = self.name(field);
        self.errors
            .check_opt(&name, raw, |v| super::validate::int_in(v, min, max))
            .unwrap_or(default)
    }

    /// A PATCH field holding required text: null or empty is an error.
    pub fn patch_required(
        &mut self,
        field: &str,
        parse: impl FnOnce(String) -> Result<String, String>,
    ) -> Option<String> {
        if self.is_null(field) {
            let name = self.name(field);
            self.errors
                .check::<()>(&name, Err("must not be null".into()));
            return None;
        }
        self.optional(field, parse)
    }

    /// A PATCH field holding optional text: null or empty clears it.
    pub fn patch_text(&mut self, field: &str, max: usize) -> Patch<String> {
        self.patch_with(field, |s| super::validate::optional_text(s, max))
    }

    /// A PATCH field parsed with `parse`; `Ok(None)` from `parse` also clears.
    pub fn patch_with<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(String) -> Result<Option<T>, String>,
    ) -> Patch<T> {
        if !self.has(field) {
            return Patch::Keep;
        }
        if self.is_null(field) {
            return Patch::Clear;
        }
        match self.optional(field, parse) {
            Some(Some(v)) => Patch::Set(v),
            Some(None) => Patch::Clear,
            None => Patch::Keep,
        }
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn wrong_types_are_reported_per_field() {
        let o = obj(json!({"name": 5, "n": "x"}));
        let mut i = Input::new(&o, "");
        assert_eq!(i.required("name", Ok), None);
        assert_eq!(i.int_in("n", 1, 9, 3), 3);
        assert_eq!(i.required("missing", Ok), None);
        let fields: Vec<_> = i.errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "n", "missing"]);
    }

    #[test]
    fn patch_states() {
        let o = obj(json!({"a": null, "b": "", "c": "x"}));
        let mut i = Input::new(&o, "p.");
        assert_eq!(i.patch_text("a", 5), Patch::Clear);
        assert_eq!(i.patch_text("b", 5), Patch::Clear);
        assert_eq!(i.patch_text("c", 5), Patch::Set("x".into()));
        assert_eq!(i.patch_text("d", 5), Patch::Keep);
        assert_eq!(i.patch_required("a", Ok), None);
        assert_eq!(i.errors.0[0].field, "p.a");
    }
}
