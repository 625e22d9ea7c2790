//! An HL7 FHIR R4 scheduling facade at `/fhir/R4` over carebook's own use cases: the same
//! records (no copy), roles, ownership rules, access records, idempotency and audit as the
//! JSON API. Its contract is its `CapabilityStatement` (`GET /fhir/R4/metadata`); the role
//! table ([`crate::http::policy::RULES`]) has a row for each route.

mod appointments;
mod audit_events;
mod capability;
mod operations;
pub mod outcome;
mod patients;
mod people;
mod resources;
mod search;
mod slots;

use axum::routing::{get, post};
use axum::Router;

use super::state::AppState;

pub(super) use capability::scopes;

/// The facade's routes, behind the same authorizer as the API's.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/fhir/R4/metadata", get(capability::metadata))
        .route(
            "/fhir/R4/.well-known/smart-configuration",
            get(capability::smart),
        )
        .route("/fhir/R4/Practitioner", get(people::practitioners))
        .route("/fhir/R4/Practitioner/{id}", get(people::practitioner_read))
        .route("/fhir/R4/PractitionerRole", get(people::roles))
        .route("/fhir/R4/PractitionerRole/{id}", get(people::role_read))
        .route("/fhir/R4/Schedule", get(people::schedules))
        .route("/fhir/R4/Schedule/{id}", get(people::schedule_read))
        .route("/fhir/R4/Slot", get(slots::search))
        .route("/fhir/R4/Slot/{id}", get(slots::read))
        .route("/fhir/R4/Patient", get(patients::search))
        .route("/fhir/R4/Patient/{id}", get(patients::read))
        .route("/fhir/R4/Appointment", get(appointments::search))
        .route("/fhir/R4/Appointment/{id}", get(appointments::read))
        .route("/fhir/R4/Appointment/$find", post(operations::find))
        .route("/fhir/R4/Appointment/$hold", post(operations::hold))
        .route("/fhir/R4/Appointment/$book", post(operations::book))
        .route("/fhir/R4/AuditEvent", get(audit_events::search))
        .route("/fhir/R4/AuditEvent/{id}", get(audit_events::read))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::policy::authorize,
        ))
        .route_layer(axum::middleware::from_fn(outcome::negotiate))
}
