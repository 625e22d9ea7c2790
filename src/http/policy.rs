//! Who may do what: the role table of every route, in one place.
//!
//! [`authorize`] runs on every matched route: it settles the client's address, finds the
//! route's [`Rule`], answers 401 without a valid token and 403 for a role the route does not
//! allow, applies the rate limit, and hands the handler a [`Caller`]. Objects the caller may
//! not see (another patient's record, another doctor's slots) are answered 404 by the handlers
//! through [`super::caller`], exactly as if they did not exist; every refusal is logged as a
//! security event.

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::caller::{Caller, BREAK_GLASS};
use super::client::{client_addr, ClientAddr};
use super::error::{ApiError, Denied};
use super::linger::PeerAddr;
use super::state::AppState;
use crate::domain::user::{Accessor, Role};

use Role::{Admin, Doctor, Patient, Scheduler};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in caller with one of these roles (any role when empty).
    Roles(&'static [Role]),
}

const ANY: Rule = Rule::Roles(&[]);
const STAFF: &[Role] = &[Admin, Scheduler, Doctor];
const ALL: &[Role] = &[Admin, Scheduler, Doctor, Patient];

/// The role table: (method, route template, rule). A served route missing here answers 403;
/// a test checks every documented operation has its row.
pub const RULES: &[(Method, &str, Rule)] = &[
    // The FHIR facade: its conformance statements are public, every resource needs a token;
    // the handlers narrow a patient to their own records and a doctor to their own calendar.
    (Method::GET, "/fhir/R4/metadata", Rule::Public),
    (
        Method::GET,
        "/fhir/R4/.well-known/smart-configuration",
        Rule::Public,
    ),
    (Method::GET, "/fhir/R4/Practitioner", ANY),
    (Method::GET, "/fhir/R4/Practitioner/{id}", ANY),
    (Method::GET, "/fhir/R4/PractitionerRole", ANY),
    (Method::GET, "/fhir/R4/PractitionerRole/{id}", ANY),
    (Method::GET, "/fhir/R4/Schedule", ANY),
    (Method::GET, "/fhir/R4/Schedule/{id}", ANY),
    (Method::GET, "/fhir/R4/Slot", ANY),
    (Method::GET, "/fhir/R4/Slot/{id}", ANY),
    (
        Method::GET,
        "/fhir/R4/Patient",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (Method::GET, "/fhir/R4/Patient/{id}", Rule::Roles(ALL)),
    (Method::GET, "/fhir/R4/Appointment", Rule::Roles(ALL)),
    (Method::GET, "/fhir/R4/Appointment/{id}", Rule::Roles(ALL)),
    (Method::POST, "/fhir/R4/Appointment/$find", ANY),
    (
        Method::GET,
        "/fhir/R4/AuditEvent",
        Rule::Roles(&[Patient, Admin]),
    ),
    (
        Method::GET,
        "/fhir/R4/AuditEvent/{id}",
        Rule::Roles(&[Patient, Admin]),
    ),
    (
        Method::POST,
        "/fhir/R4/Appointment/$hold",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/fhir/R4/Appointment/$book",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (Method::GET, "/health", Rule::Public),
    (Method::GET, "/health/ready", Rule::Public),
    (Method::GET, "/docs", Rule::Public),
    (Method::GET, "/docs/{file}", Rule::Public),
    (Method::GET, "/api/health", Rule::Public),
    (Method::GET, "/api/health/ready", Rule::Public),
    (Method::GET, "/api/openapi.json", Rule::Public),
    (Method::GET, "/api/openapi.yaml", Rule::Public),
    (Method::POST, "/api/auth/register", Rule::Public),
    (Method::POST, "/api/auth/login", Rule::Public),
    (Method::POST, "/api/auth/refresh", Rule::Public),
    (Method::POST, "/api/auth/verify", Rule::Public),
    (Method::POST, "/api/auth/accept-invitation", Rule::Public),
    (Method::POST, "/api/auth/password-reset", Rule::Public),
    (
        Method::POST,
        "/api/auth/password-reset/confirm",
        Rule::Public,
    ),
    (Method::POST, "/api/auth/logout", ANY),
    (Method::GET, "/api/auth/me", ANY),
    (Method::POST, "/api/auth/password", ANY),
    (Method::POST, "/api/auth/totp", Rule::Roles(STAFF)),
    (Method::DELETE, "/api/auth/totp", Rule::Roles(STAFF)),
    (Method::POST, "/api/auth/totp/confirm", Rule::Roles(STAFF)),
    (
        Method::DELETE,
        "/api/users/{id}/totp",
        Rule::Roles(&[Admin]),
    ),
    (Method::GET, "/api/doctors", Rule::Public),
    (Method::POST, "/api/doctors", Rule::Roles(&[Admin])),
    (
        Method::GET,
        "/api/doctors/specialization/{specialization}",
        Rule::Public,
    ),
    (Method::GET, "/api/doctors/{id}", Rule::Public),
    (
        Method::PATCH,
        "/api/doctors/{id}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/doctors/{id}/available-slots",
        Rule::Public,
    ),
    (
        Method::POST,
        "/api/doctors/{id}/time-slots",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/doctors/{id}/time-slots",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/api/doctors/{id}/time-slots/bulk",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::PATCH,
        "/api/doctors/{id}/time-slots/{slotId}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::DELETE,
        "/api/doctors/{id}/time-slots/{slotId}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/api/doctors/{id}/schedules",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/doctors/{id}/schedules",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::PATCH,
        "/api/doctors/{id}/schedules/{ruleId}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::DELETE,
        "/api/doctors/{id}/schedules/{ruleId}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/api/doctors/{id}/time-off",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/doctors/{id}/time-off",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::DELETE,
        "/api/doctors/{id}/time-off/{timeOffId}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/api/patients",
        Rule::Roles(&[Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/patients",
        Rule::Roles(&[Scheduler, Admin]),
    ),
    (Method::GET, "/api/patients/{id}", Rule::Roles(ALL)),
    (
        Method::POST,
        "/api/patients/{id}/invite",
        Rule::Roles(&[Scheduler, Admin]),
    ),
    (
        Method::PATCH,
        "/api/patients/{id}",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/patients/{id}/access-log",
        Rule::Roles(&[Patient, Admin]),
    ),
    (
        Method::POST,
        "/api/appointments",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (Method::GET, "/api/appointments/{id}", Rule::Roles(ALL)),
    (
        Method::GET,
        "/api/appointments/{id}/history",
        Rule::Roles(ALL),
    ),
    (
        Method::POST,
        "/api/appointments/{id}/confirm",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/api/appointments/{id}/cancel",
        Rule::Roles(ALL),
    ),
    (
        Method::POST,
        "/api/appointments/{id}/complete",
        Rule::Roles(&[Doctor, Admin]),
    ),
    (
        Method::POST,
        "/api/appointments/{id}/reschedule",
        Rule::Roles(ALL),
    ),
    (
        Method::POST,
        "/api/appointments/{id}/no-show",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (
        Method::POST,
        "/api/appointments/{id}/review",
        Rule::Roles(&[Patient]),
    ),
    (Method::GET, "/api/doctors/{id}/reviews", Rule::Public),
    (
        Method::GET,
        "/api/appointments/patient/{patientId}",
        Rule::Roles(&[Patient, Scheduler, Admin]),
    ),
    (
        Method::GET,
        "/api/appointments/doctor/{doctorId}",
        Rule::Roles(&[Doctor, Scheduler, Admin]),
    ),
    (Method::POST, "/api/users", Rule::Roles(&[Admin])),
    (Method::GET, "/api/users", Rule::Roles(&[Admin])),
    (Method::PATCH, "/api/users/{id}", Rule::Roles(&[Admin])),
    (Method::GET, "/api/audit/access", Rule::Roles(&[Admin])),
    (Method::GET, "/api/outbox", Rule::Roles(&[Admin])),
    (
        Method::POST,
        "/api/outbox/{id}/retry",
        Rule::Roles(&[Admin]),
    ),
    (Method::POST, "/api/webhooks", Rule::Roles(&[Admin])),
    (Method::GET, "/api/webhooks", Rule::Roles(&[Admin])),
    (Method::DELETE, "/api/webhooks/{id}", Rule::Roles(&[Admin])),
    (Method::GET, "/api/available-slots", Rule::Public),
    (Method::POST, "/api/waitlist", Rule::Roles(ALL)),
    (Method::GET, "/api/waitlist", Rule::Roles(ALL)),
    (Method::DELETE, "/api/waitlist/{id}", Rule::Roles(ALL)),
];

/// The rule of a route; HEAD is answered by the GET handler, so it has GET's rule.
pub fn rule_for(method: &Method, path: &str) -> Option<Rule> {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    RULES
        .iter()
        .find(|(m, p, _)| m == method && *p == path)
        .map(|(_, _, r)| *r)
}

/// Whether any rule names this route template (for another method, say).
fn route_known(path: &str) -> bool {
    RULES.iter().any(|(_, p, _)| *p == path)
}

/// The client's address: the socket peer, or the client behind a trusted proxy.
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Ok(Self(client_ip(&parts.extensions)))
    }
}

/// The bearer token of a request, if it has an `Authorization: Bearer …` header.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The client's address (see [`super::client`]), for per-address limits and security logs.
pub fn client_ip(extensions: &axum::http::Extensions) -> String {
    if let Some(ClientAddr(ip)) = extensions.get::<ClientAddr>() {
        return ip.to_string();
    }
    extensions
        .get::<ConnectInfo<PeerAddr>>()
        .map(|c| c.0 .0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Works out the client's address once per request and keeps it in the extensions.
pub(super) fn settle_client(app: &AppState, req: &mut Request) -> String {
    let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .map(|c| c.0 .0.ip())
    else {
        return "unknown".into();
    };
    let trusted = &app.settings.security.trusted_proxies;
    let ip = client_addr(peer, req.headers(), trusted);
    req.extensions_mut().insert(ClientAddr(ip));
    ip.to_string()
}

/// Logs and counts a refusal for lack of access: who, in which role, which route, what was
/// answered and from where; never patient data.
fn security_event(who: Option<&Accessor>, route: &str, status: u16, client: &str) {
    crate::observability::access_denied(route, status);
    match who {
        Some(a) => tracing::warn!(
            target: "carebook::security",
            actor_id = %a.user_id, role = a.role.as_str(), route, status, client,
            "access denied"
        ),
        None => {
            tracing::warn!(target: "carebook::security", route, status, client, "access denied")
        }
    }
}

/// The 403 of a role the route does not allow, saying which roles it does.
fn wrong_role(roles: &[Role]) -> ApiError {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    ApiError::refused(format!(
        "This operation is for the roles {}; your role is not among them",
        names.join(", ")
    ))
}

/// The break-glass reason of a header's text: trimmed, 1..=500 printable ASCII characters
/// (a tab inside is a control character, refused like any other).
pub(super) fn reason_text(raw: &str) -> Option<&str> {
    let printable = |b: u8| (b' '..=b'~').contains(&b);
    Some(raw.trim()).filter(|r| (1..=500).contains(&r.len()) && r.bytes().all(printable))
}

/// The break-glass reason of a request (see [`reason_text`]).
fn break_glass(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get(BREAK_GLASS) else {
        return Ok(None);
    };
    let reason = v.to_str().ok().and_then(reason_text);
    match reason {
        Some(r) => Ok(Some(r.to_owned())),
        None => Err(ApiError::field(
            "Break-Glass-Reason",
            "must be 1 to 500 printable characters",
        )),
    }
}

/// Authenticates and authorizes every matched route by its [`Rule`].
pub async fn authorize(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let client = settle_client(&app, &mut req);
    let rule = match rule_for(req.method(), &path) {
        Some(r) => r,
        // Another method of a known route: the router answers 405.
        None if route_known(&path) => return next.run(req).await,
        None => {
            security_event(None, &path, 403, &client);
            return ApiError::refused("No rule allows this route").into_response();
        }
    };
    let principal = match bearer(&req) {
        Some(token) => Some(app.auth.principal(token).await),
        None => None,
    };
    // A token sent and refused: why, for the 401 of a route that needs one.
    let problem = principal.as_ref().and_then(|p| p.as_ref().err().copied());
    let principal = principal.and_then(Result::ok);
    // Every call counts, refused ones too: per user when the token is valid, else per address.
    let key = match &principal {
        Some(p) => p.user_id.to_string(),
        None => client.clone(),
    };
    if let Err(wait) = app.limits.check(&key) {
        return ApiError::rate_limited(wait).into_response();
    }
    let writes = !req.method().is_safe();
    let roles = match rule {
        Rule::Public => {
            // A public read by a signed-in caller sees their own writes too.
            let mut res = match principal.as_ref().map(|p| p.user_id) {
                Some(user) => {
                    app.fences
                        .run(&app.store, user, writes, next.run(req))
                        .await
                }
                None => next.run(req).await,
            };
            if path.starts_with("/api/auth/") {
                // Sign-up, login and refresh answers carry personal data or tokens.
                no_store(&mut res);
            }
            return res;
        }
        Rule::Roles(roles) => roles,
    };
    let Some(who) = principal else {
        return match problem {
            Some(p) => ApiError::invalid_token(p.description()).into_response(),
            None => ApiError::unauthorized().into_response(),
        };
    };
    let request_id = req
        .headers()
        .get(super::middleware::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut access = Accessor {
        user_id: who.user_id,
        role: who.role,
        route: path,
        request_id,
        break_glass: None,
    };
    if !roles.is_empty() && !roles.contains(&who.role) {
        security_event(Some(&access), &access.route, 403, &client);
        return wrong_role(roles).into_response();
    }
    access.break_glass = match break_glass(&req) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let route = access.route.clone();
    let logged = access.clone();
    let user = who.user_id;
    req.extensions_mut().insert(Caller { who, access });
    let mut res = app
        .fences
        .run(&app.store, user, writes, next.run(req))
        .await;
    if res.extensions().get::<Denied>().is_some() {
        security_event(Some(&logged), &route, res.status().as_u16(), &client);
    }
    no_store(&mut res);
    res
}

/// Marks an answer as never to be stored by a cache.
fn no_store(res: &mut Response) {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
