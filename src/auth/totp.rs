//! Second factor for staff: TOTP (RFC 6238), SHA-1, 6 digits, 30-second steps, one step of
//! clock skew allowed either way — what authenticator apps expect.

use totp_rs::{Algorithm, Secret, TOTP};

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).ok()
}

/// A fresh 160-bit secret, base32.
pub fn new_secret() -> String {
    match Secret::Raw(super::random_bytes::<20>().to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => String::new(),
    }
}

/// The `otpauth://` URI an authenticator app reads (as a QR code or pasted).
pub fn uri(secret_b32: &str, account: &str) -> String {
    let account: String = form_urlencoded::byte_serialize(account.as_bytes()).collect();
    format!(
        "otpauth://totp/carebook:{account}?secret={secret_b32}&issuer=carebook&algorithm=SHA1&digits=6&period=30"
    )
}

/// Whether the code is valid now for the secret.
pub fn check(secret_b32: &str, code: &str) -> bool {
    totp(secret_b32).is_some_and(|t| t.check_current(code.trim()).unwrap_or(false))
}

/// The current code for the secret (tests and tools only have the secret to go on).
pub fn current(secret_b32: &str) -> Option<String> {
    totp(secret_b32)?.generate_current().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_secret_checks_its_own_code() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        let code = current(&s).unwrap();
        assert!(check(&s, &code));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(!check(&s, &wrong));
        assert!(uri(&s, "a@b.c").starts_with("otpauth://totp/carebook:a%40b.c?secret="));
    }
}
