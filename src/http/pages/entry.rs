//! Signing in, out and up on the pages: the API's login (with its throttling and second
//! factor) and sign-up (with its registration rules), the session kept in cookies.

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::render::{answer, page_with, redirect, PageError};
use super::session::{ClientAddr, Form, SessionChange, Visitor};
use crate::auth::sessions::{self, AuthError, SecondFactor};
use crate::domain::user::Role;
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::state::AppState;

/// `?next=`: where to go once signed in.
#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

/// A path on this site to go on to: it must start with one `/` (never `//host` or a scheme).
fn local(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .filter(|n| n.chars().all(|c| !c.is_control()))
        .map(str::to_owned)
}

/// `GET /login`.
pub async fn login_form(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    RawQuery(query): RawQuery,
) -> Response {
    let next = local(super::render::query::<Next>(query).next.as_deref());
    let values = context! { next => next, email => "", error => None::<String>, code => false };
    page_with(&app, &visitor, StatusCode::OK, "login.html", values)
}

/// `POST /login` (`email`, `password`, `code`, `next`): signed in, on to `next` (or the
/// person's own page); refused, the form again with why.
pub async fn login(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Extension(addr): Extension<ClientAddr>,
    form: Form,
) -> Response {
    let email = form.get("email").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let next = local(form.get("next"));
    let second = SecondFactor {
        code: form.get("code"),
        recovery_code: None,
    };
    let tried = sessions::login(&*app.store, &app.auth, &email, password, second, &addr.0).await;
    let (status, error, code) = match tried {
        Ok(pair) => {
            let to = next.unwrap_or_else(|| home_of(pair.user.role).to_owned());
            tracing::info!(user_id = %pair.user.id, "logged in on a page");
            let mut res = redirect(&to);
            res.extensions_mut()
                .insert(SessionChange::Start(std::sync::Arc::new(pair)));
            return res;
        }
        Err(AuthError::Invalid) => (
            StatusCode::UNAUTHORIZED,
            "The e-mail, password or code is not right.",
            form.get("code").is_some(),
        ),
        Err(AuthError::TotpRequired) => (
            StatusCode::UNAUTHORIZED,
            "This account has a second factor: enter the code from your app.",
            true,
        ),
        Err(AuthError::Throttled(_)) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts. Please wait a few minutes and try again.",
            false,
        ),
        Err(AuthError::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is busy. Please try again in a moment.",
            false,
        ),
        Err(AuthError::Store(e)) => return PageError::from(e).page(&app, &visitor),
    };
    let values = context! { next => next, email => email, error => error, code => code };
    page_with(&app, &visitor, status, "login.html", values)
}

/// Where a person lands after signing in without a `next`.
fn home_of(role: Role) -> &'static str {
    match role {
        Role::Patient => "/me",
        Role::Doctor => "/doctor",
        Role::Scheduler | Role::Admin => "/desk",
    }
}

/// `POST /logout`: the session ends everywhere, as the API's logout ends it.
pub async fn logout(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    _form: Form,
) -> Response {
    if let Some(c) = &visitor.caller {
        let sid = c.who.session_id;
        if let Err(e) = sessions::revoke(&*app.store, &app.auth, sid, "logout").await {
            return PageError::from(e).page(&app, &visitor);
        }
    }
    let mut res = redirect("/");
    res.extensions_mut().insert(SessionChange::End);
    res
}

/// The sign-up form's fields, as the API's sign-up names them.
const SIGN_UP_FIELDS: [&str; 5] = ["name", "email", "phone", "date_of_birth", "password"];

/// `GET /signup`.
pub async fn signup_form(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    RawQuery(query): RawQuery,
) -> Response {
    let next = local(super::render::query::<Next>(query).next.as_deref());
    let values = context! { next => next, fields => Map::new(), errors => Vec::<Value>::new() };
    page_with(&app, &visitor, StatusCode::OK, "signup.html", values)
}

/// `POST /signup`: the API's sign-up with the form's fields; with open registration the new
/// patient is signed in at once, otherwise told to follow the e-mailed link.
pub async fn signup(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Extension(addr): Extension<ClientAddr>,
    form: Form,
) -> Response {
    let mut fields = Map::new();
    for name in SIGN_UP_FIELDS {
        if let Some(v) = form.get(name) {
            fields.insert(name.into(), json!(v));
        }
    }
    let next = local(form.get("next"));
    let done = crate::http::signup::register(
        State(app.clone()),
        HeaderMap::new(),
        JsonBody(Value::Object(fields.clone())),
    )
    .await;
    fields.remove("password");
    match done {
        Ok(res) if res.status() == StatusCode::CREATED => {
            let email = form.get("email").unwrap_or_default();
            let password = form.get("password").unwrap_or_default().to_owned();
            let second = SecondFactor::default();
            match sessions::login(&*app.store, &app.auth, email, password, second, &addr.0).await {
                Ok(pair) => {
                    let mut res = redirect(&next.unwrap_or_else(|| "/me".into()));
                    res.extensions_mut()
                        .insert(SessionChange::Start(std::sync::Arc::new(pair)));
                    res
                }
                Err(_) => redirect("/login"),
            }
        }
        Ok(_) => {
            let values = context! {
                message => "Check your e-mail: follow the link in it to finish signing up.",
            };
            page_with(&app, &visitor, StatusCode::ACCEPTED, "signup.html", values)
        }
        Err(e) => refused(&app, &visitor, e, fields, next),
    }
}

/// The sign-up form again with the API's reasons, each naming its field.
fn refused(
    app: &AppState,
    visitor: &Visitor,
    e: ApiError,
    fields: Map<String, Value>,
    next: Option<String>,
) -> Response {
    // Sign-up closed, or the service unable to answer: a page of its own, not the form.
    if e.status == StatusCode::FORBIDDEN || e.status.is_server_error() {
        return answer(app, visitor, Err(e.into()));
    }
    let errors = super::render::field_errors(&e);
    let values = context! { next => next, fields => fields, errors => errors };
    page_with(app, visitor, e.status, "signup.html", values)
}
