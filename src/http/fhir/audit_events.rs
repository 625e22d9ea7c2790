//! `AuditEvent`: carebook's access records (who saw or changed which patient's data, when,
//! through which route, with what outcome) in the shape of IHE's Basic Audit Log Patterns. An
//! administrator searches them all; a patient, their own (as `GET /api/patients/{id}/access-log`).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::outcome::{answer, base, versioned};
use super::resources::instant;
use super::search::{bundle, Entry, Params, Range};
use crate::domain::page::Page;
use crate::domain::user::{AccessAction, AccessFilter, AccessRecord, Role};
use crate::domain::{DomainError, PatientId};
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// An access record's id as FHIR's (at most 64 letters, digits, `-` and `.`): its patient,
/// instant and row, the instant and row in base 36, which find it again.
fn event_id(r: &AccessRecord) -> String {
    format!(
        "{}.{}.{}",
        r.patient_id.0.simple(),
        base36(r.at.timestamp_micros()),
        base36(r.id)
    )
}

/// `n` in base 36 (digits and lower-case letters); a negative number with a leading `-`.
fn base36(n: i64) -> String {
    let mut digits = Vec::new();
    let mut rest = n.unsigned_abs();
    loop {
        digits.push(char::from_digit((rest % 36) as u32, 36).unwrap_or('0'));
        rest /= 36;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

/// The patient, instant and row an [`event_id`] names.
fn parse_id(raw: &str) -> Option<(PatientId, DateTime<Utc>, i64)> {
    let mut parts = raw.split('.');
    let patient = uuid::Uuid::parse_str(parts.next()?).ok()?;
    let at = DateTime::from_timestamp_micros(i64::from_str_radix(parts.next()?, 36).ok()?)?;
    let row = i64::from_str_radix(parts.next()?, 36).ok()?;
    let done = parts.next().is_none() && super::search::in_calendar(at);
    done.then_some((PatientId(patient), at, row))
}

/// An access record as an `AuditEvent`.
fn event(r: &AccessRecord) -> Value {
    let (code, action) = match r.action {
        AccessAction::Read => ("read", "R"),
        AccessAction::List => ("search-type", "E"),
        AccessAction::Create => ("create", "C"),
        AccessAction::Update => ("update", "U"),
    };
    let ok = (200..300).contains(&r.outcome);
    let mut e = json!({
        "resourceType": "AuditEvent",
        "id": event_id(r),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": code}],
        "action": action,
        "recorded": instant(r.at),
        "outcome": if ok { "0" } else { "4" },
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
            "who": {"identifier": {"system": "urn:carebook:user", "value": r.actor_id.to_string()}},
            "role": [{"text": r.actor_role.as_str()}],
            "requestor": true,
        }],
        "source": {
            "observer": {"display": "carebook"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}],
        },
        "entity": [
            {
                "what": {"reference": format!("Patient/{}", r.patient_id)},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
            },
            {
                "what": {"identifier": {"system": "urn:carebook:request-id", "value": r.request_id}},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
                "description": r.route,
            },
        ],
    });
    if !ok {
        e["outcomeDesc"] = json!(format!("Answered {}", r.outcome));
    }
    if let Some(why) = &r.break_glass_reason {
        e["purposeOfEvent"] = json!([{
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG", "display": "break the glass"}],
            "text": why,
        }]);
    }
    e
}

/// The patient whose records the caller may see: any for an administrator (the one named, if
/// any), only their own for a patient.
fn whose(caller: &Caller, named: Option<PatientId>) -> Result<Option<PatientId>, ApiError> {
    match caller.role() {
        Role::Admin => Ok(named),
        Role::Patient => match (caller.who.patient_id, named) {
            (Some(me), None) => Ok(Some(me)),
            (Some(me), Some(p)) if p == me => Ok(Some(me)),
            _ => Err(DomainError::NotFound("patient").into()),
        },
        _ => Err(ApiError::refused(
            "Access records are for administrators and the patient themself",
        )),
    }
}

/// `GET /fhir/R4/AuditEvent/{id}`
pub async fn read(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::from(DomainError::NotFound("audit event"));
    let (patient, at, row) = parse_id(&id).ok_or_else(missing)?;
    let patient = whose(&caller, Some(patient)).map_err(|_| missing())?;
    let filter = AccessFilter {
        patient_id: patient,
        from: Some(at - Duration::milliseconds(1)),
        to: Some(at + Duration::milliseconds(1)),
        ..AccessFilter::default()
    };
    let found = app
        .store
        .access_log(&filter, Page::new(Some(100), Some(0)))
        .await?;
    let r = found
        .items
        .iter()
        .find(|r| r.id == row && event_id(r) == id)
        .ok_or_else(missing)?;
    let mut e = event(r);
    // An access record never changes: its one version is its instant.
    e["meta"] = json!({"versionId": "1", "lastUpdated": instant(r.at)});
    Ok(versioned(&headers, &e))
}

/// `GET /fhir/R4/AuditEvent?patient=&date=`: newest first.
pub async fn search(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "AuditEvent")?;
    let named = params.reference("patient", "Patient")?.map(PatientId);
    let patient = match whose(&caller, named) {
        Ok(p) => p,
        // Another patient's records are not found, as in the API: an empty search.
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            let body = bundle(&base(&app, &headers), "AuditEvent", &params, 0, vec![]);
            return Ok(answer(StatusCode::OK, &body));
        }
        Err(e) => return Err(e),
    };
    let days = Range::parse(params.all("date"), "date")?;
    let filter = AccessFilter {
        patient_id: patient,
        from: days.from,
        to: days.until.map(|u| u - Duration::microseconds(1)),
        ..AccessFilter::default()
    };
    let page = Page::new(Some(params.count.max(1) as i64), Some(params.offset as i64));
    let found = app.store.access_log(&filter, page).await?;
    let entries = if params.count == 0 {
        vec![]
    } else {
        found
            .items
            .iter()
            .map(|r| Entry::matched(event(r)))
            .collect()
    };
    let body = bundle(
        &base(&app, &headers),
        "AuditEvent",
        &params,
        found.total as usize,
        entries,
    );
    Ok(answer(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_finds_its_record_again() {
        let p = uuid::Uuid::new_v4();
        let at = DateTime::from_timestamp_micros(1_900_000_000_123_456).unwrap();
        let row = 4_503_599_627_370_506;
        let id = format!(
            "{}.{}.{}",
            p.simple(),
            base36(at.timestamp_micros()),
            base36(row)
        );
        assert!(id.len() <= 64, "{id}");
        assert_eq!(parse_id(&id), Some((PatientId(p), at, row)));
        assert_eq!(base36(-35), "-z");
        assert_eq!(parse_id("x.1.2"), None);
        assert_eq!(parse_id(&format!("{id}.9")), None);
    }
}
