//! The second factor for staff (TOTP, RFC 6238): enrolling and removing it need the current
//! password; enrolment gives ten single-use recovery codes; an admin can reset another
//! account's second factor (audited). Secrets are kept sealed under the master key.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::{auth_error, UserView};
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ValidJson, ValidPath};
use super::fields::required;
use super::policy::ClientIp;
use super::response::{self, Envelope, Reply};
use super::state::AppState;
use crate::auth::{sessions, sha256_hex, totp};
use crate::domain::credentials::AccountEvent;
use crate::domain::{DomainError, UserId};

/// A second factor being enrolled.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret for the authenticator app.
    pub secret: String,
    /// The same as an `otpauth://` URI (for a QR code).
    pub otpauth_uri: String,
    /// Ten single-use codes a login accepts instead of a TOTP code (as `recovery_code`, or in
    /// `totp_code`); shown only now, kept hashed.
    pub recovery_codes: Vec<String>,
}

/// The caller's current password, to change their second factor.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery"}))]
pub struct CurrentPassword {
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, max_length = 1024)]
    password: Option<String>,
}

/// 401 unless `password` is the caller's current one; counted like a login (429 past it).
async fn check_password(
    app: &AppState,
    user: UserId,
    password: String,
    ip: &str,
) -> Result<(), ApiError> {
    let creds = app.store.credentials_by_id(user).await?;
    let (store, auth) = (&*app.store, &app.auth);
    sessions::recheck_password(store, auth, &creds.user, creds.password_hash, password, ip)
        .await
        .map_err(auth_error)
}

/// Start enrolling a second factor (staff)
///
/// Needs the current password. Keeps a new TOTP secret (sealed), not yet required, and ten
/// recovery codes (hashed); `POST /auth/totp/confirm` with a current code turns it on. From
/// then on login needs `totp_code` (or a recovery code).
#[utoipa::path(post, path = "/auth/totp", operation_id = "enrolTotp", tag = "auth",
    request_body = CurrentPassword,
    responses(
        (status = 200, description = "The secret to load into an authenticator app, and the recovery codes", body = Envelope<TotpEnrolment>),
        (status = 401, description = "`INVALID_CREDENTIALS`: the password is wrong", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: a second factor is already on", body = ErrorBody),
    ))]
pub async fn totp_enrol(
    State(app): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<CurrentPassword>,
) -> Result<Reply<TotpEnrolment>, ApiError> {
    let user = caller.who.user_id;
    check_password(&app, user, required(body.password, "password")?, &ip).await?;
    let creds = app.store.credentials_by_id(user).await?;
    if creds.user.totp_enabled {
        return Err(DomainError::Duplicate("A second factor is already on".into()).into());
    }
    let secret = totp::new_secret();
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| sha256_hex(&totp::normalise_recovery(c)))
        .collect();
    let sealed = app.auth.vault.seal_totp(user, &secret);
    app.store
        .enrol_second_factor(user, &sealed, &hashes)
        .await?;
    let otpauth_uri = totp::uri(&secret, creds.user.email.as_str());
    Ok(response::ok(
        "Load the secret into an authenticator app, keep the recovery codes, then confirm with a code",
        TotpEnrolment {
            secret,
            otpauth_uri,
            recovery_codes: codes,
        },
    ))
}

/// A TOTP code.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "492039"}))]
pub struct TotpCode {
    #[garde(required, length(chars, min = 6, max = 8))]
    #[schema(value_type = String, min_length = 6, max_length = 8)]
    code: Option<String>,
}

/// Turn the second factor on
#[utoipa::path(post, path = "/auth/totp/confirm", operation_id = "confirmTotp", tag = "auth", request_body = TotpCode,
    responses(
        (status = 200, description = "On", body = Envelope<UserView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, or (depending on the time and the account) a code that is not the current one, or no enrolment started", body = ErrorBody),
    ))]
pub async fn totp_confirm(
    State(app): State<AppState>,
    caller: Caller,
    ValidJson(body): ValidJson<TotpCode>,
) -> Result<Reply<UserView>, ApiError> {
    let code = required(body.code, "code")?;
    let user = caller.who.user_id;
    let creds = app.store.credentials_by_id(user).await?;
    let sealed = creds
        .totp_secret
        .ok_or_else(|| ApiError::field("code", "no enrolment was started"))?;
    let secret = app
        .auth
        .vault
        .open_totp(user, &sealed)
        .map_err(DomainError::from)?;
    // Proof that the app holds the secret; the code's step is not spent here, so the first
    // login may use the same code.
    if !totp::check(&secret, &code) {
        return Err(ApiError::field("code", "is not the current code"));
    }
    app.store.set_totp(user, Some(sealed), true).await?;
    let creds = app.store.credentials_by_id(user).await?;
    tracing::info!(user_id = %user, "second factor on");
    Ok(response::ok("Second factor on", creds.user.into()))
}

/// Turn the caller's second factor off
///
/// Needs the current password; forgets the secret and the recovery codes.
#[utoipa::path(delete, path = "/auth/totp", operation_id = "removeTotp", tag = "auth",
    request_body = CurrentPassword,
    responses(
        (status = 200, description = "Off", body = Envelope<UserView>),
        (status = 401, description = "`INVALID_CREDENTIALS`: the password is wrong", body = ErrorBody),
    ))]
pub async fn totp_remove(
    State(app): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<CurrentPassword>,
) -> Result<Reply<UserView>, ApiError> {
    let user = caller.who.user_id;
    check_password(&app, user, required(body.password, "password")?, &ip).await?;
    let user_view = clear_second_factor(&app, &caller, user, "totp_removed").await?;
    tracing::info!(user_id = %user, "second factor off");
    Ok(response::ok("Second factor off", user_view))
}

/// `{id}` of an account.
#[derive(Deserialize, garde::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountPath {
    /// The account's id.
    #[garde(skip)]
    id: UserId,
}

/// Reset an account's second factor (admin)
///
/// For a member of staff who lost their authenticator and recovery codes: the second factor
/// is off until they enrol again. Recorded in the account audit with the admin's id.
#[utoipa::path(delete, path = "/users/{id}/totp", operation_id = "resetUserTotp", tag = "users",
    params(AccountPath),
    responses(
        (status = 200, description = "The account, its second factor off", body = Envelope<UserView>),
        (status = 404, description = "`NOT_FOUND`: no such account", body = ErrorBody),
    ))]
pub async fn totp_reset(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AccountPath>,
) -> Result<Reply<UserView>, ApiError> {
    app.store.credentials_by_id(p.id).await?;
    let user_view = clear_second_factor(&app, &caller, p.id, "totp_reset").await?;
    tracing::warn!(user_id = %p.id, by = %caller.who.user_id, "second factor reset by an admin");
    Ok(response::ok("Second factor reset", user_view))
}

/// Turns the second factor off and forgets its secret and codes, audited, in one transaction.
async fn clear_second_factor(
    app: &AppState,
    caller: &Caller,
    user: UserId,
    action: &'static str,
) -> Result<UserView, ApiError> {
    let event = AccountEvent {
        actor_id: Some(caller.who.user_id),
        actor_role: caller.role().as_str().to_owned(),
        user_id: Some(user),
        action,
        request_id: caller.access.request_id.clone(),
    };
    app.store.clear_second_factor(user, event).await?;
    Ok(app.store.credentials_by_id(user).await?.user.into())
}
