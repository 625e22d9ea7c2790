//! The HTTP layer: router, middleware and one module per resource.

mod appointments;
mod doctors;
pub mod error;
mod extract;
mod health;
mod middleware;
mod patients;
mod response;
mod slots;

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::Router;

use crate::config::Settings;
use crate::domain::page::Page;
use crate::domain::store::Store;
use error::ApiError;
use extract::QueryMap;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// Today in the clinic's time zone (bounds dates of birth).
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.settings.clinic_timezone)
            .date_naive()
    }
}

/// What handlers return.
pub type ApiResult = Result<Response, ApiError>;

fn page(q: &QueryMap) -> Result<Page, ApiError> {
    Ok(Page::parse(q.get("limit"), q.get("offset"))?)
}

fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/doctors", post(doctors::create).get(doctors::list))
        .route(
            "/doctors/specialization/{specialization}",
            get(doctors::by_specialization),
        )
        .route("/doctors/{id}", get(doctors::get).patch(doctors::update))
        .route(
            "/doctors/{id}/time-slots",
            post(slots::create).get(slots::list),
        )
        .route("/doctors/{id}/time-slots/bulk", post(slots::create_bulk))
        .route(
            "/doctors/{id}/time-slots/{slot_id}",
            patch(slots::set_status),
        )
        .route("/doctors/{id}/available-slots", get(slots::available))
        .route("/patients", post(patients::create).get(patients::list))
        .route("/patients/{id}", get(patients::get).patch(patients::update))
        .route("/appointments", post(appointments::book))
        .route("/appointments/{id}", get(appointments::get))
        .route("/appointments/{id}/history", get(appointments::history))
        .route("/appointments/{id}/confirm", post(appointments::confirm))
        .route("/appointments/{id}/cancel", post(appointments::cancel))
        .route("/appointments/{id}/complete", post(appointments::complete))
        .route("/appointments/patient/{id}", get(appointments::for_patient))
        .route("/appointments/doctor/{id}", get(appointments::for_doctor))
        .route("/health", get(health::live))
        .route("/health/ready", get(health::ready))
}

/// The whole application: routes under `/api` (health also at the root) and the middleware stack.
pub fn router(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let cors = middleware::cors(&state.settings.cors_origins);
    let app = Router::new()
        .nest("/api", api_routes())
        .route("/health", get(health::live))
        .route("/health/ready", get(health::ready))
        .fallback(|| async { ApiError::for_status(axum::http::StatusCode::NOT_FOUND) })
        .with_state(state);
    middleware::stack(app, timeout, cors)
}
