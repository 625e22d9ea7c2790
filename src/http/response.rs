//! The success envelope, typed: handlers return [`Reply`] or [`PageReply`] of a view type, and
//! the same types name the response schemas in the OpenAPI spec.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::page::{Page, Paged};

/// `{"success": true, "message": …, "data": …}`.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    pub success: bool,
    /// A sentence for humans.
    pub message: String,
    pub data: T,
}

/// A page of a list: the envelope with `pagination`.
#[derive(Serialize, ToSchema)]
pub struct PagedEnvelope<T> {
    /// Always `true`.
    pub success: bool,
    /// A sentence for humans.
    pub message: String,
    pub data: Vec<T>,
    pub pagination: Pagination,
}

/// Where a page sits in the whole list.
#[derive(Serialize, ToSchema)]
pub struct Pagination {
    /// Items asked for (after clamping to 100).
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
    /// Matches in all.
    pub total: i64,
}

/// A success answer carrying `data`.
pub struct Reply<T> {
    status: StatusCode,
    message: Cow<'static, str>,
    data: T,
}

impl<T> Reply<T> {
    /// The data answered, for a caller inside carebook (a page) rather than over HTTP.
    pub fn into_data(self) -> T {
        self.data
    }
}

/// 200 with `data`.
pub fn ok<T>(message: impl Into<Cow<'static, str>>, data: T) -> Reply<T> {
    Reply {
        status: StatusCode::OK,
        message: message.into(),
        data,
    }
}

/// 201 with `data`.
pub fn created<T>(message: impl Into<Cow<'static, str>>, data: T) -> Reply<T> {
    Reply {
        status: StatusCode::CREATED,
        message: message.into(),
        data,
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            success: true,
            message: self.message.into_owned(),
            data: self.data,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// A 200 answer carrying one page of a list.
pub struct PageReply<T> {
    message: &'static str,
    result: Paged<T>,
    page: Page,
}

/// 200 with one page of `data` and its pagination.
pub fn paged<T>(message: &'static str, result: Paged<T>, page: Page) -> PageReply<T> {
    PageReply {
        message,
        result,
        page,
    }
}

impl<T: Serialize> IntoResponse for PageReply<T> {
    fn into_response(self) -> Response {
        let body = PagedEnvelope {
            success: true,
            message: self.message.to_owned(),
            data: self.result.items,
            pagination: Pagination {
                limit: self.page.limit,
                offset: self.page.offset,
                total: self.result.total,
            },
        };
        (StatusCode::OK, axum::Json(body)).into_response()
    }
}
