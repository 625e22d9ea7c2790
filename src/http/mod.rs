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
mod health;
mod input;
mod invitations;
mod limits;
pub mod linger;
mod middleware;
mod moves;
mod openapi;
mod openapi_client;
mod openapi_rules;
mod outbox;
mod params;
mod patients;
pub mod policy;
mod response;
mod reviews;
mod schedules;
mod schema;
mod search;
mod second_factor;
mod shapes;
mod signup;
mod slots;
mod time_off;
mod views;
mod waitlist;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::config::Settings;
use crate::domain::store::Store;
use crate::domain::DomainError;
use error::ApiError;

pub use openapi::document as openapi_document;

pub use limits::Limits;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub auth: Arc<Auth>,
    pub limits: Arc<Limits>,
    /// Ready answers of `GET /doctors/{id}/available-slots`.
    pub availability: Arc<availability::AvailabilityCache>,
    /// How this instance's background jobs fare (`/health/ready`).
    pub jobs: Arc<crate::jobs::health::JobHealth>,
    /// Sends the account e-mails (verification, invitation, password reset).
    pub mail: Arc<crate::notify::email::account::AccountMail>,
}

impl AppState {
    /// Today in the clinic's time zone (bounds dates of birth).
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.settings.clinic_timezone)
            .date_naive()
    }
}

/// A required field of a request that passed validation. The `None` arm cannot happen after
/// garde's `required` rule; it answers a 400 rather than panicking if it ever did.
fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| DomainError::field(field, "is required").into())
}

/// serde `deserialize_with` for PATCH fields that may be left out but not cleared.
fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("must not be null")),
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(doctors::create, doctors::list))
        .routes(routes!(doctors::by_specialization))
        .routes(routes!(doctors::get, doctors::update))
        .routes(routes!(slots::create, slots::list))
        .routes(routes!(slots::create_bulk))
        .routes(routes!(slots::set_status, slots::delete_slot))
        .routes(routes!(slots::available))
        .routes(routes!(schedules::create, schedules::list))
        .routes(routes!(schedules::update, schedules::delete))
        .routes(routes!(time_off::create, time_off::list))
        .routes(routes!(time_off::delete))
        .routes(routes!(patients::create, patients::list))
        .routes(routes!(patients::get, patients::update))
        .routes(routes!(appointments::book))
        .routes(routes!(appointments::get))
        .routes(routes!(appointments::history))
        .routes(routes!(appointments::confirm))
        .routes(routes!(appointments::cancel))
        .routes(routes!(appointments::complete))
        .routes(routes!(moves::reschedule))
        .routes(routes!(moves::no_show))
        .routes(routes!(reviews::create))
        .routes(routes!(reviews::list))
        .routes(routes!(appointments::for_patient))
        .routes(routes!(appointments::for_doctor))
        .routes(routes!(signup::register))
        .routes(routes!(signup::verify))
        .routes(routes!(signup::password_reset))
        .routes(routes!(signup::password_reset_confirm))
        .routes(routes!(invitations::invite))
        .routes(routes!(invitations::accept))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::change_password))
        .routes(routes!(
            second_factor::totp_enrol,
            second_factor::totp_remove
        ))
        .routes(routes!(second_factor::totp_confirm))
        .routes(routes!(second_factor::totp_reset))
        .routes(routes!(accounts::create_user, accounts::list_users))
        .routes(routes!(accounts::update_user))
        .routes(routes!(audit::access))
        .routes(routes!(audit::patient_log))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(openapi::serve))
        .routes(routes!(openapi::serve_yaml))
        .routes(routes!(search::find))
        .routes(routes!(waitlist::join, waitlist::list))
        .routes(routes!(waitlist::leave))
        .routes(routes!(outbox::list))
        .routes(routes!(outbox::retry))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
}

/// Every route with its OpenAPI description.
fn app_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .nest("/api", api_routes())
        .routes(routes!(health::root_live))
        .routes(routes!(health::root_ready))
        .routes(routes!(docs::page))
        .routes(routes!(docs::file))
}

/// The OpenAPI document of every served route.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = app_routes().split_for_parts();
    openapi::add_common_responses(&mut doc);
    openapi::add_security(&mut doc);
    openapi::complete_sign_up(&mut doc);
    openapi::add_links(&mut doc);
    doc
}

/// The whole application: the routes and the middleware stack.
pub fn router(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let max_in_flight = state.settings.max_in_flight;
    let cors = middleware::cors(&state.settings.cors_origins);
    let (routes, _) = app_routes().split_for_parts();
    let app = routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            policy::authorize,
        ))
        .fallback(|| async { ApiError::for_status(axum::http::StatusCode::NOT_FOUND) })
        .with_state(state);
    middleware::stack(app, timeout, cors, max_in_flight)
}
