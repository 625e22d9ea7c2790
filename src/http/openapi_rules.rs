//! Rules of the served document that no request type states by itself: which account links
//! go with which role, and what this configuration allows of a webhook URL.

use serde_json::{json, Value};

use super::shapes;

/// Applies every rule to the served document.
pub fn apply(doc: &mut Value, allow_http: bool) {
    account_links(doc);
    if allow_http {
        webhook_scheme(doc, &shapes::webhook_url(false), &shapes::webhook_url(true));
    }
}

/// `POST /users`: `doctor_id` is required for the role `doctor` and refused (absent or `null`)
/// for any other; `patient_id` likewise for `patient`.
fn account_links(doc: &mut Value) {
    let Some(Value::Object(user)) = doc.pointer_mut("/components/schemas/CreateUser") else {
        return;
    };
    let link = |role: &str, field: &str, target: &str| {
        json!({
            "if": {"properties": {"role": {"const": role}}, "required": ["role"]},
            "then": {
                "required": [field],
                "properties": {field: {"$ref": format!("#/components/schemas/{target}")}}
            },
            "else": {"properties": {field: {"type": "null"}}}
        })
    };
    user.insert(
        "allOf".into(),
        json!([
            link("doctor", "doctor_id", "DoctorId"),
            link("patient", "patient_id", "PatientId")
        ]),
    );
}

/// With `WEBHOOK_ALLOW_HTTP` on, the webhook URL pattern allows `http` too.
fn webhook_scheme(v: &mut Value, https_only: &str, either: &str) {
    match v {
        Value::String(s) if s == https_only => *s = either.to_owned(),
        Value::Object(m) => m
            .values_mut()
            .for_each(|x| webhook_scheme(x, https_only, either)),
        Value::Array(a) => a
            .iter_mut()
            .for_each(|x| webhook_scheme(x, https_only, either)),
        _ => {}
    }
}
