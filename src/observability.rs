//! Prometheus metrics: the recorder, the names of every series, and the private listener that
//! serves them on `METRICS_ADDR`.
//!
//! Built on the `metrics` facade with `metrics-exporter-prometheus` as the recorder (without
//! its own HTTP listener: `/metrics` is a route of a second axum listener, so it shares our
//! stack and shutdown). Labels are small closed sets — route templates, methods, status
//! classes, SQLSTATEs, error codes — never ids or anything a client typed.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::store::Store;

/// Requests answered, by `method`, `route` (template) and `status_class` (`2xx` …).
pub const HTTP_REQUESTS: &str = "carebook_http_requests_total";
/// Time to answer, by the same labels.
pub const HTTP_DURATION: &str = "carebook_http_request_duration_seconds";
/// Requests being answered now.
pub const HTTP_IN_FLIGHT: &str = "carebook_http_requests_in_flight";
/// Pool connections by `pool` (`write`, `read`) and `state` (`in_use`, `idle`), at scrape.
pub const POOL_CONNECTIONS: &str = "carebook_db_pool_connections";
/// Most connections a pool may open, by `pool`.
pub const POOL_MAX: &str = "carebook_db_pool_max_connections";
/// How long taking one connection from each pool took at the last scrape, by `pool`.
pub const POOL_ACQUIRE: &str = "carebook_db_pool_acquire_seconds";
/// WAL the read replica has still to replay, in bytes (only with `DATABASE_READ_URL`).
pub const REPLICA_LAG_BYTES: &str = "carebook_replica_lag_bytes";
/// How long the read replica has had WAL to replay, in seconds (only with `DATABASE_READ_URL`).
pub const REPLICA_LAG_SECONDS: &str = "carebook_replica_lag_seconds";
/// Transaction attempts that failed with a retryable error, by `sqlstate`.
pub const DB_RETRIES: &str = "carebook_db_retries_total";
/// Transactions by final `outcome`: `committed`, `committed_after_retry`, `refused` (a domain
/// answer such as a full slot), `retries_exhausted`, `failed`.
pub const DB_TRANSACTIONS: &str = "carebook_db_transactions_total";
/// 503 answers by `cause`: `database`, `retries_exhausted`, `pool_timeout`, `lock_timeout`,
/// `statement_timeout`, `timeout` (the request timeout), `overloaded` (`MAX_IN_FLIGHT`).
pub const UNAVAILABLE: &str = "carebook_unavailable_total";
/// Booking requests by `outcome` (`booked`, `replayed`, `refused`, `error`) and error `code`.
pub const BOOKINGS: &str = "carebook_bookings_total";
/// Holds by `event`: `created`, `confirmed`, `expired`.
pub const HOLDS: &str = "carebook_holds_total";
/// Expiry sweeps by `outcome` (`ok`, `error`).
pub const SWEEPS: &str = "carebook_sweeper_runs_total";
/// Holds expired by the sweeper.
pub const SWEPT: &str = "carebook_sweeper_expired_total";
/// When each background `job` last ended a step well (Unix seconds).
pub const JOB_LAST_SUCCESS: &str = "carebook_job_last_success_timestamp_seconds";
/// Failed steps (errors and panics) of each background `job`.
pub const JOB_FAILURES: &str = "carebook_job_failures_total";
/// Outbox delivery attempts settled, by `channel` and `outcome` (`delivered`, `skipped`,
/// `retry`, `dead`).
pub const OUTBOX_SETTLED: &str = "carebook_outbox_settled_total";
/// Requests refused because the object or route is not the caller's, by `route` and `status`.
pub const ACCESS_DENIED: &str = "carebook_access_denied_total";
/// Always 1, labelled with the `version`.
pub const BUILD_INFO: &str = "carebook_build_info";

/// Latency buckets in seconds, from 1 ms to the 30 s request timeout.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide recorder, installed on first use (tests start many apps in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), BUCKETS)
            .expect("static, non-empty buckets");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if something else installed a recorder first; ours then renders nothing.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        describe();
        gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// The `# HELP` text of every series.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by route template, method and status class."
    );
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer a request.");
    describe_gauge!(HTTP_IN_FLIGHT, "Requests being answered now.");
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database pool connections in use or idle, at scrape time."
    );
    describe_gauge!(POOL_MAX, "Most connections a database pool may open.");
    describe_gauge!(
        POOL_ACQUIRE,
        Unit::Seconds,
        "Time one connection acquire took at the last scrape."
    );
    describe_gauge!(
        REPLICA_LAG_BYTES,
        Unit::Bytes,
        "WAL the read replica has still to replay, at the last scrape."
    );
    describe_gauge!(
        REPLICA_LAG_SECONDS,
        Unit::Seconds,
        "How long the read replica has had WAL to replay, at the last scrape (0: caught up)."
    );
    describe_counter!(DB_RETRIES, "Database attempts retried, by SQLSTATE.");
    describe_counter!(DB_TRANSACTIONS, "Database transactions by final outcome.");
    describe_counter!(UNAVAILABLE, "503 answers by cause.");
    describe_counter!(BOOKINGS, "Booking requests by outcome and error code.");
    describe_counter!(HOLDS, "Holds created, confirmed and expired.");
    describe_counter!(SWEEPS, "Expiry sweeps of this instance by outcome.");
    describe_counter!(SWEPT, "Holds expired by this instance's sweeper.");
    describe_gauge!(
        JOB_LAST_SUCCESS,
        Unit::Seconds,
        "When each background job last ended a step well (Unix time)."
    );
    describe_counter!(
        JOB_FAILURES,
        "Failed steps (errors, panics) of each background job."
    );
    describe_counter!(
        OUTBOX_SETTLED,
        "Outbox delivery attempts settled, by channel and outcome."
    );
    describe_counter!(
        ACCESS_DENIED,
        "Requests refused for lack of access, by route template and status."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the label carries the version.");
}

/// Records a background job's successful step.
pub fn job_succeeded(job: &'static str, at: chrono::DateTime<chrono::Utc>) {
    gauge!(JOB_LAST_SUCCESS, "job" => job).set(at.timestamp() as f64);
    // Present from the first step, so an alert on its rate has a series to read.
    counter!(JOB_FAILURES, "job" => job).increment(0);
}

/// Records a background job's failed step.
pub fn job_failed(job: &'static str) {
    counter!(JOB_FAILURES, "job" => job).increment(1);
}

/// Records an outbox row's settled attempt.
pub fn outbox_settled(channel: &'static str, outcome: &'static str) {
    counter!(OUTBOX_SETTLED, "channel" => channel, "outcome" => outcome).increment(1);
}

/// Records a request refused for lack of access.
pub fn access_denied(route: &str, status: u16) {
    counter!(ACCESS_DENIED, "route" => route.to_owned(), "status" => status.to_string())
        .increment(1);
}

/// The private metrics listener's router: `GET /metrics` only.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(store)
}

async fn scrape(State(store): State<Arc<dyn Store>>) -> Response {
    let handle = handle();
    for pool in store.pool_stats().await {
        let name = pool.name;
        gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "in_use")
            .set(f64::from(pool.size.saturating_sub(pool.idle)));
        gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "idle").set(f64::from(pool.idle));
        gauge!(POOL_MAX, "pool" => name).set(f64::from(pool.max));
        if let Some(took) = pool.acquire {
            gauge!(POOL_ACQUIRE, "pool" => name).set(took.as_secs_f64());
        }
    }
    // A replica that does not answer leaves the last figures; `/health/ready` reports it.
    if let Some(Ok(lag)) = store.replica_lag().await {
        gauge!(REPLICA_LAG_BYTES).set(lag.bytes);
        gauge!(REPLICA_LAG_SECONDS).set(lag.seconds);
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Counts and times every request by route template, method and status class.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let in_flight = gauge!(HTTP_IN_FLIGHT);
    in_flight.increment(1.0);
    let res = next.run(req).await;
    in_flight.decrement(1.0);
    let class = match res.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status_class" => class)
        .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route, "status_class" => class)
        .record(started.elapsed().as_secs_f64());
    res
}

/// A method as a label: the standard ones by name, anything else as `OTHER`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts a 503 by its cause.
pub fn unavailable(cause: &'static str) {
    counter!(UNAVAILABLE, "cause" => cause).increment(1);
}

/// Counts a booking request's outcome (`code` is the error code, `none` for a booking).
pub fn booking(outcome: &'static str, code: &'static str) {
    counter!(BOOKINGS, "outcome" => outcome, "code" => code).increment(1);
}

/// Counts hold events.
pub fn holds(event: &'static str, n: u64) {
    counter!(HOLDS, "event" => event).increment(n);
}

/// One sweep's outcome and the holds it expired.
pub fn sweep(ok: bool, expired: u64) {
    counter!(SWEEPS, "outcome" => if ok { "ok" } else { "error" }).increment(1);
    counter!(SWEPT).increment(expired);
    holds("expired", expired);
}

/// A retried transaction attempt. Only errors `store::retry` deems retryable are retried, so
/// the label takes the few codes that list names (40001, 40P01 and SQLite's busy codes).
pub fn retried(sqlstate: String) {
    counter!(DB_RETRIES, "sqlstate" => sqlstate).increment(1);
}

/// A transaction's final outcome.
pub fn transaction(outcome: &'static str) {
    counter!(DB_TRANSACTIONS, "outcome" => outcome).increment(1);
}

/// Times `f` as a pool acquire probe.
pub async fn probe<F, T, E>(f: F) -> Option<Duration>
where
    F: std::future::Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    match tokio::time::timeout(Duration::from_secs(1), f).await {
        Ok(Ok(_)) => Some(started.elapsed()),
        _ => None,
    }
}
