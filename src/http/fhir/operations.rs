//! IHE ITI Scheduling's operations on `Appointment`: `$find` (ITI-115) proposes free slots,
//! `$hold` (ITI-116) takes a seat as carebook's PENDING hold, which lapses like any other,
//! and `$book` (ITI-117) books, cancels or moves. Each runs the API's own use case with the
//! caller's rules, idempotency and audit: the FHIR shapes are only read and written here.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use super::appointments::{appointment_id, current};
use super::outcome::answer;
use super::resources::{instant, reference, slot_end};
use super::search::{bundle, reference_id, token_code, Entry, Params, MAX_COUNT};
use crate::domain::appointment::REASON_MAX;
use crate::domain::search::{SlotSearch, MAX_RANGE_DAYS};
use crate::domain::slot::Slot;
use crate::domain::user::Role;
use crate::domain::{DoctorId, PatientId, SlotId};
use crate::http::appointments::take_seat;
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::rules::within_reach;
use crate::http::state::AppState;

/// A `Parameters` body.
/// A `Parameters` body in JSON (`application/fhir+json` or `application/json`), each
/// parameter one of `names`, no text holding a control character other than FHIR's line
/// breaks and tabs.
fn parameters(headers: &HeaderMap, body: &Bytes, names: &[&str]) -> Result<Value, ApiError> {
    let kind = headers
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_ascii_lowercase());
    if kind.is_some_and(|k| !k.split(';').next().unwrap_or("").trim().ends_with("json")) {
        return Err(ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::field("body", "must be a FHIR Parameters resource in JSON"))?;
    if v["resourceType"] != "Parameters" {
        return Err(ApiError::field("resourceType", "must be Parameters"));
    }
    let list = match &v["parameter"] {
        Value::Null => &Vec::new(),
        Value::Array(list) => list,
        _ => return Err(ApiError::field("parameter", "must be a list")),
    };
    for p in list {
        let name = p["name"].as_str().unwrap_or_default();
        if !names.contains(&name) {
            return Err(ApiError::field(
                "parameter",
                format!(
                    "'{name}' is not a parameter of this operation; these are: {}",
                    names.join(", ")
                ),
            ));
        }
    }
    if has_control(&v) {
        return Err(ApiError::field(
            "body",
            "must hold no control characters other than line breaks and tabs",
        ));
    }
    Ok(v)
}

/// Whether any text in `v` holds a control character FHIR's strings do not allow.
fn has_control(v: &Value) -> bool {
    match v {
        Value::String(s) => s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        Value::Array(a) => a.iter().any(has_control),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| has_control(&Value::String(k.clone())) || has_control(v)),
        _ => false,
    }
}

/// The parameter called `name`.
fn param<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["parameter"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

/// A parameter's text, whichever simple `value[x]` carries it.
fn text(p: &Value) -> Option<&str> {
    [
        "valueString",
        "valueCode",
        "valueDate",
        "valueDateTime",
        "valueInstant",
        "valueUri",
    ]
    .iter()
    .find_map(|k| p[*k].as_str())
    .or_else(|| p["valueReference"]["reference"].as_str())
    .or_else(|| p["valueCodeableConcept"]["coding"][0]["code"].as_str())
    .or_else(|| p["valueCodeableConcept"]["text"].as_str())
    .or_else(|| p["valueCoding"]["code"].as_str())
}

/// A date or instant parameter as the instant it starts at.
fn moment(body: &Value, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = param(body, name).and_then(text) else {
        return Ok(None);
    };
    let at = match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        Err(_) => DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    };
    match at.filter(|t| super::search::in_calendar(*t)) {
        Some(t) => Ok(Some(t)),
        None => Err(ApiError::field(
            name,
            "must be a date or a dateTime with its offset, in the years 1 to 9999",
        )),
    }
}

/// The patient an operation is for: the one named, or the calling patient themself.
fn patient_of(caller: &Caller, named: Option<&str>) -> Result<PatientId, ApiError> {
    match (named, caller.who.patient_id) {
        (Some(r), _) => Ok(PatientId(reference_id(r, "Patient", "patient")?)),
        (None, Some(me)) if caller.role() == Role::Patient => Ok(me),
        _ => Err(ApiError::field(
            "patient",
            "is required: the Patient the appointment is for",
        )),
    }
}

/// A proposed appointment on a free slot.
fn proposal(s: &Slot, doctor_name: Option<&str>, patient: Option<PatientId>) -> Value {
    let mut participants = vec![json!({
        "actor": reference("Practitioner", s.doctor_id, doctor_name),
        "required": "required", "status": "needs-action",
    })];
    if let Some(p) = patient {
        participants.push(json!({
            "actor": reference("Patient", p, None), "required": "required", "status": "needs-action",
        }));
    }
    json!({
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [reference("Slot", s.id, None)],
        "start": instant(s.starts_at),
        "end": instant(slot_end(s)),
        "minutesDuration": s.duration_minutes,
        "participant": participants,
    })
}

/// `POST /fhir/R4/Appointment/$find`: `start`, `end` (at most [`MAX_RANGE_DAYS`] apart),
/// optional `practitioner`, `specialty`, `patient` and `_count`.
pub async fn find(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parameters(
        &headers,
        &body,
        &[
            "start",
            "end",
            "specialty",
            "practitioner",
            "patient",
            "_count",
        ],
    )?;
    let start = moment(&body, "start")?
        .unwrap_or_else(Utc::now)
        .max(Utc::now());
    let end = moment(&body, "end")?.unwrap_or(start + Duration::days(7));
    if end <= start {
        return Err(ApiError::field(
            "end",
            "must be after start (and after now)",
        ));
    }
    if end - start > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::field(
            "end",
            format!("must be at most {MAX_RANGE_DAYS} days after start"),
        ));
    }
    let count = match param(&body, "_count") {
        Some(p) => p["valueInteger"]
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ApiError::field("_count", "must be a positive valueInteger"))?
            as usize,
        None => 20,
    }
    .min(MAX_COUNT);
    let patient = match param(&body, "patient").and_then(text) {
        Some(r) => Some(patient_of(&caller, Some(r))?),
        None => caller
            .who
            .patient_id
            .filter(|_| caller.role() == Role::Patient),
    };
    let specialty = param(&body, "specialty")
        .and_then(text)
        .map(|s| token_code(s).to_owned());
    let (from, to) = (
        (start - Duration::days(1)).date_naive(),
        (end + Duration::days(1)).date_naive(),
    );
    let in_window = |s: &Slot| s.starts_at >= start && s.starts_at < end;
    let found: Vec<(Slot, Option<String>)> = match param(&body, "practitioner").and_then(text) {
        Some(r) => {
            let doctor = app
                .store
                .get_doctor(DoctorId(reference_id(r, "Practitioner", "practitioner")?))
                .await?;
            let wrong = specialty
                .as_deref()
                .is_some_and(|s| !doctor.specialization.eq_ignore_ascii_case(s));
            let slots = if wrong {
                vec![]
            } else {
                app.store.available_slots(doctor.id, from, to).await?
            };
            slots
                .into_iter()
                .filter(in_window)
                .take(count)
                .map(|s| (s, Some(doctor.name.clone())))
                .collect()
        }
        None => {
            let mut search = SlotSearch {
                specialization: specialty,
                from,
                to,
                after: None,
                limit: MAX_COUNT as i64,
            };
            let mut found = Vec::new();
            // The search walks days in each doctor's zone; the window is cut here, exactly.
            loop {
                let page = app.store.find_free_slots(&search).await?;
                let last = page
                    .last()
                    .map(|f| crate::domain::search::Cursor::after(&f.slot));
                let full = page.len() as i64 >= search.limit;
                found.extend(
                    page.into_iter()
                        .filter(|f| in_window(&f.slot))
                        .map(|f| (f.slot, Some(f.doctor.name))),
                );
                match last {
                    Some(c) if full && found.len() < count => search.after = Some(c),
                    _ => break,
                }
            }
            found.truncate(count);
            found
        }
    };
    let total = found.len();
    let entries = found
        .iter()
        .map(|(s, name)| Entry::matched(proposal(s, name.as_deref(), patient)))
        .collect();
    // One page holding every proposal: its only link is to the operation itself.
    let base = super::outcome::base(&app, &headers);
    let mut b = bundle(&base, "Appointment", &Params::whole(total), total, entries);
    b["link"] = json!([{"relation": "self", "url": format!("{base}/Appointment/$find")}]);
    Ok(answer(StatusCode::OK, &b))
}

/// The slot and patient an operation books: an `appointment` resource's first slot and its
/// Patient participant, or `slot` and `patient` parameters.
fn seat_of(caller: &Caller, body: &Value) -> Result<(SlotId, PatientId), ApiError> {
    let resource = param(body, "appointment").map(|p| &p["resource"]);
    let slot = match resource {
        Some(a) => a["slot"][0]["reference"].as_str(),
        None => param(body, "slot").and_then(text),
    }
    .ok_or_else(|| ApiError::field("slot", "is required: the Slot to book"))?;
    let slot = SlotId(reference_id(slot, "Slot", "slot")?);
    let named = match resource {
        Some(a) => a["participant"].as_array().and_then(|ps| {
            ps.iter()
                .filter_map(|p| p["actor"]["reference"].as_str())
                .find(|r| r.starts_with("Patient/") || r.contains("/Patient/"))
        }),
        None => param(body, "patient").and_then(text),
    };
    Ok((slot, patient_of(caller, named)?))
}

/// The appointment an `If-None-Exist` header (an Appointment search, e.g.
/// `status=pending,booked`) finds among this patient's on this slot: the one match, which is
/// answered instead of a new booking; none, and the booking goes ahead; several, 412. The
/// seat asked for always narrows the search, so another patient's booking never answers it.
async fn existing(
    app: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    (slot, patient): (SlotId, PatientId),
) -> Result<Option<crate::domain::appointment::Appointment>, ApiError> {
    let Some(raw) = headers.get("if-none-exist") else {
        return Ok(None);
    };
    let query = raw
        .to_str()
        .map_err(|_| ApiError::field("If-None-Exist", "must be an Appointment search query"))?;
    let query = query.trim().trim_start_matches("Appointment?");
    let params = Params::of(Some(query), "Appointment")?;
    let seat = Some((slot, patient));
    let mut found = super::appointments::matching(app, caller, &params, seat).await?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "PRECONDITION_FAILED",
            "If-None-Exist matches more than one appointment",
        )),
    }
}

/// Takes a seat (a PENDING hold) through the API's booking use case, unless `If-None-Exist`
/// finds the appointment already there.
async fn hold_seat(
    app: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &Value,
) -> Result<crate::domain::appointment::Appointment, ApiError> {
    let (slot, patient) = seat_of(caller, body)?;
    if let Some(a) = existing(app, caller, headers, (slot, patient)).await? {
        return Ok(a);
    }
    let s = match app.store.get_slot(slot).await {
        Ok(s) => s,
        Err(e) => return Err(e.into()),
    };
    let request = json!({"patient_id": patient, "doctor_id": s.doctor_id, "time_slot_id": s.id});
    let booked = match take_seat(app, caller, headers, request).await {
        // A parallel conditional request took this seat first: answer what it made.
        Err(e) if e.code == "ALREADY_BOOKED" => {
            match existing(app, caller, headers, (slot, patient)).await? {
                Some(a) => return Ok(a),
                None => return Err(e),
            }
        }
        other => other?,
    };
    app.availability.touch(s.doctor_id);
    crate::observability::booking(
        if booked.replayed {
            "replayed"
        } else {
            "booked"
        },
        "none",
    );
    Ok(booked.appointment)
}

/// `POST /fhir/R4/Appointment/$hold`: the pending Appointment carebook made, which lapses at
/// its hold deadline unless booked.
pub async fn hold(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parameters(&headers, &body, &["appointment", "slot", "patient"])?;
    let a = hold_seat(&app, &caller, &headers, &body).await?;
    Ok(answer(StatusCode::OK, &current(&app, &caller, a.id).await?))
}

/// `POST /fhir/R4/Appointment/$book` with an `appointment`: with an id, confirms that hold
/// (moving it first when its slot differs) or, with status `cancelled`, cancels it; without,
/// books its slot for its patient (a hold, then confirmed).
pub async fn book(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parameters(&headers, &body, &["appointment"])?;
    let resource = param(&body, "appointment")
        .map(|p| &p["resource"])
        .filter(|r| r["resourceType"] == "Appointment")
        .ok_or_else(|| ApiError::field("appointment", "is required: the Appointment to book"))?;
    let actor = || caller.actor();
    if !(resource["id"].is_null() || resource["id"].is_string()) {
        return Err(ApiError::field(
            "appointment.id",
            "must be the text of an Appointment's id",
        ));
    }
    let id = match resource["id"].as_str() {
        None => hold_seat(&app, &caller, &headers, &body).await?.id,
        Some(raw) => {
            let id = appointment_id(raw)?;
            if resource["status"] == "cancelled" {
                let why = resource["cancelationReason"]["text"].as_str();
                let why = why.map(str::trim).filter(|w| !w.is_empty());
                if why.is_some_and(|w| w.chars().count() > REASON_MAX) {
                    return Err(ApiError::field(
                        "cancelationReason.text",
                        format!("must be at most {REASON_MAX} characters"),
                    ));
                }
                let why = why.map(str::to_owned);
                let done = app.store.cancel(id, why, actor()).await;
                let a = within_reach(&app, &caller, done).await?;
                app.availability.touch(a.doctor_id);
                return Ok(answer(StatusCode::OK, &current(&app, &caller, id).await?));
            }
            if let Some(r) = resource["slot"][0]["reference"].as_str() {
                let to = SlotId(reference_id(r, "Slot", "slot")?);
                let done = app.store.reschedule(id, to, actor()).await;
                let a = within_reach(&app, &caller, done).await?;
                app.availability.touch(a.doctor_id);
            }
            id
        }
    };
    let done = app.store.confirm(id, actor()).await;
    within_reach(&app, &caller, done).await?;
    Ok(answer(StatusCode::OK, &current(&app, &caller, id).await?))
}
