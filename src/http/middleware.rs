//! Request ids, tracing, limits, timeouts, CORS, and the JSON envelope for errors that arise
//! outside handlers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::error::ApiError;

pub(super) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// A client's own request id, kept apart from ours and echoed back.
pub(super) const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Longest request URI (path and query) accepted.
pub const URI_LIMIT: usize = 8 * 1024;
/// Largest total size of request headers (names and values) accepted.
pub const HEADERS_LIMIT: usize = 32 * 1024;

/// Wraps `app` in the middleware every route shares.
pub fn stack(
    app: Router,
    timeout: Duration,
    cors: Option<CorsLayer>,
    max_in_flight: usize,
) -> Router {
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let layers = ServiceBuilder::new()
        .layer(axum::middleware::from_fn(crate::observability::track_requests))
        .layer(axum::middleware::from_fn(client_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn_with_state(permits, shed_load))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    // Route templates and ids only: paths and queries may carry personal data.
                    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
                    let rid = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                    let cid = req.headers().get(CORRELATION_ID).and_then(|v| v.to_str().ok());
                    tracing::info_span!("request", method = %req.method(), route = route.as_deref().unwrap_or("unmatched"), request_id = rid, correlation_id = cid)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn(envelope_errors))
        .layer(axum::middleware::from_fn(refuse_oversized))
        // A declared Content-Length over the limit is refused before any byte is read, so a
        // client that announces a large body and sends nothing gets 413 at once.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT));
    // CORS goes inside the request-id layers so preflight answers carry an id too.
    let app = match cors {
        Some(c) => app.layer(c),
        None => app,
    };
    app.layer(layers)
}

/// Load shedding: past `MAX_IN_FLIGHT` requests being answered at once, a request is answered
/// 503 with `Retry-After` at once instead of queueing without bound behind the others.
async fn shed_load(State(permits): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    let Ok(_permit) = permits.try_acquire() else {
        crate::observability::unavailable("overloaded");
        return ApiError::for_status(StatusCode::SERVICE_UNAVAILABLE).into_response();
    };
    next.run(req).await
}

/// The request id in logs and the audit trail is always our own. A client's `X-Request-Id`
/// (or `X-Correlation-Id`), when short and plain, is kept as a separate correlation id: logged
/// beside ours and echoed back as `X-Correlation-Id`, never mistaken for ours.
async fn client_request_id(mut req: Request, next: Next) -> Response {
    let plain = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=64).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    let headers = req.headers_mut();
    let theirs = headers
        .remove(CORRELATION_ID)
        .into_iter()
        .chain(headers.remove(REQUEST_ID))
        .find(plain);
    if let Some(v) = &theirs {
        headers.insert(CORRELATION_ID, v.clone());
    }
    let mut res = next.run(req).await;
    if let Some(v) = theirs {
        res.headers_mut().insert(CORRELATION_ID, v);
    }
    res
}

/// Refuses a URI or headers larger than carebook serves, with the envelope and a request id.
/// (hyper itself refuses far larger ones, before any of our code runs: see the README.)
async fn refuse_oversized(req: Request, next: Next) -> Response {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > URI_LIMIT {
        return ApiError::for_status(StatusCode::URI_TOO_LONG).into_response();
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers > HEADERS_LIMIT {
        return ApiError::for_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
    }
    next.run(req).await
}

/// Marks an answer of the pages for people, whose errors are pages too: the API's error
/// envelope is not put over them.
#[derive(Clone, Copy)]
pub struct PageAnswer;

/// Gives error responses made outside our handlers (405, 413, timeouts, extractor rejections)
/// the same JSON envelope as ours.
async fn envelope_errors(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    // Every answer, error or not: browsers must not guess a type other than the one we send.
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // API answers are data, never a page to render or frame; a page (the docs) sets its own.
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was not read (it may not even have been sent): the connection cannot carry
        // another request, so say so, or a client may reuse it and see it closed under it.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    // A page's error is a page: the person reads it in a browser.
    let is_page = res.extensions().get::<PageAnswer>().is_some();
    if (status.is_client_error() || status.is_server_error()) && !is_json && !is_page {
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Our own 503s carry the envelope already: a bare one is the request timeout's.
            crate::observability::unavailable("timeout");
        }
        let mut replaced = ApiError::for_status(status).into_response();
        for name in [
            header::ALLOW,
            header::CONNECTION,
            header::X_CONTENT_TYPE_OPTIONS,
            header::CACHE_CONTROL,
            header::CONTENT_SECURITY_POLICY,
            header::REFERRER_POLICY,
        ] {
            if let Some(v) = res.headers().get(&name).cloned() {
                replaced.headers_mut().insert(name, v);
            }
        }
        return replaced;
    }
    res
}

/// CORS from a comma-separated origin list; `*` allows any origin; empty disables CORS.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    // Headers are mirrored rather than `*`: browsers never let `*` cover `Authorization`.
    let base = CorsLayer::new()
        .allow_methods(Any)
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .expose_headers([
            REQUEST_ID,
            CORRELATION_ID,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
        ]);
    if origins.iter().any(|o| o == "*") {
        return Some(base.allow_origin(Any));
    }
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    Some(
        base.allow_origin(AllowOrigin::list(list))
            .max_age(Duration::from_secs(600)),
    )
}
