//! The OpenAPI 3.1 contract, generated from the handlers' annotations and the request and
//! view types, and served at `GET /api/openapi.json`.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi as _;

use super::error::ErrorBody;

/// What the generated paths do not say: title, description, tags.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "carebook",
        description = "A concurrency-safe doctor appointment booking service. Every answer uses \
one envelope: `{\"success\": true, \"message\", \"data\"[, \"pagination\"]}` or \
`{\"success\": false, \"message\", \"error\": {\"code\", \"details\"?}}`. Every response carries \
`x-request-id`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    // In the order a newcomer needs them: sign in first, then the catalogue, then bookings.
    tags(
        (name = "auth", description = "Sign up, log in (the access token for every other call), refresh, log out, passwords and the second factor"),
        (name = "doctors", description = "Doctors and their specializations"),
        (name = "time slots", description = "A doctor's bookable times, in the doctor's time zone"),
        (name = "patients", description = "Patients (protected health information)"),
        (name = "appointments", description = "Bookings: PENDING → CONFIRMED → COMPLETED, with cancellation, expiry, rescheduling and no-shows"),
        (name = "schedules", description = "A doctor's weekly availability rules (generating slots) and time off"),
        (name = "waitlist", description = "Patients waiting for a seat with a doctor: a freed seat is offered to the first in line as a PENDING hold"),
        (name = "reviews", description = "Patients' ratings of their completed appointments, and each doctor's public reviews"),
        (name = "users", description = "Staff and patient accounts (admin)"),
        (name = "audit", description = "Who read or changed which patient's data: the access log"),
        (name = "webhooks", description = "Signed JSON POSTs to other systems about appointment changes (admin)"),
        (name = "outbox", description = "Deliveries of e-mail and webhooks after each change commits (admin)"),
        (name = "operations", description = "Health checks and this contract"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// The base document the routes are added to.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// Adds the answers any operation can give besides its own: 400 where it reads parameters or
/// a body; the server-wide refusals of a body, URI or headers too large (checked before any
/// route, so a GET with a large declared body is refused too); 503 everywhere (database down,
/// the request timed out, or too many requests in flight).
pub fn add_common_responses(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let has_body = op.request_body.is_some();
            let r = &mut op.responses.responses;
            if has_params || has_body {
                r.entry("400".into()).or_insert_with(|| error(
                    "`VALIDATION_ERROR`: a malformed parameter or body; `details` names every field at fault",
                ));
            }
            for (status, text) in [
                ("413", "`PAYLOAD_TOO_LARGE`: the body is (or is declared to be) larger than 1 MiB"),
                ("414", "`URI_TOO_LONG`: the path and query are longer than 8 KiB"),
                ("431", "`HEADERS_TOO_LARGE`: the headers are larger than 32 KiB"),
                ("503", "`SERVICE_UNAVAILABLE`: the database is unavailable, the request timed out or too many are in flight; sent with `Retry-After`"),
            ] {
                r.entry(status.into()).or_insert_with(|| error(text));
            }
        }
    }
}

/// The security of every operation, from the role table in [`super::policy::RULES`]: the
/// bearer scheme, 401 and 403 where a token and a role are needed, 429 everywhere.
pub fn add_security(doc: &mut OpenApi) {
    use utoipa::openapi::security::{
        HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("An access token from `POST /api/auth/login`."))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let methods = [
            (axum::http::Method::GET, item.get.as_mut()),
            (axum::http::Method::POST, item.post.as_mut()),
            (axum::http::Method::PATCH, item.patch.as_mut()),
            (axum::http::Method::PUT, item.put.as_mut()),
            (axum::http::Method::DELETE, item.delete.as_mut()),
        ];
        for (method, op) in methods {
            let Some(op) = op else { continue };
            let r = &mut op.responses.responses;
            r.entry("429".into()).or_insert_with(|| {
                error("`RATE_LIMITED`: over `RATE_LIMIT_PER_MINUTE`; sent with `Retry-After`")
            });
            let Some(super::policy::Rule::Roles(roles)) = super::policy::rule_for(&method, path)
            else {
                continue;
            };
            op.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
            // Every signed-in route reads `Break-Glass-Reason` (the access log keeps it).
            r.entry("400".into()).or_insert_with(|| {
                error("`VALIDATION_ERROR`: a malformed `Break-Glass-Reason` header")
            });
            r.entry("401".into()).or_insert_with(|| {
                error("`UNAUTHORIZED`: no valid access token (missing, malformed, expired, tampered or revoked); sent with `WWW-Authenticate: Bearer`")
            });
            if !roles.is_empty() {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                let text = format!(
                    "`FORBIDDEN`: the caller's role may not do this (allowed: {})",
                    names.join(", ")
                );
                r.entry("403".into()).or_insert_with(|| error(&text));
            }
        }
    }
}

/// Gives the `SignUp` schema CreatePatient's fields beside its `password`, so the document says
/// exactly what `POST /api/auth/register` reads (one closed object, no `allOf` whose halves
/// would each refuse the other's fields).
pub fn complete_sign_up(doc: &mut OpenApi) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let Some(RefOr::T(Schema::Object(patient))) = schemas.get("CreatePatient").cloned() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(sign_up))) = schemas.get_mut("SignUp") {
        for (name, prop) in patient.properties.into_iter().rev() {
            sign_up.properties.shift_insert(0, name, prop);
        }
        let mut required = patient.required;
        required.append(&mut sign_up.required);
        sign_up.required = required;
        sign_up.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// OpenAPI links: which operation a response's ids lead to, so clients (and stateful fuzzers)
/// can walk doctor → slot → booking → confirm → cancel. Each entry: from (operationId,
/// status), the link's name, to operationId, and its parameters as runtime expressions.
type LinkSpec = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ID: &str = "$response.body#/data/id";
/// The doctor an answer's object belongs to.
const DOCTOR: &str = "$response.body#/data/doctor_id";
const LINKS: &[(&str, &str, &[LinkSpec])] = &[
    (
        "createDoctor",
        "201",
        &[
            ("getDoctor", "getDoctor", &[("id", ID)]),
            ("updateDoctor", "updateDoctor", &[("id", ID)]),
            ("createSlot", "createSlot", &[("id", ID)]),
            ("createSlots", "createSlots", &[("id", ID)]),
            ("listSlots", "listSlots", &[("id", ID)]),
            ("listAvailableSlots", "listAvailableSlots", &[("id", ID)]),
            ("createSchedule", "createSchedule", &[("id", ID)]),
            ("listSchedules", "listSchedules", &[("id", ID)]),
            ("createTimeOff", "createTimeOff", &[("id", ID)]),
            ("listTimeOff", "listTimeOff", &[("id", ID)]),
            ("listDoctorReviews", "listDoctorReviews", &[("id", ID)]),
            (
                "listDoctorAppointments",
                "listDoctorAppointments",
                &[("doctorId", ID)],
            ),
        ],
    ),
    (
        "createPatient",
        "201",
        &[
            ("getPatient", "getPatient", &[("id", ID)]),
            ("updatePatient", "updatePatient", &[("id", ID)]),
            (
                "listPatientAppointments",
                "listPatientAppointments",
                &[("patientId", ID)],
            ),
        ],
    ),
    (
        "createSchedule",
        "201",
        &[
            (
                "updateSchedule",
                "updateSchedule",
                &[("id", DOCTOR), ("ruleId", ID)],
            ),
            (
                "deleteSchedule",
                "deleteSchedule",
                &[("id", DOCTOR), ("ruleId", ID)],
            ),
        ],
    ),
    (
        "createTimeOff",
        "201",
        &[(
            "deleteTimeOff",
            "deleteTimeOff",
            &[("id", DOCTOR), ("timeOffId", ID)],
        )],
    ),
    (
        "createSlot",
        "201",
        &[(
            "setSlotStatus",
            "setSlotStatus",
            &[("id", "$response.body#/data/doctor_id"), ("slotId", ID)],
        )],
    ),
    (
        "bookAppointment",
        "201",
        &[
            ("confirmAppointment", "confirmAppointment", &[("id", ID)]),
            ("cancelAppointment", "cancelAppointment", &[("id", ID)]),
            (
                "rescheduleAppointment",
                "rescheduleAppointment",
                &[("id", ID)],
            ),
            ("getAppointment", "getAppointment", &[("id", ID)]),
            (
                "getAppointmentHistory",
                "getAppointmentHistory",
                &[("id", ID)],
            ),
        ],
    ),
    (
        "confirmAppointment",
        "200",
        &[
            ("completeAppointment", "completeAppointment", &[("id", ID)]),
            ("cancelAppointment", "cancelAppointment", &[("id", ID)]),
            (
                "markAppointmentNoShow",
                "markAppointmentNoShow",
                &[("id", ID)],
            ),
        ],
    ),
    (
        "completeAppointment",
        "200",
        &[("reviewAppointment", "reviewAppointment", &[("id", ID)])],
    ),
    (
        "createWebhook",
        "201",
        &[("deleteWebhook", "deleteWebhook", &[("id", ID)])],
    ),
    (
        "joinWaitlist",
        "201",
        &[("leaveWaitlist", "leaveWaitlist", &[("id", ID)])],
    ),
];

/// Adds [`LINKS`] to the responses they start from.
pub fn add_links(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            let Some(from) = op.operation_id.clone() else {
                continue;
            };
            for (_, status, links) in LINKS.iter().filter(|(id, _, _)| *id == from) {
                let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                    continue;
                };
                for (name, to, params) in links.iter() {
                    let link = params
                        .iter()
                        .fold(LinkBuilder::new().operation_id(*to), |b, (k, v)| {
                            b.parameter(*k, *v)
                        })
                        .build();
                    response.links.insert((*name).to_owned(), RefOr::T(link));
                }
            }
        }
    }
}

/// utoipa 5 writes a link's `operationId` and `requestBody` in snake case, which OpenAPI
/// validators (rightly) refuse: rename them in every `links` object.
pub fn fix_link_keys(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(links)) = m.get_mut("links") {
                for link in links.values_mut() {
                    if let Value::Object(l) = link {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(x) = l.remove(from) {
                                l.insert(to.into(), x);
                            }
                        }
                    }
                }
            }
            m.values_mut().for_each(fix_link_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(fix_link_keys),
        _ => {}
    }
}
