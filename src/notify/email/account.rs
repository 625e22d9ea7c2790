//! The account messages: verify an address, "you already have an account", an invitation, a
//! password reset. Each is a text and an HTML template under `templates/email/account/`
//! (embedded), sent at once rather than through the outbox: its link holds a secret the
//! database keeps only hashed, and whoever asked can ask again.

use std::sync::Arc;

use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};

use super::templates::{html_escape, split_subject, substitute, LAYOUT};
use super::Mailer;

/// Which account message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Verify,
    Known,
    Invite,
    Reset,
}

impl Kind {
    fn templates(self) -> (&'static str, &'static str) {
        macro_rules! t {
            ($name:literal) => {
                (
                    include_str!(concat!("../../../templates/email/account/", $name, ".txt")),
                    include_str!(concat!("../../../templates/email/account/", $name, ".html")),
                )
            };
        }
        match self {
            Self::Verify => t!("verify"),
            Self::Known => t!("known"),
            Self::Invite => t!("invite"),
            Self::Reset => t!("reset"),
        }
    }
}

/// Sends account messages, or drops them (logged) when e-mail is off.
pub struct AccountMail {
    mailer: Option<Arc<Mailer>>,
    /// Where people reach carebook (`PUBLIC_URL`), without a trailing slash.
    base: String,
}

impl AccountMail {
    /// The sender over `mailer` (`None`: e-mail is off), linking to pages under `base`.
    pub fn new(mailer: Option<Mailer>, base: String) -> Self {
        Self {
            mailer: mailer.map(Arc::new),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The page `path` (e.g. `verify`), with the token when there is one.
    pub fn link(&self, path: &str, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("{}/{path}?token={t}", self.base),
            None => format!("{}/{path}", self.base),
        }
    }

    /// The values of a link message: `link`, `token` and `minutes`.
    pub fn link_values(
        &self,
        path: &str,
        token: &str,
        valid: std::time::Duration,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("link", self.link(path, Some(token))),
            ("token", token.to_owned()),
            ("minutes", (valid.as_secs() / 60).max(1).to_string()),
        ]
    }

    /// Renders the message for `to` and sends it in the background, trying a few times; the
    /// caller's answer does not wait (nor differ) for it. `values` fill the templates.
    pub fn send(&self, kind: Kind, to: &str, values: Vec<(&'static str, String)>) {
        let Some(mailer) = self.mailer.clone() else {
            tracing::warn!(?kind, "an account e-mail was not sent: e-mail is off");
            return;
        };
        let message = match build(&mailer, kind, to, &values) {
            Ok(m) => m,
            Err(why) => {
                tracing::warn!(?kind, why, "an account e-mail could not be built");
                return;
            }
        };
        tokio::spawn(async move {
            for attempt in 1..=3u32 {
                match mailer.deliver(message.clone()).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(?kind, attempt, error = %e, "an account e-mail failed");
                        tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt * 2)))
                            .await;
                    }
                }
            }
        });
    }
}

/// The message, text and HTML.
fn build(
    mailer: &Mailer,
    kind: Kind,
    to: &str,
    values: &[(&'static str, String)],
) -> Result<Message, &'static str> {
    let (text, html) = kind.templates();
    let (subject, text) = split_subject(text);
    let html = substitute(
        LAYOUT,
        &[
            ("title", html_escape(subject)),
            ("body", substitute(html, values, html_escape)),
        ],
        str::to_owned,
    );
    let address: Address = to.parse().map_err(|_| "the address cannot be used")?;
    Message::builder()
        .from(mailer.from().clone())
        .to(Mailbox::new(None, address))
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(
            substitute(text, values, str::to_owned),
            html,
        ))
        .map_err(|_| "the message cannot be built")
}
