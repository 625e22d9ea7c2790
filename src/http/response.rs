//! The success envelope, serialised straight from typed data (no intermediate JSON tree).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::page::{Page, Paged};

#[derive(Serialize)]
struct Envelope<'a, T> {
    success: bool,
    message: &'a str,
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
}

#[derive(Serialize)]
struct Pagination {
    limit: i64,
    offset: i64,
    total: i64,
}

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
    let body = Envelope {
        success: true,
        message,
        data,
        pagination: None,
    };
    (status, axum::Json(body)).into_response()
}

/// 200 with one page of `data` and its pagination.
pub fn paged<T: Serialize>(message: &str, result: Paged<T>, page: Page) -> Response {
    let body = Envelope {
        success: true,
        message,
        data: result.items,
        pagination: Some(Pagination {
            limit: page.limit,
            offset: page.offset,
            total: result.total,
        }),
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}
