//! Invitations: the front desk asks carebook to e-mail a patient the clinic registered a link
//! to set a password; the account made from it is linked to that patient record. This is the
//! only way an account is attached to a record the clinic created.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::accounts::{busy, UserView};
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ValidJson, ValidPath};
use super::fields::required;
use super::links::{audit, Accepted};
use super::params::PatientPath;
use super::response::{self, Envelope, Reply};
use super::state::AppState;
use crate::auth::password;
use crate::domain::credentials::{LinkPurpose, NewLink};
use crate::domain::user::{AccessAction, NewAccess, NewUser, Role};
use crate::domain::DomainError;
use crate::notify::email::account::Kind;

/// Invite a patient to set up their account (front desk, admin)
///
/// E-mails the patient record's address a link (`POST /auth/accept-invitation`) valid for
/// `LINK_TOKEN_MINUTES`; the account it makes is linked to this record. A new invitation
/// leaves earlier ones valid until they lapse.
#[utoipa::path(post, path = "/patients/{id}/invite", operation_id = "invitePatient", tag = "patients",
    params(PatientPath),
    responses(
        (status = 202, description = "The invitation is on its way", body = Envelope<Accepted>),
        (status = 404, description = "`NOT_FOUND`: no such patient", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the patient has an account already", body = ErrorBody),
    ))]
pub async fn invite(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<PatientPath>,
) -> Result<Response, ApiError> {
    let patient = app.store.primary().get_patient(p.id).await?;
    if app
        .store
        .credentials(patient.email.as_str())
        .await?
        .is_some()
    {
        return Err(DomainError::Duplicate("This patient has an account already".into()).into());
    }
    let (token, token_hash) = super::links::new_token();
    let valid = app.settings.security.link_token;
    app.store
        .create_link(NewLink {
            purpose: LinkPurpose::Invite,
            token_hash,
            email: patient.email.as_str().to_owned(),
            user_id: None,
            patient_id: Some(patient.id),
            payload: None,
            valid_secs: valid.as_secs() as i64,
        })
        .await?;
    let record = NewAccess {
        patient_id: patient.id,
        action: AccessAction::Read,
        outcome: 202,
    };
    app.store.record_access(&caller.access, &[record]).await?;
    let values = app.mail.link_values("invite", &token, valid);
    app.mail.send(Kind::Invite, patient.email.as_str(), values);
    tracing::info!(patient_id = %patient.id, "invitation sent");
    let body =
        json!({"success": true, "message": "Invitation sent", "data": Accepted { status: "sent" }});
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

/// An invitation accepted.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q3Yb0Jf4c1xWZkq2m9N8r7T6v5U4s3R2p1O0n9M8l7K", "password": "correct horse battery"}))]
pub struct AcceptInvitation {
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    token: Option<String>,
    /// The new account's password: 12-128 characters, not a common password, not the e-mail,
    /// not easy to guess.
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, min_length = 12, max_length = 128)]
    password: Option<String>,
}

/// Accept an invitation
///
/// Spends the invitation's token and creates the patient's account, linked to the record the
/// clinic made, with this password.
#[utoipa::path(post, path = "/auth/accept-invitation", operation_id = "acceptInvitation", tag = "auth",
    request_body = AcceptInvitation,
    responses(
        (status = 201, description = "The account: log in", body = Envelope<UserView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a `password` that is too common, the e-mail or too easy to guess (zxcvbn), or (depending on the token's state) a token that is unknown, used or expired", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the patient or the address has an account already", body = ErrorBody),
    ))]
pub async fn accept(
    State(app): State<AppState>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<AcceptInvitation>,
) -> Result<Reply<UserView>, ApiError> {
    let token = required(body.token, "token")?;
    let pw = required(body.password, "password")?;
    password::check_rules(&pw, "").map_err(|m| ApiError::field("password", m))?;
    let hash = crate::auth::sha256_hex(token.trim());
    let link = app
        .store
        .spend_link(LinkPurpose::Invite, &hash)
        .await
        .map_err(super::links::bad_token)?;
    let patient = link.patient_id.ok_or_else(|| {
        ApiError::from(DomainError::Internal(
            "an invitation without its patient".into(),
        ))
    })?;
    password::check_rules(&pw, &link.email).map_err(|m| ApiError::field("password", m))?;
    let email = crate::domain::contact::Email::parse(&link.email).map_err(|_| {
        ApiError::from(DomainError::Internal(
            "an invitation to a bad address".into(),
        ))
    })?;
    let password_hash = app
        .auth
        .hashing
        .hash(pw)
        .await
        .map_err(|_| busy())?
        .map_err(|e| ApiError::from(DomainError::Internal(e.into())))?;
    let user = app
        .store
        .create_user(NewUser {
            email,
            password_hash,
            role: Role::Patient,
            doctor_id: None,
            patient_id: Some(patient),
        })
        .await?;
    let rid = headers
        .get(super::middleware::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    audit(&app, None, user.id, "invitation_accepted", rid).await?;
    tracing::info!(user_id = %user.id, patient_id = %patient, "invitation accepted");
    Ok(response::created("Account created: log in", user.into()))
}
