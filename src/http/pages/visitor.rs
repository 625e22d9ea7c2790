//! Who is looking at a page: the signed-in caller, if any, and the browser's form value.

use crate::http::caller::Caller;
use crate::http::state::AppState;

/// The person behind a page request, if signed in, and the browser's form value.
#[derive(Clone)]
pub struct Visitor {
    /// The signed-in caller, as the API would know them, with this page as the route.
    pub caller: Option<Caller>,
    pub(super) form_nonce: String,
}

impl Visitor {
    /// The token this browser's forms carry.
    pub fn form_token(&self, app: &AppState) -> String {
        app.auth.vault.form_token(&self.form_nonce)
    }

    /// Whether `token` is this browser's form token.
    pub fn is_form_token(&self, app: &AppState, token: &str) -> bool {
        app.auth.vault.is_form_token(&self.form_nonce, token)
    }
}
