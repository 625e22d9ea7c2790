//! The request-side rule of an appointment change: whose appointment it is. The notice windows
//! are the store's, decided inside the change's transaction.

use super::caller::Caller;
use super::error::ApiError;
use super::state::AppState;
use crate::domain::store::Store;
use crate::domain::user::{AccessAction, Role};
use crate::domain::{AppointmentId, PatientId};

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
