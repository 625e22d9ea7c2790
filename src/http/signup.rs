//! How patients come to have an account: sign-up (`REGISTRATION` verify, open or closed), the
//! e-mailed verification, the front desk's invitations, and password reset. In `verify` mode
//! no answer tells whether an address is known: sign-up and reset answer the same 202 either
//! way and say the rest by e-mail to that address.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::accounts::{busy, UserView};
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidJson};
use super::fields::required;
use super::input;
use super::links::{bad_token, new_token, Accepted};
use super::patients::CreatePatient;
use super::response::{self, Envelope, Reply};
use super::state::AppState;
use super::views::PatientView;
use crate::auth::password::{self, HashGate};
use crate::config::Registration;
use crate::domain::credentials::{LinkPurpose, NewLink};
use crate::domain::user::Role;
use crate::domain::DomainError;
use crate::notify::email::account::Kind;

/// The password of a body, checked against the rules; taken out of the body.
fn take_password(body: &mut Value, field: &str) -> Result<Option<String>, DomainError> {
    let Some(obj) = body.as_object_mut() else {
        return Ok(None);
    };
    match obj.remove(field) {
        None | Some(Value::Null) => Err(DomainError::field(field, "is required")),
        Some(Value::String(p)) => Ok(Some(p)),
        Some(_) => Err(DomainError::field(field, "must be a string")),
    }
}

/// Joins two validation outcomes so `details` names every failing field.
fn both<A, B>(a: Result<A, ApiError>, b: Result<B, DomainError>) -> Result<(A, B), ApiError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(mut e), Err(DomainError::Validation(more))) => {
            e.details.extend(more);
            Err(e)
        }
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(e.into()),
    }
}

/// Hashes a password through the gate (503 when it is full).
async fn hashed(gate: &HashGate, password: String) -> Result<String, ApiError> {
    gate.hash(password)
        .await
        .map_err(|_| busy())?
        .map_err(|e| ApiError::from(DomainError::Internal(e.into())))
}

// Documentation only: the handler reads the password, then the rest as `CreatePatient`; the
// OpenAPI document gets CreatePatient's fields added to this schema (`complete_sign_up`).
/// A patient's sign-up: the fields of `POST /patients` and a password.
#[derive(ToSchema)]
#[schema(example = json!({"name": "John Doe", "email": "john@example.com", "phone": "+1 234 567 890",
    "date_of_birth": "1990-01-15", "password": "correct horse battery"}))]
#[allow(dead_code)]
pub struct SignUp {
    /// 12-128 characters, not a common password, not the e-mail, not easy to guess.
    #[schema(min_length = 12, max_length = 128)]
    password: String,
}

fn accepted(message: &'static str) -> Response {
    let body = json!({"success": true, "message": message, "data": Accepted { status: "sent" }});
    (axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// The request id of a request, for the records a write leaves.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(super::middleware::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Patient sign-up
///
/// The fields of `POST /patients` plus `password`. With `REGISTRATION=verify` (the default) it
/// answers 202 the same for a new and a known address and sends an e-mail: a verification link
/// (`POST /auth/verify` creates the patient and the account), or a note that the address is
/// known. With `REGISTRATION=open` it creates both at once (201) and a taken address is 409;
/// with `closed` sign-up is refused (403). Sending `role` (or any unknown field) is a 400.
#[utoipa::path(post, path = "/auth/register", operation_id = "register", tag = "auth",
    request_body = SignUp,
    responses(
        (status = 201, description = "Signed up (`REGISTRATION=open`)", body = Envelope<PatientView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a `password` that is too common, the e-mail or too easy to guess (zxcvbn), or (depending on the day) a `date_of_birth` after today", body = ErrorBody),
        (status = 202, description = "A message is on its way to the address (`REGISTRATION=verify`)", body = Envelope<Accepted>),
        (status = 403, description = "`FORBIDDEN`: sign-up is closed (`REGISTRATION=closed`)", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the e-mail is taken (`REGISTRATION=open` only)", body = ErrorBody),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: too many passwords being checked; retry after `Retry-After`", body = ErrorBody),
    ))]
pub async fn register(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> Result<Response, ApiError> {
    let mode = app.settings.security.registration;
    if mode == Registration::Closed {
        return Err(ApiError::refused(
            "Sign-up is closed: the clinic sends invitations instead",
        ));
    }
    let password = take_password(&mut body, "password");
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let password = password.and_then(|p| match p {
        Some(p) => password::check_rules(&p, &email)
            .map(|()| p)
            .map_err(|m| DomainError::field("password", m)),
        None => Err(DomainError::field("password", "is required")),
    });
    let fields = body.clone();
    let patient = input::body::<CreatePatient>(body, &app.today())
        .map_err(ApiError::from)
        .and_then(CreatePatient::into_new);
    let (new, password) = both(patient, password)?;
    // Hashed whether or not the address is known: the answer takes the same time either way.
    let hash = hashed(&app.auth.hashing, password).await?;
    if mode == Registration::Open {
        let (patient, user) = app
            .store
            .register_patient(new, hash, request_id(&headers))
            .await?;
        tracing::info!(patient_id = %patient.id, user_id = %user.id, "patient signed up");
        // Signed in a moment from now, the new patient reads their record back.
        app.fences.wrote(&app.store, user.id);
        let reply = response::created(
            "Signed up successfully",
            PatientView::for_role(patient, Role::Patient),
        );
        return Ok(reply.into_response());
    }
    let address = new.email.as_str().to_owned();
    let (token, token_hash) = new_token();
    if app.store.address_in_use(&address).await? {
        let reset = app.mail.link("reset-password", None);
        app.mail.send(Kind::Known, &address, vec![("reset", reset)]);
    } else {
        let payload = json!({"fields": fields, "password_hash": hash}).to_string();
        let valid = app.settings.security.link_token;
        app.store
            .create_link(NewLink {
                purpose: LinkPurpose::Verify,
                token_hash,
                email: address.clone(),
                user_id: None,
                patient_id: None,
                payload: Some(payload),
                valid_secs: valid.as_secs() as i64,
            })
            .await?;
        let values = app.mail.link_values("verify", &token, valid);
        app.mail.send(Kind::Verify, &address, values);
    }
    Ok(accepted(
        "If this address can be used, a message is on its way to it: follow its link to finish",
    ))
}

/// A token from an e-mailed link.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q3Yb0Jf4c1xWZkq2m9N8r7T6v5U4s3R2p1O0n9M8l7K"}))]
pub struct Token {
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    token: Option<String>,
}

/// Finish a sign-up
///
/// Spends the verification link's token and creates the patient and the account signed up
/// for. The address was proved by the link; a token is good once, for `LINK_TOKEN_MINUTES`.
#[utoipa::path(post, path = "/auth/verify", operation_id = "verifySignUp", tag = "auth",
    request_body = Token,
    responses(
        (status = 201, description = "Signed up: log in now", body = Envelope<PatientView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, or (depending on the token's state) a token that is unknown, used or expired", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the address got an account or a record meanwhile", body = ErrorBody),
    ))]
pub async fn verify(
    State(app): State<AppState>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<Token>,
) -> Result<Reply<PatientView>, ApiError> {
    let token = required(body.token, "token")?;
    let hash = crate::auth::sha256_hex(token.trim());
    let link = app
        .store
        .spend_link(LinkPurpose::Verify, &hash)
        .await
        .map_err(bad_token)?;
    let payload: Value = link
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| {
            ApiError::from(DomainError::Internal("a sign-up without its form".into()))
        })?;
    let new = input::body::<CreatePatient>(payload["fields"].clone(), &app.today())
        .map_err(ApiError::from)
        .and_then(CreatePatient::into_new)?;
    let password_hash = payload["password_hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (patient, user) = app
        .store
        .register_patient(new, password_hash, request_id(&headers))
        .await?;
    tracing::info!(patient_id = %patient.id, user_id = %user.id, "patient signed up (verified)");
    Ok(response::created(
        "Address confirmed and account created: log in",
        PatientView::for_role(patient, Role::Patient),
    ))
}

/// A password reset request.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "john@example.com"}))]
pub struct ResetRequest {
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, max_length = 254)]
    email: Option<String>,
}

/// Ask for a password reset
///
/// Answers 202 for any address; an address with an account gets an e-mail with a link
/// (`POST /auth/password-reset/confirm`) valid for `LINK_TOKEN_MINUTES`.
#[utoipa::path(post, path = "/auth/password-reset", operation_id = "requestPasswordReset", tag = "auth",
    request_body = ResetRequest,
    responses((status = 202, description = "A message is on its way if the address has an account", body = Envelope<Accepted>)))]
pub async fn password_reset(
    State(app): State<AppState>,
    ValidJson(body): ValidJson<ResetRequest>,
) -> Result<Response, ApiError> {
    let email = required(body.email, "email")?;
    let email = email.trim();
    let (token, token_hash) = new_token();
    let known = match email.chars().any(char::is_control) {
        true => None,
        false => app.store.credentials(email).await?,
    };
    if let Some(creds) = known.filter(|c| !c.user.disabled) {
        let valid = app.settings.security.link_token;
        app.store
            .create_link(NewLink {
                purpose: LinkPurpose::Reset,
                token_hash,
                email: creds.user.email.as_str().to_owned(),
                user_id: Some(creds.user.id),
                patient_id: None,
                payload: None,
                valid_secs: valid.as_secs() as i64,
            })
            .await?;
        let values = app.mail.link_values("reset-password", &token, valid);
        app.mail
            .send(Kind::Reset, creds.user.email.as_str(), values);
    }
    Ok(accepted(
        "If this address has an account, a message with a reset link is on its way to it",
    ))
}

/// A new password set through an e-mailed link.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q3Yb0Jf4c1xWZkq2m9N8r7T6v5U4s3R2p1O0n9M8l7K", "new_password": "staple horse correct battery"}))]
pub struct ResetConfirm {
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    token: Option<String>,
    /// 12-128 characters, not a common password, not the account's e-mail, not easy to guess,
    /// not the current one.
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, min_length = 12, max_length = 128)]
    new_password: Option<String>,
}

/// Set a new password with a reset link
///
/// Spends the token, sets the password (it must differ from the current one) and ends every
/// session of the account.
#[utoipa::path(post, path = "/auth/password-reset/confirm", operation_id = "confirmPasswordReset", tag = "auth",
    request_body = ResetConfirm,
    responses(
        (status = 200, description = "Password set; every session ended: log in", body = Envelope<UserView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a `new_password` that is too common, the account's e-mail, too easy to guess (zxcvbn) or the current one, or (depending on the token's state) a token that is unknown, used or expired", body = ErrorBody),
    ))]
pub async fn password_reset_confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<ResetConfirm>,
) -> Result<Reply<UserView>, ApiError> {
    let token = required(body.token, "token")?;
    let new = required(body.new_password, "new_password")?;
    // The rules that need no account first, so a password refused for them keeps the link.
    password::check_rules(&new, "").map_err(|m| ApiError::field("new_password", m))?;
    let hash = crate::auth::sha256_hex(token.trim());
    let link = app
        .store
        .spend_link(LinkPurpose::Reset, &hash)
        .await
        .map_err(bad_token)?;
    let user_id = link.user_id.ok_or_else(|| {
        ApiError::from(DomainError::Internal(
            "a reset link without its account".into(),
        ))
    })?;
    let creds = app.store.credentials_by_id(user_id).await?;
    password::check_rules(&new, creds.user.email.as_str())
        .map_err(|m| ApiError::field("new_password", m))?;
    if app
        .auth
        .hashing
        .verify(creds.password_hash.clone(), new.clone())
        .await
        .map_err(|_| busy())?
    {
        return Err(ApiError::field(
            "new_password",
            "must differ from the current password",
        ));
    }
    let hashed = hashed(&app.auth.hashing, new).await?;
    app.store.set_password(user_id, hashed, None).await?;
    app.auth.revoked.sync(&*app.store).await?;
    super::links::audit(&app, None, user_id, "password_reset", request_id(&headers)).await?;
    tracing::info!(user_id = %user_id, "password reset through an e-mailed link");
    let creds = app.store.credentials_by_id(user_id).await?;
    Ok(response::ok(
        "Password set; every session ended: log in",
        creds.user.into(),
    ))
}
