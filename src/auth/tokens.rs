//! Access tokens: HS256 JWTs signed with keys kept in the database, checked without a database
//! round trip.
//!
//! Every instance on one database shares the keys. The newest key signs; every key not retired
//! verifies, so rotating (adding a key) logs nobody out. A token naming a key this instance has
//! not seen yet makes it reload the keys (at most once a second for one key id, so forged ids
//! cannot turn every request into a database read).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::vault::{signing_key_aad, Vault};
use crate::domain::store::Store;
use crate::domain::user::{Role, User};
use crate::domain::{DoctorId, DomainResult, PatientId, SessionId, UserId};

/// The `iss` of every token.
pub const ISSUER: &str = "carebook";
/// The `aud` of every token.
pub const AUDIENCE: &str = "carebook-api";
/// The id of the key made when a database has none.
const FIRST_KID: &str = "k1";

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user.
    pub sub: UserId,
    /// The session.
    pub sid: SessionId,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<DoctorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<PatientId>,
    pub iat: i64,
    pub exp: i64,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Why a bearer token is refused (RFC 6750 `invalid_token`, with a description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// It was valid, and its time is up: refresh it.
    Expired,
    /// Not a JWT at all.
    Malformed,
    /// Its signature, key, algorithm, issuer or audience does not check out.
    Unverified,
    /// Its session was ended (logout, password change, a disabled account): log in again.
    Revoked,
}

impl TokenProblem {
    /// The `error_description` of the `WWW-Authenticate` answer.
    pub fn description(self) -> &'static str {
        match self {
            Self::Expired => "token expired",
            Self::Malformed => "not a token",
            Self::Unverified => "token not valid",
            Self::Revoked => "session ended",
        }
    }
}

/// The signing keys of this instance, reloaded from the database when needed.
pub struct Keyring {
    store: Arc<dyn Store>,
    /// Opens the keys' sealed secrets.
    vault: Arc<super::vault::Vault>,
    keys: RwLock<Vec<Key>>,
    /// Key ids recently looked for in vain, and when.
    misses: Mutex<HashMap<String, Instant>>,
}

fn random_secret() -> String {
    STANDARD.encode(super::crypto::random_bytes::<32>())
}

impl Keyring {
    /// Loads the keys, creating the first one when the database has none.
    pub async fn load(
        store: Arc<dyn Store>,
        vault: Arc<super::vault::Vault>,
    ) -> DomainResult<Self> {
        let first = vault.seal(&signing_key_aad(FIRST_KID), &random_secret());
        store.add_signing_key(FIRST_KID, &first, true).await?;
        let ring = Self {
            store,
            vault,
            keys: RwLock::new(Vec::new()),
            misses: Mutex::new(HashMap::new()),
        };
        ring.reload().await?;
        Ok(ring)
    }

    /// Rereads the keys from the database. A key that does not open with this instance's
    /// master key fails the reload (the keys held so far stay in use).
    pub async fn reload(&self) -> DomainResult<()> {
        let stored = self.store.signing_keys().await?;
        let mut keys = Vec::with_capacity(stored.len());
        for k in stored {
            let encoded = if Vault::is_sealed(&k.secret) {
                self.vault.open(&signing_key_aad(&k.kid), &k.secret)?
            } else {
                // Kept before secrets were sealed; sealed at the next start.
                k.secret
            };
            let Ok(secret) = STANDARD.decode(encoded.as_bytes()) else {
                continue;
            };
            keys.push(Key {
                kid: k.kid,
                encoding: EncodingKey::from_secret(&secret),
                decoding: DecodingKey::from_secret(&secret),
            });
        }
        if let Ok(mut w) = self.keys.write() {
            *w = keys;
        }
        Ok(())
    }

    /// Adds a new signing key (it signs from the next reload on, on every instance).
    pub async fn rotate(&self) -> DomainResult<String> {
        let kid = format!("k{}", chrono::Utc::now().timestamp_millis());
        let sealed = self.vault.seal(&signing_key_aad(&kid), &random_secret());
        self.store.add_signing_key(&kid, &sealed, false).await?;
        self.reload().await?;
        Ok(kid)
    }

    /// Signs an access token for the user's session, living `ttl` (never past `until`).
    pub fn issue(
        &self,
        user: &User,
        session: SessionId,
        ttl: Duration,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Option<(String, i64)> {
        let now = chrono::Utc::now().timestamp();
        let exp = (now + ttl.as_secs() as i64)
            .min(until.timestamp())
            .max(now + 1);
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.id,
            sid: session,
            role: user.role,
            did: user.doctor_id,
            pid: user.patient_id,
            iat: now,
            exp,
        };
        let keys = self.keys.read().ok()?;
        let key = keys.first()?;
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding).ok()?;
        Some((token, exp - now))
    }

    /// The claims of a valid token: HS256 only, right issuer and audience, not expired, signed
    /// by a known key. Anything else says why, for the client's `WWW-Authenticate`.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenProblem> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenProblem::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenProblem::Unverified);
        }
        let kid = header.kid.ok_or(TokenProblem::Unverified)?;
        if let Some(c) = self.check(token, &kid) {
            return c;
        }
        // A key this instance has not seen: another instance may have rotated.
        if self.looked_for_lately(&kid) {
            return Err(TokenProblem::Unverified);
        }
        self.reload().await.map_err(|_| TokenProblem::Unverified)?;
        self.check(token, &kid)
            .unwrap_or(Err(TokenProblem::Unverified))
    }

    /// Whether `kid` was looked for in the last second (and notes that it is looked for now).
    fn looked_for_lately(&self, kid: &str) -> bool {
        let Ok(mut misses) = self.misses.lock() else {
            return true;
        };
        let now = Instant::now();
        if misses.len() > 1000 {
            misses.retain(|_, at| now.duration_since(*at) < Duration::from_secs(1));
        }
        match misses.insert(kid.to_owned(), now) {
            Some(at) => now.duration_since(at) < Duration::from_secs(1),
            None => false,
        }
    }

    /// `None` when the key is unknown; `Some(Err(…))` when the token fails with a known key.
    fn check(&self, token: &str, kid: &str) -> Option<Result<Claims, TokenProblem>> {
        let keys = self.keys.read().ok()?;
        let key = keys.iter().find(|k| k.kid == kid)?;
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        Some(
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &v)
                .map(|d| d.claims)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenProblem::Expired,
                    _ => TokenProblem::Unverified,
                }),
        )
    }
}
