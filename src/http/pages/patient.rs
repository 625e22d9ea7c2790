//! The patient's way in: the clinic's doctors with their next free times, a doctor's month and
//! day, and taking a seat.

use std::collections::BTreeMap;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, NaiveDate, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::render::{answer, page, redirect, PageError, PageResult};
use super::session::{Form, Visitor};
use super::times::{self, Shown};
use crate::domain::doctor::Doctor;
use crate::domain::page::Page;
use crate::domain::slot::Slot;
use crate::domain::user::Role;
use crate::domain::DoctorId;
use crate::http::state::AppState;

/// Doctors listed on the home page at most.
const DOCTORS_SHOWN: i64 = 100;
/// Free times shown under each doctor on the home page.
const NEXT_FREE: usize = 3;
/// Days ahead the home page looks for free times.
const LOOK_AHEAD_DAYS: i64 = 14;

/// A doctor as the pages list them.
#[derive(Serialize)]
struct DoctorCard {
    id: String,
    name: String,
    specialization: String,
    clinic_name: Option<String>,
    zone: String,
    next: Vec<FreeTime>,
}

/// A free time of a doctor's.
#[derive(Serialize)]
struct FreeTime {
    slot_id: String,
    at: Shown,
    seats: i32,
    date: String,
}

fn free_time(s: &Slot, zone: &str) -> FreeTime {
    FreeTime {
        slot_id: s.id.to_string(),
        at: times::shown(s.starts_at, s.slot_date, s.slot_time, zone),
        seats: s.available_capacity,
        date: s.slot_date.to_string(),
    }
}

/// `?q=`: a doctor's name or specialization, in part.
#[derive(Deserialize, Default)]
pub struct Search {
    q: Option<String>,
}

/// `GET /`: the clinic, a search, and each doctor's next free times.
pub async fn home(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = super::render::query::<Search>(query).q.unwrap_or_default();
    let found = async {
        let q = q.trim().to_lowercase();
        let doctors = app
            .store
            .list_doctors(None, Page::new(Some(DOCTORS_SHOWN), Some(0)))
            .await?;
        let mut cards = Vec::new();
        for d in doctors.items.into_iter().filter(|d| matches(d, &q)) {
            let zone = d.timezone.0;
            let today = Utc::now().with_timezone(&zone).date_naive();
            let until = today + Duration::days(LOOK_AHEAD_DAYS);
            let free = app.store.available_slots(d.id, today, until).await?;
            cards.push(card(d, &free));
        }
        Ok::<_, PageError>(cards)
    }
    .await;
    let result = found.map(|cards| {
        page(
            &app,
            &visitor,
            "home.html",
            context! { q => q.trim(), doctors => cards, days => LOOK_AHEAD_DAYS },
        )
    });
    answer(&app, &visitor, result)
}

fn matches(d: &Doctor, q: &str) -> bool {
    q.is_empty() || d.name.to_lowercase().contains(q) || d.specialization.to_lowercase().contains(q)
}

fn card(d: Doctor, free: &[Slot]) -> DoctorCard {
    let zone = d.timezone.0.name().to_owned();
    DoctorCard {
        id: d.id.to_string(),
        next: free
            .iter()
            .take(NEXT_FREE)
            .map(|s| free_time(s, &zone))
            .collect(),
        name: d.name,
        specialization: d.specialization,
        clinic_name: d.clinic_name,
        zone,
    }
}

/// `?month=YYYY-MM&day=YYYY-MM-DD`.
#[derive(Deserialize, Default)]
pub struct MonthDay {
    month: Option<String>,
    day: Option<String>,
    waiting: Option<String>,
}

/// A day cell of the month grid.
#[derive(Serialize)]
struct Cell {
    date: String,
    number: u32,
    label: String,
    free: i64,
    chosen: bool,
}

/// `GET /doctors/{id}`: the doctor's month with the days that have free seats, and the free
/// times of the chosen day.
pub async fn doctor(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = super::render::query::<MonthDay>(query);
    let result = month_page(&app, &visitor, &id, q).await;
    answer(&app, &visitor, result)
}

async fn month_page(app: &AppState, visitor: &Visitor, id: &str, q: MonthDay) -> PageResult {
    let id: DoctorId = id.parse().map_err(|_| PageError::not_found())?;
    let d = app.store.get_doctor(id).await?;
    let zone = d.timezone.0;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let day = match q.day.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            crate::domain::calendar::Day::parse(raw)
                .map_err(|m| PageError::new(StatusCode::BAD_REQUEST, format!("The day {m}.")))?
                .0,
        ),
    };
    let first = match (q.month.as_deref(), day) {
        (Some(m), _) if !m.is_empty() => times::parse_month(m)
            .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, "The month must be YYYY-MM."))?,
        (_, Some(day)) => times::first_of_month(day),
        _ => times::first_of_month(today),
    };
    let last = times::last_of_month(first);
    // The month's days by count alone, and the slots of the chosen day only.
    let free: BTreeMap<NaiveDate, i64> = app
        .store
        .free_days(d.id, first, last)
        .await?
        .into_iter()
        .collect();
    let zone_name = zone.name();
    let weeks: Vec<Vec<Option<Cell>>> = times::weeks(first)
        .into_iter()
        .map(|w| {
            w.into_iter()
                .map(|c| c.map(|date| cell(date, &free, day)))
                .collect()
        })
        .collect();
    let chosen: Vec<FreeTime> = match day {
        Some(day) if free.contains_key(&day) => app
            .store
            .available_slots(d.id, day, day)
            .await?
            .iter()
            .map(|s| free_time(s, zone_name))
            .collect(),
        _ => Vec::new(),
    };
    let previous = times::previous_month(first);
    let values = context! {
        doctor => card(d, &[]),
        month => first.format("%B %Y").to_string(),
        previous => (times::last_of_month(previous) >= today).then(|| previous.format("%Y-%m").to_string()),
        next => times::next_month(first).format("%Y-%m").to_string(),
        weeks => weeks,
        day => day.map(times::long_day),
        day_iso => day.map(|d| d.to_string()),
        times => chosen,
        may_book => visitor.caller.as_ref().is_none_or(|c| c.role() != Role::Doctor),
        may_wait => visitor.caller.as_ref().is_some_and(|c| c.role() == Role::Patient)
            && day.is_some_and(|d| d >= today),
        waiting => q.waiting.is_some(),
    };
    Ok(page(app, visitor, "doctor.html", values))
}

fn cell(date: NaiveDate, free: &BTreeMap<NaiveDate, i64>, chosen: Option<NaiveDate>) -> Cell {
    let n = free.get(&date).copied().unwrap_or(0);
    Cell {
        date: date.to_string(),
        number: chrono::Datelike::day(&date),
        label: times::long_day(date),
        free: n,
        chosen: chosen == Some(date),
    }
}

/// `POST /doctors/{id}/book` (`slot`): a hold on the slot for the signed-in patient, then the
/// appointment's page; signed out, the sign-in page first.
pub async fn book(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let result = hold(&app, &visitor, &id, &form).await;
    answer(&app, &visitor, result)
}

async fn hold(app: &AppState, visitor: &Visitor, id: &str, form: &Form) -> PageResult {
    let doctor: DoctorId = id.parse().map_err(|_| PageError::not_found())?;
    let slot = form.get("slot").unwrap_or_default();
    let back = format!(
        "/doctors/{doctor}?day={}",
        form.get("day").unwrap_or_default()
    );
    let Some(caller) = &visitor.caller else {
        return Ok(redirect(&format!(
            "/login?next={}",
            super::render::encode(&back)
        )));
    };
    let Some(patient) = caller.who.patient_id else {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Only a patient books here; the front desk books for patients from the desk.",
        ));
    };
    let body = json!({
        "patient_id": patient.to_string(),
        "doctor_id": doctor.to_string(),
        "time_slot_id": slot,
        "reason_for_visit": form.get("reason"),
    });
    let booked = crate::http::appointments::take_seat(app, caller, &HeaderMap::new(), body).await?;
    let a = &booked.appointment;
    app.availability.touch(a.doctor_id);
    tracing::info!(appointment_id = %a.id, slot_id = %a.time_slot_id, "appointment booked on a page");
    Ok(redirect(&format!("/me/appointments/{}", a.id)))
}
