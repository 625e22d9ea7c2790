//! What the e-mailed links share: their tokens, the answer to a bad one, the neutral answer to
//! a request for one, and the account audit their use leaves.

use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ApiError;
use super::state::AppState;
use crate::domain::credentials::AccountEvent;
use crate::domain::{DomainError, UserId};

/// A fresh link token: 32 random bytes (URL-safe base64) and the hash kept of it.
pub(super) fn new_token() -> (String, String) {
    use base64::Engine;
    let token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::auth::random_bytes::<32>());
    let hash = crate::auth::sha256_hex(&token);
    (token, hash)
}

/// What a sign-up or a reset request answers in `verify` mode, whatever the address.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always `sent`: a message is on its way to the address if it can be used.
    #[schema(example = "sent")]
    pub status: &'static str,
}

/// The answer to a link token that is unknown, used or expired.
pub(super) fn bad_token(e: DomainError) -> ApiError {
    match e {
        DomainError::NotFound(_) => {
            ApiError::field("token", "is not valid: unknown, used already, or expired")
        }
        e => e.into(),
    }
}

/// Appends to the account audit: `actor` `None` is the holder of an e-mailed link.
pub(super) async fn audit(
    app: &AppState,
    actor: Option<&Caller>,
    user: UserId,
    action: &'static str,
    request_id: String,
) -> Result<(), ApiError> {
    app.store
        .record_account_event(AccountEvent {
            actor_id: actor.map(|c| c.who.user_id),
            actor_role: actor.map_or("link".to_owned(), |c| c.role().as_str().to_owned()),
            user_id: Some(user),
            action,
            request_id,
        })
        .await?;
    Ok(())
}
