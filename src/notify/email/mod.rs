//! Patient e-mail over SMTP (`SMTP_URL`, `SMTP_FROM`): one message per outbox row, plain text
//! and HTML from [`templates`], with an iCalendar invite ([`ics`]) on confirmations,
//! reschedules and cancellations.

pub mod ics;
pub mod templates;

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{DeliveryError, Notice};
use crate::config::NotifySettings;

/// How long one SMTP command may take before the attempt counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole delivery (connect, TLS, hello, message, quit) may take.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// An SMTP transport and sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when `SMTP_URL` is unset; an error (one line, for the operator, without the
    /// URL's password) for a URL or sender address that cannot be used. Nothing connects yet.
    pub fn from_settings(settings: &NotifySettings) -> Result<Option<Self>, String> {
        let Some(url) = &settings.smtp_url else {
            return Ok(None);
        };
        let from: Mailbox = settings
            .smtp_from
            .parse()
            .map_err(|e| format!("SMTP_FROM is not an e-mail address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.0.trim())
            .map_err(|e| format!("SMTP_URL cannot be used: {e}"))?
            .timeout(Some(COMMAND_TIMEOUT))
            .build();
        Ok(Some(Self { transport, from }))
    }

    /// Renders the notice's message for the patient and sends it. Events that send no
    /// e-mail are never passed here (they would fail for good).
    pub async fn send(&self, notice: &Notice) -> Result<(), DeliveryError> {
        let message = self.message(notice)?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(DeliveryError::transient(format!(
                "SMTP delivery took over {} s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The MIME message: multipart/alternative (text, HTML), inside multipart/mixed with the
    /// invite when there is one.
    pub fn message(&self, notice: &Notice) -> Result<Message, DeliveryError> {
        let facts = &notice.facts;
        let rendered = templates::render(notice, self.from.email.as_ref())?;
        let address: Address =
            facts.patient_email.trim().parse().map_err(|_| {
                DeliveryError::permanent("the patient's e-mail address cannot be used")
            })?;
        // Names stored before single-line text was enforced may hold line breaks: made safe
        // here, as the subject is, so no stored value can split a header.
        let name = crate::domain::text::one_line(&facts.patient_name);
        let to = Mailbox::new(Some(name), address);
        let subject = crate::domain::text::one_line(&rendered.subject);
        let body = body(rendered)?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!(
                "<{}.{}@{}>",
                facts.appointment_id,
                notice.outbox_id,
                self.from.email.domain()
            )))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .multipart(body)
            .map_err(|e| DeliveryError::permanent(format!("the message cannot be built: {e}")))
    }
}

/// Text and HTML as alternatives, in multipart/mixed beside `invite.ics` when there is one.
fn body(rendered: templates::Rendered) -> Result<MultiPart, DeliveryError> {
    let alternative = MultiPart::alternative_plain_html(rendered.text, rendered.html);
    let Some(invite) = rendered.invite else {
        return Ok(alternative);
    };
    // Base64 keeps the CRLF line ends and folding exactly as RFC 5545 wants.
    let ics = Body::new_with_encoding(invite.render(), ContentTransferEncoding::Base64)
        .map_err(|_| DeliveryError::permanent("the invite cannot be encoded"))?;
    let content_type = calendar_type(invite.method).map_err(DeliveryError::permanent)?;
    Ok(MultiPart::mixed()
        .multipart(alternative)
        .singlepart(Attachment::new("invite.ics".into()).body(ics, content_type)))
}

/// `text/calendar` with the iTIP method, as calendar clients expect an invite.
fn calendar_type(method: ics::Method) -> Result<ContentType, String> {
    ContentType::parse(&format!(
        "text/calendar; charset=utf-8; method={}",
        method.as_str()
    ))
    .map_err(|e| format!("calendar content type: {e}"))
}

/// Maps an SMTP failure to a retry or a dead row. The server's reply text is left out: it
/// often quotes the recipient's address.
fn classify(e: &SmtpError) -> DeliveryError {
    if let Some(code) = e.status() {
        let code = code.to_string();
        if e.is_permanent() && !code.starts_with("53") {
            return DeliveryError::permanent(format!("SMTP server refused the message ({code})"));
        }
        // 4xx, and 53x (authentication): the settings or the server can still be fixed.
        return DeliveryError::transient(format!("SMTP server answered {code}"));
    }
    if e.is_timeout() {
        DeliveryError::transient("SMTP server timed out")
    } else if e.is_response() {
        DeliveryError::transient("SMTP server sent an unreadable reply")
    } else {
        // Connection, network and TLS errors: no personal data in them.
        DeliveryError::transient(format!("SMTP {e}"))
    }
}

#[cfg(test)]
mod tests;
