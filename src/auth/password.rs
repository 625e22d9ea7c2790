//! Password hashing (argon2id, OWASP parameters) and the password rules of NIST SP 800-63B.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Fewest characters a password may have.
pub const MIN_LEN: usize = 12;
/// Most characters a password may have (bounds the hashing work an attacker can ask for).
pub const MAX_LEN: usize = 128;

/// Passwords too common to allow, whatever their length: the ones of at least 12 characters
/// from the usual leaked-password top lists, compared case-insensitively.
const COMMON: &str = include_str!("common-passwords.txt");

/// argon2id with OWASP's first recommended setting: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits, so `new` cannot fail.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the rules; the error is a sentence for the client.
pub fn check_rules(password: &str, email: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(format!("must be at least {MIN_LEN} characters"));
    }
    if len > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("must not be the e-mail address".into());
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|c| c.trim() == lower) {
        return Err("is too common; choose another".into());
    }
    Ok(())
}

/// Hashes a password off the async runtime (it takes tens of milliseconds on purpose).
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Whether `password` matches the stored hash, checked off the async runtime. A malformed hash
/// matches nothing.
pub async fn verify(stored: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Burns the time of one verification, for an unknown e-mail: a wrong e-mail and a wrong
/// password then take the same time.
pub async fn verify_dummy(password: String) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h = hash("a dummy password nobody has".into())
                .await
                .unwrap_or_default();
            DUMMY.get_or_init(|| h).clone()
        }
    };
    let _ = verify(stored, password).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_nist() {
        assert!(check_rules("short", "a@b.c").is_err());
        assert!(check_rules(&"x".repeat(129), "a@b.c").is_err());
        assert!(check_rules("anna@clinic.test", "anna@clinic.test").is_err());
        assert!(check_rules("Password1234", "a@b.c").is_err());
        assert!(check_rules("correct horse battery", "a@b.c").is_ok());
        // No composition rules: all lower case letters are fine.
        assert!(check_rules("tiguvxqmbzwenrat", "a@b.c").is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(h.clone(), "correct horse battery".into()).await);
        assert!(!verify(h, "wrong horse battery".into()).await);
        assert!(!verify("not a hash".into(), "x".into()).await);
    }
}
