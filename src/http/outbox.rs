//! `/outbox`: what the delivery worker has still to do, and what it gave up on (admin).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{ValidPath, ValidQuery};
use super::params::paged_query;
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::state::AppState;
use crate::domain::outbox::{OutboxItem, OutboxStatus};
use crate::domain::text::Blank;
use crate::domain::AppointmentId;

/// An outbox row's state.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusView {
    Pending,
    Delivered,
    Skipped,
    Dead,
}

impl From<OutboxStatus> for StatusView {
    fn from(s: OutboxStatus) -> Self {
        match s {
            OutboxStatus::Pending => Self::Pending,
            OutboxStatus::Delivered => Self::Delivered,
            OutboxStatus::Skipped => Self::Skipped,
            OutboxStatus::Dead => Self::Dead,
        }
    }
}

/// A status as a query names it: any case, surrounding spaces ignored.
impl TryFrom<String> for StatusView {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        OutboxStatus::parse(&raw.trim().to_ascii_lowercase())
            .map(Into::into)
            .map_err(|_| "must be one of pending, delivered, skipped, dead".to_owned())
    }
}

impl From<StatusView> for OutboxStatus {
    fn from(s: StatusView) -> Self {
        match s {
            StatusView::Pending => Self::Pending,
            StatusView::Delivered => Self::Delivered,
            StatusView::Skipped => Self::Skipped,
            StatusView::Dead => Self::Dead,
        }
    }
}

/// One delivery of one event to one receiver: ids and states only, never message contents.
#[derive(Serialize, ToSchema)]
pub struct OutboxView {
    pub id: i64,
    /// E.g. `appointment.booked`, `appointment.reminder`, `waitlist.offered`.
    pub event: String,
    pub appointment_id: Option<AppointmentId>,
    /// `email` (the patient) or `webhook`.
    pub channel: String,
    pub webhook_id: Option<Uuid>,
    pub status: StatusView,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// When a pending row is tried next.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed or the row was skipped.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<OutboxItem> for OutboxView {
    fn from(i: OutboxItem) -> Self {
        Self {
            id: i.id,
            event: i.event,
            appointment_id: i.appointment_id,
            channel: i.channel.as_str().to_owned(),
            webhook_id: i.webhook_id,
            status: i.status.into(),
            attempts: i.attempts,
            next_attempt_at: i.next_attempt_at,
            last_error: i.last_error,
            created_at: i.created_at,
            delivered_at: i.delivered_at,
        }
    }
}

/// A delivery status, or blank.
type StatusOrBlank = super::shapes::RefOrBlank<StatusView>;

paged_query!(
    /// `status`, `limit` and `offset`.
    OutboxQuery {
        /// Only rows in this state (case-insensitive); empty (or blank) means any.
        #[garde(skip)]
        #[param(value_type = Option<StatusOrBlank>, inline)]
        status: Option<Blank<StatusView>>,
    }
);

/// List outbox deliveries, newest first (admin)
#[utoipa::path(get, path = "/outbox", operation_id = "listOutbox", tag = "outbox", params(OutboxQuery),
    responses((status = 200, description = "A page of deliveries", body = PagedEnvelope<OutboxView>)))]
pub async fn list(
    State(app): State<AppState>,
    ValidQuery(q): ValidQuery<OutboxQuery>,
) -> Result<PageReply<OutboxView>, ApiError> {
    let page = q.page();
    let rows = app
        .store
        .list_outbox(q.status.and_then(Blank::into_option).map(Into::into), page)
        .await?;
    Ok(response::paged(
        "Outbox retrieved successfully",
        rows.map(Into::into),
        page,
    ))
}

/// `{id}` of an outbox row.
#[derive(Deserialize, garde::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OutboxPath {
    /// The row's id.
    #[garde(range(min = 1))]
    #[serde(deserialize_with = "integer_segment")]
    #[param(value_type = i64, minimum = 1)]
    id: i64,
}

/// A path segment holding a whole number (path parameters arrive as strings).
fn integer_segment<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let raw = String::deserialize(d)?;
    raw.parse()
        .map_err(|_| serde::de::Error::custom("must be a positive integer"))
}

/// Send a delivery again, now (admin)
///
/// A dead or skipped row goes back to pending, and a pending row waiting for its next attempt
/// is due at once; its attempts count from zero. The next worker poll (`OUTBOX_POLL_INTERVAL_MS`)
/// delivers it.
#[utoipa::path(post, path = "/outbox/{id}/retry", operation_id = "retryOutbox", tag = "outbox",
    params(OutboxPath),
    responses(
        (status = 200, description = "The row, pending again", body = Envelope<OutboxView>),
        (status = 404, description = "`NOT_FOUND`: no such row", body = ErrorBody),
        (status = 409, description = "`INVALID_TRANSITION`: the row was delivered already", body = ErrorBody),
    ))]
pub async fn retry(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<OutboxPath>,
) -> Result<Reply<OutboxView>, ApiError> {
    let row = app.store.retry_outbox(p.id).await?;
    tracing::info!(outbox_id = row.id, "outbox row queued again by an admin");
    Ok(response::ok("Delivery queued again", row.into()))
}
