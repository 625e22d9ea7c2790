//! `/webhooks` (admin): subscriptions that receive signed JSON POSTs about appointment changes,
//! delivered from the outbox (see `notify::webhook` for the message and its signature).

use std::borrow::Cow;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{ValidJson, ValidPath, ValidQuery};
use super::fields::required;
use super::params::PageQuery;
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::shapes;
use super::state::AppState;
use crate::auth::vault::WEBHOOK_AAD;
use crate::domain::webhook::{NewWebhook, Webhook, WebhookEvent, WebhookSecret, WebhookUrl};

/// A subscription to create.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://billing.example.com/hooks/carebook",
    "events": ["appointment.booked", "appointment.cancelled"],
    "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}))]
pub struct CreateWebhook {
    /// An absolute `https` URL (`http` too with `WEBHOOK_ALLOW_HTTP=true`) with a host and no
    /// user name or password, without spaces or control characters. Its host must not be or
    /// resolve to a loopback, private, link-local or otherwise non-public address unless
    /// `WEBHOOK_ALLOW_PRIVATE=true`.
    #[garde(required)]
    #[schema(value_type = shapes::WebhookUrl, inline)]
    url: Option<HookUrl>,
    /// The events to receive: at least one, each at most once.
    #[garde(required, length(min = 1))]
    #[schema(value_type = BTreeSet<WebhookEvent>, min_items = 1, max_items = 8)]
    events: Option<Vec<WebhookEvent>>,
    /// The signing secret, never shown again: `whsec_` and the base64 of 24-64 bytes (a
    /// Standard Webhooks secret: the key is the decoded bytes), or any other 24 to 256
    /// characters without control characters (the key is their UTF-8 bytes).
    #[garde(required)]
    #[schema(value_type = shapes::WebhookSecret, inline)]
    secret: Option<HookSecret>,
}

/// A webhook URL as the document describes it ([`shapes::is_webhook_url`]), then read by the
/// domain's URL rules.
pub struct HookUrl(WebhookUrl);

impl<'de> Deserialize<'de> for HookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <Cow<'de, str>>::deserialize(d)?;
        if !shapes::is_webhook_url(&raw) {
            return Err(serde::de::Error::custom(
                "must be an absolute http or https URL with a host, without spaces or control characters",
            ));
        }
        WebhookUrl::parse(&raw)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// A new webhook's secret ([`read_secret`]).
pub struct HookSecret(WebhookSecret);

/// A new webhook's secret, or why not: counted in characters, as the document counts them (24
/// at least, which are 24 bytes at least, as the domain asks), unless it is a Standard
/// Webhooks `whsec_` secret.
pub(super) fn read_secret(raw: &str) -> Result<WebhookSecret, String> {
    if !raw.starts_with("whsec_") && raw.chars().count() < 24 {
        return Err("must be 24 to 256 characters long (or whsec_ and base64)".into());
    }
    WebhookSecret::parse(raw)
}

impl<'de> Deserialize<'de> for HookSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <Cow<'de, str>>::deserialize(d)?;
        read_secret(&raw)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// A subscription, without its secret.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "6a1f4c3e-2b7d-4e8f-9a0b-1c2d3e4f5a6b",
    "url": "https://billing.example.com/hooks/carebook",
    "events": ["appointment.booked", "appointment.cancelled"],
    "created_at": "2026-12-01T09:00:00Z"}))]
pub struct WebhookView {
    #[schema(format = Uuid)]
    pub id: Uuid,
    /// The URL, normalised.
    pub url: String,
    /// The subscribed events, in the documented order.
    #[schema(value_type = BTreeSet<WebhookEvent>)]
    pub events: Vec<WebhookEvent>,
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            created_at: w.created_at,
        }
    }
}

/// `{id}` of a webhook.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The webhook's id.
    #[garde(skip)]
    #[serde(deserialize_with = "canonical_uuid")]
    #[param(value_type = String, format = Uuid)]
    id: Uuid,
}

/// Reads a UUID in its canonical hyphenated form only, as every other id is read.
fn canonical_uuid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    let raw = <Cow<'de, str>>::deserialize(d)?;
    crate::domain::parse_uuid(&raw).map_err(serde::de::Error::custom)
}

/// Subscribe a URL to events (admin)
///
/// Audited changes committed from now on are delivered to it as signed JSON POSTs (see the
/// README, "Webhooks"). The secret is stored for signing and never returned.
#[utoipa::path(post, path = "/webhooks", operation_id = "createWebhook", tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Subscribed", body = Envelope<WebhookView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a secret under 24 characters (or a `whsec_` key under 24 bytes), an event listed twice, a plain `http://` URL (unless `WEBHOOK_ALLOW_HTTP`), or (depending on DNS and `WEBHOOK_ALLOW_PRIVATE`) a `url` whose host is or resolves to a non-public address", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    ValidJson(body): ValidJson<CreateWebhook>,
) -> Result<Reply<WebhookView>, ApiError> {
    let url = required(body.url, "url")?.0;
    let events = required(body.events, "events")?;
    let secret = required(body.secret, "secret")?.0;
    if let Some(twice) = repeated(&events) {
        return Err(ApiError::field(
            "events",
            format!("lists {} more than once", twice.as_str()),
        ));
    }
    if url.url().scheme() != "https" && !app.settings.notify.webhook_allow_http {
        return Err(ApiError::field(
            "url",
            "must use https (WEBHOOK_ALLOW_HTTP is off)",
        ));
    }
    crate::notify::webhook::check_destination(&url, app.settings.notify.webhook_allow_private)
        .await
        .map_err(|m| ApiError::field("url", m))?;
    // Kept sealed under the master key: a copy of the database signs nothing.
    let sealed = app.auth.vault.seal(WEBHOOK_AAD, secret.expose());
    let hook = app
        .store
        .create_webhook(NewWebhook {
            url,
            events,
            secret: WebhookSecret::sealed(sealed),
        })
        .await?;
    // The URL may carry a token in its query: logged by id only.
    tracing::info!(webhook_id = %hook.id, events = hook.events.len(), "webhook created");
    Ok(response::created(
        "Webhook created successfully",
        hook.into(),
    ))
}

/// The first event listed more than once.
fn repeated(events: &[WebhookEvent]) -> Option<WebhookEvent> {
    events
        .iter()
        .enumerate()
        .find(|(i, e)| events[..*i].contains(e))
        .map(|(_, e)| *e)
}

/// List webhooks (admin)
#[utoipa::path(get, path = "/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of subscriptions, oldest first", body = PagedEnvelope<WebhookView>)))]
pub async fn list(
    State(app): State<AppState>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<PageReply<WebhookView>, ApiError> {
    let page = q.page();
    let hooks = app.store.list_webhooks(page).await?;
    Ok(response::paged(
        "Webhooks retrieved successfully",
        hooks.map(Into::into),
        page,
    ))
}

/// Delete a webhook (admin)
///
/// Nothing more is sent to it: its pending deliveries are skipped.
#[utoipa::path(delete, path = "/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(WebhookPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`NOT_FOUND`: no such webhook", body = ErrorBody),
    ))]
pub async fn delete(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<WebhookPath>,
) -> Result<StatusCode, ApiError> {
    app.store.delete_webhook(p.id).await?;
    tracing::info!(webhook_id = %p.id, "webhook deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The schema of an event name, from the domain's list (kept here, beside its only user).
impl PartialSchema for WebhookEvent {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("An appointment change a webhook can receive."))
                .enum_values(Some(WebhookEvent::ALL.map(WebhookEvent::as_str)))
                .build(),
        ))
    }
}

impl ToSchema for WebhookEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WebhookEvent")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_listed_twice_is_found() {
        use WebhookEvent::*;
        assert_eq!(repeated(&[Booked, Cancelled]), None);
        assert_eq!(repeated(&[Booked, Cancelled, Booked]), Some(Booked));
        // The URL limit the schema states is the domain's.
        assert_eq!(crate::domain::webhook::MAX_URL_LEN, 2048);
    }
}
