//! Pages for some roles only: an extractor that lets through a signed-in caller of the page's
//! roles and answers everyone else before the handler runs (signed out: the sign-in page, to
//! come back; another role: 403).

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::render::for_roles;
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
}

/// The front desk's pages: schedulers and admins.
pub struct Desk;
impl Roles for Desk {
    const ROLES: &'static [Role] = &[Role::Scheduler, Role::Admin];
    const HOME: &'static str = "/desk";
}

/// The doctor's own pages.
pub struct Doctors;
impl Roles for Doctors {
    const ROLES: &'static [Role] = &[Role::Doctor];
    const HOME: &'static str = "/doctor";
}

/// The administration pages.
pub struct Admins;
impl Roles for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
    const HOME: &'static str = "/admin";
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
        match for_roles(&visitor, R::ROLES) {
            Ok(caller) => Ok(Self {
                caller: caller.clone(),
                visitor,
                roles: PhantomData,
            }),
            Err(gate) => Err(gate.answer(app, &visitor, here)),
        }
    }
}
