//! The signed-in patient's own pages: their appointments, one appointment with what can be done
//! with it (confirm, cancel, move, add to a calendar).
//!
//! Each reads and changes through the same store calls, ownership checks and access records as
//! the API's appointment routes; another person's appointment is a 404, as there.

use axum::extract::{Extension, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use minijinja::context;
use serde::Serialize;

use super::render::{answer, page, redirect, to_login, PageError, PageResult};
use super::session::{Form, Visitor};
use super::times::{self, Shown};
use crate::domain::appointment::{AppointmentDetail, AppointmentStatus};
use crate::domain::page::Page;
use crate::domain::user::AccessAction;
use crate::domain::AppointmentId;
use crate::http::caller::Caller;
use crate::http::patients::record_reads;
use crate::http::rules::within_reach;
use crate::http::state::AppState;

/// Appointments listed on `/me` at most.
const LISTED: i64 = 100;

/// An appointment in a list.
#[derive(Serialize)]
struct Line {
    id: String,
    doctor: String,
    status: &'static str,
    at: Shown,
}

/// `GET /me`: the patient's upcoming and past appointments.
pub async fn me(State(app): State<AppState>, Extension(visitor): Extension<Visitor>) -> Response {
    let Some(caller) = &visitor.caller else {
        return to_login("/me");
    };
    let result = async {
        let Some(patient) = caller.who.patient_id else {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This page lists a patient's own appointments; staff accounts have none.",
            ));
        };
        let list = app
            .store
            .patient_appointments(patient, None, Page::new(Some(LISTED), Some(0)))
            .await?;
        record_reads(&app, caller, AccessAction::List, [patient]).await?;
        let now = Utc::now();
        let (mut upcoming, mut past) = (Vec::new(), Vec::new());
        let mut zones = std::collections::BTreeMap::new();
        for a in list.items {
            // The list carries no zone: each doctor's is read once.
            let zone = match zones.get(&a.doctor_id) {
                Some(z) => *z,
                None => {
                    let z = app.store.get_doctor(a.doctor_id).await?.timezone.0;
                    *zones.entry(a.doctor_id).or_insert(z)
                }
            };
            let starts =
                crate::domain::calendar::locate(zone, a.appointment_date, a.appointment_time)
                    .unwrap_or(now);
            let line = Line {
                id: a.id.to_string(),
                doctor: a.doctor_name.clone().unwrap_or_default(),
                status: a.status.as_str(),
                at: times::shown(starts, a.appointment_date, a.appointment_time, zone.name()),
            };
            let live = matches!(
                a.status,
                AppointmentStatus::Pending | AppointmentStatus::Confirmed
            );
            if live && starts > now {
                upcoming.push(line);
            } else {
                past.push(line);
            }
        }
        past.reverse();
        Ok(page(
            &app,
            &visitor,
            "me.html",
            context! { upcoming => upcoming, past => past },
        ))
    }
    .await;
    answer(&app, &visitor, result)
}

/// The appointment `id` if it is the caller's (404 otherwise, as in the API), with its doctor's
/// zone; its read is in the access log.
pub(super) async fn own(
    app: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(AppointmentDetail, chrono_tz::Tz), PageError> {
    let id: AppointmentId = id.parse().map_err(|_| PageError::not_found())?;
    let detail = app.store.get_appointment(id).await?;
    let a = &detail.appointment;
    caller
        .must_own_appointment(app, a.patient_id, a.doctor_id, AccessAction::Read)
        .await?;
    record_reads(app, caller, AccessAction::Read, [a.patient_id]).await?;
    let zone = app.store.get_doctor(a.doctor_id).await?.timezone.0;
    Ok((detail, zone))
}

/// `GET /me/appointments/{id}`: the appointment, its hold's deadline while PENDING, and what
/// can be done with it.
pub async fn appointment(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/me/appointments/{id}");
    let Some(caller) = &visitor.caller else {
        return to_login(&here);
    };
    let result = async {
        let (d, zone) = own(&app, caller, &id).await?;
        let a = &d.appointment;
        let s = &d.slot;
        let deadline = a
            .expires_at
            .filter(|_| a.status == AppointmentStatus::Pending)
            .map(|at| {
                let local = at.with_timezone(&zone);
                times::shown(at, local.date_naive(), local.time(), zone.name())
            });
        let live = matches!(
            a.status,
            AppointmentStatus::Pending | AppointmentStatus::Confirmed
        );
        let values = context! {
            id => a.id.to_string(),
            status => a.status.as_str(),
            doctor => d.doctor.name,
            specialization => d.doctor.specialization,
            clinic_name => d.doctor.clinic_name,
            patient => d.patient.name,
            reason => a.reason_for_visit,
            at => times::shown(s.starts_at, s.slot_date, s.slot_time, zone.name()),
            minutes => s.duration_minutes,
            deadline => deadline,
            pending => a.status == AppointmentStatus::Pending,
            confirmed => a.status == AppointmentStatus::Confirmed,
            live => live && s.starts_at > Utc::now(),
            cancellation_reason => a.cancellation_reason,
        };
        Ok(page(&app, &visitor, "appointment.html", values))
    }
    .await;
    answer(&app, &visitor, result)
}

/// What a change of an appointment does: the store call, as the caller.
enum Change {
    Confirm,
    Cancel(Option<String>),
}

async fn change(app: &AppState, visitor: &Visitor, id: &str, what: Change) -> PageResult {
    let here = format!("/me/appointments/{id}");
    let Some(caller) = &visitor.caller else {
        return Ok(to_login(&here));
    };
    let id: AppointmentId = id.parse().map_err(|_| PageError::not_found())?;
    let done = match what {
        Change::Confirm => app.store.confirm(id, caller.actor()).await,
        Change::Cancel(reason) => app.store.cancel(id, reason, caller.actor()).await,
    };
    let a = within_reach(app, caller, done).await?;
    app.availability.touch(a.doctor_id);
    Ok(redirect(&here))
}

/// `POST /me/appointments/{id}/confirm`.
pub async fn confirm(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    _form: Form,
) -> Response {
    let result = change(&app, &visitor, &id, Change::Confirm).await;
    answer(&app, &visitor, result)
}

/// `POST /me/appointments/{id}/cancel` (`reason`, optional).
pub async fn cancel(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let reason = form.get("reason").map(|r| r.chars().take(500).collect());
    let result = change(&app, &visitor, &id, Change::Cancel(reason)).await;
    answer(&app, &visitor, result)
}

/// `GET /me/appointments/{id}/calendar.ics`: the appointment as an iCalendar event.
pub async fn calendar(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/me/appointments/{id}");
    let Some(caller) = &visitor.caller else {
        return to_login(&here);
    };
    let result = async {
        let (d, _) = own(&app, caller, &id).await?;
        let body = super::ics::event(&d, &app.settings.pages.clinic_name);
        Ok((
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"appointment.ics\"",
                ),
            ],
            body,
        )
            .into_response())
    }
    .await;
    answer(&app, &visitor, result)
}
