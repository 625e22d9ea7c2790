//! Every route with its OpenAPI description, and the document they make.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::state::AppState;
use super::{
    accounts, appointments, audit, docs, doctors, health, invitations, moves, openapi, outbox,
    patients, reviews, schedules, search, second_factor, signup, slots, time_off, waitlist,
    webhooks,
};

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(doctors::create, doctors::list))
        .routes(routes!(doctors::by_specialization))
        .routes(routes!(doctors::get, doctors::update))
        .routes(routes!(slots::create, slots::list))
        .routes(routes!(slots::create_bulk))
        .routes(routes!(slots::set_status, slots::delete_slot))
        .routes(routes!(slots::available))
        .routes(routes!(schedules::create, schedules::list))
        .routes(routes!(schedules::update, schedules::delete))
        .routes(routes!(time_off::create, time_off::list))
        .routes(routes!(time_off::delete))
        .routes(routes!(patients::create, patients::list))
        .routes(routes!(patients::get, patients::update))
        .routes(routes!(appointments::book))
        .routes(routes!(appointments::get))
        .routes(routes!(appointments::history))
        .routes(routes!(appointments::confirm))
        .routes(routes!(appointments::cancel))
        .routes(routes!(appointments::complete))
        .routes(routes!(moves::reschedule))
        .routes(routes!(moves::no_show))
        .routes(routes!(reviews::create))
        .routes(routes!(reviews::list))
        .routes(routes!(appointments::for_patient))
        .routes(routes!(appointments::for_doctor))
        .routes(routes!(signup::register))
        .routes(routes!(signup::verify))
        .routes(routes!(signup::password_reset))
        .routes(routes!(signup::password_reset_confirm))
        .routes(routes!(invitations::invite))
        .routes(routes!(invitations::accept))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::change_password))
        .routes(routes!(
            second_factor::totp_enrol,
            second_factor::totp_remove
        ))
        .routes(routes!(second_factor::totp_confirm))
        .routes(routes!(second_factor::totp_reset))
        .routes(routes!(accounts::create_user, accounts::list_users))
        .routes(routes!(accounts::update_user))
        .routes(routes!(audit::access))
        .routes(routes!(audit::patient_log))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(serve))
        .routes(routes!(serve_yaml))
        .routes(routes!(search::find))
        .routes(routes!(waitlist::join, waitlist::list))
        .routes(routes!(waitlist::leave))
        .routes(routes!(outbox::list))
        .routes(routes!(outbox::retry))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
}

/// Every route with its OpenAPI description.
pub fn app_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .nest("/api", api_routes())
        .routes(routes!(health::root_live))
        .routes(routes!(health::root_ready))
        .routes(routes!(docs::page))
        .routes(routes!(docs::file))
}

/// The OpenAPI document of every served route.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = app_routes().split_for_parts();
    openapi::add_common_responses(&mut doc);
    openapi::add_security(&mut doc);
    openapi::complete_sign_up(&mut doc);
    openapi::add_links(&mut doc);
    doc
}

/// The served document, built once for each value of `WEBHOOK_ALLOW_HTTP` (the one setting
/// it states).
pub fn document(allow_http: bool) -> &'static str {
    static DOCS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    DOCS[usize::from(allow_http)].get_or_init(|| {
        let mut doc = serde_json::to_value(spec()).unwrap_or_default();
        super::openapi::fix_link_keys(&mut doc);
        super::openapi_rules::apply(&mut doc, allow_http);
        super::openapi_client::for_clients(&mut doc);
        doc.to_string()
    })
}

/// The OpenAPI document
///
/// This contract, as JSON (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", operation_id = "getOpenApi", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json",
        body = Object)))]
pub async fn serve(State(app): State<AppState>) -> impl IntoResponse {
    let allow_http = app.settings.notify.webhook_allow_http;
    (
        [(header::CONTENT_TYPE, "application/json")],
        document(allow_http),
    )
}

/// The OpenAPI document as YAML
///
/// The same document for YAML tooling. JSON is a subset of YAML 1.2, so the JSON text is
/// served as is: any YAML parser reads it as the same document.
#[utoipa::path(get, path = "/openapi.yaml", tag = "operations", operation_id = "getOpenApiYaml",
    responses((status = 200, description = "The OpenAPI document as YAML text (no schema: a YAML reader reads the document, a client the text)", content_type = "application/yaml",
        body = serde_json::Value)))]
pub async fn serve_yaml(State(app): State<AppState>) -> impl IntoResponse {
    let allow_http = app.settings.notify.webhook_allow_http;
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        document(allow_http),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::webhook::WebhookEvent;

    #[test]
    fn the_spec_lists_events_once_each() {
        let spec: serde_json::Value = serde_json::from_str(document(false)).unwrap();
        let schemas = &spec["components"]["schemas"];
        for (schema, field) in [("CreateWebhook", "events"), ("WebhookView", "events")] {
            let events = &schemas[schema]["properties"][field];
            assert_eq!(events["uniqueItems"], true, "{schema}: {events}");
        }
        let names = schemas["WebhookEvent"]["enum"].as_array().unwrap().len();
        assert_eq!(names, WebhookEvent::ALL.len());
        assert_eq!(
            schemas["CreateWebhook"]["properties"]["secret"]["writeOnly"],
            true
        );
    }
}
