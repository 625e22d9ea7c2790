//! Touches on the generated OpenAPI document that make it good for generated clients: every
//! success envelope a named schema that refers to its view (one class per view, not one per
//! operation), member names for enum values that are not identifiers (`A+` → `A_POS`), an
//! optional body as an optional body rather than a `oneOf` with `null`, optional headers as
//! plain strings, a `oneOf` of one schema as that schema, and the headers every answer carries
//! (`x-request-id`, and `Retry-After` on 429 and 503) in each response.

use serde_json::{json, Map, Value};

/// Applies every touch to the served document.
pub fn for_clients(doc: &mut Value) {
    single_choices(doc);
    envelopes_by_reference(doc);
    enum_member_names(doc);
    optional_bodies(doc);
    plain_header_parameters(doc);
    response_headers(doc);
}

/// A `oneOf` of one schema (utoipa's wrapping of an inlined field) becomes that schema, with
/// the wrapper's other keys (its description) beside it.
fn single_choices(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(alts)) = m.get("oneOf") {
                if let [Value::Object(only)] = alts.as_slice() {
                    let only = only.clone();
                    m.remove("oneOf");
                    for (k, x) in only {
                        m.entry(k).or_insert(x);
                    }
                }
            }
            m.values_mut().for_each(single_choices);
        }
        Value::Array(a) => a.iter_mut().for_each(single_choices),
        _ => {}
    }
}

/// Every operation object of the document.
fn operations(doc: &mut Value) -> Vec<&mut Map<String, Value>> {
    let mut ops = Vec::new();
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for item in paths.values_mut() {
            if let Value::Object(item) = item {
                for (method, op) in item.iter_mut() {
                    let is_method = matches!(
                        method.as_str(),
                        "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace"
                    );
                    if let (true, Value::Object(op)) = (is_method, op) {
                        ops.push(op);
                    }
                }
            }
        }
    }
    ops
}

/// Replaces each inline success envelope by a named one (`PatientViewEnvelope`,
/// `PatientViewPage`) whose `data` refers to the view's schema.
fn envelopes_by_reference(doc: &mut Value) {
    let schemas: Map<String, Value> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let name_of = |v: &Value| -> Option<String> {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            return r.rsplit('/').next().map(str::to_owned);
        }
        schemas
            .iter()
            .find(|(_, s)| *s == v)
            .map(|(n, _)| n.clone())
    };
    let mut made: Map<String, Value> = Map::new();
    for op in operations(doc) {
        let Some(Value::Object(responses)) = op.get_mut("responses") else {
            continue;
        };
        for response in responses.values_mut() {
            let Some(schema) = response.pointer_mut("/content/application~1json/schema") else {
                continue;
            };
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                continue;
            };
            if !(props.contains_key("success") && props.contains_key("data")) {
                continue;
            }
            let data = &props["data"];
            let (view, paged) = match (data.get("type"), data.get("items")) {
                (Some(t), Some(items)) if t == "array" && props.contains_key("pagination") => {
                    (name_of(items), true)
                }
                _ => (name_of(data), false),
            };
            let Some(view) = view else {
                continue;
            };
            let mut envelope = schema.clone();
            let target = format!("#/components/schemas/{view}");
            if paged {
                envelope["properties"]["data"] =
                    json!({"type": "array", "items": {"$ref": target}});
            } else {
                envelope["properties"]["data"] = json!({"$ref": target});
            }
            let name = format!("{view}{}", if paged { "Page" } else { "Envelope" });
            made.entry(name.clone()).or_insert(envelope);
            *schema = json!({"$ref": format!("#/components/schemas/{name}")});
        }
    }
    if let Some(Value::Object(s)) = doc.pointer_mut("/components/schemas") {
        for (name, envelope) in made {
            s.entry(name).or_insert(envelope);
        }
        // Envelopes the document already names (`Envelope_PatientView`) hold a copy of their
        // view too: they refer to it instead.
        for (name, envelope) in s.iter_mut() {
            let Some(props) = envelope.get("properties").and_then(Value::as_object) else {
                continue;
            };
            if !(props.contains_key("success") && props.contains_key("data")) {
                continue;
            }
            let data = &props["data"];
            let (view, list) = match (data.get("type"), data.get("items")) {
                (Some(t), Some(items)) if t == "array" => (named_copy(&schemas, items), true),
                _ => (named_copy(&schemas, data), false),
            };
            let Some(view) = view.filter(|v| v != name) else {
                continue;
            };
            let target = json!({"$ref": format!("#/components/schemas/{view}")});
            envelope["properties"]["data"] = if list {
                json!({"type": "array", "items": target})
            } else {
                target
            };
        }
    }
}

/// The name of the component schema `v` is a copy of, if it is a schema written out rather
/// than a reference.
fn named_copy(schemas: &Map<String, Value>, v: &Value) -> Option<String> {
    let written_out = v
        .as_object()
        .is_some_and(|o| !o.is_empty() && !o.contains_key("$ref"));
    if !written_out {
        return None;
    }
    schemas
        .iter()
        .find(|(_, s)| *s == v)
        .map(|(n, _)| n.clone())
}

/// `x-enum-varnames` for string enums with values that are not identifiers, so a generated
/// client names `A+` and `A-` apart (`A_POS`, `A_NEG`) instead of collapsing them.
fn enum_member_names(doc: &mut Value) {
    fn visit(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Array(values)) = m.get("enum") {
                    let texts: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
                    let plain = |s: &str| {
                        s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                            && !s.starts_with(|c: char| c.is_ascii_digit())
                    };
                    if texts.len() == values.len() && !texts.iter().all(|s| plain(s)) {
                        let names: Vec<Value> = texts
                            .iter()
                            .map(|s| Value::String(member_name(s)))
                            .collect();
                        m.insert("x-enum-varnames".into(), Value::Array(names));
                    }
                }
                m.values_mut().for_each(visit);
            }
            Value::Array(a) => a.iter_mut().for_each(visit),
            _ => {}
        }
    }
    visit(doc);
}

/// An identifier for an enum value: `A+` → `A_POS`, `in-person` → `IN_PERSON`.
fn member_name(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '+' => out.push_str("_POS"),
            '-' if value.ends_with('-') && out.len() + 1 == value.len() => out.push_str("_NEG"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
            _ => out.push('_'),
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A body that may be left out is `required: false` with its schema, not a `oneOf` with `null`
/// (with which a generated call refuses to send nothing). Every other body is required (a PATCH
/// that changes nothing sends `{}`).
fn optional_bodies(doc: &mut Value) {
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(body) = op.get_mut("requestBody") else {
                continue;
            };
            if let Some(schema) = body.pointer_mut("/content/application~1json/schema") {
                if let Some(Value::Array(alts)) = schema.get("oneOf") {
                    let real: Vec<Value> = alts
                        .iter()
                        .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                        .cloned()
                        .collect();
                    if real.len() == 1 && real.len() < alts.len() {
                        *schema = real[0].clone();
                        body["required"] = Value::Bool(false);
                    }
                }
            }
        }
    }
}

/// Header parameters are strings that may be left out; `["string", "null"]` (or a `oneOf` with
/// `null`) makes generated clients type them nullable for nothing.
fn plain_header_parameters(doc: &mut Value) {
    for op in operations(doc) {
        let Some(Value::Array(params)) = op.get_mut("parameters") else {
            continue;
        };
        for p in params.iter_mut() {
            if p.get("in").and_then(Value::as_str) != Some("header") {
                continue;
            }
            if let Some(schema) = p.get_mut("schema") {
                if let Some(Value::Array(alts)) = schema.get("oneOf") {
                    let real: Vec<&Value> = alts.iter().filter(|a| a["type"] != "null").collect();
                    if let [only] = real.as_slice() {
                        let only = (*only).clone();
                        *schema = only;
                    }
                }
                if let Some(Value::Array(types)) = schema.get("type") {
                    let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                    if kept.len() == 1 {
                        schema["type"] = kept[0].clone();
                    }
                }
            }
        }
    }
}

/// `x-request-id` on every answer, `Retry-After` on every 429 and 503, as headers of the
/// responses rather than prose.
fn response_headers(doc: &mut Value) {
    let request_id = json!({
        "description": "carebook's own id of this request (in its logs and audit trail)",
        "schema": {"type": "string"}
    });
    let retry_after = json!({
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1}
    });
    for op in operations(doc) {
        let Some(Value::Object(responses)) = op.get_mut("responses") else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            let Some(r) = response.as_object_mut() else {
                continue;
            };
            let headers = r
                .entry("headers")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(h) = headers.as_object_mut() {
                h.entry("x-request-id").or_insert(request_id.clone());
                if status == "429" || status == "503" {
                    h.entry("Retry-After").or_insert(retry_after.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_identifiers_and_distinct() {
        let names: Vec<String> = ["A+", "A-", "AB+", "AB-", "O+", "O-", "in-person", "video"]
            .iter()
            .map(|v| member_name(v))
            .collect();
        assert_eq!(
            names,
            [
                "A_POS",
                "A_NEG",
                "AB_POS",
                "AB_NEG",
                "O_POS",
                "O_NEG",
                "IN_PERSON",
                "VIDEO"
            ]
        );
    }

    #[test]
    fn envelopes_become_named_and_refer_to_their_view() {
        let view = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let envelope = json!({"type": "object", "properties": {"success": {"type": "boolean"},
            "message": {"type": "string"}, "data": view.clone()}});
        let mut doc = json!({
            "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": envelope}}}}}}},
            "components": {"schemas": {"XView": view}}
        });
        for_clients(&mut doc);
        assert_eq!(
            doc.pointer("/paths/~1x/get/responses/200/content/application~1json/schema/$ref"),
            Some(&json!("#/components/schemas/XViewEnvelope"))
        );
        assert_eq!(
            doc.pointer("/components/schemas/XViewEnvelope/properties/data/$ref"),
            Some(&json!("#/components/schemas/XView"))
        );
        assert!(doc
            .pointer("/paths/~1x/get/responses/200/headers/x-request-id")
            .is_some());
    }

    #[test]
    fn named_envelopes_refer_to_their_view() {
        let view = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let envelope = json!({"type": "object", "properties": {"success": {"type": "boolean"},
            "data": view.clone()}});
        let page = json!({"type": "object", "properties": {"success": {"type": "boolean"},
            "data": {"type": "array", "items": view.clone()}, "pagination": {"type": "object"}}});
        let mut doc = json!({
            "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Envelope_XView"}}}}}}}},
            "components": {"schemas": {"XView": view, "Envelope_XView": envelope,
                "PagedEnvelope_XView": page}}
        });
        for_clients(&mut doc);
        assert_eq!(
            doc.pointer("/components/schemas/Envelope_XView/properties/data/$ref"),
            Some(&json!("#/components/schemas/XView"))
        );
        assert_eq!(
            doc.pointer("/components/schemas/PagedEnvelope_XView/properties/data/items/$ref"),
            Some(&json!("#/components/schemas/XView"))
        );
        assert_eq!(
            doc.pointer("/components/schemas/XView/properties/id/type"),
            Some(&json!("string"))
        );
    }
}
