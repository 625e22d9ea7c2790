//! The success envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::domain::page::{Page, Paged};

/// 200 with `data`.
pub fn ok<T: Serialize>(message: &str, data: T) -> Response {
    with_status(StatusCode::OK, message, data)
}

/// 201 with `data`.
pub fn created<T: Serialize>(message: &str, data: T) -> Response {
    with_status(StatusCode::CREATED, message, data)
}

/// `status` with `data`.
pub fn with_status<T: Serialize>(status: StatusCode, message: &str, data: T) -> Response {
    (
        status,
        axum::Json(json!({ "success": true, "message": message, "data": data })),
    )
        .into_response()
}

/// 200 with one page of `data` and its pagination.
pub fn paged<T: Serialize>(message: &str, result: Paged<T>, page: Page) -> Response {
    let body = json!({
        "success": true,
        "message": message,
        "data": result.items,
        "pagination": { "limit": page.limit, "offset": page.offset, "total": result.total },
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}
