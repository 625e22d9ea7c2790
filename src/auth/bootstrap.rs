//! The first way in: an admin account made sure of at start.

use crate::config::AuthSettings;
use crate::domain::contact::Email;
use crate::domain::store::Store;
use crate::domain::user::{NewUser, Role};
use crate::domain::DomainError;

use super::password;

/// The account made when nothing is configured and no account exists.
pub const DEFAULT_ADMIN: &str = "admin@localhost";

/// What start-up did about the admin account.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Nothing to do.
    Nothing,
    /// `ADMIN_EMAIL` was created with `ADMIN_PASSWORD`.
    Created,
    /// `admin@localhost` was created with this random password (to print once).
    Generated(String),
}

/// Why start-up could not make sure of the admin account.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("ADMIN_EMAIL {0}")]
    Email(String),
    #[error("ADMIN_PASSWORD {0}")]
    Password(String),
    #[error(transparent)]
    Store(#[from] DomainError),
}

fn random_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(super::crypto::random_bytes::<18>())
}

/// With `ADMIN_EMAIL`/`ADMIN_PASSWORD`, creates that admin unless the e-mail has an account (an
/// existing password is never overwritten). With neither and no account at all, creates
/// `admin@localhost` with a random password.
pub async fn ensure_admin(
    store: &dyn Store,
    settings: &AuthSettings,
) -> Result<Bootstrap, BootstrapError> {
    let (email, pw, generated) = match (&settings.admin_email, &settings.admin_password) {
        (Some(e), Some(p)) => {
            if store.credentials(e.trim()).await?.is_some() {
                return Ok(Bootstrap::Nothing);
            }
            (e.trim().to_owned(), p.0.clone(), false)
        }
        _ => {
            if store.any_user().await? {
                return Ok(Bootstrap::Nothing);
            }
            (DEFAULT_ADMIN.to_owned(), random_password(), true)
        }
    };
    // `admin@localhost` has no dotted domain, so it is taken as it is; a configured address
    // must be a valid one.
    let parsed = if generated {
        Email::from_stored(email.clone())
    } else {
        Email::try_from(email.clone()).map_err(BootstrapError::Email)?
    };
    password::check_rules(&pw, &email).map_err(BootstrapError::Password)?;
    let hash = password::hash(pw.clone())
        .await
        .map_err(|e| DomainError::Internal(e.into()))?;
    let created = store
        .create_user(NewUser {
            email: parsed,
            password_hash: hash,
            role: Role::Admin,
            doctor_id: None,
            patient_id: None,
        })
        .await;
    match created {
        Ok(_) if generated => Ok(Bootstrap::Generated(pw)),
        Ok(_) => Ok(Bootstrap::Created),
        // Another instance starting at the same time made it first.
        Err(DomainError::Duplicate(_)) => Ok(Bootstrap::Nothing),
        Err(e) => Err(e.into()),
    }
}
