//! The credentials around an account: login throttling windows, e-mailed links (verification,
//! invitation, password reset), second-factor recovery codes and replay guard, spent refresh
//! secrets, and the account audit trail — and the port that keeps them.

use async_trait::async_trait;

use super::{DomainResult, PatientId, SessionId, UserId};

/// A throttling window after an attempt was counted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Attempts counted in the window, this one included.
    pub failures: i64,
    /// Seconds until the window closes (at least 1).
    pub retry_after_secs: i64,
}

/// What an e-mailed link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Finish a sign-up by proving the address.
    Verify,
    /// Set a password for a patient record the clinic made.
    Invite,
    /// Set a new password.
    Reset,
}

impl LinkPurpose {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Invite => "invite",
            Self::Reset => "reset",
        }
    }
}

/// A link to keep: only the hash of its token is stored.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub purpose: LinkPurpose,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The address it was sent to.
    pub email: String,
    /// The account it acts on (reset).
    pub user_id: Option<UserId>,
    /// The patient record it links (invite).
    pub patient_id: Option<PatientId>,
    /// What the link completes (verify: the sign-up as JSON).
    pub payload: Option<String>,
    /// How long it stays valid.
    pub valid_secs: i64,
}

/// A link just spent.
#[derive(Debug, Clone)]
pub struct Link {
    pub email: String,
    pub user_id: Option<UserId>,
    pub patient_id: Option<PatientId>,
    pub payload: Option<String>,
}

/// A security-relevant change to an account, for the append-only account audit.
#[derive(Debug, Clone)]
pub struct AccountEvent {
    /// Who did it; `None` for the holder of an e-mailed link or the system.
    pub actor_id: Option<UserId>,
    /// The actor's role, `link` or `system`.
    pub actor_role: String,
    /// The account concerned.
    pub user_id: Option<UserId>,
    /// What happened, e.g. `totp_reset`, `password_reset`, `invitation_accepted`.
    pub action: &'static str,
    pub request_id: String,
}

/// Where a secret kept in the database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `signing_keys.secret`, by `kid`.
    SigningKey,
    /// `users.totp_secret`, by user id.
    Totp,
    /// `webhooks.secret`, by webhook id.
    Webhook,
}

/// One secret kept in the database, as stored (sealed, or plain from before sealing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    pub kind: SecretKind,
    /// The row: a key id, or a user's or webhook's id.
    pub row: String,
    pub value: String,
}

/// The credentials port.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Counts an attempt in each `(key, window seconds)` before anything is checked, atomically:
    /// of N parallel attempts each sees its own count. Returns the windows in `keys`' order.
    async fn take_attempt(&self, keys: &[(String, i64)]) -> DomainResult<Vec<Window>>;
    /// Gives back one counted attempt of each of `keys`, and clears the `reset` keys.
    async fn give_back_attempts(&self, keys: &[String], reset: &[String]) -> DomainResult<()>;
    /// Deletes throttling windows and links that ended over a day ago; how many.
    async fn purge_credentials(&self) -> DomainResult<u64>;

    /// Whether an account or a patient record has this address (case-insensitive).
    async fn address_in_use(&self, email: &str) -> DomainResult<bool>;
    /// Keeps a link's hash.
    async fn create_link(&self, link: NewLink) -> DomainResult<()>;
    /// Spends a link of `purpose` that is unused and unexpired (database clock), once.
    /// Errors: `NotFound("link")` for an unknown, spent, expired or other-purpose token.
    async fn spend_link(&self, purpose: LinkPurpose, token_hash: &str) -> DomainResult<Link>;

    /// Keeps a second factor being enrolled: the sealed secret (not yet required) and the
    /// recovery codes' hashes, replacing any before, in one transaction.
    async fn enrol_second_factor(
        &self,
        user: UserId,
        sealed_secret: &str,
        recovery_hashes: &[String],
    ) -> DomainResult<()>;
    /// Turns the account's second factor off, forgets its secret and recovery codes, and
    /// appends `event` to the account audit, in one transaction.
    async fn clear_second_factor(&self, user: UserId, event: AccountEvent) -> DomainResult<()>;
    /// Spends one unused recovery code of the account; whether there was one.
    async fn use_recovery_code(&self, user: UserId, hash: &str) -> DomainResult<bool>;
    /// Moves the account's last accepted TOTP step to `step` if it is later; whether it was
    /// (false: the code was used already).
    async fn advance_totp_step(&self, user: UserId, step: i64) -> DomainResult<bool>;
    /// Whether `refresh_hash` is a secret of the session that was spent already.
    async fn is_spent_refresh(&self, session: SessionId, refresh_hash: &str) -> DomainResult<bool>;
    /// Appends to the account audit.
    async fn record_account_event(&self, event: AccountEvent) -> DomainResult<()>;

    /// Every secret kept in the database (signing keys, TOTP secrets, webhook secrets).
    async fn stored_secrets(&self) -> DomainResult<Vec<StoredSecret>>;
    /// Writes each secret's new value, all in one transaction, where the stored value is still
    /// the one read; how many were written.
    async fn replace_secrets(&self, changes: &[(StoredSecret, String)]) -> DomainResult<u64>;
}
