//! `/doctors` routes.

use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidJson, ValidPath, ValidQuery};
use super::fields::required;
use super::params::{DoctorPath, PageQuery};
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::state::AppState;
use super::views::DoctorView;
use super::{input, shapes};
use crate::domain::calendar::TimeZone;
use crate::domain::contact::{Email, Phone};
use crate::domain::doctor::{
    DoctorPatch, NewDoctor, ADDRESS_MAX, BIO_MAX, FIELD_MAX, LICENSE_MAX, NAME_MAX,
};
use crate::domain::patch::Patch;
use crate::domain::text::{self, Blank, Prose, Text};
use crate::domain::user::Role;

/// A doctor to register.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dr. Sarah Johnson", "specialization": "Cardiology",
    "email": "sarah@clinic.com", "license_number": "MD12345", "phone": "+1 234 567 890",
    "clinic_name": "City Heart Clinic", "address": "123 Medical Plaza",
    "bio": "20 years in cardiac care", "timezone": "Europe/Paris"}))]
pub struct CreateDoctor {
    #[garde(required)]
    #[schema(value_type = shapes::DoctorName, inline)]
    name: Option<Text<NAME_MAX>>,
    #[garde(required)]
    #[schema(value_type = shapes::Field, inline)]
    specialization: Option<Text<FIELD_MAX>>,
    #[garde(required)]
    #[schema(value_type = Email)]
    email: Option<Email>,
    #[garde(required)]
    #[schema(value_type = shapes::License, inline)]
    license_number: Option<Text<LICENSE_MAX>>,
    /// Empty or null means none.
    #[garde(skip)]
    #[schema(value_type = Option<shapes::PhoneOrBlank>, inline)]
    phone: Option<Blank<Phone>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::FieldOrBlank>, inline)]
    clinic_name: Option<Blank<Text<FIELD_MAX>>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::AddressOrBlank>, inline)]
    address: Option<Blank<Text<ADDRESS_MAX>>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::BioOrBlank>, inline)]
    bio: Option<Blank<Prose<BIO_MAX>>>,
    /// The zone of this doctor's slot times; `CLINIC_TIMEZONE` when not sent.
    #[garde(skip)]
    #[schema(value_type = Option<TimeZone>)]
    timezone: Option<TimeZone>,
}

impl CreateDoctor {
    fn into_new(self, default_tz: TimeZone) -> Result<NewDoctor, ApiError> {
        Ok(NewDoctor {
            name: required(self.name, "name")?.into_inner(),
            specialization: required(self.specialization, "specialization")?.into_inner(),
            email: required(self.email, "email")?,
            license_number: required(self.license_number, "license_number")?.into_inner(),
            phone: self.phone.and_then(Blank::into_option),
            clinic_name: text::optional(self.clinic_name),
            address: text::optional(self.address),
            bio: text::optional_prose(self.bio),
            timezone: self.timezone.unwrap_or(default_tz),
        })
    }
}

/// A partial update: only the fields sent change; `null` or `""` clears an optional one. E-mail
/// and licence number are identity and cannot be changed.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
#[schema(example = json!({"bio": "Now also sees children", "phone": null}))]
pub struct UpdateDoctor {
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = shapes::DoctorName, inline, required = false)]
    name: Option<Text<NAME_MAX>>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = shapes::Field, inline, required = false)]
    specialization: Option<Text<FIELD_MAX>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::PhoneOrBlank>, inline, required = false)]
    phone: Patch<Blank<Phone>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::FieldOrBlank>, inline, required = false)]
    clinic_name: Patch<Blank<Text<FIELD_MAX>>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::AddressOrBlank>, inline, required = false)]
    address: Patch<Blank<Text<ADDRESS_MAX>>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::BioOrBlank>, inline, required = false)]
    bio: Patch<Blank<Prose<BIO_MAX>>>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = TimeZone, required = false)]
    timezone: Option<TimeZone>,
    /// `false` deactivates the doctor (front desk, admin): hidden from public lists and search,
    /// no new bookings (409 `DOCTOR_INACTIVE`); existing appointments stay. `true` reactivates.
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = bool, required = false)]
    is_active: Option<bool>,
}

/// Fields of a doctor that exist but may not change through `PATCH`.
const READ_ONLY: &[&str] = &[
    "id",
    "email",
    "license_number",
    "created_at",
    "updated_at",
    "rating_average",
    "rating_count",
];

impl From<UpdateDoctor> for DoctorPatch {
    fn from(u: UpdateDoctor) -> Self {
        Self {
            name: u.name.map(Text::into_inner),
            specialization: u.specialization.map(Text::into_inner),
            phone: u.phone.flatten(),
            clinic_name: u.clinic_name.flatten().map(Text::into_inner),
            address: u.address.flatten().map(Text::into_inner),
            bio: u.bio.flatten().map(Prose::into_inner),
            timezone: u.timezone,
            is_active: u.is_active,
        }
    }
}

/// Register a doctor
#[utoipa::path(post, path = "/doctors", operation_id = "createDoctor", tag = "doctors", request_body = CreateDoctor,
    responses(
        (status = 201, description = "Registered", body = Envelope<DoctorView>),
        (status = 409, description = "`DUPLICATE`: the e-mail or licence number is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    ValidJson(body): ValidJson<CreateDoctor>,
) -> Result<Reply<DoctorView>, ApiError> {
    let new = body.into_new(TimeZone(app.settings.clinic_timezone))?;
    let doctor = app.store.create_doctor(new).await?;
    tracing::info!(doctor_id = %doctor.id, "doctor registered");
    Ok(response::created(
        "Doctor registered successfully",
        doctor.into(),
    ))
}

/// List active doctors
///
/// Ordered by name, then id.
#[utoipa::path(get, path = "/doctors", operation_id = "listDoctors", tag = "doctors", params(PageQuery),
    responses((status = 200, description = "A page of doctors", body = PagedEnvelope<DoctorView>)))]
pub async fn list(
    State(app): State<AppState>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<PageReply<DoctorView>, ApiError> {
    let page = q.page();
    let doctors = app.store.list_doctors(None, page).await?;
    Ok(response::paged(
        "Doctors retrieved successfully",
        doctors.map(Into::into),
        page,
    ))
}

/// `{specialization}`.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SpecializationPath {
    /// Matched case-insensitively.
    #[garde(skip)]
    #[param(value_type = shapes::Field, inline)]
    specialization: Text<FIELD_MAX>,
}

/// List active doctors of one specialization
///
/// Case-insensitive match, ordered by name, then id.
#[utoipa::path(get, path = "/doctors/specialization/{specialization}", operation_id = "listDoctorsBySpecialization", tag = "doctors",
    params(SpecializationPath, PageQuery),
    responses((status = 200, description = "A page of doctors", body = PagedEnvelope<DoctorView>)))]
pub async fn by_specialization(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<SpecializationPath>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<PageReply<DoctorView>, ApiError> {
    let page = q.page();
    let doctors = app
        .store
        .list_doctors(Some(p.specialization.as_str()), page)
        .await?;
    Ok(response::paged(
        "Doctors retrieved successfully",
        doctors.map(Into::into),
        page,
    ))
}

/// Get a doctor
#[utoipa::path(get, path = "/doctors/{id}", operation_id = "getDoctor", tag = "doctors", params(DoctorPath),
    responses(
        (status = 200, description = "The doctor", body = Envelope<DoctorView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<DoctorPath>,
) -> Result<Reply<DoctorView>, ApiError> {
    let doctor = app.store.get_doctor(p.id).await?;
    Ok(response::ok("Doctor retrieved successfully", doctor.into()))
}

/// Update a doctor
///
/// The doctor themself, the front desk and admins; deactivating or reactivating
/// (`is_active`) is for the front desk and admins. Fields that may not change (`email`,
/// `license_number`, …) are refused by name.
#[utoipa::path(patch, path = "/doctors/{id}", operation_id = "updateDoctor", tag = "doctors", params(DoctorPath),
    request_body = UpdateDoctor,
    responses(
        (status = 200, description = "The updated doctor", body = Envelope<DoctorView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor", body = ErrorBody),
    ))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<DoctorView>, ApiError> {
    // Doctors are public: another doctor's profile is visible, so changing it is forbidden.
    if caller.role() == Role::Doctor && caller.who.doctor_id != Some(p.id) {
        return Err(ApiError::refused(
            "A doctor may change only their own profile",
        ));
    }
    let body = input::patch::<UpdateDoctor>(body, &(), READ_ONLY)?;
    if caller.role() == Role::Doctor && body.is_active.is_some() {
        return Err(ApiError::refused(
            "Only the front desk or an admin may deactivate or reactivate a doctor",
        ));
    }
    let doctor = app.store.update_doctor(p.id, body.into()).await?;
    // The zone decides the default range.
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %doctor.id, "doctor updated");
    Ok(response::ok("Doctor updated successfully", doctor.into()))
}
