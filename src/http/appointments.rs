//! `/appointments` routes.

use super::rules::within_reach;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, OptionalJson, ValidPath, ValidQuery};
use super::fields::required;
use super::params::{paged_query, AppointmentPath};
use super::patients::record_reads;
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::state::AppState;
use super::views::{AppointmentDetailView, AppointmentView, AuditEntryView};
use super::{input, shapes};
use crate::domain::appointment::{AppointmentStatus, ConsultationType, NewAppointment, REASON_MAX};
use crate::domain::calendar::{Day, TimeOfDay};
use crate::domain::store::{AppointmentFilter, Booked, IdempotencyKey};
use crate::domain::text::{self, Blank, Prose};
use crate::domain::user::{AccessAction, Role};
use crate::domain::{DoctorId, PatientId, SlotId};
use crate::observability;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A booking request.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient_id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "time_slot_id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    "reason_for_visit": "Regular checkup", "consultation_type": "in-person"}))]
pub struct Book {
    #[garde(required)]
    #[schema(value_type = PatientId)]
    patient_id: Option<PatientId>,
    /// Must own the slot.
    #[garde(required)]
    #[schema(value_type = DoctorId)]
    doctor_id: Option<DoctorId>,
    #[garde(required)]
    #[schema(value_type = SlotId)]
    time_slot_id: Option<SlotId>,
    /// When sent, must equal the slot's date.
    #[garde(skip)]
    #[schema(value_type = Option<chrono::NaiveDate>)]
    appointment_date: Option<Day>,
    /// When sent, must equal the slot's time (`HH:MM` or `HH:MM:SS`).
    #[garde(skip)]
    #[schema(value_type = Option<shapes::Time>, inline)]
    appointment_time: Option<TimeOfDay>,
    #[garde(skip)]
    #[schema(value_type = Option<shapes::ReasonOrBlank>, inline)]
    reason_for_visit: Option<Blank<Prose<REASON_MAX>>>,
    /// Default `in-person`.
    #[garde(skip)]
    #[schema(value_type = Option<ConsultationType>)]
    consultation_type: Option<ConsultationType>,
}

impl Book {
    fn into_new(self) -> Result<NewAppointment, ApiError> {
        Ok(NewAppointment {
            patient_id: required(self.patient_id, "patient_id")?,
            doctor_id: required(self.doctor_id, "doctor_id")?,
            time_slot_id: required(self.time_slot_id, "time_slot_id")?,
            appointment_date: self.appointment_date.map(|d| d.0),
            appointment_time: self.appointment_time.map(|t| t.0),
            reason_for_visit: text::optional_prose(self.reason_for_visit),
            consultation_type: self.consultation_type.unwrap_or_default(),
        })
    }
}

/// An optional cancellation reason.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Unable to attend"}))]
pub struct Cancel {
    #[garde(skip)]
    #[schema(value_type = Option<shapes::ReasonOrBlank>, inline)]
    reason: Option<Blank<Prose<REASON_MAX>>>,
}

/// The `Idempotency-Key` header (sent once, 1–255 visible ASCII characters) with the body's
/// fingerprint.
fn idempotency_key(headers: &HeaderMap, body: &Value) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut sent = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(raw) = sent.next() else {
        return Ok(None);
    };
    if sent.next().is_some() {
        return Err(ApiError::field("Idempotency-Key", "must be sent only once"));
    }
    let key = raw.to_str().ok().and_then(key_text).ok_or_else(|| {
        ApiError::field("Idempotency-Key", "must be 1-255 visible ASCII characters")
    })?;
    let fingerprint = crate::auth::sha256_hex(&canonical(body).to_string());
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        fingerprint,
    }))
}

/// The key of an `Idempotency-Key` header's text: trimmed, 1-255 visible ASCII characters.
pub(super) fn key_text(raw: &str) -> Option<&str> {
    Some(raw.trim())
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
}

/// `v` with every object's keys sorted, so equal bodies fingerprint alike whatever their order.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Book an appointment (a PENDING hold)
///
/// Takes a seat as a hold that lapses unless confirmed in time. With `Idempotency-Key`, a
/// repeat with the same body answers 201 with the same appointment and books nothing.
#[utoipa::path(post, path = "/appointments", operation_id = "bookAppointment", tag = "appointments", request_body = Book,
    params(("Idempotency-Key" = inline(Option<shapes::IdempotencyKeyHeader>), Header,
        description = "1-255 visible ASCII characters, sent once; makes retries safe for 24 hours")),
    responses(
        (status = 201, description = "Held; confirm before `expires_at`", body = Envelope<AppointmentView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field or `Idempotency-Key`, or (depending on the slot) a `doctor_id` that does not own the slot, or an `appointment_date` or `appointment_time` other than the slot's", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such patient, doctor or slot", body = ErrorBody),
        (status = 409, description = "`SLOT_UNAVAILABLE` (blocked, full or started), `ALREADY_BOOKED` (the patient holds this slot) or `HOLD_LIMIT` (the patient holds `MAX_PENDING_HOLDS_PER_PATIENT` pending appointments) or `TOO_LATE` (a patient booking a slot that starts within `MIN_NOTICE_MINUTES`)", body = ErrorBody),
        (status = 422, description = "`IDEMPOTENCY_KEY_REUSED`: the key came with another body", body = ErrorBody),
    ))]
pub async fn book(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Reply<AppointmentView>, ApiError> {
    let booked = match take_seat(&app, &caller, &headers, body).await {
        Ok(b) => b,
        Err(e) => {
            let outcome = if e.status.is_client_error() {
                "refused"
            } else {
                "error"
            };
            observability::booking(outcome, e.code);
            return Err(e);
        }
    };
    let a = &booked.appointment;
    app.availability.touch(a.doctor_id);
    tracing::info!(appointment_id = %a.id, slot_id = %a.time_slot_id, replayed = booked.replayed, "appointment booked");
    if booked.replayed {
        observability::booking("replayed", "none");
    } else {
        observability::booking("booked", "none");
        observability::holds("created", 1);
    }
    let message = format!(
        "Appointment booked successfully. Please confirm within {}.",
        app.settings.booking.hold_description()
    );
    Ok(response::created(message, booked.appointment.into()))
}

/// Checks the request and the caller, then books (or replays an earlier booking).
pub(super) async fn take_seat(
    app: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Value,
) -> Result<Booked, ApiError> {
    // Field errors are reported before a bad key, as they always were.
    let key = idempotency_key(headers, &body);
    let new = input::body::<Book>(body, &())?.into_new()?;
    if caller.role() == Role::Patient && caller.who.patient_id != Some(new.patient_id) {
        let refusal = ApiError::refused("A patient may book for themself only");
        let action = AccessAction::Create;
        return Err(caller
            .refuse_patient(app, new.patient_id, action, refusal)
            .await);
    }
    // Keys are scoped per user: another user's key never replays someone else's booking.
    let key = key?.map(|k| IdempotencyKey {
        key: format!("{}:{}", caller.who.user_id, k.key),
        ..k
    });
    Ok(app.store.book(new, key, caller.actor()).await?)
}

/// Confirm a hold
#[utoipa::path(post, path = "/appointments/{id}/confirm", operation_id = "confirmAppointment", tag = "appointments",
    params(AppointmentPath),
    responses(
        (status = 200, description = "CONFIRMED (also when it already was)", body = Envelope<AppointmentView>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
        (status = 409, description = "`HOLD_EXPIRED` (it is now EXPIRED, its seat released) or `INVALID_TRANSITION`", body = ErrorBody),
    ))]
pub async fn confirm(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
) -> Result<Reply<AppointmentView>, ApiError> {
    let done = app.store.confirm(p.id, caller.actor()).await;
    let a = within_reach(&app, &caller, done).await?;
    tracing::info!(appointment_id = %a.id, "appointment confirmed");
    observability::holds("confirmed", 1);
    Ok(response::ok("Appointment confirmed successfully", a.into()))
}

/// Cancel an appointment
#[utoipa::path(post, path = "/appointments/{id}/cancel", operation_id = "cancelAppointment", tag = "appointments",
    params(AppointmentPath), request_body(content = Option<Cancel>, description = "Optional"),
    responses(
        (status = 200, description = "CANCELLED (also when it already was); the seat is released", body = Envelope<AppointmentView>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
        (status = 409, description = "`INVALID_TRANSITION`: COMPLETED, EXPIRED or NO_SHOW; `TOO_LATE`: a patient inside `CANCEL_NOTICE_MINUTES` of the start", body = ErrorBody),
    ))]
pub async fn cancel(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
    OptionalJson(body): OptionalJson<Cancel>,
) -> Result<Reply<AppointmentView>, ApiError> {
    let reason = text::optional_prose(body.reason);
    let done = app.store.cancel(p.id, reason, caller.actor()).await;
    let a = within_reach(&app, &caller, done).await?;
    app.availability.touch(a.doctor_id);
    tracing::info!(appointment_id = %a.id, "appointment cancelled");
    Ok(response::ok("Appointment cancelled successfully", a.into()))
}

/// Complete an appointment
#[utoipa::path(post, path = "/appointments/{id}/complete", operation_id = "completeAppointment", tag = "appointments",
    params(AppointmentPath),
    responses(
        (status = 200, description = "COMPLETED (also when it already was); the seat stays taken", body = Envelope<AppointmentView>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
        (status = 409, description = "`INVALID_TRANSITION`: not CONFIRMED", body = ErrorBody),
    ))]
pub async fn complete(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
) -> Result<Reply<AppointmentView>, ApiError> {
    let done = app.store.complete(p.id, caller.actor()).await;
    let a = within_reach(&app, &caller, done).await?;
    tracing::info!(appointment_id = %a.id, "appointment completed");
    Ok(response::ok("Appointment completed successfully", a.into()))
}

/// Get an appointment
///
/// With doctor, slot and patient summaries.
#[utoipa::path(get, path = "/appointments/{id}", operation_id = "getAppointment", tag = "appointments", params(AppointmentPath),
    responses(
        (status = 200, description = "The appointment", body = Envelope<AppointmentDetailView>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
) -> Result<Reply<AppointmentDetailView>, ApiError> {
    let detail = app.store.get_appointment(p.id).await?;
    let a = &detail.appointment;
    caller
        .must_own_appointment(&app, a.patient_id, a.doctor_id, AccessAction::Read)
        .await?;
    record_reads(&app, &caller, AccessAction::Read, [a.patient_id]).await?;
    Ok(response::ok(
        "Appointment retrieved successfully",
        detail.into(),
    ))
}

/// An appointment's audit trail
///
/// Oldest first; each entry was written in the same transaction as its change.
#[utoipa::path(get, path = "/appointments/{id}/history", operation_id = "getAppointmentHistory", tag = "appointments",
    params(AppointmentPath),
    responses(
        (status = 200, description = "The audit entries", body = Envelope<Vec<AuditEntryView>>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
    ))]
pub async fn history(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
) -> Result<Reply<Vec<AuditEntryView>>, ApiError> {
    let patient = super::rules::owned(&app, &*app.store, &caller, p.id, AccessAction::Read).await?;
    let entries = app.store.history(p.id).await?;
    record_reads(&app, &caller, AccessAction::Read, [patient]).await?;
    Ok(response::ok(
        "Appointment history retrieved successfully",
        entries.into_iter().map(Into::into).collect(),
    ))
}

/// `{patientId}`.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PatientOwnerPath {
    /// The patient's id.
    #[garde(skip)]
    #[serde(rename = "patientId")]
    patient_id: PatientId,
}

/// `{doctorId}`.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DoctorOwnerPath {
    /// The doctor's id.
    #[garde(skip)]
    #[serde(rename = "doctorId")]
    doctor_id: DoctorId,
}

paged_query!(
    /// A status filter and a page.
    PatientAppointmentsQuery {
        /// Effective status (case-insensitive); empty (or blank) means any.
        #[garde(skip)]
        #[param(value_type = Option<shapes::StatusOrBlank>, inline)]
        status: Option<Blank<AppointmentStatus>>,
    }
);

paged_query!(
    /// Date and status filters and a page.
    DoctorAppointmentsQuery {
        /// The appointment's local date, `YYYY-MM-DD`; empty (or blank) means any.
        #[garde(skip)]
        #[param(value_type = Option<shapes::DateOrBlank>, inline)]
        date: Option<Blank<Day>>,
        /// Effective status (case-insensitive). Absent: every status but CANCELLED and
        /// EXPIRED (who is coming); empty or blank (`status=`): every status.
        #[garde(skip)]
        #[param(value_type = Option<shapes::StatusOrBlank>, inline)]
        status: Option<Blank<AppointmentStatus>>,
    }
);

fn status_of(s: Option<Blank<AppointmentStatus>>) -> Option<AppointmentStatus> {
    s.and_then(Blank::into_option)
}

/// A patient's appointments
///
/// By slot start.
#[utoipa::path(get, path = "/appointments/patient/{patientId}", operation_id = "listPatientAppointments", tag = "appointments",
    params(PatientOwnerPath, PatientAppointmentsQuery),
    responses(
        (status = 200, description = "A page of appointments", body = PagedEnvelope<AppointmentView>),
        (status = 404, description = "`NOT_FOUND`: no such patient, or (for a patient) not themself", body = ErrorBody),
    ))]
pub async fn for_patient(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<PatientOwnerPath>,
    ValidQuery(q): ValidQuery<PatientAppointmentsQuery>,
) -> Result<PageReply<AppointmentView>, ApiError> {
    caller
        .must_be_patient_or_desk(&app, p.patient_id, AccessAction::List)
        .await?;
    let page = q.page();
    let list = app
        .store
        .patient_appointments(p.patient_id, status_of(q.status), page)
        .await?;
    // The list is the patient's, whether or not this page has rows.
    record_reads(&app, &caller, AccessAction::List, [p.patient_id]).await?;
    Ok(response::paged(
        "Appointments retrieved successfully",
        list.map(Into::into),
        page,
    ))
}

/// A doctor's appointments (the day list)
///
/// By slot start, each with the patient's name. Without `status`, CANCELLED and EXPIRED
/// appointments are left out; `status=CANCELLED` (or any status) asks for those, an empty
/// `status=` for every one.
#[utoipa::path(get, path = "/appointments/doctor/{doctorId}", operation_id = "listDoctorAppointments", tag = "appointments",
    params(DoctorOwnerPath, DoctorAppointmentsQuery),
    responses(
        (status = 200, description = "A page of appointments", body = PagedEnvelope<AppointmentView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not themself", body = ErrorBody),
    ))]
pub async fn for_doctor(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorOwnerPath>,
    ValidQuery(q): ValidQuery<DoctorAppointmentsQuery>,
) -> Result<PageReply<AppointmentView>, ApiError> {
    caller.must_run_calendar_of(p.doctor_id)?;
    let page = q.page();
    // No `status` at all: who is coming (CANCELLED and EXPIRED left out); `status=` (empty):
    // every appointment.
    let live_only = q.status.is_none();
    let filter = AppointmentFilter {
        date: q.date.and_then(Blank::into_option).map(|d| d.0),
        status: status_of(q.status),
        live_only,
    };
    let list = app
        .store
        .doctor_appointments(p.doctor_id, filter, page)
        .await?;
    let patients = list.items.iter().map(|a| a.patient_id);
    record_reads(&app, &caller, AccessAction::List, patients).await?;
    Ok(response::paged(
        "Appointments retrieved successfully",
        list.map(Into::into),
        page,
    ))
}
