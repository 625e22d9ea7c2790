//! Identity: passwords, access tokens, sessions, second factors, throttling.

pub mod bootstrap;
mod crypto;
pub mod password;
pub mod refusals;
pub mod revoked;
pub mod sealing;
pub mod sessions;
pub mod tokens;
pub mod totp;
pub mod vault;

pub use crypto::{random_bytes, sha256_hex};

use std::sync::Arc;

use crate::config::AuthSettings;
use crate::domain::store::Store;
use crate::domain::user::Role;
use crate::domain::{DoctorId, DomainResult, PatientId, SessionId, UserId};

/// Who is calling, from a valid access token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
    pub doctor_id: Option<DoctorId>,
    pub patient_id: Option<PatientId>,
}

/// Everything the HTTP layer needs to authenticate callers.
pub struct Auth {
    pub keys: tokens::Keyring,
    pub revoked: revoked::Revoked,
    pub settings: AuthSettings,
    /// Bounds the password hashing done at once.
    pub hashing: password::HashGate,
    /// The master key sealing the secrets kept in the database.
    pub vault: Arc<vault::Vault>,
    /// Throttling windows this instance saw refuse, until they close.
    pub refusals: refusals::Refusals,
}

impl Auth {
    /// Loads the signing keys (creating the first) and the recent revocations. Fails when the
    /// keys were sealed with another master key.
    pub async fn load(
        store: Arc<dyn Store>,
        settings: AuthSettings,
        vault: Arc<vault::Vault>,
        hashing: password::HashGate,
    ) -> DomainResult<Self> {
        let keys = tokens::Keyring::load(store.clone(), vault.clone()).await?;
        let revoked = revoked::Revoked::new(settings.access_token);
        revoked.sync(&*store).await?;
        Ok(Self {
            keys,
            revoked,
            settings,
            hashing,
            vault,
            refusals: refusals::Refusals::default(),
        })
    }

    /// The caller named by a bearer token: the token must be valid and its session not
    /// revoked; otherwise why not.
    pub async fn principal(&self, token: &str) -> Result<Principal, tokens::TokenProblem> {
        let c = self.keys.verify(token).await?;
        if self.revoked.contains(c.sid) {
            return Err(tokens::TokenProblem::Revoked);
        }
        // The links must fit the role, as the database guarantees for accounts.
        let fits = match c.role {
            Role::Doctor => c.did.is_some(),
            Role::Patient => c.pid.is_some(),
            _ => true,
        };
        if !fits {
            return Err(tokens::TokenProblem::Unverified);
        }
        Ok(Principal {
            user_id: c.sub,
            session_id: c.sid,
            role: c.role,
            doctor_id: c.did,
            patient_id: c.pid,
        })
    }
}
