//! Rescheduling and no-shows (`/appointments/{id}/reschedule`, `/appointments/{id}/no-show`).

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ValidJson, ValidPath};
use super::fields::required;
use super::params::AppointmentPath;
use super::response::{self, Envelope, Reply};
use super::rules::within_reach;
use super::state::AppState;
use super::views::AppointmentView;

use crate::domain::user::Role;
use crate::domain::SlotId;

/// Where a reschedule moves the appointment.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time_slot_id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"}))]
pub struct Reschedule {
    /// Another slot of the appointment's doctor.
    #[garde(required)]
    #[schema(value_type = SlotId)]
    time_slot_id: Option<SlotId>,
}

/// Reschedule an appointment
///
/// Moves a PENDING or CONFIRMED appointment to another slot of the same doctor in one
/// transaction: the new seat is taken and the old one released together, or nothing changes.
/// The appointment keeps its id, status and (for a hold) expiry; its history gets a
/// `RESCHEDULED` entry naming both slots. Moving it to the slot it is on changes nothing.
#[utoipa::path(post, path = "/appointments/{id}/reschedule", operation_id = "rescheduleAppointment", tag = "appointments",
    params(AppointmentPath), request_body = Reschedule,
    responses(
        (status = 200, description = "Moved (or already on that slot)", body = Envelope<AppointmentView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, or (depending on the slot) a `time_slot_id` of another doctor", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such appointment (or not the caller's), or no such slot", body = ErrorBody),
        (status = 409, description = "`SLOT_UNAVAILABLE` (the new slot is blocked, full or started), `ALREADY_BOOKED` (the patient holds the new slot), `INVALID_TRANSITION` (not PENDING or CONFIRMED) or `TOO_LATE` (a patient inside `CANCEL_NOTICE_MINUTES` of the appointment or `MIN_NOTICE_MINUTES` of the new slot)", body = ErrorBody),
    ))]
pub async fn reschedule(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
    ValidJson(body): ValidJson<Reschedule>,
) -> Result<Reply<AppointmentView>, ApiError> {
    let slot = required(body.time_slot_id, "time_slot_id")?;
    let done = app.store.reschedule(p.id, slot, caller.actor()).await;
    let a = within_reach(&app, &caller, done).await?;
    // Both slots are this doctor's: a reschedule never crosses doctors.
    app.availability.touch(a.doctor_id);
    tracing::info!(appointment_id = %a.id, slot_id = %a.time_slot_id, "appointment rescheduled");
    Ok(response::ok(
        "Appointment rescheduled successfully",
        a.into(),
    ))
}

/// Record a no-show
///
/// CONFIRMED → NO_SHOW, once the appointment's slot has started. The seat stays used.
#[utoipa::path(post, path = "/appointments/{id}/no-show", operation_id = "markAppointmentNoShow", tag = "appointments",
    params(AppointmentPath),
    responses(
        (status = 200, description = "NO_SHOW (also when it already was); the seat stays used", body = Envelope<AppointmentView>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
        (status = 409, description = "`INVALID_TRANSITION`: not CONFIRMED, or its slot has not started yet", body = ErrorBody),
    ))]
pub async fn no_show(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
) -> Result<Reply<AppointmentView>, ApiError> {
    if caller.role() == Role::Patient {
        // The role table already refuses patients; kept here so the rule reads in one place.
        return Err(ApiError::refused("Only staff may mark a no-show"));
    }
    let done = app.store.mark_no_show(p.id, caller.actor()).await;
    let a = within_reach(&app, &caller, done).await?;
    tracing::info!(appointment_id = %a.id, "appointment marked as a no-show");
    Ok(response::ok("Appointment marked as a no-show", a.into()))
}
