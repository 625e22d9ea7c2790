//! The one error type of the HTTP layer and its JSON envelope.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{DomainError, FieldError};

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"success": false, "message": "The request has invalid fields",
    "error": {"code": "VALIDATION_ERROR", "details": [{"field": "email", "message": "must be a valid e-mail address"}]}}))]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// A sentence for humans.
    pub message: String,
    pub error: ErrorInfo,
}

/// The machine-readable part of an error.
#[derive(Serialize, ToSchema)]
pub struct ErrorInfo {
    /// A stable code: VALIDATION_ERROR, NOT_FOUND, METHOD_NOT_ALLOWED, DUPLICATE,
    /// SLOT_UNAVAILABLE, ALREADY_BOOKED, HOLD_EXPIRED, INVALID_TRANSITION, PAYLOAD_TOO_LARGE,
    /// URI_TOO_LONG, HEADERS_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, IDEMPOTENCY_KEY_REUSED,
    /// SERVICE_UNAVAILABLE, INTERNAL_ERROR, UNAUTHORIZED, INVALID_CREDENTIALS, FORBIDDEN,
    /// RATE_LIMITED, HOLD_LIMIT, TOO_LATE, ALREADY_REVIEWED.
    pub code: &'static str,
    /// Every field at fault, for VALIDATION_ERROR.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldDetail>,
}

/// One field at fault.
#[derive(Serialize, ToSchema)]
pub struct FieldDetail {
    /// The field's path as the client sent it (`slots[3].slot_time`), or a header's name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// What an error answer said, kept in the response's extensions beside its body, so that
/// another face of the same use cases (the FHIR facade) can restate it in its own shape.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    /// (field, message) for each field at fault.
    pub details: Vec<(String, String)>,
}

/// An error answer: a status, a stable machine code, a sentence, and field details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
    /// A refusal for lack of access (a 403, or a 404 hiding an object that is not the
    /// caller's): the authorizer logs it as a security event.
    pub denied: bool,
    /// For a 401 about a bearer token that was sent: why it is refused (RFC 6750's
    /// `error_description` of `invalid_token`).
    pub invalid_token: Option<&'static str>,
}

/// Marks a response that refused access, for the security log.
#[derive(Debug, Clone, Copy)]
pub struct Denied;

impl ApiError {
    /// An error without field details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            denied: false,
            invalid_token: None,
        }
    }

    /// 401 for a bearer token that was sent and is refused: `WWW-Authenticate` says
    /// `invalid_token` and why (an expired token can be refreshed; others need a new login).
    pub fn invalid_token(description: &'static str) -> Self {
        let message = if description == "token expired" {
            "The access token expired; refresh it"
        } else {
            "A valid access token is required"
        };
        Self {
            invalid_token: Some(description),
            ..Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
        }
    }

    /// The same error, marked as a refusal for lack of access.
    pub fn denied(self) -> Self {
        Self {
            denied: true,
            ..self
        }
    }

    /// 401: no usable credentials. Sent with `WWW-Authenticate: Bearer`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid access token is required",
        )
    }

    /// 401 for a login or refresh that failed, saying nothing of why.
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
            "Invalid credentials",
        )
    }

    /// 403: the caller's role may not do this.
    pub fn forbidden() -> Self {
        Self::refused("You are not allowed to do this")
    }

    /// 403 saying which rule refused, without naming anything the caller may not see.
    pub fn refused(rule: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", rule).denied()
    }

    /// 429 with the seconds to wait.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many requests; try again later",
            )
        }
    }

    /// The answer for a status produced outside our handlers (router, limits, timeouts).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("NOT_FOUND", "The requested resource was not found"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "METHOD_NOT_ALLOWED",
                "This method is not allowed on this resource",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB")
            }
            StatusCode::URI_TOO_LONG => ("URI_TOO_LONG", "The request URI is too long"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                ("HEADERS_TOO_LARGE", "The request headers are too large")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("UNSUPPORTED_MEDIA_TYPE", "The request body must be JSON")
            }
            StatusCode::SERVICE_UNAVAILABLE => (
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable; try again",
            ),
            StatusCode::BAD_REQUEST => ("VALIDATION_ERROR", "The request could not be understood"),
            StatusCode::UNAUTHORIZED => return Self::unauthorized(),
            StatusCode::FORBIDDEN => return Self::forbidden(),
            StatusCode::TOO_MANY_REQUESTS => return Self::rate_limited(60),
            s if s.is_client_error() => ("BAD_REQUEST", "The request could not be understood"),
            _ => ("INTERNAL_ERROR", "An unexpected error occurred"),
        };
        Self::new(status, code, message)
    }

    /// A 400 about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        DomainError::field(field, message).into()
    }
}

fn capitalised(what: &str) -> String {
    let mut c = what.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use StatusCode as S;
        match e {
            DomainError::Validation(details) => Self {
                details,
                ..Self::new(
                    S::BAD_REQUEST,
                    "VALIDATION_ERROR",
                    "The request has invalid fields",
                )
            },
            DomainError::NotFound(what) => Self::new(
                S::NOT_FOUND,
                "NOT_FOUND",
                format!("{} not found", capitalised(what)),
            ),
            // Another patient's appointment reads as no appointment at all.
            DomainError::OutOfReach(_) => {
                Self::new(S::NOT_FOUND, "NOT_FOUND", "Appointment not found").denied()
            }
            DomainError::Duplicate(m) => Self::new(S::CONFLICT, "DUPLICATE", m),
            DomainError::SlotUnavailable(m) => Self::new(S::CONFLICT, "SLOT_UNAVAILABLE", m),
            DomainError::AlreadyBooked => Self::new(
                S::CONFLICT,
                "ALREADY_BOOKED",
                "This patient already holds a live appointment on this time slot",
            ),
            DomainError::HoldExpired => Self::new(
                S::CONFLICT,
                "HOLD_EXPIRED",
                "The booking hold expired before it was confirmed; please book again",
            ),
            DomainError::Conflict { code, message } => Self::new(S::CONFLICT, code, message),
            e @ DomainError::InvalidTransition { .. } => Self::new(
                S::CONFLICT,
                "INVALID_TRANSITION",
                capitalised(&e.to_string()),
            ),
            DomainError::HoldLimit(max) => Self::new(
                S::CONFLICT,
                "HOLD_LIMIT",
                format!("This patient already holds {max} pending appointments; confirm or cancel one first"),
            ),
            DomainError::TooLate(m) => Self::new(S::CONFLICT, "TOO_LATE", m),
            DomainError::AlreadyReviewed => Self::new(
                S::CONFLICT,
                "ALREADY_REVIEWED",
                "This appointment has already been reviewed",
            ),
            DomainError::IdempotencyKeyReused => Self::new(
                S::UNPROCESSABLE_ENTITY,
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was already used with a different request",
            ),
            DomainError::Unavailable(cause) => {
                tracing::warn!(error = %chain(&*cause), "database unavailable");
                crate::observability::unavailable(crate::store::unavailable_cause(&*cause));
                Self::for_status(S::SERVICE_UNAVAILABLE)
            }
            DomainError::Internal(cause) => {
                tracing::error!(error = %chain(&*cause), "internal error");
                Self::for_status(S::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// The error and all its sources on one line, for logs only.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            code: self.code,
            message: self.message.clone(),
            details: (self.details.iter())
                .map(|d| (d.field.clone(), d.message.clone()))
                .collect(),
        };
        let details = self
            .details
            .into_iter()
            .map(|d| FieldDetail {
                field: d.field,
                message: d.message,
            })
            .collect();
        let body = ErrorBody {
            success: false,
            message: self.message,
            error: ErrorInfo {
                code: self.code,
                details,
            },
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.extensions_mut().insert(problem);
        if self.denied {
            res.extensions_mut().insert(Denied);
        }
        let retry_after = match self.status {
            StatusCode::SERVICE_UNAVAILABLE => Some(self.retry_after.unwrap_or(1)),
            _ => self.retry_after,
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let value = match self.invalid_token {
                Some(why) => format!(
                    "Bearer realm=\"carebook\", error=\"invalid_token\", error_description=\"{why}\""
                ),
                None => "Bearer realm=\"carebook\"".to_owned(),
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_say_nothing_internal() {
        let e: ApiError = DomainError::Internal("relation \"x\" does not exist".into()).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("relation"));
        let e: ApiError = DomainError::NotFound("time slot").into();
        assert_eq!(e.message, "Time slot not found");
    }
}
