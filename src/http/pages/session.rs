//! Who is looking at a page: the session in the browser's cookies, and the token each form
//! carries.
//!
//! A page session is an API session: login issues the same pair of tokens, kept in two
//! `HttpOnly`, `SameSite=Lax` cookies — the access token (`cb_access`, as long as an access
//! token lives) and the refresh token (`cb_session`). When the access token has run out, the
//! next page spends the refresh token exactly as `POST /api/auth/refresh` does, so the idle and
//! maximum lifetimes, logout, password change and theft detection are the API's. The API never
//! reads these cookies: it authorises bearer tokens only, so it needs no defence against
//! cross-site requests.
//!
//! Forms: a third cookie, `cb_form`, holds a random value per browser, and every form carries
//! its HMAC under a key derived from the master key. A post whose token does not match its
//! cookie is refused (403) before anything is read or changed.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::auth::sessions::{self, AuthError, Issued};
use crate::domain::user::Accessor;
use crate::http::caller::Caller;
use crate::http::state::AppState;

use super::render::{page_headers, PageError};
pub use super::visitor::Visitor;

const ACCESS: &str = "cb_access";
const SESSION: &str = "cb_session";
const FORM: &str = "cb_form";

/// The client's address as the pages' middleware settled it (behind trusted proxies, the
/// client's own), for login throttling.
#[derive(Clone)]
pub struct ClientAddr(pub String);

/// What a handler asks of the session cookies, set on its answer.
#[derive(Clone)]
pub enum SessionChange {
    /// Signed in: a new pair.
    Start(std::sync::Arc<Issued>),
    /// Signed out: the cookies go.
    End,
}

/// The cookie `name` of a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Finds the visitor, runs the page, and sets the cookies and the headers of every page.
pub async fn visit(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = crate::http::policy::settle_client(&app, &mut req);
    req.extensions_mut().insert(ClientAddr(client.clone()));
    let headers = req.headers();
    let nonce = cookie(headers, FORM)
        .filter(|v| v.len() == 43 && URL_SAFE_NO_PAD.decode(v).is_ok())
        .map(str::to_owned);
    let fresh_nonce = nonce.is_none();
    let form_nonce =
        nonce.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(crate::auth::random_bytes::<32>()));
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let request_id = headers
        .get(crate::http::middleware::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (who, renewed) = match signed_in(&app, headers).await {
        Ok(found) => found,
        Err(e) => {
            let visitor = Visitor {
                caller: None,
                form_nonce,
            };
            let mut res = e.page(&app, &visitor);
            page_headers(&mut res);
            return res;
        }
    };
    // Every page counts against the same per-user (or per-address) budget as the API.
    let key = who.as_ref().map_or(client, |w| w.user_id.to_string());
    if let Err(wait) = app.limits.check(&key) {
        let visitor = Visitor {
            caller: None,
            form_nonce,
        };
        let e = PageError {
            retry_after: Some(wait),
            ..PageError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "Too many requests. Please wait a moment and try again.",
            )
        };
        let mut res = e.page(&app, &visitor);
        page_headers(&mut res);
        return res;
    }
    let caller = who.map(|who| Caller {
        access: Accessor {
            user_id: who.user_id,
            role: who.role,
            route,
            request_id,
            break_glass: None,
        },
        who,
    });
    let user = caller.as_ref().map(|c| c.who.user_id);
    req.extensions_mut().insert(Visitor {
        caller,
        form_nonce: form_nonce.clone(),
    });
    let writes = !req.method().is_safe();
    let mut res = match user {
        // A signed-in person reads what they just changed, replica or not.
        Some(user) => {
            app.fences
                .run(&app.store, user, writes, next.run(req))
                .await
        }
        None => next.run(req).await,
    };
    let secure = app.settings.pages.cookie_secure;
    let change = res.extensions_mut().remove::<SessionChange>();
    let h = res.headers_mut();
    match (change, renewed) {
        (Some(SessionChange::Start(pair)), _) => set_pair(h, &app, &pair, secure),
        (Some(SessionChange::End), _) | (None, Renewed::Ended) => {
            for name in [ACCESS, SESSION] {
                add_cookie(h, name, "", Some(0), secure);
            }
        }
        (None, Renewed::Pair(pair)) => set_pair(h, &app, &pair, secure),
        (None, Renewed::Kept) => {}
    }
    if fresh_nonce {
        // Kept as long as the browser keeps it (no Max-Age).
        add_cookie(h, FORM, &form_nonce, None, secure);
    }
    page_headers(&mut res);
    res
}

/// What became of the session cookies while finding the visitor.
enum Renewed {
    Kept,
    Pair(Issued),
    /// The session has ended (or the cookie was never good): the cookies go.
    Ended,
}

/// The signed-in person, from the access cookie or, once it has run out, by spending the
/// refresh cookie.
async fn signed_in(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<(Option<crate::auth::Principal>, Renewed), PageError> {
    if let Some(token) = cookie(headers, ACCESS) {
        if let Ok(p) = app.auth.principal(token).await {
            return Ok((Some(p), Renewed::Kept));
        }
    }
    let Some(refresh) = cookie(headers, SESSION) else {
        return Ok((None, Renewed::Kept));
    };
    match sessions::refresh(&*app.store, &app.auth, refresh).await {
        Ok(pair) => match app.auth.principal(&pair.access_token).await {
            Ok(p) => Ok((Some(p), Renewed::Pair(pair))),
            Err(_) => Ok((None, Renewed::Ended)),
        },
        Err(AuthError::Store(e)) => Err(e.into()),
        Err(_) => Ok((None, Renewed::Ended)),
    }
}

fn set_pair(h: &mut HeaderMap, app: &AppState, pair: &Issued, secure: bool) {
    let max = app.settings.auth.session_max.as_secs();
    let access = Some(pair.expires_in.max(0) as u64);
    add_cookie(h, ACCESS, &pair.access_token, access, secure);
    add_cookie(h, SESSION, &pair.refresh_token, Some(max), secure);
}

/// Adds a `Set-Cookie` for the whole site: `HttpOnly`, `SameSite=Lax`, `Secure` when asked;
/// `max_age` in seconds (`None`: until the browser closes; `Some(0)`: deleted). The values
/// are tokens (base64url, a JWT, a uuid and a dot): none needs quoting.
fn add_cookie(h: &mut HeaderMap, name: &str, value: &str, max_age: Option<u64>, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    let line = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{age}{secure}");
    if let Ok(v) = HeaderValue::from_str(&line) {
        h.append(header::SET_COOKIE, v);
    }
}

/// A posted form whose token matched its browser's cookie: its fields by name.
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

impl Form {
    /// Every non-blank value of `name` (checkboxes), trimmed.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// Largest form body read; the pages' forms are a few short fields.
const FORM_MAX: usize = 64 * 1024;

impl axum::extract::FromRequest<AppState> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let Some(visitor) = req.extensions().get::<Visitor>().cloned() else {
            return Err(PageError::not_found().bare());
        };
        let refuse = |status, message: &str| PageError::new(status, message).page(app, &visitor);
        let body = axum::body::to_bytes(req.into_body(), FORM_MAX)
            .await
            .map_err(|_| {
                refuse(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "This form is too large.",
                )
            })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| {
            refuse(
                axum::http::StatusCode::BAD_REQUEST,
                "This form could not be read.",
            )
        })?;
        let form = Self(fields);
        match form.get("csrf") {
            Some(t) if visitor.is_form_token(app, t) => Ok(form),
            _ => Err(refuse(
                axum::http::StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site. Please go back, reload the page and try again.",
            )),
        }
    }
}
