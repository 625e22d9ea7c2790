//! The doctor's own pages: the day (or the week ahead) with who is coming, completing a visit
//! or recording a no-show, the record of a patient in their care, their weekly schedule and
//! time off.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{Duration, Utc};
use minijinja::context;
use serde::Deserialize;

use super::desk::chosen_day;
use super::gate::{Doctors, Staff};
use super::render::{answer, page, redirect, PageError, PageResult};
use super::session::{Form, Visitor};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::page::Page;
use crate::domain::store::AppointmentFilter;
use crate::domain::user::AccessAction;
use crate::domain::{AppointmentId, PatientId};
use crate::http::caller::Caller;
use crate::http::patients::record_reads;
use crate::http::rules::within_reach;
use crate::http::state::AppState;

/// `?day=YYYY-MM-DD&days=1|7`.
#[derive(Deserialize, Default)]
pub struct Span {
    day: Option<String>,
    days: Option<String>,
}

/// `GET /doctor?day=&days=`: the doctor's day, or seven days from it.
pub async fn day(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Doctors>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = super::render::query::<Span>(raw);
    let result = day_page(&app, &visitor, &caller, q).await;
    answer(&app, &visitor, result)
}

async fn day_page(app: &AppState, visitor: &Visitor, caller: &Caller, q: Span) -> PageResult {
    let Some(doctor) = caller.who.doctor_id else {
        return Err(PageError::not_found());
    };
    let d = app.store.get_doctor(doctor).await?;
    let zone = d.timezone.0;
    let first = match q.day.as_deref() {
        Some(raw) if !raw.trim().is_empty() => chosen_day(app, Some(raw))?,
        _ => Utc::now().with_timezone(&zone).date_naive(),
    };
    let week = q.days.as_deref() == Some("7");
    let now = Utc::now();
    let mut days = Vec::new();
    let mut seen = Vec::new();
    for n in 0..if week { 7 } else { 1 } {
        let date = first + Duration::days(n);
        let filter = AppointmentFilter {
            date: Some(date),
            status: None,
            live_only: true,
        };
        let list = app
            .store
            .doctor_appointments(doctor, filter, Page::new(Some(100), Some(0)))
            .await?
            .items;
        let mut lines = Vec::new();
        for a in &list {
            seen.push(a.patient_id);
            let starts =
                crate::domain::calendar::locate(zone, a.appointment_date, a.appointment_time)
                    .unwrap_or(now);
            let confirmed = a.status == AppointmentStatus::Confirmed;
            lines.push(context! {
                id => a.id.to_string(),
                patient_id => a.patient_id.to_string(),
                patient => a.patient_name,
                time => a.appointment_time.format("%H:%M").to_string(),
                status => a.status.as_str(),
                may_complete => confirmed,
                may_no_show => confirmed && starts <= now,
            });
        }
        days.push(context! { label => super::times::long_day(date), lines => lines });
    }
    record_reads(app, caller, AccessAction::List, seen).await?;
    let schedule: Vec<_> = app
        .store
        .list_schedules(doctor)
        .await?
        .into_iter()
        .map(|s| {
            let r = s.rule;
            context! {
                days => crate::domain::schedule::join_days(&r.weekdays),
                from => r.start_time.format("%H:%M").to_string(),
                to => r.end_time.format("%H:%M").to_string(),
                minutes => r.slot_minutes,
                valid_from => r.valid_from.to_string(),
                valid_until => r.valid_until.map(|d| d.to_string()),
            }
        })
        .collect();
    let time_off: Vec<_> = app
        .store
        .list_time_off(doctor)
        .await?
        .into_iter()
        .filter(|t| t.ends_at > now)
        .map(|t| {
            let (from, to) = (
                t.starts_at.with_timezone(&zone),
                t.ends_at.with_timezone(&zone),
            );
            context! {
                from => from.format("%A %-d %B %Y %H:%M").to_string(),
                to => to.format("%A %-d %B %Y %H:%M").to_string(),
                reason => t.reason,
            }
        })
        .collect();
    let values = context! {
        name => d.name,
        zone => zone.name(),
        day => first.to_string(),
        week => week,
        previous => (first - Duration::days(if week { 7 } else { 1 })).to_string(),
        next => (first + Duration::days(if week { 7 } else { 1 })).to_string(),
        days => days,
        schedule => schedule,
        time_off => time_off,
    };
    Ok(page(app, visitor, "doctor_day.html", values))
}

/// `POST /doctor/appointments/{id}/{action}` (`day`): complete or no-show, then the day.
pub async fn act(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Doctors>,
    Path((id, action)): Path<(String, String)>,
    form: Form,
) -> Response {
    let result = async {
        let id: AppointmentId = id.parse().map_err(|_| PageError::not_found())?;
        let done = match action.as_str() {
            "complete" => app.store.complete(id, caller.actor()).await,
            "no-show" => app.store.mark_no_show(id, caller.actor()).await,
            _ => return Err(PageError::not_found()),
        };
        within_reach(&app, &caller, done).await?;
        let day = form.get("day").unwrap_or_default();
        Ok(redirect(&format!(
            "/doctor?day={}",
            super::render::encode(day)
        )))
    }
    .await;
    answer(&app, &visitor, result)
}

/// `GET /doctor/patients/{id}`: the record of a patient in the doctor's care (404 otherwise, as
/// in the API); the read is an access record.
pub async fn record(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Doctors>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id: PatientId = id.parse().map_err(|_| PageError::not_found())?;
        caller.may_see_patient(&app, id).await?;
        let p = app.store.get_patient(id).await?;
        record_reads(&app, &caller, AccessAction::Read, [p.id]).await?;
        let values = context! {
            name => p.name,
            email => p.email.as_str(),
            phone => p.phone.as_str(),
            born => p.date_of_birth.map(|d| d.to_string()),
            gender => p.gender,
            blood_group => p.blood_group.map(|b| b.as_str()),
            allergies => p.allergies,
            history => p.medical_history,
        };
        Ok(page(&app, &visitor, "record.html", values))
    }
    .await;
    answer(&app, &visitor, result)
}
