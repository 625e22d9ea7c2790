//! More of the patient's own pages: who looked at their record, a review of a completed
//! visit, and a place on a doctor's waitlist when a day is full. Each is the API's use case,
//! with the patient as the caller.

use axum::extract::{Extension, Path, State};
use axum::response::Response;
use minijinja::context;
use serde_json::json;

use super::gate::{for_roles, Patients};
use super::render::{answer, page, redirect, PageError};
use super::session::{Form, Visitor};
use crate::domain::page::Page;
use crate::domain::user::{AccessAction, AccessFilter, Role};
use crate::domain::DoctorId;
use crate::http::extract::{JsonBody, ValidJson, ValidPath};
use crate::http::state::AppState;

/// Access records shown at most (the newest).
const SHOWN: i64 = 100;

/// `GET /me/access-log`: who looked at or changed the patient's record, newest first.
pub async fn access_log(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
) -> Response {
    let caller = match for_roles::<Patients>(&visitor) {
        Ok(c) => c,
        Err(gate) => return gate.answer(&app, &visitor, "/me/access-log"),
    };
    let result = async {
        let patient = caller.who.patient_id.ok_or_else(PageError::not_found)?;
        let filter = AccessFilter {
            patient_id: Some(patient),
            ..AccessFilter::default()
        };
        let mut records = app
            .store
            .access_log(&filter, Page::new(Some(SHOWN), Some(0)))
            .await?
            .items;
        records.sort_by_key(|r| std::cmp::Reverse(r.at));
        let tz = app.settings.clinic_timezone;
        let lines: Vec<_> = records
            .iter()
            .map(|r| {
                context! {
                    at => r.at.with_timezone(&tz).format("%A %-d %B %Y %H:%M").to_string(),
                    iso => r.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    who => if r.actor_id == caller.who.user_id {
                        "you"
                    } else {
                        match r.actor_role {
                            Role::Admin => "an administrator",
                            Role::Scheduler => "the front desk",
                            Role::Doctor => "a doctor",
                            Role::Patient => "a patient",
                        }
                    },
                    action => match r.action {
                        AccessAction::Read => "looked at",
                        AccessAction::List => "saw in a list",
                        AccessAction::Create => "created",
                        AccessAction::Update => "changed",
                    },
                    refused => r.outcome >= 400,
                    emergency => r.break_glass_reason.is_some(),
                }
            })
            .collect();
        let values = context! { lines => lines, zone => tz.name() };
        Ok(page(&app, &visitor, "access_log.html", values))
    }
    .await;
    answer(&app, &visitor, result)
}

/// `POST /me/appointments/{id}/review` (`rating` 1–5, `comment`): the API's review of a
/// completed visit.
pub async fn review(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let here = format!("/me/appointments/{id}");
    let caller = match for_roles::<Patients>(&visitor) {
        Ok(c) => c,
        Err(gate) => return gate.answer(&app, &visitor, &here),
    };
    let result = async {
        let id = id.parse().map_err(|_| PageError::not_found())?;
        let rating: Option<i64> = form.get("rating").and_then(|r| r.parse().ok());
        let body = crate::http::input::body(
            json!({"rating": rating, "comment": form.get("comment")}),
            &(),
        )?;
        let path = crate::http::params::AppointmentPath { id };
        crate::http::reviews::create(
            State(app.clone()),
            caller.clone(),
            ValidPath(path),
            ValidJson(body),
        )
        .await?;
        Ok(redirect(&here))
    }
    .await;
    answer(&app, &visitor, result)
}

/// `POST /doctors/{id}/waitlist` (`day`): the signed-in patient waits for a seat with this
/// doctor on that day; a freed seat is offered to them by e-mail, as a hold.
pub async fn join_waitlist(
    State(app): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let day = form.get("day").unwrap_or_default().to_owned();
    let here = format!("/doctors/{id}?day={day}");
    let caller = match for_roles::<Patients>(&visitor) {
        Ok(c) => c,
        Err(gate) => return gate.answer(&app, &visitor, &here),
    };
    let result = async {
        let doctor: DoctorId = id.parse().map_err(|_| PageError::not_found())?;
        let patient = caller.who.patient_id.ok_or_else(PageError::not_found)?;
        let body = json!({
            "patient_id": patient.to_string(), "doctor_id": doctor.to_string(),
            "from_date": day, "to_date": day,
        });
        crate::http::waitlist::join(State(app.clone()), caller.clone(), JsonBody(body)).await?;
        Ok(redirect(&format!(
            "/doctors/{doctor}?day={day}&waiting=1#times"
        )))
    }
    .await;
    answer(&app, &visitor, result)
}
