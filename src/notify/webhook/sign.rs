//! The Standard Webhooks signature: `v1,` and the base64 of HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `webhook-signature` header value for one message.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this arm cannot run.
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::webhook::signing_key;

    /// The test vector of the Standard Webhooks reference library
    /// (standard-webhooks/standard-webhooks, `libraries/rust/src/lib.rs`, `test_sign`).
    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let key = signing_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_raw_secret_signs_with_its_bytes() {
        // Computed independently with Python's hmac module:
        // b64(hmac.new(b"0123456789abcdef", b'msg_1.1700000000.{"type":"appointment.booked"}',
        //              sha256).digest())
        let key = b"0123456789abcdef".to_vec();
        let body = br#"{"type":"appointment.booked"}"#;
        assert_eq!(
            sign(&key, "msg_1", 1_700_000_000, body),
            "v1,PQzZR2qGc5i3+dWifQtS/V4so7dNh/O81ZOCvWSVDG0="
        );
    }
}
