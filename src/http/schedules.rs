//! `/doctors/{id}/schedules`: a doctor's weekly availability rules, and the slots generated
//! from them.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidPath};
use super::fields::required;
use super::params::DoctorPath;
use super::response::{self, Envelope, Reply};
use super::state::AppState;
use super::views::SlotView;
use super::{input, shapes};
use crate::domain::calendar::{Day, TimeOfDay};
use crate::domain::patch::Patch;
use crate::domain::schedule::{DayOfWeek, Generation, Removal, Rule, Schedule, Skipped};
use crate::domain::{DoctorId, DomainError, ScheduleId};

/// A weekly rule, in the doctor's time zone.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"weekdays": ["MON", "TUE", "WED", "THU", "FRI"], "start_time": "09:00",
    "end_time": "12:30", "slot_minutes": 20, "capacity": 1, "valid_from": "2026-12-07"}))]
pub struct CreateSchedule {
    /// Days of the week, `MON` … `SUN`.
    #[garde(required, length(min = 1, max = 7))]
    #[schema(value_type = Vec<DayOfWeek>, min_items = 1, max_items = 7, example = json!(["MON", "WED"]))]
    weekdays: Option<Vec<DayOfWeek>>,
    /// Local time of the first slot, `HH:MM` or `HH:MM:SS`.
    #[garde(required)]
    #[schema(value_type = shapes::Time, inline, example = "09:00")]
    start_time: Option<TimeOfDay>,
    /// Local time by which the last slot ends.
    #[garde(required)]
    #[schema(value_type = shapes::Time, inline, example = "12:30")]
    end_time: Option<TimeOfDay>,
    /// Length of each slot, 5-480 minutes.
    #[garde(required, inner(range(min = 5, max = 480)))]
    #[schema(value_type = i64, minimum = 5, maximum = 480)]
    slot_minutes: Option<i64>,
    /// Seats per slot, 1-1000; default 1.
    #[garde(inner(range(min = 1, max = 1000)))]
    #[schema(minimum = 1, maximum = 1000, default = 1)]
    capacity: Option<i64>,
    /// First local date the rule applies, `YYYY-MM-DD`.
    #[garde(required)]
    #[schema(value_type = NaiveDate)]
    valid_from: Option<Day>,
    /// Last local date the rule applies (inclusive); none for open-ended.
    #[garde(skip)]
    #[schema(value_type = Option<NaiveDate>)]
    valid_until: Option<Day>,
}

impl CreateSchedule {
    fn into_rule(self) -> Result<Rule, ApiError> {
        let rule = Rule {
            weekdays: required(self.weekdays, "weekdays")?,
            start_time: required(self.start_time, "start_time")?.0,
            end_time: required(self.end_time, "end_time")?.0,
            // garde checked the ranges, so these fit in an i32.
            slot_minutes: required(self.slot_minutes, "slot_minutes")? as i32,
            capacity: self.capacity.unwrap_or(1) as i32,
            valid_from: required(self.valid_from, "valid_from")?.0,
            valid_until: self.valid_until.map(|d| d.0),
        };
        rule.check().map_err(|e| DomainError::Validation(e).into())
    }
}

/// Changes to a rule; what is left out stays. `valid_until: null` makes it open-ended.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
#[schema(example = json!({"end_time": "13:00", "valid_until": null}))]
pub struct UpdateSchedule {
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[garde(length(min = 1, max = 7))]
    #[schema(value_type = Vec<DayOfWeek>, required = false, min_items = 1, max_items = 7)]
    weekdays: Option<Vec<DayOfWeek>>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = shapes::Time, inline, required = false)]
    start_time: Option<TimeOfDay>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = shapes::Time, inline, required = false)]
    end_time: Option<TimeOfDay>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[garde(inner(range(min = 5, max = 480)))]
    #[schema(value_type = i64, required = false, minimum = 5, maximum = 480)]
    slot_minutes: Option<i64>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[garde(inner(range(min = 1, max = 1000)))]
    #[schema(value_type = i64, required = false, minimum = 1, maximum = 1000)]
    capacity: Option<i64>,
    #[serde(default, deserialize_with = "super::fields::non_null")]
    #[schema(value_type = NaiveDate, required = false)]
    valid_from: Option<Day>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>, required = false)]
    valid_until: Patch<Day>,
}

impl UpdateSchedule {
    fn apply(self, r: Rule) -> Result<Rule, ApiError> {
        let rule = Rule {
            weekdays: self.weekdays.unwrap_or(r.weekdays),
            start_time: self.start_time.map_or(r.start_time, |t| t.0),
            end_time: self.end_time.map_or(r.end_time, |t| t.0),
            slot_minutes: self.slot_minutes.map_or(r.slot_minutes, |m| m as i32),
            capacity: self.capacity.map_or(r.capacity, |c| c as i32),
            valid_from: self.valid_from.map_or(r.valid_from, |d| d.0),
            valid_until: self.valid_until.map(|d| d.0).apply(r.valid_until),
        };
        rule.check().map_err(|e| DomainError::Validation(e).into())
    }
}

/// `{id}` of a doctor and `{ruleId}` of one of its rules.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DoctorRulePath {
    /// The doctor's id.
    #[garde(skip)]
    id: DoctorId,
    /// The rule's id.
    #[garde(skip)]
    #[serde(rename = "ruleId")]
    rule_id: ScheduleId,
}

/// A weekly rule.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "weekdays": ["MON", "TUE"],
    "start_time": "09:00:00", "end_time": "12:30:00", "slot_minutes": 20, "capacity": 1,
    "valid_from": "2026-12-07", "valid_until": null, "created_at": "2026-12-01T09:00:00Z",
    "updated_at": "2026-12-01T09:00:00Z"}))]
pub struct ScheduleView {
    pub id: ScheduleId,
    pub doctor_id: DoctorId,
    pub weekdays: Vec<DayOfWeek>,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub slot_minutes: i32,
    pub capacity: i32,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Schedule> for ScheduleView {
    fn from(s: Schedule) -> Self {
        Self {
            id: s.id,
            doctor_id: s.doctor_id,
            weekdays: s.rule.weekdays,
            start_time: s.rule.start_time,
            end_time: s.rule.end_time,
            slot_minutes: s.rule.slot_minutes,
            capacity: s.rule.capacity,
            valid_from: s.rule.valid_from,
            valid_until: s.rule.valid_until,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A local date and time a rule did not generate a slot for.
#[derive(Serialize, ToSchema)]
pub struct SkippedTimeView {
    pub date: NaiveDate,
    pub time: NaiveTime,
    /// Daylight-saving gap, overlap with an existing slot, or time off.
    pub reason: String,
}

impl From<Skipped> for SkippedTimeView {
    fn from(s: Skipped) -> Self {
        Self {
            date: s.date,
            time: s.time,
            reason: s.reason.into(),
        }
    }
}

/// A rule with what generating its slots did (and, on a change, what it removed).
#[derive(Serialize, ToSchema)]
pub struct ScheduleOutcomeView {
    #[serde(flatten)]
    pub schedule: ScheduleView,
    /// Slots created over the horizon.
    pub created: u64,
    /// Times not created, and why.
    pub skipped: Vec<SkippedTimeView>,
    /// Future free slots of the rule removed before regenerating (0 on creation).
    pub removed: u64,
    /// Future slots of the rule with live appointments: kept as they are.
    pub booked_slots: Vec<SlotView>,
}

impl ScheduleOutcomeView {
    fn new(schedule: Schedule, g: Generation, r: Removal) -> Self {
        Self {
            schedule: schedule.into(),
            created: g.created,
            skipped: g.skipped.into_iter().map(Into::into).collect(),
            removed: r.removed,
            booked_slots: r.booked.into_iter().map(Into::into).collect(),
        }
    }
}

/// What ending a rule did.
#[derive(Serialize, ToSchema)]
pub struct ScheduleEndView {
    pub id: ScheduleId,
    /// Future free slots removed.
    pub removed: u64,
    /// Future slots with live appointments: kept, for staff to move.
    pub booked_slots: Vec<SlotView>,
}

/// Generates the rule's slots over the configured horizon.
async fn generate(app: &AppState, id: ScheduleId) -> Result<Generation, ApiError> {
    let horizon = app.settings.schedule_horizon_days;
    let g = app.store.generate_schedule(id, horizon).await?;
    tracing::info!(schedule_id = %id, created = g.created, skipped = g.skipped.len(), "schedule generated");
    Ok(g)
}

/// Add a weekly rule
///
/// Slots are generated from it at once over the next `SCHEDULE_HORIZON_DAYS` days, and daily
/// after that. Times that fall in a daylight-saving gap, overlap an existing slot (manual slots
/// win) or fall inside time off are skipped and listed; a time that occurs twice (DST end)
/// takes its first occurrence.
#[utoipa::path(post, path = "/doctors/{id}/schedules", operation_id = "createSchedule", tag = "schedules",
    params(DoctorPath), request_body = CreateSchedule,
    responses(
        (status = 201, description = "Created, with what generation did", body = Envelope<ScheduleOutcomeView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, an `end_time` that leaves no room for a slot after `start_time`, a `valid_until` before `valid_from`, or (depending on the day) a `valid_from` more than 10 years ahead", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<ScheduleOutcomeView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    app.store.primary().get_doctor(p.id).await?;
    let rule = input::body::<CreateSchedule>(body, &())?.into_rule()?;
    let schedule = app.store.create_schedule(p.id, rule).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, schedule_id = %schedule.id, "schedule created");
    let g = generate(&app, schedule.id).await?;
    let view = ScheduleOutcomeView::new(schedule, g, Removal::default());
    Ok(response::created("Schedule created successfully", view))
}

/// List a doctor's weekly rules
#[utoipa::path(get, path = "/doctors/{id}/schedules", operation_id = "listSchedules", tag = "schedules",
    params(DoctorPath),
    responses(
        (status = 200, description = "The rules, oldest first", body = Envelope<Vec<ScheduleView>>),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
) -> Result<Reply<Vec<ScheduleView>>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    app.store.get_doctor(p.id).await?;
    let rules = app.store.list_schedules(p.id).await?;
    Ok(response::ok(
        "Schedules retrieved successfully",
        rules.into_iter().map(Into::into).collect(),
    ))
}

/// Change a weekly rule
///
/// The rule's future free slots are removed and generated anew from the changed rule; future
/// slots with live appointments stay as they are and are listed in `booked_slots`.
#[utoipa::path(patch, path = "/doctors/{id}/schedules/{ruleId}", operation_id = "updateSchedule", tag = "schedules",
    params(DoctorRulePath), request_body = UpdateSchedule,
    responses(
        (status = 200, description = "The changed rule, with what generation did", body = Envelope<ScheduleOutcomeView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field or no body, or the rule as changed (with the stored fields it keeps) breaks a rule of `POST`: an `end_time` without room for a slot, a `valid_until` before `valid_from`, a `valid_from` more than 10 years ahead", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor or rule of this doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorRulePath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<ScheduleOutcomeView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    let patch = input::patch::<UpdateSchedule>(
        body,
        &(),
        &["id", "doctor_id", "created_at", "updated_at"],
    )?;
    let current = app
        .store
        .primary()
        .list_schedules(p.id)
        .await?
        .into_iter()
        .find(|s| s.id == p.rule_id)
        .ok_or(DomainError::NotFound("schedule"))?;
    let rule = patch.apply(current.rule)?;
    let (schedule, removal) = app.store.update_schedule(p.id, p.rule_id, rule).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, schedule_id = %p.rule_id, removed = removal.removed, "schedule changed");
    let g = generate(&app, schedule.id).await?;
    let view = ScheduleOutcomeView::new(schedule, g, removal);
    Ok(response::ok("Schedule updated successfully", view))
}

/// End a weekly rule
///
/// Deletes the rule and its future free slots. Future slots with live appointments stay (no
/// longer tied to the rule) and are listed in `booked_slots`; past slots are kept.
#[utoipa::path(delete, path = "/doctors/{id}/schedules/{ruleId}", operation_id = "deleteSchedule", tag = "schedules",
    params(DoctorRulePath),
    responses(
        (status = 200, description = "Ended", body = Envelope<ScheduleEndView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor or rule of this doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorRulePath>,
) -> Result<Reply<ScheduleEndView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    let r = app.store.end_schedule(p.id, p.rule_id).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, schedule_id = %p.rule_id, removed = r.removed, kept = r.booked.len(), "schedule ended");
    let view = ScheduleEndView {
        id: p.rule_id,
        removed: r.removed,
        booked_slots: r.booked.into_iter().map(Into::into).collect(),
    };
    Ok(response::ok("Schedule ended successfully", view))
}
