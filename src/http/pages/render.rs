//! Turning a template and its values into a page, and the answers every page shares: the
//! headers, a redirect, and an error page.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};

use super::visitor::Visitor;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Scripts, styles and images from this host only, no inline script or style, forms posting
/// here only, and never inside a frame.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/pages/", $name)))),*]
    };
}

/// The templates, compiled once. Values are escaped for HTML in every `.html` template.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in templates!(
            "base.html",
            "macros.html",
            "home.html",
            "doctor.html",
            "me.html",
            "appointment.html",
            "reschedule.html",
            "desk_waitlist.html",
            "login.html",
            "signup.html",
            "error.html",
            "desk.html",
            "desk_patients.html",
            "desk_book.html",
            "doctor_day.html",
            "record.html",
            "link.html",
            "forgot.html",
            "access_log.html",
            "admin.html",
        ) {
            // The templates are part of the binary and checked by the tests: one that does not
            // parse is a build mistake, caught by every page test.
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env
    })
}

/// The headers of every page: the content policy, no referrer outside the site, no sniffing,
/// and no copy kept anywhere (pages name the person signed in and their appointments).
pub fn page_headers(res: &mut Response) {
    res.extensions_mut()
        .insert(crate::http::middleware::PageAnswer);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The page `name` with `values`, and what every page shows: the clinic, who is signed in, the
/// form token.
pub fn page(app: &AppState, visitor: &Visitor, name: &str, values: Value) -> Response {
    page_with(app, visitor, StatusCode::OK, name, values)
}

/// [`page`] answered with `status` (a form shown again with its errors, say).
pub fn page_with(
    app: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    name: &str,
    values: Value,
) -> Response {
    let all = context! {
        clinic => app.settings.pages.clinic_name,
        csrf => visitor.form_token(app),
        signed_in => visitor.caller.is_some(),
        role => visitor.caller.as_ref().map(|c| c.role().as_str()),
        ..values
    };
    match templates().get_template(name).and_then(|t| t.render(all)) {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page did not render");
            bare(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// A 303 to `to`, a path on this site.
pub fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// An error page: the status, its message for people, and where to go on.
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "This page does not exist.")
    }

    /// This error without its page, for a request no visitor was found for.
    pub fn bare(self) -> Response {
        bare(self.status)
    }

    /// The page of this error for `visitor`.
    pub fn page(self, app: &AppState, visitor: &Visitor) -> Response {
        let values = context! { status => self.status.as_u16(), message => self.message };
        let mut res = page_with(app, visitor, self.status, "error.html", values);
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        // The API's messages are written for the caller and never carry internals; a 5xx says
        // only what kind of failure it was.
        let message = if e.status.is_server_error() {
            "The service cannot answer right now. Please try again in a moment.".into()
        } else {
            e.message
        };
        Self {
            status: e.status,
            message,
            retry_after: e.retry_after,
        }
    }
}

impl From<crate::domain::DomainError> for PageError {
    fn from(e: crate::domain::DomainError) -> Self {
        ApiError::from(e).into()
    }
}

/// A page with no template: for the rare failure of the templates themselves.
fn bare(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        status.canonical_reason().unwrap_or("error"),
    )
        .into_response()
}

/// A page handler's answer: the page, or the error page.
pub type PageResult = Result<Response, PageError>;

/// The answer of a page handler for `visitor`: its page, or its error's page.
pub fn answer(app: &AppState, visitor: &Visitor, result: PageResult) -> Response {
    result.unwrap_or_else(|e| e.page(app, visitor))
}

/// A page's query string read leniently: a parameter that does not parse is taken as absent
/// (a page shows its default rather than an error).
pub fn query<T: serde::de::DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

/// The sign-in page, to come back `here` after.
pub fn to_login(here: &str) -> Response {
    redirect(&format!("/login?next={}", encode(here)))
}

/// `s` for a query string.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A refused registration form's errors as its template lists them, one per field the API
/// named; a refusal naming none (a taken address, 409) is the e-mail's.
pub fn field_errors(e: &ApiError) -> Vec<serde_json::Value> {
    if e.details.is_empty() {
        return vec![serde_json::json!({"field": "email", "message": e.message})];
    }
    e.details
        .iter()
        .map(|d| serde_json::json!({"field": d.field, "message": d.message}))
        .collect()
}
