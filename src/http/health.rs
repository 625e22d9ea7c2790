//! Liveness and readiness.

use axum::extract::State;
use serde_json::json;

use super::{response, ApiResult, AppState};

/// `GET /health`: the process answers; no database call.
pub async fn live() -> ApiResult {
    Ok(response::ok(
        "carebook is running",
        json!({ "status": "ok" }),
    ))
}

/// `GET /health/ready`: 200 when the database answers, 503 otherwise.
pub async fn ready(State(app): State<AppState>) -> ApiResult {
    app.store.ping().await?;
    Ok(response::ok(
        "carebook is ready",
        json!({ "status": "ready", "database": "up" }),
    ))
}
