//! `Slot`: a doctor's slots, read one by one or searched in one `Schedule` (a doctor) over a
//! range of at most [`MAX_RANGE_DAYS`] days.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};

use super::outcome::{answer, base, versioned};
use super::resources::{self, slot, slot_status};
use super::search::{bundle, page_of, reference_id, Entry, Params, Range};
use crate::domain::search::MAX_RANGE_DAYS;
use crate::domain::{DoctorId, DomainError, SlotId};
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The slot a FHIR id names; anything else is not found.
pub fn slot_id(raw: &str) -> Result<SlotId, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(SlotId)
        .map_err(|_| DomainError::NotFound("time slot").into())
}

/// `GET /fhir/R4/Slot/{id}`
pub async fn read(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = app.store.get_slot(slot_id(&id)?).await?;
    Ok(versioned(&headers, &slot(&s)))
}

/// `GET /fhir/R4/Slot?schedule=&start=&status=`: `schedule` is required; without `start` the
/// search covers the next [`MAX_RANGE_DAYS`] days.
pub async fn search(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "Slot")?;
    let schedule = params.one("schedule").ok_or_else(|| {
        ApiError::field("schedule", "is required: the Schedule (doctor) to search")
    })?;
    let doctor = DoctorId(reference_id(schedule, "Schedule", "schedule")?);
    let range = Range::parse(params.all("start"), "start")?;
    let now = Utc::now();
    let from = range.from.unwrap_or(now);
    let until = range.until.unwrap_or(from + Duration::days(MAX_RANGE_DAYS));
    if until - from > Duration::days(MAX_RANGE_DAYS + 1) {
        return Err(ApiError::field(
            "start",
            format!("spans more than {MAX_RANGE_DAYS} days; search a shorter range"),
        ));
    }
    let statuses: Vec<&str> = params.all("status").flat_map(|s| s.split(',')).collect();
    if let Some(bad) = statuses.iter().find(|s| {
        ![
            "free",
            "busy",
            "busy-unavailable",
            "busy-tentative",
            "entered-in-error",
        ]
        .contains(s)
    }) {
        return Err(ApiError::field(
            "status",
            format!("'{bad}' is not a Slot status"),
        ));
    }
    let id = params.one("_id").map(str::to_owned);
    // Local dates one day either side of the instants: a slot's date is its doctor's.
    let (first, last) = (
        (from - Duration::days(1)).date_naive(),
        (until + Duration::days(1)).date_naive(),
    );
    let found: Vec<_> = app
        .store
        .list_slots(doctor, first, last)
        .await?
        .into_iter()
        .filter(|s| range.holds(s.starts_at) && s.starts_at >= from && s.starts_at < until)
        .filter(|s| statuses.is_empty() || statuses.contains(&slot_status(s)))
        .filter(|s| id.as_deref().is_none_or(|i| i == s.id.to_string()))
        .collect();
    let total = found.len();
    let mut entries: Vec<Entry> = page_of(found, &params)
        .iter()
        .map(|s| Entry::matched(slot(s)))
        .collect();
    if !entries.is_empty() && params.includes("Slot:schedule") {
        let d = app.store.get_doctor(doctor).await?;
        entries.push(Entry::included(resources::schedule(&d, now)));
    }
    let body = bundle(&base(&app, &headers), "Slot", &params, total, entries);
    Ok(answer(StatusCode::OK, &body))
}
