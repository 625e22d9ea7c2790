//! Webhook deliveries signed as the Standard Webhooks specification says: a JSON POST with
//! `webhook-id` (stable per outbox row, so a retry is recognisably the same message),
//! `webhook-timestamp` (this attempt, unix seconds) and `webhook-signature`
//! (`v1,` base64 HMAC-SHA256 of `id.timestamp.body`). Redirects are not followed; hosts that
//! are or resolve to non-public addresses are refused unless `WEBHOOK_ALLOW_PRIVATE` is on.

mod guard;
mod sign;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use guard::check_destination;
pub use sign::sign;

use super::notice::{DeliveryError, Notice};
use crate::domain::outbox::WebhookTarget;
use crate::domain::webhook::{is_public, signing_key, WebhookUrl};

/// How long one delivery may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts signed deliveries.
pub struct Sender {
    allow_private: bool,
    /// Plain `http://` destinations allowed (`WEBHOOK_ALLOW_HTTP`).
    allow_http: bool,
    /// `Err` (the reason) only if the TLS stack could not be set up.
    client: Result<reqwest::Client, String>,
}

impl Sender {
    /// A sender; `allow_private` lets URLs resolve to loopback and private addresses,
    /// `allow_http` lets them use plain http.
    pub fn new(allow_private: bool, allow_http: bool) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // A proxy would resolve the host itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(Arc::new(guard::GuardedResolver { allow_private }))
            .user_agent(concat!("carebook-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "webhook HTTP client could not be built");
                "the webhook HTTP client could not be built".to_owned()
            });
        Self {
            allow_private,
            allow_http,
            client,
        }
    }

    /// Posts the notice to the target, signed with its secret.
    pub async fn send(&self, target: &WebhookTarget, notice: &Notice) -> Result<(), DeliveryError> {
        let url = WebhookUrl::parse(&target.url)
            .map_err(|_| DeliveryError::permanent("the webhook URL is not valid"))?;
        if !self.allow_private && url.literal_ip().is_some_and(|ip| !is_public(ip)) {
            return Err(DeliveryError::permanent(guard::Refused.to_string()));
        }
        if url.url().scheme() != "https" && !self.allow_http {
            return Err(DeliveryError::permanent(
                "the webhook URL is not https (WEBHOOK_ALLOW_HTTP is off)",
            ));
        }
        let key = signing_key(&target.secret)
            .map_err(|_| DeliveryError::permanent("the webhook secret is not valid"))?;
        let client = self.client.as_ref().map_err(DeliveryError::transient)?;
        let body = body(notice);
        let id = message_id(notice.outbox_id);
        let timestamp = Utc::now().timestamp();
        let res = client
            .post(url.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", sign(&key, &id, timestamp, &body))
            .body(body)
            .send()
            .await
            .map_err(failure)?;
        outcome(res.status())
    }
}

/// The `webhook-id` of an outbox row's deliveries.
pub fn message_id(outbox_id: i64) -> String {
    format!("msg_{outbox_id}")
}

/// The JSON body: the event, when it happened, and the appointment's ids, status and times;
/// no names, contact details or medical fields.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: DateTime<Utc>,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    appointment_id: crate::domain::AppointmentId,
    patient_id: crate::domain::PatientId,
    doctor_id: crate::domain::DoctorId,
    slot_id: crate::domain::SlotId,
    status: &'a str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    consultation_type: &'a str,
}

fn body(notice: &Notice) -> Vec<u8> {
    let f = &notice.facts;
    let payload = Payload {
        kind: &notice.event,
        timestamp: notice.occurred_at,
        data: Data {
            appointment_id: f.appointment_id,
            patient_id: f.patient_id,
            doctor_id: f.doctor_id,
            slot_id: f.slot_id,
            status: &f.status,
            starts_at: f.starts_at,
            ends_at: f.ends_at,
            expires_at: f.expires_at,
            consultation_type: &f.consultation_type,
        },
    };
    // Plain structs of strings, ids and instants always serialize.
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// How a receiver's answer settles the delivery: 2xx delivered, 410 Gone permanent (the
/// receiver says it is gone for good), anything else retried.
fn outcome(status: reqwest::StatusCode) -> Result<(), DeliveryError> {
    match status.as_u16() {
        200..=299 => Ok(()),
        410 => Err(DeliveryError::permanent("the receiver answered 410 Gone")),
        300..=399 => Err(DeliveryError::transient(format!(
            "the receiver answered {} (redirects are not followed)",
            status.as_u16()
        ))),
        code => Err(DeliveryError::transient(format!(
            "the receiver answered {code}"
        ))),
    }
}

/// A failed request, without its URL (which may carry a token) in the message.
fn failure(e: reqwest::Error) -> DeliveryError {
    if guard::was_refused(&e) {
        return DeliveryError::permanent(guard::Refused.to_string());
    }
    if e.is_timeout() {
        DeliveryError::transient("the receiver did not answer in time")
    } else if e.is_connect() {
        DeliveryError::transient("could not connect to the receiver")
    } else {
        DeliveryError::transient("the request to the receiver failed")
    }
}

#[cfg(test)]
mod tests;
