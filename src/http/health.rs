//! Liveness and readiness.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::response::{self, Envelope, Reply};
use super::state::AppState;

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
    /// Always `up`: the primary, which every write and every fresh read needs.
    #[schema(example = "up")]
    database: &'static str,
    /// The read replica (`DATABASE_READ_URL`), when set: `up`, or `down` while pure reads
    /// answer 503. A dead replica does not make the instance unready: every instance shares
    /// it, and writes still work.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "up")]
    replica: Option<&'static str>,
    /// This instance's background jobs: informational only. A stuck job does not make the
    /// instance unready (every instance would be dropped at once); alert on
    /// `carebook_job_last_success_timestamp_seconds` instead.
    jobs: Vec<JobReport>,
}

/// One background job as readiness reports it.
#[derive(Serialize, ToSchema)]
pub struct JobReport {
    /// `expiry`, `schedules`, `revocations`, `reminders` or `outbox`.
    #[schema(example = "outbox")]
    job: &'static str,
    /// When a step last ended well; `null` before the first.
    last_success: Option<chrono::DateTime<chrono::Utc>>,
    /// Steps failed (errors or panics) since the last success.
    consecutive_failures: u64,
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
/// 200 when the (primary) database answers, else 503. With a read replica, `replica` says
/// whether it answers. `jobs` reports each background job's last success and consecutive
/// failures without changing the status: readiness is about serving requests.
#[utoipa::path(get, path = "/health/ready", tag = "operations", operation_id = "readiness",
    responses(
        (status = 200, description = "Ready", body = Envelope<Ready>),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: the database does not answer", body = ErrorBody),
    ))]
pub async fn ready(State(app): State<AppState>) -> Result<Reply<Ready>, ApiError> {
    app.store.ping().await?;
    let replica = app.store.ping_replica().await.map(|r| match r {
        Ok(()) => "up",
        Err(e) => {
            tracing::warn!(error = %e, "the read replica does not answer");
            "down"
        }
    });
    Ok(response::ok(
        "carebook is ready",
        Ready {
            status: "ready",
            database: "up",
            replica,
            jobs: app
                .jobs
                .snapshot()
                .into_iter()
                .map(|(job, s)| JobReport {
                    job,
                    last_success: s.last_success,
                    consecutive_failures: s.consecutive_failures,
                })
                .collect(),
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
