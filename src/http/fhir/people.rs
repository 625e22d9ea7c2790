//! `Practitioner`, `PractitionerRole` and `Schedule`: three faces of a doctor, read and
//! searched over the clinic's active doctors (a clinic's few hundred at most, filtered here).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::outcome::base;
use super::outcome::versioned;
use super::resources::{practitioner, practitioner_role, schedule};
use super::search::{bundle, every, page_of, token_code, token_in, Entry, Params};
use crate::domain::doctor::Doctor;
use crate::domain::DoctorId;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Every active doctor, by name.
async fn all_doctors(app: &AppState) -> Result<Vec<Doctor>, ApiError> {
    every(|page| app.store.list_doctors(None, page)).await
}

/// A doctor by the id of one of their three resources; anything else is not found.
async fn doctor(app: &AppState, raw: &str) -> Result<Doctor, ApiError> {
    let id = uuid::Uuid::parse_str(raw)
        .map_err(|_| ApiError::from(crate::domain::DomainError::NotFound("resource")))?;
    Ok(app.store.get_doctor(DoctorId(id)).await?)
}

/// Whether a name matches a FHIR string search: the whole name or one of its words starts
/// with the value, case-insensitively.
fn name_matches(name: &str, wanted: &str) -> bool {
    let (name, wanted) = (name.to_lowercase(), wanted.to_lowercase());
    name.starts_with(&wanted) || name.split_whitespace().any(|w| w.starts_with(&wanted))
}

/// Runs a search over the doctors: `keep` filters, `face` builds the resource.
async fn search(
    app: &AppState,
    headers: &HeaderMap,
    kind: &str,
    params: Params,
    keep: impl Fn(&Doctor) -> Result<bool, ApiError>,
    face: impl Fn(&Doctor) -> Value,
) -> Result<Response, ApiError> {
    let mut found = Vec::new();
    for d in all_doctors(app).await? {
        if keep(&d)? {
            found.push(d);
        }
    }
    let total = found.len();
    let page = page_of(found, &params);
    let entries = page.iter().map(|d| Entry::matched(face(d))).collect();
    let body = bundle(&base(app, headers), kind, &params, total, entries);
    Ok(super::outcome::answer(axum::http::StatusCode::OK, &body))
}

/// The `_id` of a search, when sent.
fn wanted_id(params: &Params) -> Option<String> {
    params.one("_id").map(str::to_owned)
}

/// Whether the doctor is the one `_id` names, or `_id` names none.
fn is(id: &Option<String>, d: &Doctor) -> bool {
    id.as_deref().is_none_or(|i| i == d.id.to_string())
}

/// `GET /fhir/R4/Practitioner?name=&identifier=&_id=`
pub async fn practitioners(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "Practitioner")?;
    let name = params.one("name").map(str::to_owned);
    // Outer `None`: not asked; inner `None`: another system's identifier, which no doctor has.
    let licence = params
        .one("identifier")
        .map(|v| token_in(v, super::resources::LICENCE).map(str::to_owned));
    let id = wanted_id(&params);
    let keep = |d: &Doctor| {
        Ok(name.as_deref().is_none_or(|n| name_matches(&d.name, n))
            && licence
                .as_ref()
                .is_none_or(|l| l.as_deref() == Some(d.license_number.as_str()))
            && is(&id, d))
    };
    search(&app, &headers, "Practitioner", params, keep, practitioner).await
}

/// `GET /fhir/R4/PractitionerRole?specialty=&practitioner=`
pub async fn roles(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "PractitionerRole")?;
    let id = wanted_id(&params);
    let specialty = params
        .one("specialty")
        .map(|v| token_code(v).to_lowercase());
    let who = params.reference("practitioner", "Practitioner")?;
    let keep = |d: &Doctor| {
        Ok(specialty
            .as_deref()
            .is_none_or(|s| d.specialization.trim().to_lowercase() == s)
            && who.is_none_or(|w| w == d.id.0)
            && is(&id, d))
    };
    search(
        &app,
        &headers,
        "PractitionerRole",
        params,
        keep,
        practitioner_role,
    )
    .await
}

/// `GET /fhir/R4/Schedule?actor=`
pub async fn schedules(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "Schedule")?;
    let who = params.reference("actor", "Practitioner")?;
    let (now, id) = (chrono::Utc::now(), wanted_id(&params));
    let keep = |d: &Doctor| Ok(who.is_none_or(|w| w == d.id.0) && is(&id, d));
    search(&app, &headers, "Schedule", params, keep, |d| {
        schedule(d, now)
    })
    .await
}

/// The doctor `id` names, as `face` shows them, with the version headers of a read.
async fn read_as(
    app: &AppState,
    headers: &HeaderMap,
    id: &str,
    face: impl Fn(&Doctor) -> Value,
) -> Result<Response, ApiError> {
    Ok(versioned(headers, &face(&doctor(app, id).await?)))
}

/// `GET /fhir/R4/Practitioner/{id}`
pub async fn practitioner_read(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    read_as(&app, &headers, &id, practitioner).await
}

/// `GET /fhir/R4/PractitionerRole/{id}`
pub async fn role_read(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    read_as(&app, &headers, &id, practitioner_role).await
}

/// `GET /fhir/R4/Schedule/{id}`
pub async fn schedule_read(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    read_as(&app, &headers, &id, |d| schedule(d, now)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_match_by_word_start() {
        assert!(super::name_matches("Dr. Ada Lovelace", "love"));
        assert!(super::name_matches("Dr. Ada Lovelace", "dr. ada"));
        assert!(!super::name_matches("Dr. Ada Lovelace", "lace"));
    }
}
