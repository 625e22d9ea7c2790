//! Which server a request's pure reads go to. A store with a read replica sends pure reads
//! there; a request whose caller has just written, and whose write the replica has not
//! replayed yet, has them sent to the primary instead, so that the caller reads their own
//! writes (see `crate::http::fences`). The choice is the request's, so it travels with the
//! request's task rather than through every read's arguments.

use std::future::Future;

tokio::task_local! {
    static ON_PRIMARY: bool;
}

/// Runs `request` with its pure reads on the primary when `on_primary`.
pub async fn scope<F: Future>(on_primary: bool, request: F) -> F::Output {
    ON_PRIMARY.scope(on_primary, request).await
}

/// Whether the current request's pure reads must go to the primary; `false` outside a
/// request (the background jobs read where they always do).
pub fn on_primary() -> bool {
    ON_PRIMARY.try_with(|on| *on).unwrap_or(false)
}
