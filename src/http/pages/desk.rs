//! The front desk's day: a column per doctor, the day's slots in rows, each seat's patient and
//! status, and what the desk does with them (confirm, cancel, no-show).
//!
//! For the front desk and admins, through the same store calls, reach checks and access
//! records as the API's day lists and transitions.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::gate::{Desk, Staff};
use super::render::{answer, page, redirect, PageError, PageResult};
use super::session::{Form, Visitor};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::page::Page;
use crate::domain::user::AccessAction;
use crate::domain::AppointmentId;
use crate::http::caller::Caller;
use crate::http::patients::record_reads;
use crate::http::rules::within_reach;
use crate::http::state::AppState;

/// Doctors shown side by side at most.
const MOST: i64 = 100;

/// `?day=YYYY-MM-DD`.
#[derive(Deserialize, Default)]
pub struct DayQuery {
    day: Option<String>,
}

/// A seat taken in a slot.
#[derive(Serialize)]
struct Seat {
    id: String,
    patient: String,
    status: &'static str,
    may_confirm: bool,
    may_cancel: bool,
    may_no_show: bool,
}

/// One doctor's slot at one time of the day.
#[derive(Serialize, Default)]
struct Cell {
    exists: bool,
    blocked: bool,
    free: i32,
    capacity: i32,
    seats: Vec<Seat>,
}

/// A time row of the day.
#[derive(Serialize)]
struct Row {
    time: String,
    cells: Vec<Cell>,
}

/// The day asked for, or today in the clinic's zone.
pub fn chosen_day(app: &AppState, raw: Option<&str>) -> Result<NaiveDate, PageError> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(app.today()),
        Some(d) => crate::domain::calendar::Day::parse(d)
            .map(|d| d.0)
            .map_err(|m| PageError::new(StatusCode::BAD_REQUEST, format!("The day {m}."))),
    }
}

/// `GET /desk?day=`: the day view.
pub async fn day(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = super::render::query::<DayQuery>(raw);
    let result = day_page(&app, &visitor, &caller, q.day.as_deref()).await;
    answer(&app, &visitor, result)
}

async fn day_page(
    app: &AppState,
    visitor: &Visitor,
    caller: &Caller,
    raw: Option<&str>,
) -> PageResult {
    let day = chosen_day(app, raw)?;
    let doctors = app
        .store
        .list_doctors(None, Page::new(Some(MOST), Some(0)))
        .await?
        .items;
    let sheet = app.store.day_sheet(day).await?;
    let column: BTreeMap<_, _> = doctors.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
    let now = Utc::now();
    let started: BTreeSet<_> = sheet
        .slots
        .iter()
        .filter(|s| s.starts_at <= now)
        .map(|s| s.id)
        .collect();
    let mut seats: BTreeMap<_, Vec<Seat>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for a in sheet
        .appointments
        .iter()
        .filter(|a| column.contains_key(&a.doctor_id))
    {
        seen.insert(a.patient_id);
        seats.entry(a.time_slot_id).or_default().push(Seat {
            id: a.id.to_string(),
            patient: a.patient_name.clone().unwrap_or_default(),
            status: a.status.as_str(),
            may_confirm: a.status == AppointmentStatus::Pending,
            may_cancel: matches!(
                a.status,
                AppointmentStatus::Pending | AppointmentStatus::Confirmed
            ),
            may_no_show: a.status == AppointmentStatus::Confirmed
                && started.contains(&a.time_slot_id),
        });
    }
    let mut grid: BTreeMap<NaiveTime, Vec<Cell>> = BTreeMap::new();
    for s in sheet.slots {
        let Some(&i) = column.get(&s.doctor_id) else {
            continue;
        };
        let row = grid
            .entry(s.slot_time)
            .or_insert_with(|| (0..doctors.len()).map(|_| Cell::default()).collect());
        row[i] = Cell {
            exists: true,
            blocked: s.status == crate::domain::slot::SlotStatus::Blocked,
            free: s.available_capacity,
            capacity: s.max_capacity,
            seats: seats.remove(&s.id).unwrap_or_default(),
        };
    }
    // Every patient named on the page is an access record, as the API's day list makes one.
    record_reads(app, caller, AccessAction::List, seen).await?;
    let rows: Vec<Row> = grid
        .into_iter()
        .map(|(t, cells)| Row {
            time: t.format("%H:%M").to_string(),
            cells,
        })
        .collect();
    let names: Vec<_> = doctors
        .iter()
        .map(|d| context! { id => d.id.to_string(), name => d.name, zone => d.timezone.0.name() })
        .collect();
    let values = context! {
        day => day.to_string(),
        long_day => super::times::long_day(day),
        previous => (day - Duration::days(1)).to_string(),
        next => (day + Duration::days(1)).to_string(),
        doctors => names,
        rows => rows,
    };
    Ok(page(app, visitor, "desk.html", values))
}

/// `POST /desk/act` (`do` = `confirm:{id}`, `cancel:{id}` or `no-show:{id}`, `day`): one
/// form holds the whole day, each button naming its action and appointment; then the day.
pub async fn act(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    form: Form,
) -> Response {
    let result = async {
        let (action, id) = form
            .get("do")
            .and_then(|d| d.split_once(':'))
            .ok_or_else(PageError::not_found)?;
        let id: AppointmentId = id.parse().map_err(|_| PageError::not_found())?;
        let actor = caller.actor();
        let done = match action {
            "confirm" => app.store.confirm(id, actor).await,
            "cancel" => app.store.cancel(id, None, actor).await,
            "no-show" => app.store.mark_no_show(id, actor).await,
            _ => return Err(PageError::not_found()),
        };
        let a = within_reach(&app, &caller, done).await?;
        app.availability.touch(a.doctor_id);
        let day = form.get("day").unwrap_or_default();
        Ok(redirect(&format!(
            "/desk?day={}",
            super::render::encode(day)
        )))
    }
    .await;
    answer(&app, &visitor, result)
}
