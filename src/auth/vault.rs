//! Secrets at rest: the token signing keys, TOTP secrets and webhook secrets are kept in the
//! database sealed with ChaCha20-Poly1305 under a master key that never lives there
//! (`CAREBOOK_MASTER_KEY`, or the file `MASTER_KEY_FILE`, made owner-only on first start). A
//! copy of the database alone mints no token and reveals no second factor.
//!
//! A sealed value reads `v1:<key id>:<base64 of nonce, ciphertext and tag>`; the key id (the
//! first bytes of the key's SHA-256) says which master key sealed it, so a server given another
//! key refuses to start with a clear message instead of reading garbage. Each value is bound
//! to where it belongs (the additional data names its kind and row), so a sealed value copied
//! into another row does not open.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};

use crate::config::MasterKey;
use crate::domain::{DomainError, UserId};

/// The prefix of every sealed value.
pub const PREFIX: &str = "v1:";

/// Why a master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key file {0}: {1}")]
    File(String, String),
}

/// The master key, ready to seal and open.
pub struct Vault {
    key: LessSafeKey,
    /// Signs the tokens of the pages' forms; derived from the master key, never the key itself.
    forms: ring::hmac::Key,
    /// Names the key in every sealed value.
    id: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({})", self.id)
    }
}

/// A sealed value that does not open with this key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed with another master key ({0})")]
    OtherKey(String),
    #[error("not a sealed value, or damaged")]
    Damaged,
}

impl From<OpenError> for DomainError {
    fn from(e: OpenError) -> Self {
        DomainError::Internal(Box::new(e))
    }
}

impl Vault {
    /// The vault of a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        use sha2::{Digest, Sha256};
        let id: String = Sha256::digest(key)[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // A 32-byte key always fits ChaCha20-Poly1305.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte key");
        let derived = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
            b"carebook form tokens",
        );
        Self {
            key: LessSafeKey::new(unbound),
            forms: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref()),
            id,
        }
    }

    /// The key named by the settings: given, or read from its file (made when missing).
    pub fn load(source: &MasterKey) -> Result<Self, KeyError> {
        match source {
            MasterKey::Given(k) => Ok(Self::new(k)),
            MasterKey::File(path) => Ok(Self::new(&read_or_make(path)?)),
        }
    }

    /// This key's id, as sealed values name it.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// Seals `plain`, bound to `aad` (what and whose it is).
    pub fn seal(&self, aad: &str, plain: &str) -> String {
        let nonce_bytes = super::crypto::random_bytes::<NONCE_LEN>();
        let mut buf = plain.as_bytes().to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        // Sealing fails only for a message over 256 GiB.
        self.key
            .seal_in_place_append_tag(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .expect("a short secret seals");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        format!("{PREFIX}{}:{}", self.id, STANDARD.encode(out))
    }

    /// Opens a value sealed by [`Vault::seal`] with the same `aad`.
    pub fn open(&self, aad: &str, sealed: &str) -> Result<String, OpenError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(OpenError::Damaged)?;
        let (id, body) = rest.split_once(':').ok_or(OpenError::Damaged)?;
        if id != self.id {
            return Err(OpenError::OtherKey(id.to_owned()));
        }
        let raw = STANDARD.decode(body).map_err(|_| OpenError::Damaged)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Damaged)?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Damaged)
    }

    /// The token a page's form carries for the browser holding `nonce` (its form cookie).
    pub fn form_token(&self, nonce: &str) -> String {
        let tag = ring::hmac::sign(&self.forms, nonce.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Whether `token` is [`Vault::form_token`] of `nonce`, compared in constant time.
    pub fn is_form_token(&self, nonce: &str, token: &str) -> bool {
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        ring::hmac::verify(&self.forms, nonce.as_bytes(), &tag).is_ok()
    }

    /// Whether a stored value is sealed (values from before sealing are plain).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// Seals a user's TOTP secret.
    pub fn seal_totp(&self, user: UserId, secret: &str) -> String {
        self.seal(&totp_aad(user), secret)
    }

    /// Opens a user's stored TOTP secret.
    pub fn open_totp(&self, user: UserId, stored: &str) -> Result<String, OpenError> {
        self.open(&totp_aad(user), stored)
    }
}

/// What a user's TOTP secret is bound to.
pub fn totp_aad(user: UserId) -> String {
    format!("totp:{user}")
}

/// What a signing key's secret is bound to.
pub fn signing_key_aad(kid: &str) -> String {
    format!("signing_key:{kid}")
}

/// What a webhook's secret is bound to.
pub const WEBHOOK_AAD: &str = "webhook";

/// Reads the base64 key in `path`, or makes one there (folder 0700, file 0600).
fn read_or_make(path: &Path) -> Result<[u8; 32], KeyError> {
    let shown = path.display().to_string();
    let err = |m: String| KeyError::File(shown.clone(), m);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = STANDARD
                .decode(text.trim())
                .map_err(|_| err("is not base64".into()))?;
            bytes
                .try_into()
                .map_err(|_| err("must hold exactly 32 bytes in base64".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = super::crypto::random_bytes::<32>();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::private_dir(dir).map_err(|e| err(e.to_string()))?;
            }
            let mut f = crate::files::create_private(path).map_err(|e| err(e.to_string()))?;
            writeln!(f, "{}", STANDARD.encode(key)).map_err(|e| err(e.to_string()))?;
            f.sync_all().map_err(|e| err(e.to_string()))?;
            tracing::warn!(
                path = %shown,
                "created a master key file: keep it (and a copy) apart from database backups; \
                 every instance on this database needs the same key"
            );
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_place() {
        let v = Vault::new(&[1; 32]);
        let sealed = v.seal("totp:a", "JBSWY3DPEHPK3PXP");
        assert!(Vault::is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(v.open("totp:a", &sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        assert_eq!(v.open("totp:b", &sealed), Err(OpenError::Damaged));
        let other = Vault::new(&[2; 32]);
        assert!(matches!(
            other.open("totp:a", &sealed),
            Err(OpenError::OtherKey(_))
        ));
        assert_ne!(
            v.seal("x", "same"),
            v.seal("x", "same"),
            "a fresh nonce each time"
        );
        assert_eq!(v.open("x", "plain text"), Err(OpenError::Damaged));
    }

    #[test]
    fn a_key_file_is_made_owner_only_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vault-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("keys").join("master.key");
        let made = read_or_make(&path).unwrap();
        assert_eq!(read_or_make(&path).unwrap(), made);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        std::fs::write(&path, "short").unwrap();
        assert!(read_or_make(&path).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
