//! Webhook subscriptions: which URL hears which events, and the secret deliveries are signed
//! with (the Standard Webhooks scheme, see `notify::webhook`).
//!
//! Values parse themselves ([`WebhookUrl`], [`WebhookSecret`], [`WebhookEvent`]), so a request
//! that deserializes is valid apart from what needs I/O: whether the URL's host resolves to a
//! public address is checked by the HTTP layer and again at every delivery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::page::{Page, Paged};
use super::DomainResult;

/// Longest URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Prefix of a Standard Webhooks secret: the rest is the base64 of the key.
pub const WHSEC_PREFIX: &str = "whsec_";

/// An event a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEvent {
    Booked,
    Confirmed,
    Cancelled,
    Rescheduled,
    Expired,
    Completed,
    NoShow,
    WaitlistOffered,
}

impl WebhookEvent {
    /// Every event, in the order the documentation lists them.
    pub const ALL: [Self; 8] = [
        Self::Booked,
        Self::Confirmed,
        Self::Cancelled,
        Self::Rescheduled,
        Self::Expired,
        Self::Completed,
        Self::NoShow,
        Self::WaitlistOffered,
    ];

    /// The event's name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "appointment.booked",
            Self::Confirmed => "appointment.confirmed",
            Self::Cancelled => "appointment.cancelled",
            Self::Rescheduled => "appointment.rescheduled",
            Self::Expired => "appointment.expired",
            Self::Completed => "appointment.completed",
            Self::NoShow => "appointment.no_show",
            Self::WaitlistOffered => "waitlist.offered",
        }
    }

    /// Parses an event name; the error lists the names accepted.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

impl serde::Serialize for WebhookEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for WebhookEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An absolute `http` or `https` URL with a host, at most [`MAX_URL_LEN`] bytes, without a
/// user name or password (deliveries authenticate by their signature). Kept as the client
/// sent it after normalisation (`HTTP://Example.COM` → `http://example.com/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses and checks a URL.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} bytes long"));
        }
        let url = url::Url::parse(raw).map_err(|_| "must be an absolute http or https URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must use http or https".into());
        }
        if url.host().is_none() {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        Ok(Self(url))
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The normalised spelling.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host's address when the URL names one literally (`http://10.0.0.1/`, `http://[::1]/`).
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for WebhookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A signing secret: either a Standard Webhooks secret `whsec_<base64>` whose decoded bytes
/// (24 to 64) are the HMAC key, or any other string of 24 to 256 bytes without control
/// characters whose UTF-8 bytes are the key. Shorter keys can be guessed offline from one
/// signed delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// Parses and checks a secret.
    pub fn parse(raw: &str) -> Result<Self, String> {
        signing_key(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// The secret as given.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret as sealed for storage (see `auth::vault`); only the store reads it back.
    pub fn sealed(stored: String) -> Self {
        Self(stored)
    }
}

impl<'de> serde::Deserialize<'de> for WebhookSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Fewest bytes of key a webhook secret may have (what Standard Webhooks recommends).
pub const MIN_SECRET_BYTES: usize = 24;

/// The HMAC key of a stored or submitted secret (see [`WebhookSecret`]).
pub fn signing_key(raw: &str) -> Result<Vec<u8>, String> {
    if let Some(encoded) = raw.strip_prefix(WHSEC_PREFIX) {
        let engine = base64::engine::general_purpose::STANDARD;
        let key = engine
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
            .map_err(|_| format!("after {WHSEC_PREFIX} must be standard base64"))?;
        if !(MIN_SECRET_BYTES..=64).contains(&key.len()) {
            return Err(format!(
                "after {WHSEC_PREFIX} must decode to {MIN_SECRET_BYTES} to 64 bytes"
            ));
        }
        return Ok(key);
    }
    if raw.len() < MIN_SECRET_BYTES || raw.chars().count() > 256 {
        return Err(format!(
            "must be {MIN_SECRET_BYTES} bytes to 256 characters long (or whsec_ and base64)"
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(raw.as_bytes().to_vec())
}

/// A subscription to create.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    /// Distinct, at least one.
    pub events: Vec<WebhookEvent>,
    pub secret: WebhookSecret,
}

/// A stored subscription, without its secret.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// In [`WebhookEvent::ALL`] order.
    pub events: Vec<WebhookEvent>,
    pub created_at: DateTime<Utc>,
}

/// Webhook subscriptions. (Deliveries are outbox rows: see [`super::outbox::NotifyStore`].)
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a subscription and its events in one transaction; audited changes committed
    /// after it are delivered to it.
    async fn create_webhook(&self, new: NewWebhook) -> DomainResult<Webhook>;
    /// Subscriptions, oldest first.
    async fn list_webhooks(&self, page: Page) -> DomainResult<Paged<Webhook>>;
    /// Deletes a subscription and its events; its pending deliveries are then skipped.
    /// Errors: `NotFound("webhook")`.
    async fn delete_webhook(&self, id: Uuid) -> DomainResult<()>;
}

/// Whether a webhook may be delivered to `ip` without `WEBHOOK_ALLOW_PRIVATE`: not loopback,
/// private (RFC 1918, fc00::/7), link-local (169.254/16 with cloud metadata, fe80::/10),
/// unspecified, shared (CGNAT 100.64/10), multicast, broadcast, reserved, documentation or
/// benchmarking space; IPv6 forms embedding an IPv4 address are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)); // benchmarking
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo (hides an IPv4 address)
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 other than the well-known /96 (local-use 64:ff9b:1::/48)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only
    !refused
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), well-known NAT64 (`64:ff9b::a.b.c.d`)
/// or 6to4 (`2002:aabb:ccdd::`) address. Any other NAT64 prefix is refused whole.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(tail(hi, lo)),
        // IPv4-translated (`::ffff:0:a.b.c.d`, RFC 2765).
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(tail(hi, lo)),
        // `::` and `::1` are judged as IPv6 (unspecified, loopback).
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(tail(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(tail(hi, lo)),
        [0x2002, hi, lo, ..] => Some(tail(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_refuse_unknown_names() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Ok(e));
        }
        let err = WebhookEvent::parse("appointment.deleted").unwrap_err();
        assert!(err.contains("appointment.no_show"), "{err}");
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        assert!(WebhookUrl::parse("https://hooks.example.com/carebook?x=1").is_ok());
        assert_eq!(
            WebhookUrl::parse("HTTP://Example.COM").unwrap().as_str(),
            "http://example.com/"
        );
        for bad in [
            "",
            "/relative",
            "example.com/hook",
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://",
            "https://user:pw@example.com/",
            "mailto:a@example.com",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(WebhookUrl::parse(&long).is_err());
    }

    #[test]
    fn literal_hosts_are_normalised_addresses() {
        let ip = |u: &str| WebhookUrl::parse(u).unwrap().literal_ip();
        assert_eq!(
            ip("http://127.0.0.1:8080/"),
            Some("127.0.0.1".parse().unwrap())
        );
        // Spellings that hide an address are read as that address.
        assert_eq!(ip("http://0x7f.1/"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(ip("http://2130706433/"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(ip("http://[::1]/"), Some("::1".parse().unwrap()));
        assert_eq!(ip("http://localhost/"), None);
    }

    #[test]
    fn secrets_are_raw_or_standard_webhooks() {
        let raw = "0123456789abcdef01234567";
        assert_eq!(signing_key(raw).unwrap(), raw.as_bytes().to_vec());
        assert_eq!(
            signing_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
                .unwrap()
                .len(),
            24
        );
        // Fewer than 24 bytes of key: guessable offline from one signed delivery.
        assert!(signing_key("secret").is_err());
        assert!(signing_key("0123456789abcdef0123456").is_err());
        assert!(signing_key("whsec_c2hvcnQ=").is_err());
        assert!(signing_key("").is_err());
        assert!(signing_key(&"x".repeat(257)).is_err());
        assert!(signing_key(&format!("{raw}\n")).is_err());
        assert!(signing_key("whsec_not base64!!").is_err());
        assert!(signing_key("whsec_").is_err());
        assert!(signing_key(&format!("whsec_{}", "AAAA".repeat(22))).is_err());
        assert!(!format!("{:?}", WebhookSecret::parse(raw).unwrap()).contains("0123"));
    }

    #[test]
    fn only_public_addresses_pass() {
        let refused = [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:10.0.0.1",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1:7f00:1::",
            "::127.0.0.1",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
        ];
        for ip in refused {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        let allowed = [
            "93.184.216.34",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ];
        for ip in allowed {
            assert!(is_public(ip.parse().unwrap()), "{ip} must be allowed");
        }
    }
}
