//! The request-side rules of an appointment change: whose appointment it is, and the notice
//! windows that bind patients' cancels and reschedules (a booking's is the store's, checked
//! after an idempotent replay).

use super::caller::Caller;
use super::error::ApiError;
use super::state::AppState;
use crate::domain::appointment::AppointmentStatus;
use crate::domain::reschedule::{too_late, Notice};
use crate::domain::store::Store;
use crate::domain::user::{AccessAction, Role};
use crate::domain::{AppointmentId, PatientId, SlotId};

/// 404 unless the appointment is the caller's (or the caller is front desk / admin); the
/// appointment's patient, for the access log. Read from `store`: the primary before a change.
pub(super) async fn owned(
    app: &AppState,
    store: &dyn Store,
    caller: &Caller,
    id: AppointmentId,
    action: AccessAction,
) -> Result<PatientId, ApiError> {
    let d = store.get_appointment(id).await?;
    let a = &d.appointment;
    caller
        .must_own_appointment(app, a.patient_id, a.doctor_id, action)
        .await?;
    Ok(a.patient_id)
}

/// 404 unless the caller may change the appointment. Front desk and admin may change any, and
/// the transition itself answers 404 for an unknown id, so only patients and doctors pay for
/// reading the appointment first.
pub(super) async fn may_change(
    app: &AppState,
    caller: &Caller,
    id: AppointmentId,
) -> Result<(), ApiError> {
    match caller.role() {
        Role::Admin | Role::Scheduler => Ok(()),
        // From the primary: the appointment may have been booked a moment ago.
        Role::Patient | Role::Doctor => {
            let primary = app.store.primary();
            owned(app, primary, caller, id, AccessAction::Update)
                .await
                .map(drop)
        }
    }
}

/// For a patient, 409 `TOO_LATE` when the slot starts within `secs` seconds (0: no window).
/// `started_counts`: whether a slot that has already started is inside the window too (for the
/// slot an appointment leaves), or left to the store's own refusal (for a slot to book).
pub(super) async fn notice(
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
    if Notice::too_soon_to_book(until, secs) || (started_counts && until <= 0.0) {
        return Err(too_late(what, secs / 60).into());
    }
    Ok(())
}

/// `CANCEL_NOTICE_MINUTES` for a patient's cancel or reschedule of a live appointment (the
/// appointment is the caller's: [`may_change`] ran first). Other statuses are left to the
/// transition, which answers as it always does.
pub(super) async fn cancel_notice(
    app: &AppState,
    caller: &Caller,
    id: AppointmentId,
) -> Result<(), ApiError> {
    let secs = app.settings.booking.notice.cancel_secs;
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
