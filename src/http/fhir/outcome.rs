//! FHIR's answers: the media type, resources with their version headers, and every error
//! under `/fhir/` restated as an `OperationOutcome` (the use cases answer [`ApiError`]s, which
//! leave a [`Problem`] beside their body; [`restate`] turns that into FHIR's shape).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::http::error::{ApiError, Problem};

/// FHIR's JSON media type, which every answer of the facade carries.
pub const MEDIA: &str = "application/fhir+json";
/// The code system of carebook's own error codes inside an `OperationOutcome`.
pub const ERROR_CODES: &str = "urn:carebook:error-code";

/// FHIR's `IssueType` for a carebook error code.
pub fn issue_code(status: StatusCode, code: &str) -> &'static str {
    match code {
        "NOT_FOUND" => "not-found",
        "VALIDATION_ERROR" | "UNSUPPORTED_MEDIA_TYPE" => "invalid",
        "PAYLOAD_TOO_LARGE" | "URI_TOO_LONG" | "HEADERS_TOO_LARGE" => "too-long",
        "DUPLICATE" => "duplicate",
        "SLOT_UNAVAILABLE" | "ALREADY_BOOKED" | "IDEMPOTENCY_KEY_REUSED" => "conflict",
        "HOLD_EXPIRED" | "INVALID_TRANSITION" | "HOLD_LIMIT" | "TOO_LATE" | "ALREADY_REVIEWED" => {
            "business-rule"
        }
        // FHIR has finer codes (login, forbidden); the coarse one is what clients match on,
        // and carebook's own code beside it says which.
        "UNAUTHORIZED" | "INVALID_CREDENTIALS" | "FORBIDDEN" => "security",
        "RATE_LIMITED" => "throttled",
        "METHOD_NOT_ALLOWED" | "NOT_ACCEPTABLE" => "not-supported",
        "PRECONDITION_FAILED" => "multiple-matches",
        "SERVICE_UNAVAILABLE" => "transient",
        _ if status.is_server_error() => "exception",
        _ => "processing",
    }
}

/// The `OperationOutcome` of an error: one issue for the error, one per field at fault.
pub fn outcome(status: StatusCode, problem: &Problem) -> Value {
    let mut issues = vec![json!({
        "severity": "error",
        "code": issue_code(status, problem.code),
        "details": {
            "coding": [{"system": ERROR_CODES, "code": problem.code}],
            "text": problem.message,
        },
    })];
    issues.extend(problem.details.iter().map(|(field, message)| {
        json!({"severity": "error", "code": "invalid", "diagnostics": format!("{field}: {message}")})
    }));
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// Restates every error answer of a `/fhir/` request (a handler's, the authorizer's, the
/// router's 404 and 405) as an `OperationOutcome`, keeping its status and headers.
pub async fn restate(req: Request, next: Next) -> Response {
    let fhir = req.uri().path().starts_with("/fhir/");
    let res = next.run(req).await;
    let Some(problem) = res.extensions().get::<Problem>().filter(|_| fhir).cloned() else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    let body = outcome(parts.status, &problem).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA));
    Response::from_parts(parts, Body::from(body))
}

/// Refuses (406) a request that accepts no JSON: an `Accept` naming none of `*/*`,
/// `application/*` or a JSON type, or a `_format` other than JSON. The facade speaks FHIR's
/// JSON only.
pub async fn negotiate(req: Request, next: Next) -> Response {
    fn json(media: &str) -> bool {
        let m = media
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        m == "*/*" || m == "application/*" || m.ends_with("json")
    }
    let refused = {
        let mut accepts = (req.headers().get_all(header::ACCEPT).iter())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .peekable();
        let accepts_none = accepts.peek().is_some() && !accepts.any(json);
        let format = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "_format")
            .map(|(_, v)| v.into_owned());
        accepts_none || format.is_some_and(|f| !json(&f))
    };
    if refused {
        return ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "This server answers in FHIR's JSON only (application/fhir+json)",
        )
        .into_response();
    }
    next.run(req).await
}

/// A FHIR resource or Bundle as the answer, with the FHIR media type.
pub fn answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA))],
        body.to_string(),
    )
        .into_response()
}

/// A resource read: its version as a weak `ETag` and `Last-Modified`, or 304 when the client's
/// `If-None-Match` names that version.
pub fn versioned(headers: &HeaderMap, resource: &Value) -> Response {
    let version = resource["meta"]["versionId"].as_str().unwrap_or_default();
    let etag = format!("W/\"{version}\"");
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.strip_prefix("W/").unwrap_or(t) == &etag[2..]
        });
    let mut res = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        answer(StatusCode::OK, resource)
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    let modified = resource["meta"]["lastUpdated"].as_str();
    let modified = modified.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let http_date = modified.map(|t| t.to_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    if let Some(v) = http_date.and_then(|t| HeaderValue::from_str(&t).ok()) {
        res.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    res
}

/// Where the facade is served from: `PUBLIC_URL` when set, else the request's own host.
pub fn base(app: &crate::http::state::AppState, headers: &HeaderMap) -> String {
    let root = match &app.settings.security.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{root}/fhir/R4")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_an_issue_type_of_its_class() {
        let s = StatusCode::CONFLICT;
        assert_eq!(issue_code(s, "SLOT_UNAVAILABLE"), "conflict");
        assert_eq!(issue_code(s, "HOLD_LIMIT"), "business-rule");
        assert_eq!(issue_code(StatusCode::NOT_FOUND, "NOT_FOUND"), "not-found");
        assert_eq!(issue_code(StatusCode::FORBIDDEN, "FORBIDDEN"), "security");
        assert_eq!(
            issue_code(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            "throttled"
        );
        assert_eq!(
            issue_code(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
            "transient"
        );
        assert_eq!(
            issue_code(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
            "exception"
        );
    }
}
