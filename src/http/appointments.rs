//! `/appointments` routes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use sha2::{Digest, Sha256};
use tower_http::request_id::RequestId;

use super::error::ApiError;
use super::extract::{id, JsonObject, QueryMap};
use super::{page, response, ApiResult, AppState};
use crate::domain::appointment::{parse_cancel_reason, AppointmentStatus, NewAppointment};
use crate::domain::store::{Actor, AppointmentFilter, IdempotencyKey};
use crate::domain::{validate, AppointmentId, DoctorId, PatientId};

fn actor(rid: &RequestId) -> Actor {
    Actor::request(rid.header_value().to_str().unwrap_or("unknown"))
}

/// The `Idempotency-Key` header (1–255 visible ASCII characters) with the body's fingerprint.
fn idempotency_key(
    headers: &HeaderMap,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::field("Idempotency-Key", "must be 1-255 visible ASCII characters")
        })?;
    // serde_json's map is ordered by key, so this serialisation is canonical.
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    let fingerprint = Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        fingerprint,
    }))
}

/// `POST /appointments`: a PENDING hold.
pub async fn book(
    State(app): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let new = NewAppointment::parse(&body)?;
    let key = idempotency_key(&headers, &body)?;
    let booked = app
        .store
        .book(new, app.settings.hold_secs(), key, actor(&rid))
        .await?;
    let a = &booked.appointment;
    tracing::info!(appointment_id = %a.id, slot_id = %a.time_slot_id, replayed = booked.replayed, "appointment booked");
    let message = format!(
        "Appointment booked successfully. Please confirm within {}.",
        app.settings.hold_description()
    );
    Ok(response::with_status(
        StatusCode::CREATED,
        &message,
        booked.appointment,
    ))
}

/// `POST /appointments/{id}/confirm`
pub async fn confirm(
    State(app): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Path(raw): Path<String>,
) -> ApiResult {
    let a = app
        .store
        .confirm(id::<AppointmentId>(&raw, "id")?, actor(&rid))
        .await?;
    tracing::info!(appointment_id = %a.id, "appointment confirmed");
    Ok(response::ok("Appointment confirmed successfully", a))
}

/// `POST /appointments/{id}/cancel` with optional `{"reason": ".."}`
pub async fn cancel(
    State(app): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let appointment_id = id::<AppointmentId>(&raw, "id")?;
    let reason = parse_cancel_reason(&body)?;
    let a = app
        .store
        .cancel(appointment_id, reason, actor(&rid))
        .await?;
    tracing::info!(appointment_id = %a.id, "appointment cancelled");
    Ok(response::ok("Appointment cancelled successfully", a))
}

/// `POST /appointments/{id}/complete`
pub async fn complete(
    State(app): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Path(raw): Path<String>,
) -> ApiResult {
    let a = app
        .store
        .complete(id::<AppointmentId>(&raw, "id")?, actor(&rid))
        .await?;
    tracing::info!(appointment_id = %a.id, "appointment completed");
    Ok(response::ok("Appointment completed successfully", a))
}

/// `GET /appointments/{id}`
pub async fn get(State(app): State<AppState>, Path(raw): Path<String>) -> ApiResult {
    let detail = app
        .store
        .get_appointment(id::<AppointmentId>(&raw, "id")?)
        .await?;
    Ok(response::ok("Appointment retrieved successfully", detail))
}

/// `GET /appointments/{id}/history`
pub async fn history(State(app): State<AppState>, Path(raw): Path<String>) -> ApiResult {
    let entries = app.store.history(id::<AppointmentId>(&raw, "id")?).await?;
    Ok(response::ok(
        "Appointment history retrieved successfully",
        entries,
    ))
}

fn status_filter(q: &QueryMap) -> Result<Option<AppointmentStatus>, ApiError> {
    match q.get("status").map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => AppointmentStatus::parse(raw)
            .map(Some)
            .map_err(|m| ApiError::field("status", m)),
    }
}

/// `GET /appointments/patient/{patientId}`
pub async fn for_patient(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    q: QueryMap,
) -> ApiResult {
    let patient = id::<PatientId>(&raw, "patientId")?;
    let (status, page) = (status_filter(&q)?, page(&q)?);
    let list = app
        .store
        .patient_appointments(patient, status, page)
        .await?;
    Ok(response::paged(
        "Appointments retrieved successfully",
        list,
        page,
    ))
}

/// `GET /appointments/doctor/{doctorId}`
pub async fn for_doctor(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    q: QueryMap,
) -> ApiResult {
    let doctor = id::<DoctorId>(&raw, "doctorId")?;
    let date = match q.get("date").map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(validate::date(raw).map_err(|m| ApiError::field("date", m))?),
    };
    let (status, page) = (status_filter(&q)?, page(&q)?);
    let list = app
        .store
        .doctor_appointments(doctor, AppointmentFilter { date, status }, page)
        .await?;
    Ok(response::paged(
        "Appointments retrieved successfully",
        list,
        page,
    ))
}
