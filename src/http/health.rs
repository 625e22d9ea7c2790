//! Liveness and readiness.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::response::{self, Envelope, Reply};
use super::AppState;

/// Liveness.
#[derive(Serialize, ToSchema)]
pub struct Live {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Readiness.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// Always `up`.
    #[schema(example = "up")]
    database: &'static str,
}

/// Liveness
///
/// The process answers; no database call.
#[utoipa::path(get, path = "/health", tag = "operations", operation_id = "health",
    responses((status = 200, description = "Running", body = Envelope<Live>)))]
pub async fn live() -> Reply<Live> {
    response::ok("carebook is running", Live { status: "ok" })
}

/// Readiness
///
/// 200 when the database answers, else 503.
#[utoipa::path(get, path = "/health/ready", tag = "operations", operation_id = "readiness",
    responses(
        (status = 200, description = "Ready", body = Envelope<Ready>),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: the database does not answer", body = ErrorBody),
    ))]
pub async fn ready(State(app): State<AppState>) -> Result<Reply<Ready>, ApiError> {
    app.store.ping().await?;
    Ok(response::ok(
        "carebook is ready",
        Ready {
            status: "ready",
            database: "up",
        },
    ))
}

/// Liveness (also at the root)
///
/// The same as `/api/health`, for load balancers.
#[utoipa::path(get, path = "/health", tag = "operations", operation_id = "rootHealth",
    responses((status = 200, description = "Running", body = Envelope<Live>)))]
pub async fn root_live() -> Reply<Live> {
    live().await
}

/// Readiness (also at the root)
///
/// The same as `/api/health/ready`, for load balancers.
#[utoipa::path(get, path = "/health/ready", tag = "operations", operation_id = "rootReadiness",
    responses(
        (status = 200, description = "Ready", body = Envelope<Ready>),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: the database does not answer", body = ErrorBody),
    ))]
pub async fn root_ready(state: State<AppState>) -> Result<Reply<Ready>, ApiError> {
    ready(state).await
}
