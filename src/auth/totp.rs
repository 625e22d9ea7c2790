//! Second factor for staff: TOTP (RFC 6238), SHA-1, 6 digits, 30-second steps, one step of
//! clock skew allowed either way — what authenticator apps expect.

use totp_rs::{Algorithm, Secret, TOTP};

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).ok()
}

/// A fresh 160-bit secret, base32.
pub fn new_secret() -> String {
    match Secret::Raw(super::crypto::random_bytes::<20>().to_vec()).to_encoded() {
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

/// Seconds in one TOTP step.
const STEP: u64 = 30;

/// The step (Unix time / 30) whose code `code` is, among the current step and one either side;
/// `None` when it is none of them. The caller accepts a step once (replay guard).
pub fn matching_step(secret_b32: &str, code: &str) -> Option<i64> {
    let t = totp(secret_b32)?;
    let code = code.trim();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs()
        / STEP;
    [now, now.saturating_sub(1), now + 1]
        .into_iter()
        .find_map(|step| {
            let expected = t.generate(step * STEP);
            constant_time_eq(expected.as_bytes(), code.as_bytes()).then_some(step as i64)
        })
}

/// Whether the code is valid now for the secret (enrolment's first code).
pub fn check(secret_b32: &str, code: &str) -> bool {
    matching_step(secret_b32, code).is_some()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a second-factor field holds a TOTP code (six digits) rather than a recovery code.
pub fn looks_like_code(s: &str) -> bool {
    let s = s.trim();
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Recovery codes given per enrolment.
pub const RECOVERY_CODES: usize = 10;

/// Fresh recovery codes: 10 of 12 characters from an unambiguous alphabet (60 bits each),
/// shown as `xxxx-xxxx-xxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = super::crypto::random_bytes::<12>()
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

/// A recovery code as typed, in the form it was hashed: lower case, no dashes or spaces.
pub fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
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
        let step = matching_step(&s, &code).unwrap();
        let now = chrono::Utc::now().timestamp() / 30;
        assert!((now - 1..=now + 1).contains(&step));
        let old = totp(&s).unwrap().generate(((now - 3) * 30) as u64);
        assert_eq!(matching_step(&s, &old), None, "three steps back is too old");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut uniq = codes.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 10);
        assert_eq!(normalise_recovery(" AbCd-efgh-2345 "), "abcdefgh2345");
        assert!(looks_like_code("123456") && !looks_like_code(&codes[0]));
    }
}
