//! The port of doctors and patients.

use crate::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
use crate::domain::page::{Page, Paged};
use crate::domain::patient::{NewPatient, Patient, PatientPatch};
use crate::domain::user::Accessor;
use crate::domain::{DoctorId, DomainResult, PatientId};
use async_trait::async_trait;

/// Doctors and patients: the catalogue and the patient register.
#[async_trait]
pub trait PeopleStore: Send + Sync + 'static {
    /// Errors: `Duplicate` (e-mail or licence number taken).
    async fn create_doctor(&self, new: NewDoctor) -> DomainResult<Doctor>;
    /// Active doctors ordered by name, then id.
    async fn list_doctors(
        &self,
        specialization: Option<&str>,
        page: Page,
    ) -> DomainResult<Paged<Doctor>>;
    /// Errors: `NotFound("doctor")`.
    async fn get_doctor(&self, id: DoctorId) -> DomainResult<Doctor>;
    /// Errors: `NotFound("doctor")`.
    async fn update_doctor(&self, id: DoctorId, patch: DoctorPatch) -> DomainResult<Doctor>;

    /// Records the creation in the access log when `by` is a person. Errors: `Duplicate`.
    async fn create_patient(&self, new: NewPatient, by: Option<Accessor>) -> DomainResult<Patient>;
    /// Patients ordered by creation, then id.
    async fn list_patients(&self, page: Page) -> DomainResult<Paged<Patient>>;
    /// Patients matching `query` (see [`PatientQuery`]), those whose name starts with its first
    /// word first, then by name.
    async fn search_patients(
        &self,
        query: &crate::domain::patient::PatientQuery,
        page: Page,
    ) -> DomainResult<Paged<Patient>>;
    /// Errors: `NotFound("patient")`.
    async fn get_patient(&self, id: PatientId) -> DomainResult<Patient>;
    /// Records the update in the access log when `by` is a person.
    /// Errors: `NotFound("patient")`, `Duplicate` (e-mail taken).
    async fn update_patient(
        &self,
        id: PatientId,
        patch: PatientPatch,
        by: Option<Accessor>,
    ) -> DomainResult<Patient>;
}
