//! Password hashing (argon2id, OWASP parameters) under a concurrency bound, and the password
//! rules of NIST SP 800-63B with a strength estimate (zxcvbn).

use std::sync::atomic::{AtomicUsize, Ordering};
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
    let local = email.split('@').next().unwrap_or_default();
    let estimate = zxcvbn::zxcvbn(password, &[email, local, "carebook"]);
    if u8::from(estimate.score()) < MIN_SCORE {
        return Err("is too easy to guess; add words or make it less predictable".into());
    }
    Ok(())
}

/// Least zxcvbn score (0-4) a new password needs: 3 is "safely unguessable" against an
/// offline attack on a slow hash.
pub const MIN_SCORE: u8 = 3;

/// Password hashing is the one thing an anonymous client can make carebook spend CPU on at
/// will: at most `concurrency` hashes run at once, `queue` more wait, and past that a request
/// is refused at once (503) instead of starving bookings of the cores.
pub struct HashGate {
    permits: tokio::sync::Semaphore,
    admitted: AtomicUsize,
    most: usize,
}

/// The gate is full: answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Counts a request as admitted until dropped (also when its future is dropped mid-way).
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    /// A gate running `concurrency` hashes at once with `queue` waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: tokio::sync::Semaphore::new(concurrency),
            admitted: AtomicUsize::new(0),
            most: concurrency + queue,
        }
    }

    async fn run<T, F: std::future::Future<Output = T>>(&self, work: F) -> Result<T, Busy> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.most {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let _admitted = Admitted(&self.admitted);
        let _permit = self.permits.acquire().await.map_err(|_| Busy)?;
        Ok(work.await)
    }

    /// [`hash`] through the gate.
    pub async fn hash(&self, password: String) -> Result<Result<String, String>, Busy> {
        self.run(hash(password)).await
    }

    /// [`verify`] through the gate.
    pub async fn verify(&self, stored: String, password: String) -> Result<bool, Busy> {
        self.run(verify(stored, password)).await
    }

    /// [`verify_dummy`] through the gate.
    pub async fn verify_dummy(&self, password: String) -> Result<(), Busy> {
        self.run(verify_dummy(password)).await
    }
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
        // Long but guessable: a keyboard walk, a repeated word, the address with a digit.
        for weak in ["qwertyuiopasdfgh", "passwordpassword", "anna@clinic.test1"] {
            assert!(check_rules(weak, "anna@clinic.test").is_err(), "{weak}");
        }
    }

    #[tokio::test]
    async fn the_gate_refuses_past_its_queue_at_once() {
        let gate = std::sync::Arc::new(HashGate::new(1, 1));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let holder = gate.clone();
        let first = tokio::spawn(async move { holder.run(async { rx.await.ok() }).await });
        tokio::task::yield_now().await;
        let waiting = gate.clone();
        let second = tokio::spawn(async move { waiting.run(async {}).await });
        tokio::task::yield_now().await;
        assert_eq!(gate.run(async {}).await, Err(Busy));
        tx.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok());
        assert_eq!(gate.run(async { 7 }).await, Ok(7));
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
