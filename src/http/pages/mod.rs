//! The pages for people: server-rendered HTML from templates compiled into the binary
//! (`assets/pages/`), one stylesheet and one small script, all served by carebook itself.
//!
//! A page calls the same use cases, ownership rules and access records as the API, as the
//! person signed in (see [`session`]); it never calls carebook over HTTP. Every page works
//! without script: forms post, and the answer redirects (303) to the page to show next.

mod admin;
mod assets;
mod desk;
mod desk_people;
mod desk_waitlist;
mod doctor;
mod entry;
mod gate;
mod ics;
mod links;
mod mine;
mod mine_more;
mod moving;
mod patient;
mod render;
mod session;
mod times;
mod visitor;

use axum::routing::{get, post};
use axum::Router;

use super::state::AppState;

/// The page routes, with their own middleware (the session cookies and the page headers).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(patient::home))
        .route("/doctors/{id}", get(patient::doctor))
        .route("/doctors/{id}/book", post(patient::book))
        .route("/me", get(mine::me))
        .route("/me/access-log", get(mine_more::access_log))
        .route("/me/appointments/{id}/review", post(mine_more::review))
        .route("/doctors/{id}/waitlist", post(mine_more::join_waitlist))
        .route("/me/appointments/{id}", get(mine::appointment))
        .route("/me/appointments/{id}/confirm", post(mine::confirm))
        .route("/me/appointments/{id}/cancel", post(mine::cancel))
        .route(
            "/me/appointments/{id}/reschedule",
            get(moving::mine_form).post(moving::mine_move),
        )
        .route("/me/appointments/{id}/calendar.ics", get(mine::calendar))
        .route("/desk", get(desk::day))
        .route("/desk/act", post(desk::act))
        .route(
            "/desk/appointments/{id}/reschedule",
            get(moving::desk_form).post(moving::desk_move),
        )
        .route("/desk/waitlist", get(desk_waitlist::list))
        .route("/desk/waitlist/{id}/remove", post(desk_waitlist::remove))
        .route(
            "/desk/patients",
            get(desk_people::find).post(desk_people::create),
        )
        .route("/desk/patients/{id}/invite", post(desk_people::invite))
        .route(
            "/desk/book",
            get(desk_people::book_form).post(desk_people::book),
        )
        .route("/doctor", get(doctor::day))
        .route("/doctor/appointments/{id}/{action}", post(doctor::act))
        .route("/doctor/patients/{id}", get(doctor::record))
        .route("/admin", get(admin::home))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{id}/{action}", post(admin::user_action))
        .route("/admin/webhooks", post(admin::create_webhook))
        .route("/admin/webhooks/{id}/delete", post(admin::delete_webhook))
        .route("/admin/outbox/{id}/retry", post(admin::retry))
        .route("/login", get(entry::login_form).post(entry::login))
        .route("/logout", post(entry::logout))
        .route("/signup", get(entry::signup_form).post(entry::signup))
        .route("/verify", get(links::form).post(links::spend))
        .route("/invite", get(links::form).post(links::spend))
        .route("/reset-password", get(links::form).post(links::spend))
        .route(
            "/forgot-password",
            get(links::forgot_form).post(links::forgot),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, session::visit))
        .route("/assets/{file}", get(assets::file))
        .route("/favicon.ico", get(assets::no_icon))
}
