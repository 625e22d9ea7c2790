//! Moving an appointment to another free time of its doctor: by the patient from their
//! appointment's page, or by the front desk from the day view. Both choose among the doctor's
//! free times of the next four weeks and move through the store's reschedule, as the API does.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use minijinja::context;

use super::gate::{Desk, Staff};
use super::mine::own;
use super::render::{answer, page, redirect, to_login, PageError, PageResult};
use super::session::{Form, Visitor};
use super::times;
use crate::domain::{Appointment, AppointmentId};
use crate::http::caller::Caller;
use crate::http::rules::within_reach;
use crate::http::state::AppState;

/// Whose page the move starts from, which decides where the form posts and where it ends.
#[derive(Clone, Copy)]
enum Place {
    /// The patient's own appointment page.
    Mine,
    /// The front desk's day view.
    Desk,
}

impl Place {
    fn form(self, id: &str) -> String {
        match self {
            Place::Mine => format!("/me/appointments/{id}/reschedule"),
            Place::Desk => format!("/desk/appointments/{id}/reschedule"),
        }
    }

    /// Where the visitor goes back to, or lands after the move.
    fn back(self, a: &Appointment) -> String {
        match self {
            Place::Mine => format!("/me/appointments/{}", a.id),
            Place::Desk => format!("/desk?day={}", a.appointment_date),
        }
    }
}

/// `GET /me/appointments/{id}/reschedule`: the doctor's other free times in the next weeks.
pub async fn mine_form(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
) -> Response {
    let Some(caller) = &visitor.caller else {
        return to_login(&Place::Mine.form(&id));
    };
    let result = choices(&app, &visitor, caller, &id, Place::Mine).await;
    answer(&app, &visitor, result)
}

/// `POST /me/appointments/{id}/reschedule` (`slot`), then the appointment.
pub async fn mine_move(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let Some(caller) = &visitor.caller else {
        return to_login(&format!("/me/appointments/{id}"));
    };
    let result = move_to(&app, caller, &id, &form, Place::Mine).await;
    answer(&app, &visitor, result)
}

/// `GET /desk/appointments/{id}/reschedule`: the front desk moves a patient's appointment.
pub async fn desk_form(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    Path(id): Path<String>,
) -> Response {
    let result = choices(&app, &visitor, &caller, &id, Place::Desk).await;
    answer(&app, &visitor, result)
}

/// `POST /desk/appointments/{id}/reschedule` (`slot`), then the day of the new time.
pub async fn desk_move(
    State(app): State<AppState>,
    Staff {
        caller, visitor, ..
    }: Staff<Desk>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let result = move_to(&app, &caller, &id, &form, Place::Desk).await;
    answer(&app, &visitor, result)
}

/// The form of free times for appointment `id`, if the caller may see it (404 otherwise).
async fn choices(
    app: &AppState,
    visitor: &Visitor,
    caller: &Caller,
    id: &str,
    place: Place,
) -> PageResult {
    let (d, zone) = own(app, caller, id).await?;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let free = app
        .store
        .available_slots(d.doctor.id, today, today + Duration::days(28))
        .await?;
    let choices: Vec<_> = free
        .iter()
        .filter(|s| s.id != d.slot.id)
        .map(|s| {
            context! {
                slot_id => s.id.to_string(),
                at => times::shown(s.starts_at, s.slot_date, s.slot_time, zone.name()),
            }
        })
        .collect();
    let s = &d.slot;
    let values = context! {
        action => place.form(id),
        back => place.back(&d.appointment),
        desk => matches!(place, Place::Desk),
        patient => d.patient.name,
        doctor => d.doctor.name,
        at => times::shown(s.starts_at, s.slot_date, s.slot_time, zone.name()),
        choices => choices,
    };
    Ok(page(app, visitor, "reschedule.html", values))
}

/// Moves appointment `id` to the form's `slot`, then back where the move started.
async fn move_to(
    app: &AppState,
    caller: &Caller,
    id: &str,
    form: &Form,
    place: Place,
) -> PageResult {
    let id: AppointmentId = id.parse().map_err(|_| PageError::not_found())?;
    let slot = form
        .get("slot")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, "Choose a new time."))?;
    let done = app.store.reschedule(id, slot, caller.actor()).await;
    let a = within_reach(app, caller, done).await?;
    app.availability.touch(a.doctor_id);
    Ok(redirect(&place.back(&a)))
}
