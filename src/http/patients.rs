//! `/patients` routes. Patient fields are PHI: only ids are logged.

use axum::extract::{Path, State};

use super::extract::{id, JsonObject, QueryMap};
use super::{page, response, ApiResult, AppState};
use crate::domain::patient::{NewPatient, PatientPatch};
use crate::domain::PatientId;

/// `POST /patients`
pub async fn create(State(app): State<AppState>, JsonObject(body): JsonObject) -> ApiResult {
    let new = NewPatient::parse(&body, app.today())?;
    let patient = app.store.create_patient(new).await?;
    tracing::info!(patient_id = %patient.id, "patient registered");
    Ok(response::created(
        "Patient registered successfully",
        patient,
    ))
}

/// `GET /patients`
pub async fn list(State(app): State<AppState>, q: QueryMap) -> ApiResult {
    let page = page(&q)?;
    let patients = app.store.list_patients(page).await?;
    Ok(response::paged(
        "Patients retrieved successfully",
        patients,
        page,
    ))
}

/// `GET /patients/{id}`
pub async fn get(State(app): State<AppState>, Path(raw): Path<String>) -> ApiResult {
    let patient = app.store.get_patient(id::<PatientId>(&raw, "id")?).await?;
    Ok(response::ok("Patient retrieved successfully", patient))
}

/// `PATCH /patients/{id}`
pub async fn update(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let patient_id = id::<PatientId>(&raw, "id")?;
    let patch = PatientPatch::parse(&body, app.today())?;
    let patient = app.store.update_patient(patient_id, patch).await?;
    tracing::info!(patient_id = %patient.id, "patient updated");
    Ok(response::ok("Patient updated successfully", patient))
}
