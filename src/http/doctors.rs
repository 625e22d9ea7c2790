//! `/doctors` routes.

use axum::extract::{Path, State};

use super::error::ApiError;
use super::extract::{id, JsonObject, QueryMap};
use super::{page, response, ApiResult, AppState};
use crate::domain::doctor::{DoctorPatch, NewDoctor};
use crate::domain::{validate, DoctorId};

/// `POST /doctors`
pub async fn create(State(app): State<AppState>, JsonObject(body): JsonObject) -> ApiResult {
    let new = NewDoctor::parse(&body, app.settings.clinic_timezone.name())?;
    let doctor = app.store.create_doctor(new).await?;
    tracing::info!(doctor_id = %doctor.id, "doctor registered");
    Ok(response::created("Doctor registered successfully", doctor))
}

/// `GET /doctors`
pub async fn list(State(app): State<AppState>, q: QueryMap) -> ApiResult {
    let page = page(&q)?;
    let doctors = app.store.list_doctors(None, page).await?;
    Ok(response::paged(
        "Doctors retrieved successfully",
        doctors,
        page,
    ))
}

/// `GET /doctors/specialization/{specialization}`
pub async fn by_specialization(
    State(app): State<AppState>,
    Path(specialization): Path<String>,
    q: QueryMap,
) -> ApiResult {
    let page = page(&q)?;
    let specialization =
        validate::text(specialization, 200).map_err(|m| ApiError::field("specialization", m))?;
    let doctors = app.store.list_doctors(Some(&specialization), page).await?;
    Ok(response::paged(
        "Doctors retrieved successfully",
        doctors,
        page,
    ))
}

/// `GET /doctors/{id}`
pub async fn get(State(app): State<AppState>, Path(raw): Path<String>) -> ApiResult {
    let doctor = app.store.get_doctor(id::<DoctorId>(&raw, "id")?).await?;
    Ok(response::ok("Doctor retrieved successfully", doctor))
}

/// `PATCH /doctors/{id}`
pub async fn update(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let doctor_id = id::<DoctorId>(&raw, "id")?;
    let patch = DoctorPatch::parse(&body)?;
    let doctor = app.store.update_doctor(doctor_id, patch).await?;
    tracing::info!(doctor_id = %doctor.id, "doctor updated");
    Ok(response::ok("Doctor updated successfully", doctor))
}
