//! The signed-in caller and the ownership rules handlers apply once they know whose object it
//! is. An object the caller may not see is answered 404, exactly as if it did not exist; the
//! refusal itself is a security event, and for patient data it is also an access record with
//! its outcome, so a patient's access log shows attempts too.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::Principal;
use crate::domain::user::{AccessAction, Accessor, NewAccess, Role};
use crate::domain::{DoctorId, PatientId};

use Role::{Admin, Doctor, Patient, Scheduler};

/// The header a doctor sends to read a patient they have no care relationship with.
pub const BREAK_GLASS: &str = "break-glass-reason";

/// A signed-in caller, with what the access log records about the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub who: Principal,
    pub access: Accessor,
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        self.who.role
    }

    /// The caller as the actor of a change.
    pub fn actor(&self) -> crate::domain::store::Actor {
        let w = &self.who;
        let reach = crate::domain::store::Reach::of(w.role, w.patient_id, w.doctor_id);
        crate::domain::store::Actor::user(self.access.clone(), reach)
    }

    /// 404 unless the caller may see this patient's record: staff, the patient themself, or a
    /// doctor with a care relationship with them (or breaking the glass).
    pub async fn may_see_patient(
        &self,
        app: &AppState,
        patient: PatientId,
    ) -> Result<(), ApiError> {
        if self.sees_patient(app, patient).await? {
            return Ok(());
        }
        Err(self
            .refuse_patient(app, patient, AccessAction::Read, hidden("patient"))
            .await)
    }

    /// Whether the caller may see this patient's record, without answering for it.
    pub async fn sees_patient(&self, app: &AppState, patient: PatientId) -> Result<bool, ApiError> {
        Ok(match self.role() {
            Admin | Scheduler => true,
            Patient => self.who.patient_id == Some(patient),
            Doctor => match self.who.doctor_id {
                None => false,
                Some(doctor) => {
                    self.access.break_glass.is_some()
                        || app.store.has_care_relationship(doctor, patient).await?
                }
            },
        })
    }

    /// 404 unless the caller is this patient or front desk / admin; a refusal is recorded as
    /// an attempt to `action` the patient's data.
    pub async fn must_be_patient_or_desk(
        &self,
        app: &AppState,
        patient: PatientId,
        action: AccessAction,
    ) -> Result<(), ApiError> {
        match self.role() {
            Admin | Scheduler => Ok(()),
            Patient if self.who.patient_id == Some(patient) => Ok(()),
            _ => Err(self
                .refuse_patient(app, patient, action, hidden("patient"))
                .await),
        }
    }

    /// For a doctor's calendar: 404 unless the caller is that doctor or front desk / admin.
    pub fn must_run_calendar_of(&self, doctor: DoctorId) -> Result<(), ApiError> {
        match self.role() {
            Admin | Scheduler => Ok(()),
            Doctor if self.who.doctor_id == Some(doctor) => Ok(()),
            _ => Err(hidden("doctor")),
        }
    }

    /// 404 unless the appointment is the caller's (as its patient or its doctor), or the
    /// caller is front desk / admin; a refusal is recorded against the appointment's patient.
    pub async fn must_own_appointment(
        &self,
        app: &AppState,
        patient: PatientId,
        doctor: DoctorId,
        action: AccessAction,
    ) -> Result<(), ApiError> {
        let own = match self.role() {
            Admin | Scheduler => true,
            Patient => self.who.patient_id == Some(patient),
            Doctor => self.who.doctor_id == Some(doctor),
        };
        if own {
            return Ok(());
        }
        Err(self
            .refuse_patient(app, patient, action, hidden("appointment"))
            .await)
    }

    /// Records a refused attempt at a patient's data (in its own transaction) and returns the
    /// refusal. A record that cannot be written is logged; the refusal stands either way.
    pub async fn refuse_patient(
        &self,
        app: &AppState,
        patient: PatientId,
        action: AccessAction,
        refusal: ApiError,
    ) -> ApiError {
        let record = NewAccess {
            patient_id: patient,
            action,
            outcome: refusal.status.as_u16(),
        };
        // Nothing was granted, so nothing was granted by breaking the glass: the break-glass
        // list stays a list of emergency reads.
        let by = Accessor {
            break_glass: None,
            ..self.access.clone()
        };
        if let Err(e) = app.store.record_access(&by, &[record]).await {
            tracing::warn!(error = %e, "a refused access could not be recorded");
        }
        refusal
    }
}

/// The answer for an object the caller may not see: the same as for one that does not exist,
/// marked as a refusal for the security log.
pub fn hidden(what: &'static str) -> ApiError {
    ApiError::from(crate::domain::DomainError::NotFound(what)).denied()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(ApiError::unauthorized)
    }
}
