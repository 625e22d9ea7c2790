//! Server-side request forgery guard: webhook hosts must be public addresses unless
//! `WEBHOOK_ALLOW_PRIVATE` is on. Checked when a webhook is created and again at every
//! delivery, where the client connects only to the addresses this resolver checked, so a
//! name that resolves differently the second time (DNS rebinding) cannot slip through.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::webhook::{is_public, WebhookUrl};

/// How long resolving a host at creation may take.
pub(super) const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The host is or resolves to an address deliveries may not go to.
#[derive(Debug, thiserror::Error)]
#[error("the webhook URL's host is or resolves to a loopback, private, link-local or otherwise non-public address")]
pub struct Refused;

/// Checks a new webhook's URL; the error is a message about the `url` field.
pub async fn check_destination(url: &WebhookUrl, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let refused = || {
        "must not point to a loopback, private, link-local or otherwise non-public address \
         (WEBHOOK_ALLOW_PRIVATE is off)"
            .to_owned()
    };
    if let Some(ip) = url.literal_ip() {
        return if is_public(ip) {
            Ok(())
        } else {
            Err(refused())
        };
    }
    let host = url.url().host_str().unwrap_or_default();
    // A name that does not resolve now (DNS down, a record not published yet) is accepted:
    // it cannot reach anything private today, and every delivery resolves and checks again
    // before it connects. Only an answer naming a non-public address is refused here.
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, resolve(host)).await {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(_)) | Err(_) => return Ok(()),
    };
    if addrs.iter().all(|a| is_public(a.ip())) {
        Ok(())
    } else {
        Err(refused())
    }
}

async fn resolve(host: &str) -> std::io::Result<Vec<SocketAddr>> {
    // A bracketed IPv6 literal never reaches here; the port is set by the caller later.
    Ok(tokio::net::lookup_host((host, 0)).await?.collect())
}

/// The delivery client's resolver: the system resolver, refusing a name when any of its
/// addresses is not public (unless private ones are allowed). IP-literal hosts never reach a
/// resolver: the sender checks those itself.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve(name.as_str()).await?;
            if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether a delivery error was this guard refusing the host.
pub fn was_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<Refused>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(url: &str, allow_private: bool) -> Result<(), String> {
        check_destination(&WebhookUrl::parse(url).unwrap(), allow_private).await
    }

    #[tokio::test]
    async fn private_destinations_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/",
            "http://localhost:8080/hook",
            "http://10.0.0.7/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://0x7f.1/",
            "http://[::ffff:192.168.0.1]/",
        ] {
            let err = check(url, false).await.unwrap_err();
            assert!(err.contains("non-public"), "{url}: {err}");
            assert_eq!(check(url, true).await, Ok(()), "{url}");
        }
    }

    #[tokio::test]
    async fn public_literals_and_names_that_do_not_resolve_yet_pass() {
        assert_eq!(check("https://93.184.216.34/hook", false).await, Ok(()));
        // Checked again, resolved, at every delivery.
        assert_eq!(check("https://carebook-test.invalid/", false).await, Ok(()));
    }
}
