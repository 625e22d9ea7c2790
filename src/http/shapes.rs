//! What the strings of a request may look like, as the OpenAPI document says it: patterns that
//! accept exactly what the server's parsers accept, and the schema types request fields name
//! with `value_type` (aliases fix each bound to the domain's own constant).
//!
//! The patterns have two readers: ECMA-262 with the `u` flag (as JSON Schema asks, and as the
//! validators read them) and Python's `re` (schemathesis draws values from them). Every class is
//! therefore spelled out in `\uXXXX` ranges: no `\s`, `\d`, `\w` or `\p{..}`, whose meanings
//! differ between the two and from Rust's `char` predicates; and no lookaround, which Python
//! cannot draw values from.

use std::borrow::Cow;
use std::marker::PhantomData;

use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::appointment::{AppointmentStatus, REASON_MAX};
use crate::domain::contact::Phone;
use crate::domain::doctor::{ADDRESS_MAX, BIO_MAX, FIELD_MAX, LICENSE_MAX, NAME_MAX};
use crate::domain::patient::{BloodGroup, GENDER_MAX, MEDICAL_MAX, TEXT_MAX};
use crate::domain::review::COMMENT_MAX;
use crate::domain::{DoctorId, PatientId, UserId};

/// What `str::trim` takes off both ends: Unicode White_Space (`char::is_whitespace`).
pub const SPACE: &str =
    r"\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// What single-line text refuses (`domain::text::breaks_line`): C0, DEL, C1, U+2028, U+2029.
const BREAKS: &str = r"\u0000-\u001F\u007F-\u009F\u2028\u2029";
/// The controls multi-line text refuses: all but CR and LF. U+2028 and U+2029 are line breaks
/// there, and count as one character like CRLF.
const PROSE_CONTROLS: &str = r"\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F";
/// Control characters and the space, which no URL carebook reads may hold.
const URL_REFUSED: &str = r"\u0000-\u0020\u007F-\u009F";

/// Trimmed text of 1..=`max` units: it starts and ends with a character that is neither
/// space nor control, and holds `unit`s in between.
fn trimmed(unit: &str, max: usize) -> String {
    let edge = format!("[^{BREAKS}{SPACE}]");
    match max {
        0 | 1 => edge,
        _ => format!("{edge}(?:{unit}{{0,{}}}{edge})?", max - 2),
    }
}

fn line_core(max: usize) -> String {
    trimmed(&format!("[^{BREAKS}]"), max)
}

fn prose_core(max: usize) -> String {
    trimmed(&format!("(?:\\r\\n|[^{PROSE_CONTROLS}])"), max)
}

/// Single-line text (`domain::text::Text`): 1..=`max` characters once trimmed, no control
/// character, no U+2028/U+2029; any white space around.
pub fn line(max: usize) -> String {
    format!("^[{SPACE}]*{}[{SPACE}]*$", line_core(max))
}

/// [`line`], or blank (`domain::text::Blank`: none).
pub fn line_or_blank(max: usize) -> String {
    format!("^[{SPACE}]*(?:{}[{SPACE}]*)?$", line_core(max))
}

/// Multi-line text (`domain::text::Prose`): 1..=`max` characters once trimmed, counting CRLF
/// as one; line breaks but no other control character. (No field requires prose: the tests
/// check this shape, which [`prose_or_blank`] extends.)
#[cfg(test)]
pub fn prose(max: usize) -> String {
    format!("^[{SPACE}]*{}[{SPACE}]*$", prose_core(max))
}

/// [`prose`], or blank.
pub fn prose_or_blank(max: usize) -> String {
    format!("^[{SPACE}]*(?:{}[{SPACE}]*)?$", prose_core(max))
}

/// Empty or white space only: a value `domain::text::Blank` reads as none.
pub fn blank() -> String {
    format!("^[{SPACE}]*$")
}

/// `HH:MM` or `HH:MM:SS` (`domain::calendar::TimeOfDay`), with white space around.
pub fn time() -> String {
    format!("^[{SPACE}]*(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?[{SPACE}]*$")
}

/// A phone number (`domain::contact::Phone`) is both of these: its characters and length once
/// trimmed, and at least seven digits (a second pattern, as a lookahead cannot be drawn from).
pub fn phone() -> [String; 2] {
    [
        format!("^[{SPACE}]*(?:[+][0-9 ()-]{{6,19}}|[0-9 ()-]{{7,20}})[{SPACE}]*$"),
        "[0-9](?:[^0-9]*[0-9]){6}".to_owned(),
    ]
}

/// A `next_cursor` (`domain::search::Cursor`): 24 bytes in unpadded base64url, with white
/// space around.
pub fn cursor() -> String {
    format!("^[{SPACE}]*[A-Za-z0-9_-]{{32}}[{SPACE}]*$")
}

/// `Idempotency-Key`: 1-255 visible ASCII characters once spaces and tabs are trimmed.
pub const IDEMPOTENCY_KEY: &str = r"^[\u0009 ]*[!-~]{1,255}[\u0009 ]*$";

/// `Break-Glass-Reason`: 1-500 printable ASCII characters once spaces and tabs are trimmed.
pub const BREAK_GLASS_REASON: &str = r"^[\u0009 ]*[!-~](?:[ -~]{0,498}[!-~])?[\u0009 ]*$";

/// A webhook URL as [`is_webhook_url`] reads it; `https` only unless `allow_http`.
pub fn webhook_url(allow_http: bool) -> String {
    let scheme = if allow_http { "https?" } else { "https" };
    format!("^{scheme}://[^{URL_REFUSED}/?#@\\\\]+(?:[/?#][^{URL_REFUSED}\\\\]*)?$")
}

/// Whether `raw` has the shape [`webhook_url`] describes (with `http` allowed): the scheme in
/// lower case, a non-empty authority without user info, no control character, space or
/// backslash anywhere. The URL parser, which repairs such things silently, reads it next.
pub fn is_webhook_url(raw: &str) -> bool {
    let Some(rest) = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
    else {
        return false;
    };
    let refused = |c: char| c <= ' ' || ('\u{7f}'..='\u{9f}').contains(&c) || c == '\\';
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !rest.chars().any(refused) && !authority.is_empty() && !authority.contains('@')
}

/// A webhook secret in its Standard Webhooks spelling: `whsec_` and base64 (the decoded key
/// must be 24 to 64 bytes, which the pattern bounds by its length).
pub const WHSEC: &str = r"^whsec_[A-Za-z0-9+/]{32,86}={0,2}$";

/// Any other webhook secret: 24 to 256 characters without control characters.
pub const RAW_SECRET: &str = r"^[^\u0000-\u001F\u007F-\u009F]{24,256}$";

fn string_with(pattern: String) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

fn blank_schema() -> RefOr<Schema> {
    string_with(blank()).build().into()
}

/// Implements `PartialSchema` (with `$schema`) and `ToSchema` (inlined, no name of its own).
macro_rules! shape {
    ($(#[$doc:meta])* $name:ident $(<const $max:ident: usize>)?, $schema:expr) => {
        $(#[$doc])*
        pub struct $name $(<const $max: usize>)?;

        impl $(<const $max: usize>)? PartialSchema for $name $(<$max>)? {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl $(<const $max: usize>)? ToSchema for $name $(<$max>)? {}
    };
}

shape!(
    /// Single-line text of at most `MAX` characters.
    Line<const MAX: usize>,
    string_with(line(MAX)).build().into()
);

shape!(
    /// Single-line text of at most `MAX` characters, or blank for none.
    LineOrBlank<const MAX: usize>,
    string_with(line_or_blank(MAX)).build().into()
);

shape!(
    /// Multi-line text of at most `MAX` characters, or blank for none.
    ProseOrBlank<const MAX: usize>,
    string_with(prose_or_blank(MAX)).build().into()
);

shape!(
    /// A local time, `HH:MM` or `HH:MM:SS`.
    Time,
    string_with(time()).examples(["09:30"]).build().into()
);

shape!(
    /// The `Idempotency-Key` header.
    IdempotencyKeyHeader,
    string_with(IDEMPOTENCY_KEY.to_owned()).build().into()
);

shape!(
    /// The `Break-Glass-Reason` header.
    BreakGlassHeader,
    string_with(BREAK_GLASS_REASON.to_owned()).build().into()
);

shape!(
    /// A date, `YYYY-MM-DD`, or blank for none.
    DateOrBlank,
    Schema::AnyOf(AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        )
        .item(blank_schema())
        .build())
        .into()
);

shape!(
    /// An RFC 3339 instant or a date.
    InstantOrDate,
    Schema::AnyOf(AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        )
        .build())
        .into()
);

shape!(
    /// A page cursor, or blank for the first page.
    CursorOrBlank,
    string_with(format!("{}|{}", cursor(), blank()))
        .build()
        .into()
);

shape!(
    /// A webhook URL (the served document allows `http` when `WEBHOOK_ALLOW_HTTP` is on).
    WebhookUrl,
    string_with(webhook_url(false))
        .max_length(Some(crate::domain::webhook::MAX_URL_LEN))
        .build()
        .into()
);

shape!(
    /// A webhook signing secret (never shown again).
    WebhookSecret,
    string_with(format!("{WHSEC}|{RAW_SECRET}"))
        .write_only(Some(true))
        .build()
        .into()
);

/// A value of the named schema `T`, or blank for none.
pub struct RefOrBlank<T>(PhantomData<T>);

impl<T: ToSchema> PartialSchema for RefOrBlank<T> {
    fn schema() -> RefOr<Schema> {
        Schema::AnyOf(
            AnyOfBuilder::new()
                .item(Ref::from_schema_name(T::name()))
                .item(blank_schema())
                .build(),
        )
        .into()
    }
}

impl<T: ToSchema> ToSchema for RefOrBlank<T> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}OrBlank", T::name()))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

/// A doctor's name.
pub type DoctorName = Line<NAME_MAX>;
/// A specialization, a clinic's name.
pub type Field = Line<FIELD_MAX>;
/// A specialization or a clinic's name, or none.
pub type FieldOrBlank = LineOrBlank<FIELD_MAX>;
/// A licence number.
pub type License = Line<LICENSE_MAX>;
/// An address, or none.
pub type AddressOrBlank = LineOrBlank<ADDRESS_MAX>;
/// A doctor's biography, or none.
pub type BioOrBlank = ProseOrBlank<BIO_MAX>;
/// A patient's (or their emergency contact's) name.
pub type PatientName = Line<TEXT_MAX>;
/// An emergency contact's name, or none.
pub type PatientNameOrBlank = LineOrBlank<TEXT_MAX>;
/// A gender, or none.
pub type GenderOrBlank = LineOrBlank<GENDER_MAX>;
/// Allergies or a medical history, or none.
pub type MedicalOrBlank = ProseOrBlank<MEDICAL_MAX>;
/// A reason for a visit or a cancellation, or none.
pub type ReasonOrBlank = ProseOrBlank<REASON_MAX>;
/// A review's comment, or none.
pub type CommentOrBlank = ProseOrBlank<COMMENT_MAX>;
/// A time-off reason.
pub type TimeOffReason = Line<{ crate::domain::schedule::TIME_OFF_REASON_MAX }>;
/// A phone number, or none.
pub type PhoneOrBlank = RefOrBlank<Phone>;
/// A blood group, or none.
pub type BloodGroupOrBlank = RefOrBlank<BloodGroup>;
/// An appointment status, or blank.
pub type StatusOrBlank = RefOrBlank<AppointmentStatus>;
/// A patient's id, or blank.
pub type PatientIdOrBlank = RefOrBlank<PatientId>;
/// A doctor's id, or blank.
pub type DoctorIdOrBlank = RefOrBlank<DoctorId>;
/// An account's id, or blank.
pub type UserIdOrBlank = RefOrBlank<UserId>;

#[cfg(test)]
#[path = "shapes_tests.rs"]
mod tests;
