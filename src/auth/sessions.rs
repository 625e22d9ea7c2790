//! Login, refresh with rotation and theft detection, logout, password change.
//!
//! A refresh token is `<session id>.<secret>`; the database keeps only the SHA-256 of the
//! current secret. Each refresh replaces the secret. A secret that is not the current one for a
//! live session means a token was copied and used twice: the whole session is revoked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::crypto::sha256_hex;
use super::{password, totp, Auth, Principal};
use crate::domain::store::Store;
use crate::domain::user::{Credentials, User};
use crate::domain::{DomainError, SessionId};

/// Failed logins for one account from one client address within [`PAIR_WINDOW_SECS`] before
/// that address is refused for that account.
pub const PAIR_LIMIT: i64 = 5;
pub const PAIR_WINDOW_SECS: i64 = 15 * 60;
/// Failed logins from one client address within [`IP_WINDOW_SECS`] before it is refused.
pub const IP_LIMIT: i64 = 30;
pub const IP_WINDOW_SECS: i64 = 60;
/// Failed logins for one account from anywhere within [`ACCOUNT_WINDOW_SECS`] past which each
/// attempt waits [`ACCOUNT_DELAY`]: it slows a distributed guesser, never refuses the owner.
pub const ACCOUNT_SLOW: i64 = 10;
pub const ACCOUNT_WINDOW_SECS: i64 = 15 * 60;
pub const ACCOUNT_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

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
    /// Too many passwords being checked at once: try again in a moment.
    Busy,
    Store(DomainError),
}

impl From<password::Busy> for AuthError {
    fn from(_: password::Busy) -> Self {
        Self::Busy
    }
}

impl From<DomainError> for AuthError {
    fn from(e: DomainError) -> Self {
        Self::Store(e)
    }
}

fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(super::crypto::random_bytes::<32>())
}

/// The throttling keys of a login attempt: the account from this address, this address, and
/// the account from anywhere.
struct Keys {
    pair: String,
    ip: String,
    account: String,
}

impl Keys {
    fn new(email: &str, ip: &str) -> Self {
        let email = email.to_lowercase();
        Self {
            pair: format!("pair:{email}|{ip}"),
            ip: format!("ip:{ip}"),
            account: format!("acct:{email}"),
        }
    }

    /// Not a guess after all (the right password, a second factor still to come; or a login
    /// that worked): the attempt is given back, and a success clears its address's count.
    async fn give_back(&self, store: &dyn Store, succeeded: bool) -> Result<(), DomainError> {
        let keys = [self.ip.clone(), self.account.clone()];
        if succeeded {
            store
                .give_back_attempts(&keys, std::slice::from_ref(&self.pair))
                .await
        } else {
            let mut all = keys.to_vec();
            all.push(self.pair.clone());
            store.give_back_attempts(&all, &[]).await
        }
    }
}

/// What a login offers besides the password: a TOTP code or a recovery code.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecondFactor<'a> {
    pub code: Option<&'a str>,
    pub recovery_code: Option<&'a str>,
}

/// Checks e-mail, password (and the second factor when enrolled), then starts a session.
///
/// The attempt takes its place in the throttling windows before anything is checked, so N
/// parallel guesses evaluate at most the limit; the rest are refused without hashing.
pub async fn login(
    store: &dyn Store,
    auth: &Auth,
    email: &str,
    password: String,
    second: SecondFactor<'_>,
    ip: &str,
) -> Result<Issued, AuthError> {
    let gate = &auth.hashing;
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_control) {
        // No account has such an e-mail (and PostgreSQL cannot even store a NUL): answer as
        // for any unknown one, in the same time, without touching the database.
        gate.verify_dummy(password).await?;
        return Err(AuthError::Invalid);
    }
    let keys = Keys::new(email, ip);
    // A window this instance saw refuse is still closed: no need to ask the database.
    for key in [&keys.pair, &keys.ip] {
        if let Some(wait) = auth.refusals.refused(key) {
            return Err(AuthError::Throttled(wait));
        }
    }
    let windows = store
        .take_attempt(&[
            (keys.pair.clone(), PAIR_WINDOW_SECS),
            (keys.ip.clone(), IP_WINDOW_SECS),
            (keys.account.clone(), ACCOUNT_WINDOW_SECS),
        ])
        .await?;
    let [pair, by_ip, account] = windows[..] else {
        return Err(DomainError::Internal("throttling windows".into()).into());
    };
    // A refused attempt stays counted only where it was refused: it evaluated nothing, so it
    // does not use up the address's (or the account's) other windows.
    if pair.failures > PAIR_LIMIT {
        let others = [keys.ip.clone(), keys.account.clone()];
        store.give_back_attempts(&others, &[]).await?;
        auth.refusals
            .refuse(&keys.pair, pair.retry_after_secs as u64);
        return Err(AuthError::Throttled(pair.retry_after_secs as u64));
    }
    if by_ip.failures > IP_LIMIT {
        // The pair's count stays: giving it back could let a parallel guess at this account
        // past its own limit.
        let others = [keys.account.clone()];
        store.give_back_attempts(&others, &[]).await?;
        auth.refusals
            .refuse(&keys.ip, by_ip.retry_after_secs as u64);
        return Err(AuthError::Throttled(by_ip.retry_after_secs as u64));
    }
    if account.failures > ACCOUNT_SLOW {
        tokio::time::sleep(ACCOUNT_DELAY).await;
    }
    let Some(Credentials {
        user,
        password_hash,
        totp_secret,
    }) = store.credentials(email).await?
    else {
        gate.verify_dummy(password).await?;
        return Err(AuthError::Invalid);
    };
    if !gate.verify(password_hash, password).await? || user.disabled {
        return Err(AuthError::Invalid);
    }
    if user.totp_enabled {
        let stored = totp_secret.unwrap_or_default();
        let secret = auth
            .vault
            .open_totp(user.id, &stored)
            .map_err(DomainError::from)?;
        match second_factor(store, &user, &secret, second).await? {
            Some(true) => {}
            Some(false) => return Err(AuthError::Invalid),
            None => {
                keys.give_back(store, false).await?;
                return Err(AuthError::TotpRequired);
            }
        }
    }
    keys.give_back(store, true).await?;
    start(store, auth, user).await
}

/// Checks the second factor offered: `None` when none was, else whether it is right. A TOTP
/// code is accepted once, for the current step or one either side; a recovery code once ever.
/// A code field that is not six digits is taken as a recovery code.
async fn second_factor(
    store: &dyn Store,
    user: &User,
    secret: &str,
    offered: SecondFactor<'_>,
) -> Result<Option<bool>, DomainError> {
    let code = offered.code.map(str::trim).filter(|c| !c.is_empty());
    let recovery = offered
        .recovery_code
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let (code, recovery) = match (code, recovery) {
        (Some(c), None) if !totp::looks_like_code(c) => (None, Some(c)),
        other => other,
    };
    if let Some(r) = recovery {
        let hash = sha256_hex(&totp::normalise_recovery(r));
        return Ok(Some(store.use_recovery_code(user.id, &hash).await?));
    }
    let Some(code) = code else {
        return Ok(None);
    };
    match totp::matching_step(secret, code) {
        Some(step) => Ok(Some(store.advance_totp_step(user.id, step).await?)),
        None => Ok(Some(false)),
    }
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
        // Only a secret this session really issued and spent means a copied token: then the
        // session ends. Any other wrong secret is a guess, refused without changing anything.
        if store.is_spent_refresh(sid, &old).await? {
            revoke(store, auth, sid, "refresh token reused").await?;
            tracing::warn!(session = %sid, "refresh token reused; session revoked");
        }
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

/// Checks a signed-in account's password again (to change it or its second factor), counted
/// in the same throttling windows as a login: a stolen access token cannot be used to guess it.
pub async fn recheck_password(
    store: &dyn Store,
    auth: &Auth,
    user: &User,
    stored_hash: String,
    password: String,
    ip: &str,
) -> Result<(), AuthError> {
    let keys = Keys::new(user.email.as_str(), ip);
    let windows = store
        .take_attempt(&[
            (keys.pair.clone(), PAIR_WINDOW_SECS),
            (keys.ip.clone(), IP_WINDOW_SECS),
            (keys.account.clone(), ACCOUNT_WINDOW_SECS),
        ])
        .await?;
    if let [pair, by_ip, _] = windows[..] {
        for (w, limit) in [(pair, PAIR_LIMIT), (by_ip, IP_LIMIT)] {
            if w.failures > limit {
                return Err(AuthError::Throttled(w.retry_after_secs as u64));
            }
        }
    }
    if !auth.hashing.verify(stored_hash, password).await? {
        return Err(AuthError::Invalid);
    }
    keys.give_back(store, true).await?;
    Ok(())
}

/// Changes the caller's password and ends every other session of theirs.
pub async fn change_password(
    store: &dyn Store,
    auth: &Auth,
    caller: &Principal,
    current: String,
    new: String,
    ip: &str,
) -> Result<(), AuthError> {
    let creds = store.credentials_by_id(caller.user_id).await?;
    recheck_password(store, auth, &creds.user, creds.password_hash, current, ip).await?;
    let hash = auth
        .hashing
        .hash(new)
        .await?
        .map_err(|e| DomainError::Internal(e.into()))?;
    store
        .set_password(caller.user_id, hash, Some(caller.session_id))
        .await?;
    auth.revoked.sync(store).await?;
    Ok(())
}
