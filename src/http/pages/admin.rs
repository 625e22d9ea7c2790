//! The admin's page: staff accounts (create, disable or enable, reset a second factor),
//! webhooks (add, delete) and the outbox's dead rows (send again). Every action is the API's
//! own handler, called as the signed-in admin.

use axum::extract::{Path, State};
use axum::response::Response;
use minijinja::context;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::gate::{Admins, Staff};
use super::render::{answer, page, redirect, PageError, PageResult};
use super::session::{Form, Visitor};
use crate::domain::outbox::OutboxStatus;
use crate::domain::page::Page;
use crate::domain::user::Role;
use crate::domain::webhook::WebhookEvent;
use crate::http::extract::{JsonBody, ValidJson, ValidPath};
use crate::http::state::AppState;

/// Rows of each list shown at most.
const SHOWN: i64 = 100;

/// `GET /admin`.
pub async fn home(State(app): State<AppState>, Staff { visitor, .. }: Staff<Admins>) -> Response {
    let result = async {
        let all = || Page::new(Some(SHOWN), Some(0));
        let users: Vec<_> = app
            .store
            .list_users(all())
            .await?
            .items
            .into_iter()
            .filter(|u| u.role != Role::Patient)
            .map(|u| {
                context! {
                    id => u.id.to_string(), email => u.email.as_str(), role => u.role.as_str(),
                    disabled => u.disabled, totp => u.totp_enabled,
                }
            })
            .collect();
        let hooks: Vec<_> = app
            .store
            .list_webhooks(all())
            .await?
            .items
            .into_iter()
            .map(|h| {
                let events: Vec<&str> = h.events.iter().map(|e| e.as_str()).collect();
                context! { id => h.id.to_string(), url => h.url, events => events.join(", ") }
            })
            .collect();
        let dead: Vec<_> = app
            .store
            .list_outbox(Some(OutboxStatus::Dead), all())
            .await?
            .items
            .into_iter()
            .map(|o| {
                context! {
                    id => o.id, event => o.event, channel => o.channel.as_str(),
                    attempts => o.attempts, error => o.last_error,
                }
            })
            .collect();
        let doctors: Vec<_> = app
            .store
            .list_doctors(None, all())
            .await?
            .items
            .into_iter()
            .map(|d| context! { id => d.id.to_string(), name => d.name })
            .collect();
        let events: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
        let values = context! {
            users => users, hooks => hooks, dead => dead, doctors => doctors, events => events,
        };
        Ok(page(&app, &visitor, "admin.html", values))
    }
    .await;
    answer(&app, &visitor, result)
}

/// A path of the API's, from its id.
fn path_of<T: DeserializeOwned>(id: Value) -> Result<T, PageError> {
    serde_json::from_value(json!({ "id": id })).map_err(|_| PageError::not_found())
}

/// Runs an admin action, then back to `/admin`.
async fn act<F>(app: &AppState, visitor: &Visitor, action: F) -> Response
where
    F: std::future::Future<Output = Result<(), PageError>>,
{
    let result: PageResult = action.await.map(|()| redirect("/admin"));
    answer(app, visitor, result)
}

/// `POST /admin/users` (`email`, `role`, `doctor`, `password`): a staff account.
pub async fn create_user(
    State(app): State<AppState>,
    Staff { visitor, .. }: Staff<Admins>,
    form: Form,
) -> Response {
    let body = json!({
        "email": form.get("email"), "role": form.get("role"), "password": form.get("password"),
        "doctor_id": form.get("doctor").filter(|_| form.get("role") == Some("doctor")),
    });
    let run = async {
        let body = crate::http::input::body(body, &())?;
        crate::http::accounts::create_user(State(app.clone()), ValidJson(body)).await?;
        Ok(())
    };
    act(&app, &visitor, run).await
}

/// `POST /admin/users/{id}/{action}`: `disable`, `enable` or `reset-2fa`.
pub async fn user_action(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Admins>,
    Path((id, action)): Path<(String, String)>,
    _form: Form,
) -> Response {
    let run = async {
        match action.as_str() {
            "disable" | "enable" => {
                let body = json!({ "disabled": action == "disable" });
                crate::http::accounts::update_user(
                    State(app.clone()),
                    ValidPath(path_of(json!(id))?),
                    JsonBody(body),
                )
                .await?;
            }
            "reset-2fa" => {
                crate::http::second_factor::totp_reset(
                    State(app.clone()),
                    caller,
                    ValidPath(path_of(json!(id))?),
                )
                .await?;
            }
            _ => return Err(PageError::not_found()),
        }
        Ok(())
    };
    act(&app, &visitor, run).await
}

/// `POST /admin/webhooks` (`url`, `events`, `secret`): a webhook subscription.
pub async fn create_webhook(
    State(app): State<AppState>,
    Staff { visitor, .. }: Staff<Admins>,
    form: Form,
) -> Response {
    let events: Vec<&str> = form.all("events");
    let body = json!({ "url": form.get("url"), "events": events, "secret": form.get("secret") });
    let run = async {
        let body = crate::http::input::body(body, &())?;
        crate::http::webhooks::create(State(app.clone()), ValidJson(body)).await?;
        Ok(())
    };
    act(&app, &visitor, run).await
}

/// `POST /admin/webhooks/{id}/delete`.
pub async fn delete_webhook(
    State(app): State<AppState>,
    Staff { visitor, .. }: Staff<Admins>,
    Path(id): Path<String>,
    _form: Form,
) -> Response {
    let run = async {
        let path = ValidPath(path_of(json!(id))?);
        crate::http::webhooks::delete(State(app.clone()), path).await?;
        Ok(())
    };
    act(&app, &visitor, run).await
}

/// `POST /admin/outbox/{id}/retry`: a dead delivery sent again.
pub async fn retry(
    State(app): State<AppState>,
    Staff { visitor, .. }: Staff<Admins>,
    Path(id): Path<String>,
    _form: Form,
) -> Response {
    let run = async {
        let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
        let path = ValidPath(path_of(json!(id))?);
        crate::http::outbox::retry(State(app.clone()), path).await?;
        Ok(())
    };
    act(&app, &visitor, run).await
}
