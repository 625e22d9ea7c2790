//! Whose appointment it is: the read of one appointment for its owner, and the answer of a
//! change the store refused as out of the caller's reach (the reach and the notice windows are
//! decided inside the change's transaction).

use super::caller::{hidden, Caller};
use super::error::ApiError;
use super::state::AppState;
use crate::domain::store::Store;
use crate::domain::user::AccessAction;
use crate::domain::{AppointmentId, DomainError, DomainResult, PatientId};

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

/// The answer of an appointment change: one the store refused as out of the caller's reach
/// (another patient's appointment, another doctor's) is recorded as a refused attempt at that
/// patient's data, in its own transaction, and answered 404 as if it did not exist. Who may
/// change which appointment is decided inside the change's transaction (`Reach`).
pub(super) async fn within_reach<T>(
    app: &AppState,
    caller: &Caller,
    outcome: DomainResult<T>,
) -> Result<T, ApiError> {
    match outcome {
        Err(DomainError::OutOfReach(patient)) => {
            let refusal = hidden("appointment");
            let action = AccessAction::Update;
            Err(caller.refuse_patient(app, patient, action, refusal).await)
        }
        other => Ok(other?),
    }
}
