//! What the facade serves, said once: [`SERVED`] lists each resource with its interactions
//! and search parameters; the `CapabilityStatement` is built from it, and a test requests
//! every interaction and parameter it lists, so the two cannot drift apart.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::outcome::base;
use super::outcome::{answer, MEDIA};
use crate::http::state::AppState;

/// One resource type the facade serves: whether it is read by id, and its search
/// parameters (name, FHIR search type, what it matches).
pub struct Served {
    pub kind: &'static str,
    pub search: &'static [(&'static str, &'static str, &'static str)],
    /// What `_include` may name.
    pub includes: &'static [&'static str],
}

/// Every resource type served (each read by id and searched).
pub const SERVED: &[Served] = &[
    Served {
        kind: "Practitioner",
        search: &[
            (
                "name",
                "string",
                "A word of the doctor's name starts with it",
            ),
            (
                "identifier",
                "token",
                "The licence number (urn:carebook:licence-number)",
            ),
            ("_id", "token", "The doctor's id"),
        ],
        includes: &[],
    },
    Served {
        kind: "PractitionerRole",
        search: &[
            (
                "specialty",
                "token",
                "The specialization, case-insensitively",
            ),
            ("practitioner", "reference", "The doctor"),
            ("_id", "token", "The doctor's id"),
        ],
        includes: &[],
    },
    Served {
        kind: "Schedule",
        search: &[
            ("actor", "reference", "The doctor (Practitioner)"),
            ("_id", "token", "The doctor's id"),
        ],
        includes: &[],
    },
    Served {
        kind: "Slot",
        search: &[
            ("schedule", "reference", "Required: the doctor's Schedule"),
            (
                "start",
                "date",
                "The slot's start (ge, gt, le, lt, eq); at most 92 days",
            ),
            ("status", "token", "free, busy or busy-unavailable"),
            ("_id", "token", "The slot's id"),
        ],
        includes: &["Slot:schedule"],
    },
    Served {
        kind: "Patient",
        search: &[
            ("name", "string", "Every word starts a word of the name"),
            (
                "birthdate",
                "date",
                "The date of birth, exactly (eq; other prefixes are refused)",
            ),
            ("email", "token", "The e-mail address, exactly"),
            ("identifier", "token", "urn:ietf:rfc:3986|urn:uuid:{id}"),
            ("_id", "token", "The patient's id"),
        ],
        includes: &[],
    },
    Served {
        kind: "Appointment",
        search: &[
            ("patient", "reference", "The patient"),
            ("practitioner", "reference", "The doctor"),
            (
                "date",
                "date",
                "The appointment's day in its doctor's calendar",
            ),
            (
                "status",
                "token",
                "pending, booked, fulfilled, cancelled, noshow",
            ),
            ("slot", "reference", "The slot"),
            ("_id", "token", "The appointment's id"),
        ],
        includes: &[
            "Appointment:patient",
            "Appointment:practitioner",
            "Appointment:slot",
        ],
    },
    Served {
        kind: "AuditEvent",
        search: &[
            (
                "patient",
                "reference",
                "The patient whose data was seen or changed",
            ),
            ("date", "date", "When (ge, gt, le, lt, eq)"),
        ],
        includes: &[],
    },
];

/// The IHE ITI Scheduling operations on `Appointment`.
pub const OPERATIONS: &[(&str, &str)] = &[
    (
        "find",
        "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find",
    ),
    (
        "hold",
        "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-hold",
    ),
    (
        "book",
        "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book",
    ),
];

/// The SMART-style scopes a role's token carries.
pub fn scopes(role: crate::domain::user::Role) -> &'static str {
    use crate::domain::user::Role::*;
    match role {
        Patient => "patient/Patient.rs patient/Appointment.crus patient/AuditEvent.rs patient/Slot.rs patient/Schedule.rs patient/Practitioner.rs patient/PractitionerRole.rs",
        Doctor => "user/Patient.r user/Appointment.rs user/Slot.rs user/Schedule.rs user/Practitioner.rs user/PractitionerRole.rs",
        Scheduler => "user/Patient.rs user/Appointment.crus user/Slot.rs user/Schedule.rs user/Practitioner.rs user/PractitionerRole.rs",
        Admin => "user/Patient.rs user/Appointment.crus user/AuditEvent.rs user/Slot.rs user/Schedule.rs user/Practitioner.rs user/PractitionerRole.rs",
    }
}

/// The `CapabilityStatement` of this server.
pub fn statement(base: &str, cors: bool) -> Value {
    let resources: Vec<Value> = SERVED
        .iter()
        .map(|r| {
            let mut res = json!({
                "type": r.kind,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "versioning": "versioned",
                "readHistory": false,
                "conditionalRead": "not-match",
                "searchParam": r.search.iter().map(|(name, kind, doc)| json!({
                    "name": name, "type": kind, "documentation": doc,
                })).collect::<Vec<_>>(),
            });
            if !r.includes.is_empty() {
                res["searchInclude"] = json!(r.includes);
            }
            if r.kind == "Appointment" {
                res["operation"] = json!(OPERATIONS
                    .iter()
                    .map(|(name, def)| json!({
                        "name": name, "definition": def,
                    }))
                    .collect::<Vec<_>>());
            }
            res
        })
        .collect();
    let root = base.trim_end_matches("/fhir/R4");
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": chrono::Utc::now().date_naive().to_string(),
        "publisher": "carebook",
        "kind": "instance",
        "software": {"name": "carebook", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "carebook's FHIR R4 scheduling facade", "url": base},
        "fhirVersion": "4.0.1",
        "format": [MEDIA, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Search parameters not listed are refused (400). Bearer tokens from POST /api/auth/login; a patient's token reaches only that patient's own records.",
            "security": {
                "cors": cors,
                // Bearer tokens with SMART-style scopes, but no SMART App Launch: the service
                // is said in words rather than claimed with SMART-on-FHIR's code.
                "service": [{"text": "carebook bearer tokens (POST /api/auth/login) with SMART-style scopes by role; no SMART App Launch"}],
                "description": format!("Send carebook's access token as a Bearer token. Token endpoint: {root}/api/auth/login; scopes by role in {base}/.well-known/smart-configuration."),
            },
            "resource": resources,
        }],
    })
}

/// `GET /fhir/R4/metadata`
pub async fn metadata(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let cors = !app.settings.cors_origins.is_empty();
    answer(StatusCode::OK, &statement(&base(&app, &headers), cors))
}

/// `GET /fhir/R4/.well-known/smart-configuration`: where tokens come from and what they
/// carry. carebook has no app-authorisation flow (no authorisation endpoint): an app signs in
/// with a user's credentials at the token endpoint.
pub async fn smart(State(app): State<AppState>, headers: HeaderMap) -> Response {
    use crate::domain::user::Role::*;
    let base = base(&app, &headers);
    let root = base.trim_end_matches("/fhir/R4");
    let mut listed: Vec<&str> = Vec::new();
    for scope in [Patient, Doctor, Scheduler, Admin]
        .into_iter()
        .flat_map(|r| scopes(r).split(' '))
    {
        if !listed.contains(&scope) {
            listed.push(scope);
        }
    }
    let body = json!({
        "issuer": root,
        "token_endpoint": format!("{root}/api/auth/login"),
        "token_endpoint_auth_methods_supported": [],
        "grant_types_supported": [],
        "scopes_supported": listed,
        "response_types_supported": [],
        "capabilities": ["permission-patient", "permission-user", "permission-v2"],
        "code_challenge_methods_supported": [],
    });
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
