//! `/doctors/{id}/time-slots` and `/doctors/{id}/available-slots`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::availability::Answer;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidPath};
use super::fields::required;
use super::params::DoctorPath;
use super::response::{self, Envelope, Reply};
use super::state::AppState;
use super::views::{BulkOutcomeView, SlotView};
use super::{input, shapes};
use crate::domain::calendar::{Day, TimeOfDay};
use crate::domain::slot::{NewSlot, SlotAdminStatus, BULK_MAX};
use crate::domain::text::Blank;
use crate::domain::{DoctorId, DomainError, FieldError, SlotId};

/// Longest range `available-slots` serves, in days.
const MAX_RANGE_DAYS: i64 = 92;

/// A slot to create, in the doctor's time zone.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slot_date": "2026-12-20", "slot_time": "10:00", "duration_minutes": 30, "max_capacity": 1}))]
pub struct CreateSlot {
    /// Local date, `YYYY-MM-DD`; the slot must start in the future and within 10 years.
    #[garde(required)]
    #[schema(value_type = NaiveDate)]
    slot_date: Option<Day>,
    /// Local time, `HH:MM` or `HH:MM:SS`; a time skipped by a daylight-saving change is refused.
    #[garde(required)]
    #[schema(value_type = shapes::Time, inline, example = "10:00")]
    slot_time: Option<TimeOfDay>,
    /// 5-480, default 30.
    #[garde(inner(range(min = 5, max = 480)))]
    #[schema(minimum = 5, maximum = 480, default = 30)]
    duration_minutes: Option<i64>,
    /// 1-1000, default 1.
    #[garde(inner(range(min = 1, max = 1000)))]
    #[schema(minimum = 1, maximum = 1000, default = 1)]
    max_capacity: Option<i64>,
}

impl CreateSlot {
    /// Pins the slot in `tz`; errors name fields with `prefix`.
    fn into_new(self, ctx: (Tz, DateTime<Utc>), prefix: &str) -> Result<NewSlot, FieldError> {
        let missing = |f: &str| FieldError::new(format!("{prefix}{f}"), "is required");
        let date = self.slot_date.ok_or_else(|| missing("slot_date"))?.0;
        let time: NaiveTime = self.slot_time.ok_or_else(|| missing("slot_time"))?.0;
        // garde checked the ranges, so these fit in an i32.
        let duration = self.duration_minutes.unwrap_or(30) as i32;
        let capacity = self.max_capacity.unwrap_or(1) as i32;
        NewSlot::new(date, time, duration, capacity, ctx, prefix)
    }
}

/// Up to 1000 slots to create at once.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slots": [{"slot_date": "2026-12-20", "slot_time": "09:00"},
    {"slot_date": "2026-12-20", "slot_time": "10:00", "max_capacity": 3}]}))]
pub struct CreateSlots {
    #[garde(required, length(min = 1, max = BULK_MAX), dive)]
    #[schema(value_type = Vec<CreateSlot>, min_items = 1, max_items = 1000)]
    slots: Option<Vec<CreateSlot>>,
}

/// A new administrative status.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "BLOCKED"}))]
pub struct SetSlotStatus {
    #[garde(required)]
    #[schema(value_type = SlotAdminStatus)]
    status: Option<SlotAdminStatus>,
}

/// `{id}` of a doctor and `{slotId}` of one of its slots.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DoctorSlotPath {
    /// The doctor's id.
    #[garde(skip)]
    id: DoctorId,
    /// The slot's id.
    #[garde(skip)]
    #[serde(rename = "slotId")]
    slot_id: SlotId,
}

/// A date range; an empty value means "not sent".
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First date, `YYYY-MM-DD`; empty (or blank) means not sent.
    #[garde(skip)]
    #[param(value_type = Option<shapes::DateOrBlank>, inline)]
    from_date: Option<Blank<Day>>,
    /// Last date, `YYYY-MM-DD`, inclusive; not before `from_date` (400 otherwise); empty (or
    /// blank) means not sent.
    #[garde(skip)]
    #[param(value_type = Option<shapes::DateOrBlank>, inline)]
    to_date: Option<Blank<Day>>,
}

impl RangeQuery {
    /// The range, `from` and `to(from)` standing in for what was not sent.
    fn resolve(
        &self,
        from: NaiveDate,
        to: impl Fn(NaiveDate) -> NaiveDate,
    ) -> Result<(NaiveDate, NaiveDate), ApiError> {
        let sent = |d: &Option<Blank<Day>>| d.as_ref().and_then(|b| b.0).map(|d| d.0);
        let from = sent(&self.from_date).unwrap_or(from);
        let to = sent(&self.to_date).unwrap_or_else(|| to(from));
        if to < from {
            return Err(ApiError::field("to_date", "must not be before from_date"));
        }
        Ok((from, to))
    }
}

/// Create a time slot
#[utoipa::path(post, path = "/doctors/{id}/time-slots", operation_id = "createSlot", tag = "time slots", params(DoctorPath),
    request_body = CreateSlot,
    responses(
        (status = 201, description = "Created", body = Envelope<SlotView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, or (depending on the time and the doctor's zone) a slot that does not start in the future and within 10 years, or a local time a daylight-saving change skips", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the doctor has a slot at that date and time", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<SlotView>, ApiError> {
    // The doctor first: an unknown doctor is a 404 whatever the body says.
    caller.must_run_calendar_of(p.id)?;
    // From the primary: a doctor registered a moment ago may not be on the replica yet.
    let doctor = app.store.primary().get_doctor(p.id).await?;
    let new = input::body::<CreateSlot>(body, &())?
        .into_new((doctor.timezone.0, Utc::now()), "")
        .map_err(|e| DomainError::Validation(vec![e]))?;
    let slot = app.store.create_slot(doctor.id, new).await?;
    app.availability.touch(doctor.id);
    tracing::info!(doctor_id = %doctor.id, slot_id = %slot.id, "time slot created");
    Ok(response::created(
        "Time slot created successfully",
        slot.into(),
    ))
}

/// Create many time slots
///
/// One transaction. Any invalid item fails the whole batch (400 naming it, e.g.
/// `slots[3].slot_time`); items that exist already or repeat an earlier item are skipped and
/// reported.
#[utoipa::path(post, path = "/doctors/{id}/time-slots/bulk", operation_id = "createSlots", tag = "time slots", params(DoctorPath),
    request_body = CreateSlots,
    responses(
        (status = 201, description = "Created; `skipped` lists what was not", body = Envelope<BulkOutcomeView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed item, or (depending on the time and the doctor's zone) a slot that does not start in the future and within 10 years, or a local time a daylight-saving change skips", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn create_bulk(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<BulkOutcomeView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    let doctor = app.store.primary().get_doctor(p.id).await?;
    let tz = doctor.timezone.0;
    let items = required(input::body::<CreateSlots>(body, &())?.slots, "slots")?;
    let (now, mut new, mut errors) = (Utc::now(), Vec::with_capacity(items.len()), Vec::new());
    for (n, item) in items.into_iter().enumerate() {
        match item.into_new((tz, now), &format!("slots[{n}].")) {
            Ok(s) => new.push(s),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let outcome = app.store.create_slots(doctor.id, new).await?;
    app.availability.touch(doctor.id);
    let (created, skipped) = (outcome.created.len(), outcome.skipped.len());
    tracing::info!(doctor_id = %doctor.id, created, skipped, "time slots created");
    let message = format!("{created} time slots created, {skipped} skipped");
    Ok(response::created(message, outcome.into()))
}

/// List a doctor's time slots
///
/// Every slot in the range (both bounds optional), any status, by start.
#[utoipa::path(get, path = "/doctors/{id}/time-slots", operation_id = "listSlots", tag = "time slots",
    params(DoctorPath, RangeQuery),
    responses(
        (status = 200, description = "The slots", body = Envelope<Vec<SlotView>>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed date, or a `to_date` before `from_date`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
    RawQuery(raw): RawQuery,
) -> Result<Reply<Vec<SlotView>>, ApiError> {
    // The doctor first: an unknown doctor is a 404 whatever the query says.
    caller.must_run_calendar_of(p.id)?;
    let doctor = app.store.get_doctor(p.id).await?;
    let q: RangeQuery = input::query(raw.as_deref().unwrap_or_default())?;
    // Bounds every backend can store, standing in for "no bound".
    let earliest = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default();
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    let (from, to) = q.resolve(earliest, |_| latest)?;
    let slots = app.store.list_slots(doctor.id, from, to).await?;
    Ok(response::ok(
        "Time slots retrieved successfully",
        slots.into_iter().map(Into::into).collect(),
    ))
}

/// List a doctor's bookable slots
///
/// Future AVAILABLE slots with seats left, by start. The range defaults to today … today+30 in
/// the doctor's zone (a `from_date` alone opens a 30-day window from it) and may span at most
/// 92 days. Answers carry an `ETag`: send it back in `If-None-Match` to get 304 while nothing
/// changed. An answer may be up to `AVAILABILITY_CACHE_MS` (default 1000 ms) old; a booking is
/// always checked against the database.
#[utoipa::path(get, path = "/doctors/{id}/available-slots", operation_id = "listAvailableSlots", tag = "time slots",
    params(DoctorPath, RangeQuery,
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer: 304 without a body if it is still the current one")),
    responses(
        (status = 200, description = "The bookable slots", body = Envelope<Vec<SlotView>>,
            headers(("ETag" = String, description = "Validator of this answer, for `If-None-Match`"))),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed date, a `to_date` before `from_date`, or a range over 92 days (either bound defaults from today in the doctor's zone)", body = ErrorBody),
        (status = 304, description = "Not modified: `If-None-Match` names the current answer's `ETag`",
            headers(("ETag" = String, description = "The current answer's validator"))),
        (status = 404, description = "`NOT_FOUND`: no such doctor", body = ErrorBody),
    ))]
pub async fn available(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<DoctorPath>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = raw.unwrap_or_default();
    let fill = || async {
        let doctor = app.store.get_doctor(p.id).await?;
        let tz = doctor.timezone.0;
        let q: RangeQuery = input::query(&query)?;
        let today = Utc::now().with_timezone(&tz).date_naive();
        let (from, to) = q.resolve(today, |from| from + Duration::days(30))?;
        if (to - from).num_days() > MAX_RANGE_DAYS {
            return Err(ApiError::field(
                "to_date",
                format!("the range may span at most {MAX_RANGE_DAYS} days"),
            ));
        }
        let slots = app.store.available_slots(doctor.id, from, to).await?;
        let body = Envelope {
            success: true,
            message: "Available slots retrieved successfully".to_owned(),
            data: slots.into_iter().map(SlotView::from).collect::<Vec<_>>(),
        };
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| ApiError::from(DomainError::Internal(Box::new(e))))?;
        Ok(Answer::new(bytes))
    };
    let answer = app.availability.get(p.id, &query, fill).await?;
    Ok(answer.respond(&headers))
}

/// Fields of a slot that exist but may not change through `PATCH` (only `status` may).
const SLOT_READ_ONLY: &[&str] = &[
    "id",
    "doctor_id",
    "slot_date",
    "slot_time",
    "duration_minutes",
    "max_capacity",
    "current_bookings",
    "available_capacity",
    "starts_at",
    "created_at",
    "updated_at",
];

/// Block or unblock a time slot
///
/// Blocking stops new bookings and keeps existing ones.
#[utoipa::path(patch, path = "/doctors/{id}/time-slots/{slotId}", operation_id = "setSlotStatus", tag = "time slots",
    params(DoctorSlotPath), request_body = SetSlotStatus,
    responses(
        (status = 200, description = "The slot", body = Envelope<SlotView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor, no such slot of this doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn set_status(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorSlotPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<SlotView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    let status = required(
        input::patch::<SetSlotStatus>(body, &(), SLOT_READ_ONLY)?.status,
        "status",
    )?;
    app.store.primary().get_doctor(p.id).await?;
    let slot = app.store.set_slot_status(p.id, p.slot_id, status).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, slot_id = %p.slot_id, status = status.as_str(), "time slot status set");
    Ok(response::ok("Time slot updated successfully", slot.into()))
}

/// Delete a time slot laid by mistake
///
/// Only a slot that never held an appointment and that no weekly rule laid (the rule would lay
/// it again): anything else is blocked instead (`PATCH` with `status` `BLOCKED`).
#[utoipa::path(delete, path = "/doctors/{id}/time-slots/{slotId}", operation_id = "deleteSlot", tag = "time slots",
    params(DoctorSlotPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`NOT_FOUND`: no such doctor, no such slot of this doctor, or (for a doctor) not their own calendar", body = ErrorBody),
        (status = 409, description = "`SLOT_IN_USE` (it held appointments: block it instead) or `SLOT_FROM_SCHEDULE` (a weekly rule lays it)", body = ErrorBody),
    ))]
pub async fn delete_slot(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorSlotPath>,
) -> Result<axum::http::StatusCode, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    app.store.delete_slot(p.id, p.slot_id).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, slot_id = %p.slot_id, "time slot deleted");
    Ok(axum::http::StatusCode::NO_CONTENT)
}
