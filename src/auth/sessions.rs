//! Login, refresh with rotation and theft detection, logout, password change.
//!
//! A refresh token is `<session id>.<secret>`; the database keeps only the SHA-256 of the
//! current secret. Each refresh replaces the secret. A secret that is not the current one for a
//! live session means a token was copied and used twice: the whole session is revoked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::{password, sha256_hex, totp, Auth, Principal};
use crate::domain::store::Store;
use crate::domain::user::{Credentials, User};
use crate::domain::{DomainError, SessionId};

/// Failed logins for one account within [`ACCOUNT_WINDOW_SECS`] before it is throttled.
pub const ACCOUNT_LIMIT: i64 = 5;
pub const ACCOUNT_WINDOW_SECS: i64 = 15 * 60;
/// Failed logins from one IP within [`IP_WINDOW_SECS`] before it is throttled.
pub const IP_LIMIT: i64 = 30;
pub const IP_WINDOW_SECS: i64 = 60;

/// A new token pair.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: User,
}

/// Why a login or refresh failed.
#[derive(Debug)]
pub enum AuthError {
    /// Wrong e-mail, password, code or token; a disabled account; an ended session.
    Invalid,
    /// The password was right but the account needs its TOTP code.
    TotpRequired,
    /// Too many failures: wait this many seconds.
    Throttled(u64),
    Store(DomainError),
}

impl From<DomainError> for AuthError {
    fn from(e: DomainError) -> Self {
        Self::Store(e)
    }
}

fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(super::random_bytes::<32>())
}

/// Checks e-mail, password (and TOTP code when enrolled), then starts a session.
pub async fn login(
    store: &dyn Store,
    auth: &Auth,
    email: &str,
    password: String,
    code: Option<&str>,
    ip: &str,
) -> Result<Issued, AuthError> {
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_control) {
        // No account has such an e-mail (and PostgreSQL cannot even store a NUL): answer as
        // for any unknown one, in the same time, without touching the database.
        password::verify_dummy(password).await;
        return Err(AuthError::Invalid);
    }
    let f = store
        .login_failures(email, ip, ACCOUNT_WINDOW_SECS, IP_WINDOW_SECS)
        .await?;
    if f.account.0 >= ACCOUNT_LIMIT {
        return Err(AuthError::Throttled(f.account.1 as u64));
    }
    if f.ip.0 >= IP_LIMIT {
        return Err(AuthError::Throttled(f.ip.1 as u64));
    }
    let creds = store.credentials(email).await?;
    let Some(Credentials {
        user,
        password_hash,
        totp_secret,
    }) = creds
    else {
        password::verify_dummy(password).await;
        store.record_login_failure(email, ip).await?;
        return Err(AuthError::Invalid);
    };
    if !password::verify(password_hash, password).await || user.disabled {
        store.record_login_failure(email, ip).await?;
        return Err(AuthError::Invalid);
    }
    if user.totp_enabled {
        let secret = totp_secret.unwrap_or_default();
        match code {
            None => return Err(AuthError::TotpRequired),
            Some(c) if totp::check(&secret, c) => {}
            Some(_) => {
                store.record_login_failure(email, ip).await?;
                return Err(AuthError::Invalid);
            }
        }
    }
    start(store, auth, user).await
}

/// Starts a session for the user and issues its first pair.
pub async fn start(store: &dyn Store, auth: &Auth, user: User) -> Result<Issued, AuthError> {
    let sid = SessionId::random();
    let secret = random_secret();
    store
        .create_session(sid, user.id, sha256_hex(&secret))
        .await?;
    let until = chrono::Utc::now()
        + chrono::Duration::from_std(auth.settings.session_max).unwrap_or_default();
    pair(auth, user, sid, &secret, until)
}

fn pair(
    auth: &Auth,
    user: User,
    sid: SessionId,
    secret: &str,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<Issued, AuthError> {
    let (access_token, expires_in) = auth
        .keys
        .issue(&user, sid, auth.settings.access_token, until)
        .ok_or_else(|| DomainError::Internal("no signing key".into()))?;
    Ok(Issued {
        access_token,
        expires_in,
        refresh_token: format!("{sid}.{secret}"),
        user,
    })
}

/// Ends a session everywhere: in the database and in this instance's revocation list.
pub async fn revoke(
    store: &dyn Store,
    auth: &Auth,
    sid: SessionId,
    reason: &str,
) -> Result<(), DomainError> {
    store.revoke_session(sid, reason).await?;
    auth.revoked.add(sid);
    Ok(())
}

/// Spends a refresh token for a new pair.
pub async fn refresh(store: &dyn Store, auth: &Auth, token: &str) -> Result<Issued, AuthError> {
    let Some((sid, secret)) = token.split_once('.') else {
        return Err(AuthError::Invalid);
    };
    let Ok(sid) = sid.parse::<SessionId>() else {
        return Err(AuthError::Invalid);
    };
    let Some(session) = store.session(sid).await? else {
        return Err(AuthError::Invalid);
    };
    if session.revoked {
        return Err(AuthError::Invalid);
    }
    let s = &auth.settings;
    let max = chrono::Duration::from_std(s.session_max).unwrap_or_default();
    let idle = chrono::Duration::from_std(s.session_idle).unwrap_or_default();
    if session.now >= session.created_at + max || session.now >= session.last_refresh_at + idle {
        revoke(store, auth, sid, "session ended").await?;
        return Err(AuthError::Invalid);
    }
    let old = sha256_hex(secret);
    if old != session.refresh_hash {
        // A spent (or forged) secret for a live session: assume theft, end the session.
        revoke(store, auth, sid, "refresh token reused").await?;
        tracing::warn!(session = %sid, "refresh token reused; session revoked");
        return Err(AuthError::Invalid);
    }
    let creds = store.credentials_by_id(session.user_id).await?;
    if creds.user.disabled {
        revoke(store, auth, sid, "account disabled").await?;
        return Err(AuthError::Invalid);
    }
    let secret = random_secret();
    if !store
        .rotate_session(sid, &old, &sha256_hex(&secret))
        .await?
    {
        // Another refresh spent the same token first: that is reuse too.
        revoke(store, auth, sid, "refresh token reused").await?;
        return Err(AuthError::Invalid);
    }
    // The session's end, moved from the database clock to this host's.
    let until = chrono::Utc::now() + (session.created_at + max - session.now);
    pair(auth, creds.user, sid, &secret, until)
}

/// Changes the caller's password and ends every other session of theirs.
pub async fn change_password(
    store: &dyn Store,
    auth: &Auth,
    caller: &Principal,
    current: String,
    new: String,
) -> Result<(), AuthError> {
    let creds = store.credentials_by_id(caller.user_id).await?;
    if !password::verify(creds.password_hash, current).await {
        return Err(AuthError::Invalid);
    }
    let hash = password::hash(new)
        .await
        .map_err(|e| DomainError::Internal(e.into()))?;
    store
        .set_password(caller.user_id, hash, Some(caller.session_id))
        .await?;
    auth.revoked.sync(store).await?;
    Ok(())
}
