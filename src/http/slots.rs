//! `/doctors/{id}/time-slots` and `/doctors/{id}/available-slots`.

use axum::extract::{Path, State};
use chrono::{Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::error::ApiError;
use super::extract::{id, JsonObject, QueryMap};
use super::{response, ApiResult, AppState};
use crate::domain::doctor::Doctor;
use crate::domain::slot::{NewSlot, SlotAdminStatus};
use crate::domain::{validate, DoctorId, FieldError, SlotId};

/// Longest range `available-slots` serves, in days.
const MAX_RANGE_DAYS: i64 = 92;

async fn doctor_of(app: &AppState, raw: &str) -> Result<(Doctor, Tz), ApiError> {
    let doctor = app.store.get_doctor(id::<DoctorId>(raw, "id")?).await?;
    // Stored zones were validated on the way in; fall back to the clinic's if one is not known.
    let tz = doctor
        .timezone
        .parse()
        .unwrap_or(app.settings.clinic_timezone);
    Ok((doctor, tz))
}

/// `POST /doctors/{id}/time-slots`
pub async fn create(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (doctor, tz) = doctor_of(&app, &raw).await?;
    let new = NewSlot::parse(&body, "", tz, Utc::now())?;
    let slot = app.store.create_slot(doctor.id, new).await?;
    tracing::info!(doctor_id = %doctor.id, slot_id = %slot.id, "time slot created");
    Ok(response::created("Time slot created successfully", slot))
}

/// `POST /doctors/{id}/time-slots/bulk`
pub async fn create_bulk(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (doctor, tz) = doctor_of(&app, &raw).await?;
    let new = NewSlot::parse_bulk(&body, tz, Utc::now())?;
    let outcome = app.store.create_slots(doctor.id, new).await?;
    tracing::info!(doctor_id = %doctor.id, created = outcome.created.len(), skipped = outcome.skipped.len(), "time slots created");
    let message = format!(
        "{} time slots created, {} skipped",
        outcome.created.len(),
        outcome.skipped.len()
    );
    Ok(response::created(&message, outcome))
}

/// Reads `from_date`/`to_date`; an absent `from_date` is `from`, an absent `to_date` is
/// `to(from_date)`.
fn range(
    q: &QueryMap,
    from: NaiveDate,
    to: impl Fn(NaiveDate) -> NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let mut errors = Vec::new();
    let mut read = |name: &str, default: NaiveDate| match q.get(name) {
        None | Some("") => default,
        Some(raw) => validate::date(raw.trim()).unwrap_or_else(|m| {
            errors.push(FieldError::new(name, m));
            default
        }),
    };
    let from = read("from_date", from);
    let to = read("to_date", to(from));
    if errors.is_empty() && to < from {
        errors.push(FieldError::new("to_date", "must not be before from_date"));
    }
    if errors.is_empty() {
        Ok((from, to))
    } else {
        Err(crate::domain::DomainError::Validation(errors).into())
    }
}

/// `GET /doctors/{id}/time-slots`: every slot in the range (unbounded sides when absent).
pub async fn list(State(app): State<AppState>, Path(raw): Path<String>, q: QueryMap) -> ApiResult {
    let (doctor, _) = doctor_of(&app, &raw).await?;
    // Bounds every backend can store, standing in for "no bound".
    let earliest = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default();
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    let (from, to) = range(&q, earliest, |_| latest)?;
    let slots = app.store.list_slots(doctor.id, from, to).await?;
    Ok(response::ok("Time slots retrieved successfully", slots))
}

/// `GET /doctors/{id}/available-slots`: defaults to today … today+30 in the doctor's zone.
pub async fn available(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    q: QueryMap,
) -> ApiResult {
    let (doctor, tz) = doctor_of(&app, &raw).await?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    // A 30-day window from wherever it starts.
    let (from, to) = range(&q, today, |from| from + Duration::days(30))?;
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(ApiError::field(
            "to_date",
            format!("the range may span at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let slots = app.store.available_slots(doctor.id, from, to).await?;
    Ok(response::ok(
        "Available slots retrieved successfully",
        slots,
    ))
}

/// `PATCH /doctors/{id}/time-slots/{slotId}`: block or unblock.
pub async fn set_status(
    State(app): State<AppState>,
    Path((raw_doctor, raw_slot)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let doctor_id = id::<DoctorId>(&raw_doctor, "id")?;
    let slot_id = id::<SlotId>(&raw_slot, "slotId")?;
    let status = SlotAdminStatus::parse(&body)?;
    app.store.get_doctor(doctor_id).await?;
    let slot = app
        .store
        .set_slot_status(doctor_id, slot_id, status)
        .await?;
    tracing::info!(doctor_id = %doctor_id, slot_id = %slot_id, status = status.as_str(), "time slot status set");
    Ok(response::ok("Time slot updated successfully", slot))
}
