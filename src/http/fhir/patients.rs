//! `Patient`: read by whoever may see the patient (as the API's `GET /patients/{id}`), searched
//! by the front desk and administrators; a patient's own search finds only themself. Every
//! patient answered leaves an access record under the FHIR route.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::outcome::{answer, base, versioned};
use super::resources::patient;
use super::search::{bundle, every, page_of, token_in, Entry, Params};
use crate::domain::page::Page;
use crate::domain::patient::{Patient, PatientQuery};
use crate::domain::user::{AccessAction, Role};
use crate::domain::{DomainError, PatientId};
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::patients::record_reads;
use crate::http::state::AppState;

/// The patient a FHIR id names; anything else is not found.
fn patient_id(raw: &str) -> Option<PatientId> {
    let raw = raw.trim();
    let raw = raw.strip_prefix("urn:uuid:").unwrap_or(raw);
    uuid::Uuid::parse_str(raw).ok().map(PatientId)
}

/// `GET /fhir/R4/Patient/{id}`
pub async fn read(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = patient_id(&id).ok_or(DomainError::NotFound("patient"))?;
    caller.may_see_patient(&app, id).await?;
    let p = app.store.get_patient(id).await?;
    record_reads(&app, &caller, AccessAction::Read, [p.id]).await?;
    Ok(versioned(&headers, &patient(&p)))
}

/// One patient by id, or none.
async fn by_id(app: &AppState, id: Option<PatientId>) -> Result<Vec<Patient>, ApiError> {
    let Some(id) = id else { return Ok(vec![]) };
    match app.store.get_patient(id).await {
        Ok(p) => Ok(vec![p]),
        Err(DomainError::NotFound(_)) => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

/// Every patient a register search finds.
async fn matching(app: &AppState, query: &PatientQuery) -> Result<Vec<Patient>, ApiError> {
    every(|page| app.store.search_patients(query, page)).await
}

/// `GET /fhir/R4/Patient?name=&birthdate=&email=&identifier=&_id=`
pub async fn search(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "Patient")?;
    let birth = match params.one("birthdate") {
        Some(raw) => Some(
            chrono::NaiveDate::parse_from_str(raw.strip_prefix("eq").unwrap_or(raw), "%Y-%m-%d")
                .map_err(|_| ApiError::field("birthdate", "must be a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let email = params.one("email").map(str::to_lowercase);
    let name = params.one("name");
    let id = match (params.one("identifier"), params.one("_id")) {
        (Some(i), _) => Some(token_in(i, super::resources::URI_SYSTEM).and_then(patient_id)),
        (None, Some(i)) => Some(patient_id(i)),
        (None, None) => None,
    };
    let candidates = match caller.role() {
        Role::Patient => by_id(&app, caller.who.patient_id).await?,
        Role::Doctor => {
            return Err(ApiError::refused(
                "The patient register is searched by the front desk and administrators; a doctor reads their patients one by one",
            ))
        }
        Role::Admin | Role::Scheduler => match (&id, &email, name, birth) {
            (Some(id), ..) => by_id(&app, *id).await?,
            (None, Some(e), ..) => match PatientQuery::parse(e) {
                Some(query) => matching(&app, &query).await?,
                None => vec![],
            },
            (None, None, Some(n), _) => match PatientQuery::parse(n) {
                Some(query) => matching(&app, &query).await?,
                None => vec![],
            },
            (None, None, None, Some(d)) => matching(&app, &PatientQuery::Born(d)).await?,
            (None, None, None, None) => {
                let page = Page::new(Some(params.count.max(1) as i64), Some(params.offset as i64));
                let found = app.store.list_patients(page).await?;
                // `_count=0` asks for the total alone.
                let items = found.items.into_iter().take(params.count).collect();
                return answer_page(&app, &caller, &headers, &params, found.total as usize, items).await;
            }
        },
    };
    let words: Vec<String> = name
        .map(|n| n.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    let found: Vec<Patient> = candidates
        .into_iter()
        .filter(|p| id.is_none_or(|i| Some(p.id) == i))
        .filter(|p| {
            email
                .as_deref()
                .is_none_or(|e| p.email.as_str().to_lowercase() == e)
        })
        .filter(|p| birth.is_none_or(|d| p.date_of_birth == Some(d)))
        .filter(|p| {
            let n = p.name.to_lowercase();
            words.iter().all(|w| {
                n.split_whitespace()
                    .any(|part| part.starts_with(w.as_str()))
                    || n.starts_with(w.as_str())
            })
        })
        .collect();
    let total = found.len();
    let page = page_of(found, &params);
    answer_page(&app, &caller, &headers, &params, total, page).await
}

/// The searchset of one page of patients, their access records written first.
async fn answer_page(
    app: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: &Params,
    total: usize,
    page: Vec<Patient>,
) -> Result<Response, ApiError> {
    record_reads(app, caller, AccessAction::List, page.iter().map(|p| p.id)).await?;
    let entries = page.iter().map(|p| Entry::matched(patient(p))).collect();
    let body = bundle(&base(app, headers), "Patient", params, total, entries);
    Ok(answer(StatusCode::OK, &body))
}
