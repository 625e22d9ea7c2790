//! Reads a request part (JSON body, query string, path parameters) into a typed request struct
//! and reports EVERY failing field at once.
//!
//! serde stops at the first error, so a failed pass is recorded (with its path, via
//! `serde_path_to_error`), the offending field is taken out of the input, and the input is read
//! again, until it deserializes; then garde checks the rules on what is left (required fields,
//! ranges, item counts) and its findings join the list. Type errors, malformed values (each
//! value type parses itself), unknown fields and rule violations all come back together, each
//! named by its path (`slots[3].slot_time`).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_path_to_error::{Path, Segment};

use crate::domain::{DomainError, FieldError};

/// Most deserialization passes for one request: bounds the work a hostile body can cause.
const MAX_PASSES: usize = 50;

/// A request part being read.
trait Source {
    /// One deserialization attempt.
    fn read<T: DeserializeOwned>(&self) -> Result<T, (Path, String)>;
    /// Takes the value at `path` out; `false` when there is nothing to take.
    fn take(&mut self, path: &Path) -> bool;
    /// The field name of `path` as the client sent it (items taken out of an array shift the
    /// later ones down; this undoes that).
    fn original(&self, path: &Path) -> String {
        path.to_string()
    }
    /// [`Source::original`] of a path already spelled as text (garde's).
    fn original_str(&self, path: &str) -> String {
        path.to_owned()
    }
}

/// A JSON body, and the array items taken out of it so far.
struct Json {
    value: Value,
    /// (array path, the item's index in the client's array) of each item taken out.
    removed: Vec<(String, usize)>,
}

/// The client's index of item `index` of the array at `array`, once `removed` items are out.
fn client_index(removed: &[(String, usize)], array: &str, index: usize) -> usize {
    let mut gone: Vec<usize> = removed
        .iter()
        .filter(|(a, _)| a == array)
        .map(|(_, i)| *i)
        .collect();
    gone.sort_unstable();
    let mut i = index;
    for g in gone {
        if g <= i {
            i += 1;
        }
    }
    i
}

impl Source for Json {
    fn read<T: DeserializeOwned>(&self) -> Result<T, (Path, String)> {
        serde_path_to_error::deserialize(&self.value).map_err(|e| {
            let message = e.inner().to_string();
            (e.path().clone(), message)
        })
    }

    fn original(&self, path: &Path) -> String {
        translate(&self.removed, &path.to_string())
    }

    fn original_str(&self, path: &str) -> String {
        translate(&self.removed, path)
    }

    fn take(&mut self, path: &Path) -> bool {
        let segments: Vec<&Segment> = path.iter().collect();
        let Some((last, parents)) = segments.split_last() else {
            return false;
        };
        let mut node = &mut self.value;
        for s in parents {
            node = match (s, node) {
                (Segment::Map { key }, Value::Object(m)) => match m.get_mut(key) {
                    Some(v) => v,
                    None => return false,
                },
                (Segment::Seq { index }, Value::Array(a)) => match a.get_mut(*index) {
                    Some(v) => v,
                    None => return false,
                },
                _ => return false,
            };
        }
        match (last, node) {
            (Segment::Map { key }, Value::Object(m)) => m.remove(key).is_some(),
            // An object item that failed inside is kept as an empty object, so the rest of the
            // array keeps its numbering and its own fields are checked as missing.
            (Segment::Seq { index }, Value::Array(a)) => match a.get(*index) {
                Some(Value::Object(m)) if !m.is_empty() => {
                    a[*index] = Value::Object(Map::new());
                    true
                }
                Some(_) => {
                    // Anything else is taken out, and later items' names are shifted back.
                    let parent: String = segments[..segments.len() - 1]
                        .iter()
                        .map(|s| match s {
                            Segment::Seq { index } => format!("[{index}]"),
                            Segment::Map { key } => format!(".{key}"),
                            Segment::Enum { variant } => format!(".{variant}"),
                            Segment::Unknown => ".?".into(),
                        })
                        .collect();
                    let array = translate(&self.removed, &parent);
                    let original = client_index(&self.removed, &array, *index);
                    a.remove(*index);
                    self.removed.push((array, original));
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

/// The client's spelling of a path (`items[1].name`, serde's or garde's) of the value as read,
/// once `removed` items are out of its arrays.
fn translate(removed: &[(String, usize)], path: &str) -> String {
    let mut out = String::new();
    let mut rest = path.strip_prefix('.').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            let seen = &r[..end];
            match seen.parse::<usize>() {
                Ok(i) => out.push_str(&format!("[{}]", client_index(removed, &out, i))),
                Err(_) => out.push_str(&format!("[{seen}]")),
            }
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&r[..end]);
            rest = &r[end..];
        }
    }
    out
}

/// A query string as its decoded pairs.
struct Pairs(Vec<(String, String)>);

impl Source for Pairs {
    fn read<T: DeserializeOwned>(&self) -> Result<T, (Path, String)> {
        let encoded = serde_urlencoded::to_string(&self.0).unwrap_or_default();
        let d = serde_urlencoded::Deserializer::new(form_urlencoded(&encoded));
        serde_path_to_error::deserialize(d).map_err(|e| {
            let message = e.inner().to_string();
            (e.path().clone(), message)
        })
    }

    fn take(&mut self, path: &Path) -> bool {
        let Some(Segment::Map { key }) = path.iter().next() else {
            return false;
        };
        let before = self.0.len();
        self.0.retain(|(k, _)| k != key);
        self.0.len() != before
    }
}

fn form_urlencoded(s: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(s.as_bytes())
}

/// Reads `T` from `source`, collecting every failure; then checks `T`'s rules with `ctx`.
fn read_all<T, S>(mut source: S, ctx: &T::Context) -> Result<T, DomainError>
where
    T: DeserializeOwned + garde::Validate,
    S: Source,
{
    let mut errors: Vec<FieldError> = Vec::new();
    let mut value = None;
    for _ in 0..MAX_PASSES {
        match source.read::<T>() {
            Ok(v) => {
                value = Some(v);
                break;
            }
            Err((path, message)) => {
                let spelled = source.original(&path);
                if let Some(field) = missing_field(&spelled, &message) {
                    // A required field that is absent (or was taken out after failing): serde
                    // cannot go on without it, so this pass is the last.
                    if !errors.iter().any(|e| e.field == field) {
                        errors.push(FieldError::new(field, "is required"));
                    }
                    break;
                }
                let field = field_name(&spelled, &message);
                errors.push(FieldError::new(&field, humanize(&message)));
                if !source.take(&path) {
                    break;
                }
            }
        }
    }
    if let Some(v) = &value {
        if let Err(report) = v.validate_with(ctx) {
            for (path, error) in report.iter() {
                let field = source.original_str(&path.to_string());
                // A field that failed to read is absent now (or lost a bad item): do not
                // report it twice.
                if !errors
                    .iter()
                    .any(|e| covers(&e.field, &field) || covers(&field, &e.field))
                {
                    errors.push(FieldError::new(field, rule_message(error.message())));
                }
            }
        }
    }
    match value {
        Some(v) if errors.is_empty() => Ok(v),
        _ => {
            // In the order the request type declares its fields, as a reader of the type
            // expects; items of one field keep the order they were found in.
            let order = field_order::<T>();
            let rank = |f: &FieldError| {
                let top = f.field.split(['.', '[']).next().unwrap_or_default();
                order.iter().position(|o| *o == top).unwrap_or(order.len())
            };
            errors.sort_by_key(rank);
            Err(DomainError::Validation(errors))
        }
    }
}

/// The field named by a serde "missing field" error, with its parent's path.
fn missing_field(parent: &str, message: &str) -> Option<String> {
    let name = message.strip_prefix("missing field `")?.split('`').next()?;
    let parent = parent.to_owned();
    Some(if parent == "." || parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    })
}

/// The field names of a struct type, in declaration order, as its `Deserialize` impl states
/// them: a deserializer that only records what `deserialize_struct` is told.
fn field_order<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};

    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }

    struct Recorder<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Recorder<'_> {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop::custom(""))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            *self.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Recorder(&mut fields));
    fields
}

/// Whether an error on `failed` already explains one on `field` (itself or inside it).
fn covers(failed: &str, field: &str) -> bool {
    field == failed
        || field
            .strip_prefix(failed)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// The field a serde error is about. For an unknown field serde's path stops at its parent in
/// some cases, so the name is taken from the message then.
fn field_name(path: &str, message: &str) -> String {
    let p = path.to_owned();
    let p = if p == "." { String::new() } else { p };
    if let Some(unknown) = message
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        if !p.ends_with(unknown) {
            return if p.is_empty() {
                unknown.to_owned()
            } else {
                format!("{p}.{unknown}")
            };
        }
    }
    p
}

/// A client-facing sentence for a serde error: the value types' own messages pass through;
/// serde's "invalid type: integer `5`, expected a string" becomes "must be a string" (the
/// client's value is never echoed back).
fn humanize(message: &str) -> String {
    if message.starts_with("unknown field") {
        return "is not a known field".into();
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let expected = message.rsplit("expected ").next().unwrap_or("");
        return format!("must be {}", expected_noun(expected));
    }
    if message.contains("invalid digit")
        || message.contains("number too")
        || message.contains("cannot parse integer")
    {
        return "must be an integer".into();
    }
    if message.starts_with("invalid length") || message.contains("recursion limit") {
        return "has an invalid shape".into();
    }
    message.to_owned()
}

fn expected_noun(expected: &str) -> &'static str {
    let e = expected.trim();
    if e.starts_with('i') || e.starts_with('u') {
        "an integer"
    } else if e.contains("string") || e.starts_with("borrowed str") {
        "a string"
    } else if e.contains("sequence") {
        "an array"
    } else if e.contains("bool") {
        "a boolean"
    } else {
        "an object"
    }
}

/// garde's messages in the wording the rest of the API uses.
fn rule_message(m: &str) -> String {
    if m == "not set" {
        return "is required".into();
    }
    if let Some(n) = m.strip_prefix("length is lower than ") {
        return if n == "1" {
            "must not be empty".into()
        } else {
            format!("must hold at least {n} items")
        };
    }
    if let Some(n) = m.strip_prefix("length is greater than ") {
        return format!("must hold at most {n} items");
    }
    if let Some(n) = m.strip_prefix("lower than ") {
        return format!("must be at least {n}");
    }
    if let Some(n) = m.strip_prefix("greater than ") {
        return format!("must be at most {n}");
    }
    m.to_owned()
}

/// Reads a JSON object into `T`.
pub fn body<T>(value: Value, ctx: &T::Context) -> Result<T, DomainError>
where
    T: DeserializeOwned + garde::Validate,
{
    read_all(
        Json {
            value,
            removed: Vec::new(),
        },
        ctx,
    )
}

/// Reads a JSON object into the change `T` of a resource whose fields `read_only` exist but may
/// not change: each of those sent is named "cannot be changed" (not "is not a known field"),
/// with every other failing field.
pub fn patch<T>(mut value: Value, ctx: &T::Context, read_only: &[&str]) -> Result<T, DomainError>
where
    T: DeserializeOwned + garde::Validate,
{
    let mut fixed = Vec::new();
    if let Value::Object(m) = &mut value {
        for name in read_only {
            if m.remove(*name).is_some() {
                fixed.push(FieldError::new(*name, "cannot be changed"));
            }
        }
    }
    match (body::<T>(value, ctx), fixed.is_empty()) {
        (Ok(v), true) => Ok(v),
        (Ok(_), false) => Err(DomainError::Validation(fixed)),
        (Err(DomainError::Validation(mut rest)), _) => {
            fixed.append(&mut rest);
            Err(DomainError::Validation(fixed))
        }
        (Err(e), _) => Err(e),
    }
}

/// Reads a raw query string into `T`. Parameters `T` does not name are ignored.
pub fn query<T>(raw: &str) -> Result<T, DomainError>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    // A repeated parameter counts once, with its last value (as it always has).
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded(raw) {
        pairs.retain(|(seen, _)| *seen != k);
        pairs.push((k.into_owned(), v.into_owned()));
    }
    read_all(Pairs(pairs), &())
}

/// Reads path parameters (name, raw value) into `T`.
pub fn path<T>(params: Vec<(String, String)>) -> Result<T, DomainError>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    let object: Map<String, Value> = params
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    read_all(
        Json {
            value: Value::Object(object),
            removed: Vec::new(),
        },
        &(),
    )
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
