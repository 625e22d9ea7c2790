//! Pages for some roles only: an extractor that lets through a signed-in caller of the page's
//! roles and answers everyone else before the handler runs (signed out: the sign-in page, to
//! come back; another role: 403).

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::render::{to_login, PageError};
use super::visitor::Visitor;
use crate::domain::user::Role;
use crate::http::caller::Caller;
use crate::http::state::AppState;

/// Who may open a group of pages.
pub trait Roles: Send + Sync + 'static {
    /// The roles let through.
    const ROLES: &'static [Role];
    /// Where a signed-out visitor who posted a form comes back to after signing in (a page
    /// they asked for by `GET` brings them back to itself).
    const HOME: &'static str;
    /// What a signed-in visitor of another role is told (403).
    const REFUSAL: &'static str;
}

/// The staff's refusal of a visitor of another role.
const FOR_STAFF: &str =
    "This page is for the clinic's staff. Sign in with a staff account to use it.";

/// A patient's own pages.
pub struct Patients;
impl Roles for Patients {
    const ROLES: &'static [Role] = &[Role::Patient];
    const HOME: &'static str = "/me";
    const REFUSAL: &'static str =
        "This page is for patients. Sign in with a patient's account to use it.";
}

/// The front desk's pages: schedulers and admins.
pub struct Desk;
impl Roles for Desk {
    const ROLES: &'static [Role] = &[Role::Scheduler, Role::Admin];
    const HOME: &'static str = "/desk";
    const REFUSAL: &'static str = FOR_STAFF;
}

/// The doctor's own pages.
pub struct Doctors;
impl Roles for Doctors {
    const ROLES: &'static [Role] = &[Role::Doctor];
    const HOME: &'static str = "/doctor";
    const REFUSAL: &'static str = FOR_STAFF;
}

/// The administration pages.
pub struct Admins;
impl Roles for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
    const HOME: &'static str = "/admin";
    const REFUSAL: &'static str = "This page is for the clinic's administrators.";
}

/// A signed-in caller of one of `R`'s roles, and the visitor they are.
pub struct Staff<R> {
    pub caller: Caller,
    pub visitor: Visitor,
    roles: PhantomData<R>,
}

impl<R: Roles> FromRequestParts<AppState> for Staff<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        // The page middleware puts the visitor on every page request.
        let Some(visitor) = parts.extensions.get::<Visitor>().cloned() else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let here = match (&parts.method, parts.uri.path_and_query()) {
            (&Method::GET, Some(asked)) => asked.as_str(),
            _ => R::HOME,
        };
        match for_roles::<R>(&visitor) {
            Ok(caller) => Ok(Self {
                caller: caller.clone(),
                visitor,
                roles: PhantomData,
            }),
            Err(gate) => Err(gate.answer(app, &visitor, here)),
        }
    }
}

/// Why a page is not for this visitor.
pub enum Gate {
    /// Signed out: sign in first.
    SignIn,
    /// Signed in, but the page is for other roles: why, in the visitor's words.
    Forbidden(&'static str),
}

impl Gate {
    /// The answer: the sign-in page (to come back `here`), or a 403 page.
    pub fn answer(self, app: &AppState, visitor: &Visitor, here: &str) -> Response {
        match self {
            Self::SignIn => to_login(here),
            Self::Forbidden(why) => PageError::new(StatusCode::FORBIDDEN, why).page(app, visitor),
        }
    }
}

/// The signed-in caller if their role is one of `R`'s, for a handler whose signed-out answer
/// depends on more than the request (otherwise take [`Staff`]).
pub fn for_roles<R: Roles>(visitor: &Visitor) -> Result<&Caller, Gate> {
    match &visitor.caller {
        None => Err(Gate::SignIn),
        Some(c) if R::ROLES.contains(&c.role()) => Ok(c),
        Some(_) => Err(Gate::Forbidden(R::REFUSAL)),
    }
}
