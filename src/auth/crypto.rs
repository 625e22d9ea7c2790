//! Random bytes and digests every secret and fingerprint starts from.

/// `N` bytes from the operating system's CSPRNG: every secret carebook makes (signing keys,
/// refresh secrets, TOTP secrets, the first admin's password) starts here.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// SHA-256 of `text`, lower-case hex (refresh secrets, idempotency fingerprints).
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
