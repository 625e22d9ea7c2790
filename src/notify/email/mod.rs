//! Patient e-mail over SMTP (`SMTP_URL`, `SMTP_FROM`): one message per outbox row, plain text
//! and HTML from [`templates`], with an iCalendar invite ([`ics`]) on confirmations,
//! reschedules and cancellations. TLS (`smtps://`, STARTTLS with `?tls=required`) verifies
//! the server's certificate against the usual roots and `SMTP_CA_FILE`, never falling back to
//! plain text. With no `SMTP_URL`, messages are written as `.eml` files to `MAIL_DIR`.

pub mod account;
pub mod ics;
pub mod templates;

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::notice::{DeliveryError, Notice};
use crate::config::NotifySettings;

/// How long one SMTP command may take before the attempt counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole delivery (connect, TLS, hello, message, quit) may take.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where messages go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder receiving each message as an `.eml` file (owner-only).
    Folder(std::path::PathBuf),
}

/// A transport and sender address.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// The SMTP server of `SMTP_URL`, else the folder `MAIL_DIR`, else `None` (e-mail off); an
    /// error (one line, for the operator, without the URL's password) for settings that cannot
    /// be used. Nothing connects yet.
    pub fn from_settings(settings: &NotifySettings) -> Result<Option<Self>, String> {
        let from: Mailbox = settings
            .smtp_from
            .parse()
            .map_err(|e| format!("SMTP_FROM is not an e-mail address: {e}"))?;
        let transport = match (&settings.smtp_url, &settings.mail_dir) {
            (Some(url), _) => {
                Transport::Smtp(smtp(url.0.trim(), settings.smtp_ca_file.as_deref())?)
            }
            (None, Some(dir)) => {
                crate::files::private_dir(dir)
                    .map_err(|e| format!("MAIL_DIR {} cannot be made: {e}", dir.display()))?;
                Transport::Folder(dir.clone())
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(Self { transport, from }))
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Renders the notice's message for the patient and sends it. Events that send no
    /// e-mail are never passed here (they would fail for good).
    pub async fn send(&self, notice: &Notice) -> Result<(), DeliveryError> {
        let message = self.message(notice)?;
        self.deliver(message).await
    }

    /// Sends a built message.
    pub async fn deliver(&self, message: Message) -> Result<(), DeliveryError> {
        let smtp = match &self.transport {
            Transport::Smtp(t) => t,
            Transport::Folder(dir) => return write_eml(dir, &message),
        };
        match tokio::time::timeout(SEND_TIMEOUT, smtp.send(message)).await {
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

/// The SMTP transport of a URL, trusting `ca_file`'s certificates besides the usual roots.
fn smtp(
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("SMTP_URL cannot be used: {e}"))?
        .timeout(Some(COMMAND_TIMEOUT));
    let Some(ca_file) = ca_file else {
        return Ok(builder.build());
    };
    let pem = std::fs::read(ca_file)
        .map_err(|e| format!("SMTP_CA_FILE {} cannot be read: {e}", ca_file.display()))?;
    let cert = Certificate::from_pem(&pem).map_err(|e| {
        format!(
            "SMTP_CA_FILE {} is not a PEM certificate: {e}",
            ca_file.display()
        )
    })?;
    let parsed = url::Url::parse(url).map_err(|e| format!("SMTP_URL cannot be used: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let params = || {
        TlsParameters::builder(host.clone())
            .add_root_certificate(cert.clone())
            .build_rustls()
            .map_err(|e| format!("SMTP TLS cannot be set up: {e}"))
    };
    let tls_mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string());
    let tls = match (parsed.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => Tls::Wrapper(params()?),
        (_, Some("required")) => Tls::Required(params()?),
        (_, Some("opportunistic")) => Tls::Opportunistic(params()?),
        _ => Tls::None,
    };
    Ok(builder.tls(tls).build())
}

/// Writes a message into the mail folder as `<time>-<random>.eml`, owner-only.
fn write_eml(dir: &std::path::Path, message: &Message) -> Result<(), DeliveryError> {
    use std::io::Write;
    let name = format!(
        "{}-{}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        uuid::Uuid::new_v4().simple()
    );
    let path = dir.join(name);
    let written = crate::files::create_private(&path).and_then(|mut f| {
        f.write_all(&message.formatted())?;
        f.sync_all()
    });
    written
        .map_err(|e| DeliveryError::transient(format!("the mail folder refused the message: {e}")))
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
