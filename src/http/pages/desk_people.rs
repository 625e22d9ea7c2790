//! The front desk and its patients: find one (the API's search), register one and send an
//! invitation, and book on a patient's behalf.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Duration;
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::desk::chosen_day;
use super::gate::{Desk, Staff};
use super::render::{answer, page, page_with, redirect, PageError, PageResult};
use super::session::Form;
use crate::domain::page::Page;
use crate::domain::patient::PatientQuery;
use crate::domain::user::AccessAction;
use crate::domain::{DoctorId, PatientId};
use crate::http::extract::{JsonBody, ValidPath};
use crate::http::patients::record_reads;
use crate::http::state::AppState;

/// Patients listed for one search at most.
const FOUND: i64 = 20;

/// `?q=`.
#[derive(Deserialize, Default)]
pub struct Find {
    q: Option<String>,
}

/// `GET /desk/patients?q=`: find a patient, or register one.
pub async fn find(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = super::render::query::<Find>(raw).q.unwrap_or_default();
    let result = async {
        let found = match PatientQuery::parse(&q) {
            Some(search) => {
                let list = app
                    .store
                    .search_patients(&search, Page::new(Some(FOUND), Some(0)))
                    .await?
                    .items;
                // Each patient listed is an access record, as in the API's search.
                record_reads(&app, &caller, AccessAction::List, list.iter().map(|p| p.id)).await?;
                list
            }
            None => Vec::new(),
        };
        let people: Vec<_> = found
            .iter()
            .map(|p| {
                context! {
                    id => p.id.to_string(), name => p.name, email => p.email.as_str(),
                    phone => p.phone.as_str(), born => p.date_of_birth.map(|d| d.to_string()),
                }
            })
            .collect();
        let values = context! {
            q => q.trim(), searched => !q.trim().is_empty(), people => people,
            fields => Map::new(), errors => Vec::<Value>::new(), sent => false,
        };
        Ok(page(&app, &visitor, "desk_patients.html", values))
    }
    .await;
    answer(&app, &visitor, result)
}

/// The registration form's fields, as `POST /api/patients` names them.
const FIELDS: [&str; 4] = ["name", "email", "phone", "date_of_birth"];

/// `POST /desk/patients`: registers a patient (the API's rules), then books for them.
pub async fn create(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    form: Form,
) -> Response {
    let mut fields = Map::new();
    for name in FIELDS {
        if let Some(v) = form.get(name) {
            fields.insert(name.into(), json!(v));
        }
    }
    let made = crate::http::patients::create(
        State(app.clone()),
        caller.clone(),
        JsonBody(Value::Object(fields.clone())),
    )
    .await;
    match made {
        Ok(reply) => redirect(&format!("/desk/book?patient={}", reply.into_data().id)),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let errors = super::render::field_errors(&e);
            let values = context! {
                q => "", searched => false, people => Vec::<Value>::new(),
                fields => fields, errors => errors, sent => false,
            };
            page_with(&app, &visitor, e.status, "desk_patients.html", values)
        }
        Err(e) => PageError::from(e).page(&app, &visitor),
    }
}

/// `POST /desk/patients/{id}/invite`: e-mails the patient a link to set up their account.
pub async fn invite(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    Path(id): Path<String>,
    _form: Form,
) -> Response {
    let result = async {
        let id: PatientId = id.parse().map_err(|_| PageError::not_found())?;
        let path = crate::http::params::PatientPath { id };
        crate::http::invitations::invite(State(app.clone()), caller.clone(), ValidPath(path))
            .await?;
        Ok(redirect(&format!("/desk/book?patient={id}&invited=1")))
    }
    .await;
    answer(&app, &visitor, result)
}

/// `?patient=&doctor=&day=&invited=`.
#[derive(Deserialize, Default)]
pub struct BookFor {
    patient: Option<String>,
    doctor: Option<String>,
    day: Option<String>,
    invited: Option<String>,
}

/// `GET /desk/book`: a patient, a doctor and a day, and that day's free times to book.
pub async fn book_form(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = super::render::query::<BookFor>(raw);
    let result = async {
        let patient: PatientId = q
            .patient
            .as_deref()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, "Find the patient first."))?;
        let p = app.store.get_patient(patient).await?;
        record_reads(&app, &caller, AccessAction::Read, [p.id]).await?;
        let day = chosen_day(&app, q.day.as_deref())?;
        let doctors = app
            .store
            .list_doctors(None, Page::new(Some(100), Some(0)))
            .await?
            .items;
        let chosen: Option<DoctorId> = q.doctor.as_deref().and_then(|d| d.parse().ok());
        let mut times = Vec::new();
        if let Some(d) = doctors.iter().find(|d| Some(d.id) == chosen) {
            let zone = d.timezone.0.name();
            for s in app.store.available_slots(d.id, day, day).await? {
                times.push(context! {
                    slot_id => s.id.to_string(),
                    at => super::times::shown(s.starts_at, s.slot_date, s.slot_time, zone),
                    seats => s.available_capacity,
                });
            }
        }
        let choices: Vec<_> = doctors
            .iter()
            .map(|d| {
                context! {
                    id => d.id.to_string(), name => d.name, specialization => d.specialization,
                    chosen => Some(d.id) == chosen,
                }
            })
            .collect();
        let values = context! {
            patient => context! { id => p.id.to_string(), name => p.name, email => p.email.as_str() },
            doctors => choices, doctor => chosen.map(|d| d.to_string()), day => day.to_string(),
            next_day => (day + Duration::days(1)).to_string(), times => times,
            asked => chosen.is_some(), invited => q.invited.is_some(),
        };
        Ok(page(&app, &visitor, "desk_book.html", values))
    }
    .await;
    answer(&app, &visitor, result)
}

/// `POST /desk/book` (`patient`, `doctor`, `slot`, `day`): the booking, as the front desk, for
/// the patient; then the day.
pub async fn book(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    form: Form,
) -> Response {
    let result: PageResult = async {
        let body = json!({
            "patient_id": form.get("patient"),
            "doctor_id": form.get("doctor"),
            "time_slot_id": form.get("slot"),
        });
        let booked =
            crate::http::appointments::take_seat(&app, &caller, &HeaderMap::new(), body).await?;
        let a = &booked.appointment;
        app.availability.touch(a.doctor_id);
        tracing::info!(appointment_id = %a.id, "appointment booked at the desk");
        Ok(redirect(&format!("/desk?day={}", a.appointment_date)))
    }
    .await;
    answer(&app, &visitor, result)
}
