//! `/auth` (sign-up, login, refresh, logout, password, second factor) and `/users` (staff
//! accounts). Passwords, tokens and TOTP secrets are never logged.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidJson, ValidPath, ValidQuery};
use super::fields::required;
use super::params::PageQuery;
use super::policy::ClientIp;
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::state::AppState;
use crate::auth::password;
use crate::auth::sessions::{self, AuthError, Issued};
use crate::domain::contact::Email;
use crate::domain::user::{NewUser, Role, User, UserPatch};
use crate::domain::{DoctorId, DomainError, PatientId, UserId};

/// An account as the API shows it (never with its secrets).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub doctor_id: Option<DoctorId>,
    pub patient_id: Option<PatientId>,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role,
            doctor_id: u.doctor_id,
            patient_id: u.patient_id,
            disabled: u.disabled,
            totp_enabled: u.totp_enabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Who a token pair belongs to.
#[derive(Serialize, ToSchema)]
pub struct TokenUser {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub doctor_id: Option<DoctorId>,
    pub patient_id: Option<PatientId>,
}

/// A new token pair.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0...", "token_type": "Bearer",
    "expires_in": 900, "refresh_token": "5f0c...:secret", "scope": "user/Patient.rs user/Appointment.crus user/AuditEvent.rs user/Slot.rs user/Schedule.rs user/Practitioner.rs user/PractitionerRole.rs", "user": {"id": "6a1f0c3e-2b4d-4e8f-9a0b-1c2d3e4f5a6b",
    "email": "admin@localhost", "role": "admin", "doctor_id": null, "patient_id": null}}))]
pub struct TokenView {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Spend once at `POST /api/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// What the token may do in the FHIR facade, as SMART scopes derived from the role
    /// (`/fhir/R4/.well-known/smart-configuration`).
    pub scope: &'static str,
    pub user: TokenUser,
}

impl From<Issued> for TokenView {
    fn from(i: Issued) -> Self {
        Self {
            access_token: i.access_token,
            token_type: "Bearer",
            expires_in: i.expires_in,
            refresh_token: i.refresh_token,
            scope: super::fhir::scopes(i.user.role),
            user: TokenUser {
                id: i.user.id,
                email: i.user.email,
                role: i.user.role,
                doctor_id: i.user.doctor_id,
                patient_id: i.user.patient_id,
            },
        }
    }
}

pub(super) fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Invalid => ApiError::invalid_credentials(),
        AuthError::TotpRequired => ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "TOTP_REQUIRED",
            "This account needs its one-time code: send it as totp_code",
        ),
        AuthError::Throttled(wait) => ApiError::rate_limited(wait),
        AuthError::Busy => busy(),
        AuthError::Store(e) => e.into(),
    }
}

/// 503 at once when too many passwords are being checked: login floods shed here instead of
/// queueing for the cores bookings need.
pub(super) fn busy() -> ApiError {
    crate::observability::unavailable("hashing");
    ApiError {
        retry_after: Some(1),
        ..ApiError::for_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
    }
}

/// Credentials for a login.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "admin@localhost", "password": "correct horse battery"}))]
pub struct Login {
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, max_length = 254)]
    email: Option<String>,
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, max_length = 1024)]
    password: Option<String>,
    /// The current TOTP code, for an account with a second factor (a recovery code is taken
    /// here too).
    #[garde(length(chars, max = 32))]
    #[schema(max_length = 32)]
    totp_code: Option<String>,
    /// One of the account's single-use recovery codes, instead of a TOTP code.
    #[garde(length(chars, max = 32))]
    #[schema(max_length = 32)]
    recovery_code: Option<String>,
}

/// Log in
///
/// A wrong e-mail and a wrong password get the same answer in the same time. Each attempt is
/// counted before anything is checked: after 5 for one account from one client address in 15
/// minutes, or 30 from one address in a minute, attempts from there get 429 with
/// `Retry-After` (even with the right password) while the owner can still log in from
/// elsewhere; past 10 for one account from anywhere, each attempt waits a second. With a second
/// factor, send `totp_code` (each code once) or a `recovery_code`.
#[utoipa::path(post, path = "/auth/login", operation_id = "login", tag = "auth", request_body = Login,
    responses(
        (status = 200, description = "A token pair", body = Envelope<TokenView>),
        (status = 401, description = "`INVALID_CREDENTIALS`, or `TOTP_REQUIRED` (send `totp_code` or `recovery_code`)", body = ErrorBody),
        (status = 429, description = "`RATE_LIMITED`: too many attempts from this address (or for this account from it); sent with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: too many passwords being checked at once, or the database is unavailable; sent with `Retry-After`", body = ErrorBody),
    ))]
pub async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<Login>,
) -> Result<Reply<TokenView>, ApiError> {
    let email = required(body.email, "email")?;
    let pw = required(body.password, "password")?;
    let issued = sessions::login(
        &*app.store,
        &app.auth,
        email.trim(),
        pw,
        sessions::SecondFactor {
            code: body.totp_code.as_deref(),
            recovery_code: body.recovery_code.as_deref(),
        },
        &ip,
    )
    .await
    .map_err(auth_error)?;
    tracing::info!(user_id = %issued.user.id, "logged in");
    Ok(response::ok("Logged in successfully", issued.into()))
}

/// A refresh token to spend.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "0b1e6f3a-9c2d-4e5f-8a7b-6c5d4e3f2a1b.Zm9vYmFyYmF6cXV4"}))]
pub struct Refresh {
    #[garde(required, length(chars, max = 512))]
    #[schema(value_type = String, max_length = 512)]
    refresh_token: Option<String>,
}

/// Refresh a token pair
///
/// The refresh token is spent. Presenting a spent one again revokes its whole session (theft
/// detection). Sessions end after `SESSION_IDLE_MINUTES` without a refresh and
/// `SESSION_MAX_HOURS` after login.
#[utoipa::path(post, path = "/auth/refresh", operation_id = "refreshToken", tag = "auth", request_body = Refresh,
    responses(
        (status = 200, description = "A new pair", body = Envelope<TokenView>),
        (status = 401, description = "`INVALID_CREDENTIALS`: unknown, spent or expired token, or a disabled account", body = ErrorBody),
    ))]
pub async fn refresh(
    State(app): State<AppState>,
    ValidJson(body): ValidJson<Refresh>,
) -> Result<Reply<TokenView>, ApiError> {
    let token = required(body.refresh_token, "refresh_token")?;
    let issued = sessions::refresh(&*app.store, &app.auth, token.trim())
        .await
        .map_err(auth_error)?;
    Ok(response::ok("Token refreshed successfully", issued.into()))
}

/// What logout answers.
#[derive(Serialize, ToSchema)]
pub struct LoggedOut {
    /// Always `true`.
    pub logged_out: bool,
}

/// Log out
///
/// Revokes the session: its refresh token stops working at once, its access tokens on every
/// instance within seconds.
#[utoipa::path(post, path = "/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 200, description = "Logged out", body = Envelope<LoggedOut>)))]
pub async fn logout(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Reply<LoggedOut>, ApiError> {
    sessions::revoke(&*app.store, &app.auth, caller.who.session_id, "logout").await?;
    Ok(response::ok(
        "Logged out successfully",
        LoggedOut { logged_out: true },
    ))
}

/// The caller's account
#[utoipa::path(get, path = "/auth/me", operation_id = "me", tag = "auth",
    responses((status = 200, description = "The account", body = Envelope<UserView>)))]
pub async fn me(State(app): State<AppState>, caller: Caller) -> Result<Reply<UserView>, ApiError> {
    let creds = app.store.credentials_by_id(caller.who.user_id).await?;
    Ok(response::ok(
        "Account retrieved successfully",
        creds.user.into(),
    ))
}

/// A password change.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "staple horse correct battery"}))]
pub struct ChangePassword {
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, max_length = 1024)]
    current_password: Option<String>,
    /// 12-128 characters, not a common password, not the e-mail, not easy to guess, not the
    /// current one.
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, min_length = 12, max_length = 128)]
    new_password: Option<String>,
}

/// Change the caller's password
///
/// Revokes every other session of the account.
#[utoipa::path(post, path = "/auth/password", operation_id = "changePassword", tag = "auth", request_body = ChangePassword,
    responses(
        (status = 200, description = "Changed", body = Envelope<UserView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, or a `new_password` that is too common, the e-mail, too easy to guess (zxcvbn) or the current one", body = ErrorBody),
        (status = 401, description = "`INVALID_CREDENTIALS`: the current password is wrong", body = ErrorBody),
    ))]
pub async fn change_password(
    State(app): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<ChangePassword>,
) -> Result<Reply<UserView>, ApiError> {
    let current = required(body.current_password, "current_password")?;
    let new = required(body.new_password, "new_password")?;
    let creds = app.store.credentials_by_id(caller.who.user_id).await?;
    password::check_rules(&new, creds.user.email.as_str())
        .map_err(|m| ApiError::field("new_password", m))?;
    if new == current {
        return Err(ApiError::field(
            "new_password",
            "must differ from the current password",
        ));
    }
    sessions::change_password(&*app.store, &app.auth, &caller.who, current, new, &ip)
        .await
        .map_err(auth_error)?;
    tracing::info!(user_id = %caller.who.user_id, "password changed");
    Ok(response::ok(
        "Password changed successfully",
        creds.user.into(),
    ))
}

/// A staff (or patient) account to create.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "desk@clinic.test", "password": "front desk passphrase", "role": "scheduler"}))]
pub struct CreateUser {
    #[garde(required)]
    #[schema(value_type = Email)]
    email: Option<Email>,
    /// 12-128 characters, not a common password, not the e-mail, not easy to guess.
    #[garde(required, length(chars, max = 1024))]
    #[schema(value_type = String, min_length = 12, max_length = 128)]
    password: Option<String>,
    #[garde(required)]
    #[schema(value_type = Role)]
    role: Option<Role>,
    /// Required for role `doctor`, refused otherwise.
    #[garde(skip)]
    doctor_id: Option<DoctorId>,
    /// Required for role `patient`, refused otherwise.
    #[garde(skip)]
    patient_id: Option<PatientId>,
}

/// Create an account (admin)
#[utoipa::path(post, path = "/users", operation_id = "createUser", tag = "users", request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = Envelope<UserView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a `doctor_id` or `patient_id` that does not go with the role, or a `password` that is too common, the e-mail or too easy to guess (zxcvbn)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor or patient to link", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the e-mail is taken, or the patient has an account", body = ErrorBody),
    ))]
pub async fn create_user(
    State(app): State<AppState>,
    ValidJson(body): ValidJson<CreateUser>,
) -> Result<Reply<UserView>, ApiError> {
    let email = required(body.email, "email")?;
    let role = required(body.role, "role")?;
    let pw = required(body.password, "password")?;
    let mut errors = Vec::new();
    if let Err(m) = password::check_rules(&pw, email.as_str()) {
        errors.push(crate::domain::FieldError::new("password", m));
    }
    match (role, body.doctor_id, body.patient_id) {
        (Role::Doctor, None, _) => errors.push(link("doctor_id", "is required for role doctor")),
        (Role::Patient, _, None) => errors.push(link("patient_id", "is required for role patient")),
        _ => {}
    }
    if role != Role::Doctor && body.doctor_id.is_some() {
        errors.push(link("doctor_id", "is only for role doctor"));
    }
    if role != Role::Patient && body.patient_id.is_some() {
        errors.push(link("patient_id", "is only for role patient"));
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let hash = app
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
            password_hash: hash,
            role,
            doctor_id: body.doctor_id,
            patient_id: body.patient_id,
        })
        .await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), "account created");
    Ok(response::created(
        "Account created successfully",
        user.into(),
    ))
}

fn link(field: &str, message: &str) -> crate::domain::FieldError {
    crate::domain::FieldError::new(field, message)
}

/// List accounts (admin)
#[utoipa::path(get, path = "/users", operation_id = "listUsers", tag = "users", params(PageQuery),
    responses((status = 200, description = "A page of accounts", body = PagedEnvelope<UserView>)))]
pub async fn list_users(
    State(app): State<AppState>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<PageReply<UserView>, ApiError> {
    let page = q.page();
    let users = app.store.list_users(page).await?;
    Ok(response::paged(
        "Accounts retrieved successfully",
        users.map(Into::into),
        page,
    ))
}

/// `{id}` of an account.
#[derive(Deserialize, garde::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The account's id.
    #[garde(skip)]
    id: UserId,
}

/// What an admin may change on an account.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
#[schema(example = json!({"disabled": true}))]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = Role, required = false)]
    role: Option<Role>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = bool, required = false)]
    disabled: Option<bool>,
}

/// Change an account's role or disable it (admin)
///
/// Disabling (or changing the role) revokes the account's sessions: its refresh fails at once
/// and its access tokens stop working within seconds on every instance.
#[utoipa::path(patch, path = "/users/{id}", operation_id = "updateUser", tag = "users", params(UserPath),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The account", body = Envelope<UserView>),
        (status = 404, description = "`NOT_FOUND`: no such account", body = ErrorBody),
    ))]
pub async fn update_user(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<UserPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<UserView>, ApiError> {
    const READ_ONLY: &[&str] = &[
        "id",
        "email",
        "doctor_id",
        "patient_id",
        "totp_enabled",
        "created_at",
        "updated_at",
    ];
    let body = super::input::patch::<UpdateUser>(body, &(), READ_ONLY)?;
    let patch = UserPatch {
        role: body.role,
        disabled: body.disabled,
    };
    let user = app.store.update_user(p.id, patch).await?;
    app.auth.revoked.sync(&*app.store).await?;
    tracing::info!(user_id = %user.id, disabled = user.disabled, "account updated");
    Ok(response::ok("Account updated successfully", user.into()))
}
