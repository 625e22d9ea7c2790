//! OpenAPI schemas for the domain's value types. They live here, not in the domain, so the
//! domain stays free of HTTP concerns; each is built from the domain's own list of values, so
//! the spec cannot drift from what the code accepts.

use std::borrow::Cow;

use utoipa::openapi::schema::{AllOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::appointment::{AppointmentStatus, AuditAction, ConsultationType};
use crate::domain::calendar::TimeZone;
use crate::domain::contact::{Email, Phone};
use crate::domain::patient::BloodGroup;
use crate::domain::slot::{SlotAdminStatus, SlotStatus};
use crate::domain::user::{AccessAction, Role};
use crate::domain::{schedule::DayOfWeek, ScheduleId, TimeOffId};
use crate::domain::{AppointmentId, DoctorId, PatientId, SlotId, UserId};

/// The canonical hyphenated UUID, the only form carebook reads.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// Implements `ToSchema` for `$ty` under its own name with the schema `$schema`.
macro_rules! named_schema {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                RefOr::T(Schema::Object($schema.build()))
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

macro_rules! id_schema {
    ($($ty:ty: $name:literal, $what:literal;)*) => {$(
        named_schema!(
            $ty,
            $name,
            string(concat!("Identifies ", $what, " (canonical hyphenated UUID)."))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .pattern(Some(UUID_PATTERN))
                .examples(["3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42"])
        );
    )*};
}

id_schema! {
    DoctorId: "DoctorId", "a doctor";
    PatientId: "PatientId", "a patient";
    SlotId: "SlotId", "a time slot";
    AppointmentId: "AppointmentId", "an appointment";
    UserId: "UserId", "an account";
    ScheduleId: "ScheduleId", "a weekly schedule rule";
    TimeOffId: "TimeOffId", "a time-off entry";
}

named_schema!(
    DayOfWeek,
    "DayOfWeek",
    one_of(
        "A day of the week (case-insensitive on input).",
        DayOfWeek::ALL.map(|d| d.as_str())
    )
);

named_schema!(
    Email,
    "Email",
    string("An e-mail address; compared case-insensitively and stored lower-case.")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .examples(["sarah@clinic.com"])
);

impl PartialSchema for Phone {
    fn schema() -> RefOr<Schema> {
        let [shape, digits] = super::shapes::phone();
        Schema::AllOf(
            AllOfBuilder::new()
                .description(Some(
                    "Digits with an optional leading `+`, spaces, dashes and parentheses; 7-20 \
                 characters once trimmed, at least 7 digits.",
                ))
                .schema_type(Type::String)
                .item(string("").description(None::<&str>).pattern(Some(shape)))
                .item(string("").description(None::<&str>).pattern(Some(digits)))
                .examples(["+1 234 567 890"])
                .build(),
        )
        .into()
    }
}

impl ToSchema for Phone {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Phone")
    }
}

named_schema!(
    TimeZone,
    "TimeZone",
    one_of(
        "An IANA time zone name.",
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    )
    .examples(["Europe/Paris"])
);

/// An enum schema from the domain's list of spellings.
fn one_of(description: &str, values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    string(description).enum_values(Some(values))
}

named_schema!(
    AppointmentStatus,
    "AppointmentStatus",
    one_of(
        "Where an appointment is in its life; an unconfirmed hold past `expires_at` reads EXPIRED.",
        AppointmentStatus::ALL.map(AppointmentStatus::as_str)
    )
);

named_schema!(
    ConsultationType,
    "ConsultationType",
    one_of(
        "How the consultation takes place (case-insensitive on input).",
        ConsultationType::ALL.map(ConsultationType::as_str)
    )
);

named_schema!(
    BloodGroup,
    "BloodGroup",
    one_of(
        "An ABO/Rh blood group (case-insensitive on input).",
        BloodGroup::ALL.map(BloodGroup::as_str)
    )
);

named_schema!(
    SlotStatus,
    "SlotStatus",
    one_of(
        "A slot's effective status: BLOCKED by staff, BOOKED when no seat is left, else AVAILABLE.",
        SlotStatus::ALL.map(SlotStatus::as_str)
    )
);

named_schema!(
    SlotAdminStatus,
    "SlotAdminStatus",
    one_of(
        "What staff can set on a slot (case-insensitive on input).",
        SlotAdminStatus::ALL.map(SlotAdminStatus::as_str)
    )
);

named_schema!(
    AuditAction,
    "AuditAction",
    one_of(
        "What an audit entry records.",
        AuditAction::ALL.map(AuditAction::as_str)
    )
);

named_schema!(
    Role,
    "Role",
    one_of(
        "What an account may do: see the role table in the README.",
        Role::ALL.map(Role::as_str)
    )
);

named_schema!(
    AccessAction,
    "AccessAction",
    one_of(
        "What a request did with a patient's data.",
        AccessAction::ALL.map(AccessAction::as_str)
    )
);
