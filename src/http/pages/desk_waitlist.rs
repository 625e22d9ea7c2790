//! The front desk's view of a doctor's waitlist: who waits, in line order, for which days, and
//! whether they were offered a seat; an entry can be taken off the line.
//!
//! The same store calls and access records as the API's `GET /waitlist?doctor_id=` and
//! `DELETE /waitlist/{id}`, for the front desk and admins.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::gate::{Desk, Staff};
use super::render::{answer, page, redirect, PageError, PageResult};
use super::session::{Form, Visitor};
use crate::domain::page::Page;
use crate::domain::user::AccessAction;
use crate::domain::waitlist::{WaitlistFilter, WaitlistId, WaitlistStatus};
use crate::domain::DoctorId;
use crate::http::caller::Caller;
use crate::http::patients::record_reads;
use crate::http::state::AppState;

/// Doctors to choose from, and entries shown, at most.
const MOST: i64 = 100;

/// `?doctor={id}`.
#[derive(Deserialize, Default)]
pub struct WaitlistQuery {
    doctor: Option<String>,
}

/// An entry as the page lists it.
#[derive(Serialize)]
struct Line {
    id: String,
    place: usize,
    patient: String,
    from: String,
    to: String,
    offered: bool,
    appointment: Option<String>,
}

/// `GET /desk/waitlist?doctor=`: a doctor's line.
pub async fn list(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = super::render::query::<WaitlistQuery>(raw);
    let result = line_page(&app, &visitor, &caller, q.doctor.as_deref()).await;
    answer(&app, &visitor, result)
}

async fn line_page(
    app: &AppState,
    visitor: &Visitor,
    caller: &Caller,
    doctor: Option<&str>,
) -> PageResult {
    let doctors = app
        .store
        .list_doctors(None, Page::new(Some(MOST), Some(0)))
        .await?
        .items;
    let chosen = match doctor.map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => {
            let id: DoctorId = raw.parse().map_err(|_| PageError::not_found())?;
            Some(app.store.get_doctor(id).await?)
        }
    };
    let mut lines = Vec::new();
    if let Some(d) = &chosen {
        let filter = WaitlistFilter {
            patient: None,
            doctor: Some(d.id),
        };
        let entries = app
            .store
            .list_waitlist(filter, Page::new(Some(MOST), Some(0)))
            .await?
            .items;
        record_reads(
            app,
            caller,
            AccessAction::List,
            entries.iter().map(|e| e.patient_id),
        )
        .await?;
        for (i, e) in entries.into_iter().enumerate() {
            let patient = app.store.get_patient(e.patient_id).await?;
            lines.push(Line {
                id: e.id.to_string(),
                place: i + 1,
                patient: patient.name,
                from: super::times::long_day(e.from_date),
                to: super::times::long_day(e.to_date),
                offered: e.status == WaitlistStatus::Offered,
                appointment: e.appointment_id.map(|a| a.to_string()),
            });
        }
    }
    let names: Vec<_> = doctors
        .iter()
        .map(|d| context! { id => d.id.to_string(), name => d.name, chosen => chosen.as_ref().is_some_and(|c| c.id == d.id) })
        .collect();
    let values = context! {
        doctors => names,
        doctor => chosen.as_ref().map(|d| context! { id => d.id.to_string(), name => d.name }),
        lines => lines,
    };
    Ok(page(app, visitor, "desk_waitlist.html", values))
}

/// `POST /desk/waitlist/{id}/remove`: takes the entry off the line, then the line.
pub async fn remove(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    Path(id): Path<String>,
    _form: Form,
) -> Response {
    let result = async {
        let id = id
            .parse()
            .map(WaitlistId)
            .map_err(|_| PageError::not_found())?;
        let entry = app
            .store
            .leave_waitlist(id, WaitlistFilter::default(), Some(caller.access.clone()))
            .await?;
        Ok(redirect(&format!(
            "/desk/waitlist?doctor={}",
            entry.doctor_id
        )))
    }
    .await;
    answer(&app, &visitor, result)
}
