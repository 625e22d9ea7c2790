//! The HTTP layer: router, middleware, the OpenAPI contract and one module per resource.
//!
//! Every route is registered through `utoipa_axum::routes!`, so a route cannot be served
//! without being in the spec, nor listed in the spec without being served.

mod accounts;
mod appointments;
mod audit;
pub mod availability;
pub mod caller;
pub mod client;
mod docs;
mod doctors;
pub mod error;
mod extract;
pub mod fences;
mod fhir;
mod fields;
mod health;
mod input;
mod invitations;
mod limits;
pub mod linger;
mod links;
mod middleware;
mod moves;
mod openapi;
mod openapi_client;
mod openapi_rules;
mod outbox;
mod pages;
mod params;
mod patients;
pub mod policy;
mod response;
mod reviews;
mod routes;
mod rules;
mod schedules;
mod schema;
mod search;
mod second_factor;
mod shapes;
mod signup;
mod slots;
mod state;
mod time_off;
mod views;
mod waitlist;
mod webhooks;

use axum::Router;

use error::ApiError;

pub use routes::{document as openapi_document, spec};
pub use state::AppState;

pub use limits::Limits;

/// The whole application: the routes and the middleware stack.
pub fn router(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let max_in_flight = state.settings.max_in_flight;
    let cors = middleware::cors(&state.settings.cors_origins);
    let (routes, _) = routes::app_routes().split_for_parts();
    let app = routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            policy::authorize,
        ))
        .merge(pages::router(state.clone()))
        .merge(fhir::router(state.clone()))
        .fallback(|| async { ApiError::for_status(axum::http::StatusCode::NOT_FOUND) })
        .with_state(state);
    // Outermost, so that every error of a FHIR request (a timeout's or an oversized body's
    // too) is restated as an OperationOutcome.
    middleware::stack(app, timeout, cors, max_in_flight)
        .layer(axum::middleware::from_fn(fhir::outcome::restate))
}
