//! `/patients` routes. Patient fields are PHI: only ids are logged.

use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidPath, ValidQuery};
use super::fields::required;
use super::params::{paged_query, PatientPath};
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::state::AppState;
use super::views::PatientView;
use super::{input, shapes};
use crate::domain::calendar::Day;
use crate::domain::contact::{Email, Phone};
use crate::domain::patch::Patch;
use crate::domain::patient::{
    check_birth_date, BloodGroup, NewPatient, PatientPatch, PatientQuery, GENDER_MAX, MEDICAL_MAX,
    TEXT_MAX,
};
use crate::domain::text::{self, Blank, Prose, Text};
use crate::domain::user::{AccessAction, NewAccess, Role};
use crate::domain::PatientId;

/// garde rule: a date of birth sent must not be after today (the context).
fn born_by(d: &Blank<Day>, today: &NaiveDate) -> garde::Result {
    match d.0 {
        Some(Day(d)) => check_birth_date(d, *today).map_err(garde::Error::new),
        None => Ok(()),
    }
}

/// The same rule for a PATCH field.
fn patch_born_by(p: &Patch<Blank<Day>>, today: &NaiveDate) -> garde::Result {
    match p {
        Patch::Set(d) => born_by(d, today),
        _ => Ok(()),
    }
}

/// A patient to register.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(context(NaiveDate))]
#[schema(example = json!({"name": "John Doe", "email": "john@example.com", "phone": "+1 (234) 567-890",
    "date_of_birth": "1990-01-15", "gender": "Male", "blood_group": "O+", "allergies": "Penicillin",
    "medical_history": "Hypertension", "emergency_contact_name": "Jane Doe",
    "emergency_contact_phone": "+1 234 567 899"}))]
pub struct CreatePatient {
    #[garde(required)]
    #[schema(value_type = shapes::PatientName, inline)]
    name: Option<Text<TEXT_MAX>>,
    #[garde(required)]
    #[schema(value_type = Email)]
    email: Option<Email>,
    #[garde(required)]
    #[schema(value_type = Phone)]
    phone: Option<Phone>,
    /// `YYYY-MM-DD`, not in the future (a 400 that depends on the day).
    #[garde(inner(custom(born_by)))]
    #[schema(value_type = Option<shapes::DateOrBlank>, inline)]
    date_of_birth: Option<Blank<Day>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::GenderOrBlank>, inline)]
    gender: Option<Blank<Text<GENDER_MAX>>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::BloodGroupOrBlank>, inline)]
    blood_group: Option<Blank<BloodGroup>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::MedicalOrBlank>, inline)]
    allergies: Option<Blank<Prose<MEDICAL_MAX>>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::MedicalOrBlank>, inline)]
    medical_history: Option<Blank<Prose<MEDICAL_MAX>>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::PatientNameOrBlank>, inline)]
    emergency_contact_name: Option<Blank<Text<TEXT_MAX>>>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::PhoneOrBlank>, inline)]
    emergency_contact_phone: Option<Blank<Phone>>,
}

impl CreatePatient {
    pub(super) fn into_new(self) -> Result<NewPatient, ApiError> {
        Ok(NewPatient {
            name: required(self.name, "name")?.into_inner(),
            email: required(self.email, "email")?,
            phone: required(self.phone, "phone")?,
            date_of_birth: self.date_of_birth.and_then(Blank::into_option).map(|d| d.0),
            gender: text::optional(self.gender),
            blood_group: self.blood_group.and_then(Blank::into_option),
            allergies: text::optional_prose(self.allergies),
            medical_history: text::optional_prose(self.medical_history),
            emergency_contact_name: text::optional(self.emergency_contact_name),
            emergency_contact_phone: self.emergency_contact_phone.and_then(Blank::into_option),
        })
    }
}

/// A partial update: only the fields sent change; `null` or `""` clears an optional one.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(context(NaiveDate))]
#[garde(allow_unvalidated)]
#[schema(example = json!({"allergies": "None"}))]
pub struct UpdatePatient {
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = shapes::PatientName, inline, required = false)]
    name: Option<Text<TEXT_MAX>>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = Email, required = false)]
    email: Option<Email>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = Phone, required = false)]
    phone: Option<Phone>,
    /// `YYYY-MM-DD`, not in the future (a 400 that depends on the day).
    #[serde(default)]
    #[garde(custom(patch_born_by))]
    #[schema(value_type = Option<shapes::DateOrBlank>, inline, required = false)]
    date_of_birth: Patch<Blank<Day>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::GenderOrBlank>, inline, required = false)]
    gender: Patch<Blank<Text<GENDER_MAX>>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::BloodGroupOrBlank>, inline, required = false)]
    blood_group: Patch<Blank<BloodGroup>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::MedicalOrBlank>, inline, required = false)]
    allergies: Patch<Blank<Prose<MEDICAL_MAX>>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::MedicalOrBlank>, inline, required = false)]
    medical_history: Patch<Blank<Prose<MEDICAL_MAX>>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::PatientNameOrBlank>, inline, required = false)]
    emergency_contact_name: Patch<Blank<Text<TEXT_MAX>>>,
    #[serde(default)]
    #[schema(value_type = Option<shapes::PhoneOrBlank>, inline, required = false)]
    emergency_contact_phone: Patch<Blank<Phone>>,
}

impl From<UpdatePatient> for PatientPatch {
    fn from(u: UpdatePatient) -> Self {
        Self {
            name: u.name.map(Text::into_inner),
            email: u.email,
            phone: u.phone,
            date_of_birth: u.date_of_birth.flatten().map(|d| d.0),
            gender: u.gender.flatten().map(Text::into_inner),
            blood_group: u.blood_group.flatten(),
            allergies: u.allergies.flatten().map(Prose::into_inner),
            medical_history: u.medical_history.flatten().map(Prose::into_inner),
            emergency_contact_name: u.emergency_contact_name.flatten().map(Text::into_inner),
            emergency_contact_phone: u.emergency_contact_phone.flatten(),
        }
    }
}

/// The clinical fields of a patient record (minimum necessary: not for the front desk).
const CLINICAL: [&str; 3] = ["blood_group", "allergies", "medical_history"];

/// 403 when the front desk sends a clinical field, naming the rule and the field.
fn desk_keeps_off_clinical(caller: &Caller, body: &serde_json::Value) -> Result<(), ApiError> {
    let sent = body
        .as_object()
        .and_then(|o| CLINICAL.iter().find(|f| o.contains_key(**f)));
    match sent {
        Some(field) if caller.role() == Role::Scheduler => Err(ApiError::refused(format!(
            "The front desk may not write clinical fields: {field}"
        ))),
        _ => Ok(()),
    }
}

/// Writes the access records of a read; a read that cannot be recorded is not served (503).
pub(super) async fn record_reads(
    app: &AppState,
    caller: &Caller,
    action: AccessAction,
    patients: impl IntoIterator<Item = PatientId>,
) -> Result<(), ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    let records: Vec<NewAccess> = patients
        .into_iter()
        .filter(|p| seen.insert(*p))
        .map(|patient_id| NewAccess {
            patient_id,
            action,
            outcome: 200,
        })
        .collect();
    if !records.is_empty() {
        app.store.record_access(&caller.access, &records).await?;
    }
    Ok(())
}

/// Register a patient
///
/// Front desk and admin. The front desk may not send clinical fields (403).
#[utoipa::path(post, path = "/patients", operation_id = "createPatient", tag = "patients", request_body = CreatePatient,
    responses(
        (status = 201, description = "Registered", body = Envelope<PatientView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, or (depending on the day) a `date_of_birth` after today", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the e-mail is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Reply<PatientView>, ApiError> {
    desk_keeps_off_clinical(&caller, &body)?;
    let new = input::body::<CreatePatient>(body, &app.today())?.into_new()?;
    let patient = app
        .store
        .create_patient(new, Some(caller.access.clone()))
        .await?;
    tracing::info!(patient_id = %patient.id, "patient registered");
    Ok(response::created(
        "Patient registered successfully",
        PatientView::for_role(patient, caller.role()),
    ))
}

paged_query!(
    /// A search, `limit` and `offset`.
    PatientListQuery {
        /// Find patients: a date of birth (`YYYY-MM-DD`, exact), or words each matching the start
        /// of a word of the name, the e-mail or the phone (any case). Names starting with the
        /// first word come first. Empty or absent: every patient, in registration order.
        #[garde(length(chars, max = 200))]
        #[param(max_length = 200)]
        q: Option<String>,
    }
);

/// List or find patients
///
/// In registration order, or with `q` the patients it matches. Front desk and admin; each
/// patient listed is an access record.
#[utoipa::path(get, path = "/patients", operation_id = "listPatients", tag = "patients", params(PatientListQuery),
    responses((status = 200, description = "A page of patients", body = PagedEnvelope<PatientView>)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<PatientListQuery>,
) -> Result<PageReply<PatientView>, ApiError> {
    let page = q.page();
    let search = q.q.as_deref().and_then(PatientQuery::parse);
    let patients = match &search {
        Some(search) => app.store.search_patients(search, page).await?,
        // Nothing to search for (blank, or only punctuation): nobody, unless nothing was asked.
        None if q.q.as_deref().is_some_and(|s| !s.trim().is_empty()) => {
            crate::domain::page::Paged {
                items: Vec::new(),
                total: 0,
            }
        }
        None => app.store.list_patients(page).await?,
    };
    record_reads(
        &app,
        &caller,
        AccessAction::List,
        patients.items.iter().map(|p| p.id),
    )
    .await?;
    let role = caller.role();
    Ok(response::paged(
        "Patients retrieved successfully",
        patients.map(|p| PatientView::for_role(p, role)),
        page,
    ))
}

/// Get a patient
///
/// Staff; the patient themself; a doctor with an appointment with them, or any doctor sending
/// `Break-Glass-Reason` (emergency access, flagged in the access log). Anyone else gets 404.
#[utoipa::path(get, path = "/patients/{id}", operation_id = "getPatient", tag = "patients", params(PatientPath,
        ("Break-Glass-Reason" = inline(Option<shapes::BreakGlassHeader>), Header, description = "Emergency access by a doctor: why (1-500 printable ASCII characters).")),
    responses(
        (status = 200, description = "The patient", body = Envelope<PatientView>),
        (status = 404, description = "`NOT_FOUND`: no such patient, or not yours to see", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<PatientPath>,
) -> Result<Reply<PatientView>, ApiError> {
    caller.may_see_patient(&app, p.id).await?;
    let patient = app.store.get_patient(p.id).await?;
    record_reads(&app, &caller, AccessAction::Read, [patient.id]).await?;
    if caller.access.break_glass.is_some() && caller.role() == Role::Doctor {
        tracing::warn!(patient_id = %patient.id, user_id = %caller.who.user_id, "break-glass access");
    }
    Ok(response::ok(
        "Patient retrieved successfully",
        PatientView::for_role(patient, caller.role()),
    ))
}

/// Update a patient
///
/// The patient themself, front desk (not clinical fields: 403) and admin.
#[utoipa::path(patch, path = "/patients/{id}", operation_id = "updatePatient", tag = "patients", params(PatientPath),
    request_body = UpdatePatient,
    responses(
        (status = 200, description = "The updated patient", body = Envelope<PatientView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, no body, or (depending on the day) a `date_of_birth` after today", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such patient, or not yours", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the new e-mail is taken", body = ErrorBody),
    ))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<PatientPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<PatientView>, ApiError> {
    caller
        .must_be_patient_or_desk(&app, p.id, AccessAction::Update)
        .await?;
    if let Err(refusal) = desk_keeps_off_clinical(&caller, &body) {
        let action = AccessAction::Update;
        return Err(caller.refuse_patient(&app, p.id, action, refusal).await);
    }
    let patch =
        input::patch::<UpdatePatient>(body, &app.today(), &["id", "created_at", "updated_at"])?;
    let patient = app
        .store
        .update_patient(p.id, patch.into(), Some(caller.access.clone()))
        .await?;
    tracing::info!(patient_id = %patient.id, "patient updated");
    Ok(response::ok(
        "Patient updated successfully",
        PatientView::for_role(patient, caller.role()),
    ))
}
