//! The pages behind the e-mailed links (`PUBLIC_URL` + `/verify`, `/invite`, `/reset-password`,
//! each with `?token=`) and the request for a reset link: each shows a form and posts to the
//! API's own handler, whose rules and answers it shows.

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::render::{page_with, PageError};
use super::session::{Form, Visitor};
use crate::http::error::ApiError;
use crate::http::extract::ValidJson;
use crate::http::input;
use crate::http::state::AppState;

/// `?token=`.
#[derive(Deserialize, Default)]
pub struct TokenQuery {
    token: Option<String>,
}

/// What each link is for: its page's title, words and fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    Verify,
    Invite,
    Reset,
}

impl Link {
    fn of(path: &str) -> Self {
        match path {
            "/invite" => Self::Invite,
            "/reset-password" => Self::Reset,
            _ => Self::Verify,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Invite => "invite",
            Self::Reset => "reset",
        }
    }
}

fn show(
    app: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    link: Link,
    token: &str,
    outcome: Option<(bool, String)>,
) -> Response {
    let (done, message) = match outcome {
        Some((done, m)) => (done, Some(m)),
        None => (false, None),
    };
    let values = context! {
        kind => link.name(), token => token, done => done, message => message,
    };
    page_with(app, visitor, status, "link.html", values)
}

/// `GET /verify`, `/invite`, `/reset-password` (`?token=`): the form that spends the link.
pub async fn form(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    uri: axum::http::Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    let token = super::render::query::<TokenQuery>(raw)
        .token
        .unwrap_or_default();
    let link = Link::of(uri.path());
    show(&app, &visitor, StatusCode::OK, link, token.trim(), None)
}

/// `POST /verify`, `/invite`, `/reset-password` (`token`, and `password` for the last two):
/// the API's verification, invitation or reset.
pub async fn spend(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    uri: axum::http::Uri,
    form: Form,
) -> Response {
    let link = Link::of(uri.path());
    let token = form.get("token").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default();
    let done: Result<&str, ApiError> = async {
        match link {
            Link::Verify => {
                let body = input::body(json!({"token": token}), &())?;
                crate::http::signup::verify(State(app.clone()), HeaderMap::new(), ValidJson(body))
                    .await?;
                Ok("Your account is ready: sign in to book.")
            }
            Link::Invite => {
                let body = input::body(json!({"token": token, "password": password}), &())?;
                crate::http::invitations::accept(
                    State(app.clone()),
                    HeaderMap::new(),
                    ValidJson(body),
                )
                .await?;
                Ok("Your account is ready: sign in with your new password.")
            }
            Link::Reset => {
                let body = input::body(json!({"token": token, "new_password": password}), &())?;
                crate::http::signup::password_reset_confirm(
                    State(app.clone()),
                    HeaderMap::new(),
                    ValidJson(body),
                )
                .await?;
                Ok("Your password is changed, and every session of the account has ended: sign in again.")
            }
        }
    }
    .await;
    match done {
        Ok(m) => show(
            &app,
            &visitor,
            StatusCode::OK,
            link,
            "",
            Some((true, m.into())),
        ),
        Err(e) if e.status.is_client_error() => {
            let why = e.details.first().map_or(e.message.clone(), |d| {
                let field = if d.field == "token" {
                    "The link"
                } else {
                    "The password"
                };
                format!("{field} {}.", d.message)
            });
            show(&app, &visitor, e.status, link, &token, Some((false, why)))
        }
        Err(e) => PageError::from(e).page(&app, &visitor),
    }
}

/// `GET /forgot-password`: asks for the address to send a reset link to.
pub async fn forgot_form(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
) -> Response {
    let values = context! { sent => false, error => None::<String> };
    page_with(&app, &visitor, StatusCode::OK, "forgot.html", values)
}

/// `POST /forgot-password` (`email`): the API's reset request, which answers alike whether or
/// not the address is known.
pub async fn forgot(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    form: Form,
) -> Response {
    let email = form.get("email").unwrap_or_default();
    let asked: Result<(), ApiError> = async {
        let body = input::body(json!({"email": email}), &())?;
        crate::http::signup::password_reset(State(app.clone()), ValidJson(body)).await?;
        Ok(())
    }
    .await;
    match asked {
        Ok(()) => {
            let values = context! { sent => true, error => None::<String> };
            page_with(&app, &visitor, StatusCode::ACCEPTED, "forgot.html", values)
        }
        Err(e) if e.status.is_client_error() => {
            let values = context! { sent => false, error => Some(e.message) };
            page_with(&app, &visitor, e.status, "forgot.html", values)
        }
        Err(e) => PageError::from(e).page(&app, &visitor),
    }
}
