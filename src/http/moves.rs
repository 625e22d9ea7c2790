//! Rescheduling and no-shows (`/appointments/{id}/reschedule`, `/appointments/{id}/no-show`),
//! and the notice windows that bind patients' bookings, cancels and reschedules.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::appointments::may_change;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ValidJson, ValidPath};
use super::params::AppointmentPath;
use super::response::{self, Envelope, Reply};
use super::views::AppointmentView;
use super::{required, AppState};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::reschedule::{too_late, Notice};
use crate::domain::user::Role;
use crate::domain::{AppointmentId, SlotId};

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

/// For a patient, 409 `TOO_LATE` when the slot starts within `secs` seconds (0: no window).
/// `started_counts`: whether a slot that has already started is inside the window too (for the
/// slot an appointment leaves), or left to the store's own refusal (for a slot to book).
async fn notice(
    app: &AppState,
    caller: &Caller,
    slot: SlotId,
    secs: i64,
    started_counts: bool,
    what: &str,
) -> Result<(), ApiError> {
    if secs <= 0 || !Notice::binds(caller.role()) {
        return Ok(());
    }
    let Some(until) = app.store.slot_starts_in(slot).await? else {
        // An unknown slot: the use case answers 404.
        return Ok(());
    };
    if until <= secs as f64 && (started_counts || until > 0.0) {
        return Err(too_late(what, secs / 60).into());
    }
    Ok(())
}

/// `MIN_NOTICE_MINUTES` for a patient's booking of `slot`.
pub(super) async fn book_notice(
    app: &AppState,
    caller: &Caller,
    slot: SlotId,
) -> Result<(), ApiError> {
    let secs = app.settings.notice.book_secs;
    notice(app, caller, slot, secs, false, "book this time slot").await
}

/// `CANCEL_NOTICE_MINUTES` for a patient's cancel or reschedule of a live appointment (the
/// appointment is the caller's: [`may_change`] ran first). Other statuses are left to the
/// transition, which answers as it always does.
pub(super) async fn cancel_notice(
    app: &AppState,
    caller: &Caller,
    id: AppointmentId,
) -> Result<(), ApiError> {
    let secs = app.settings.notice.cancel_secs;
    if secs <= 0 || !Notice::binds(caller.role()) {
        return Ok(());
    }
    let d = app.store.primary().get_appointment(id).await?;
    let a = &d.appointment;
    if !matches!(
        a.status,
        AppointmentStatus::Pending | AppointmentStatus::Confirmed
    ) {
        return Ok(());
    }
    let what = "change this appointment";
    notice(app, caller, a.time_slot_id, secs, true, what).await
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
    may_change(&app, &caller, p.id).await?;
    cancel_notice(&app, &caller, p.id).await?;
    let secs = app.settings.notice.book_secs;
    notice(&app, &caller, slot, secs, false, "move to this time slot").await?;
    let a = app.store.reschedule(p.id, slot, caller.actor()).await?;
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
    may_change(&app, &caller, p.id).await?;
    let a = app.store.mark_no_show(p.id, caller.actor()).await?;
    tracing::info!(appointment_id = %a.id, "appointment marked as a no-show");
    Ok(response::ok("Appointment marked as a no-show", a.into()))
}
