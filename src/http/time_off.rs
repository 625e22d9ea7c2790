//! `/doctors/{id}/time-off`: periods a doctor does not work. Entering one blocks the free slots
//! inside it; deleting it unblocks exactly those.

use axum::extract::State;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone as _, Timelike, Utc};
use chrono_tz::Tz;
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
use crate::domain::calendar::Day;
use crate::domain::schedule::{NewTimeOff, TimeOff, TimeOffOutcome, TIME_OFF_REASON_MAX};
use crate::domain::text::Text;
use crate::domain::{DoctorId, TimeOffId};

/// Longest time off accepted at once, in days.
const MAX_DAYS: i64 = 3653;

/// An instant (RFC 3339, with an offset) or a local date (`YYYY-MM-DD`) in the doctor's zone.
#[derive(Debug, Clone, Copy)]
pub enum Moment {
    At(DateTime<Utc>),
    Date(NaiveDate),
}

impl Moment {
    /// Reads a date or an instant exactly as the `date` and `date-time` formats of JSON Schema
    /// (RFC 3339) spell them, which is what the document says: nothing around it, `T` (or `t`)
    /// between date and time, an ASCII sign, a leap second only at 23:59:60 UTC.
    fn parse(raw: &str) -> Result<Self, String> {
        let bad = || "must be an RFC 3339 instant (2026-12-24T08:00:00Z) or a date (YYYY-MM-DD)";
        if raw.trim() != raw {
            return Err(bad().into());
        }
        if let Ok(d) = Day::parse(raw) {
            return Ok(Self::Date(d.0));
        }
        let separated = matches!(raw.as_bytes().get(10), Some(b'T' | b't'));
        if !separated || raw.contains('\u{2212}') {
            return Err(bad().into());
        }
        let t = DateTime::parse_from_rfc3339(raw)
            .map_err(|_| bad())?
            .with_timezone(&Utc);
        let leap = t.nanosecond() >= 1_000_000_000;
        if leap && (t.hour(), t.minute()) != (23, 59) {
            return Err(bad().into());
        }
        Ok(Self::At(t))
    }

    /// The instant; a date means its start in `tz`, or with `next_day` the start of the day
    /// after (an inclusive last day).
    fn resolve(self, tz: Tz, next_day: bool) -> Option<DateTime<Utc>> {
        match self {
            Self::At(t) => Some(t),
            Self::Date(d) => {
                let d = if next_day { d.succ_opt()? } else { d };
                // Midnight may not exist (a DST change at 00:00): the day starts at the first
                // local time that does.
                (0..=2).find_map(|h| {
                    let t = d.and_time(NaiveTime::from_hms_opt(h, 0, 0)?);
                    tz.from_local_datetime(&t)
                        .earliest()
                        .map(|t| t.with_timezone(&Utc))
                })
            }
        }
    }
}

impl<'de> Deserialize<'de> for Moment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A period off. Dates are local to the doctor and inclusive (`to` a date means to the end of
/// that day); instants are exact, `to` exclusive.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "2026-12-24", "to": "2026-12-26", "reason": "Holidays"}))]
pub struct CreateTimeOff {
    /// Start: an RFC 3339 instant or a local date.
    #[garde(required)]
    #[schema(value_type = shapes::InstantOrDate, inline, example = "2026-12-24")]
    from: Option<Moment>,
    /// End: an RFC 3339 instant (exclusive) or a local date (inclusive).
    #[garde(required)]
    #[schema(value_type = shapes::InstantOrDate, inline, example = "2026-12-26")]
    to: Option<Moment>,
    /// A single line of up to 500 characters.
    #[garde(skip)]
    #[schema(value_type = Option<shapes::TimeOffReason>, inline)]
    reason: Option<Text<TIME_OFF_REASON_MAX>>,
}

impl CreateTimeOff {
    fn into_new(self, tz: Tz) -> Result<NewTimeOff, ApiError> {
        // Both backends store instants of the years 0001-9999.
        let bad = |f: &str| ApiError::field(f, "must fall in the years 0001 to 9999");
        let in_range = |t: &DateTime<Utc>| (1..=9999).contains(&t.year());
        let from = required(self.from, "from")?
            .resolve(tz, false)
            .filter(in_range)
            .ok_or_else(|| bad("from"))?;
        let to = required(self.to, "to")?
            .resolve(tz, true)
            .filter(in_range)
            .ok_or_else(|| bad("to"))?;
        if to <= from {
            return Err(ApiError::field("to", "must be after from"));
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(ApiError::field("to", "time off may span at most 10 years"));
        }
        Ok(NewTimeOff {
            starts_at: from,
            ends_at: to,
            reason: self.reason.map(Text::into_inner),
        })
    }
}

/// `{id}` of a doctor and `{timeOffId}` of one of its time-off entries.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DoctorTimeOffPath {
    /// The doctor's id.
    #[garde(skip)]
    id: DoctorId,
    /// The time-off entry's id.
    #[garde(skip)]
    #[serde(rename = "timeOffId")]
    time_off_id: TimeOffId,
}

/// A period a doctor does not work.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "from": "2026-12-23T23:00:00Z",
    "to": "2026-12-26T23:00:00Z", "reason": "Holidays", "created_at": "2026-12-01T09:00:00Z"}))]
pub struct TimeOffView {
    pub id: TimeOffId,
    pub doctor_id: DoctorId,
    /// First instant off.
    pub from: DateTime<Utc>,
    /// First instant back at work.
    pub to: DateTime<Utc>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<TimeOff> for TimeOffView {
    fn from(t: TimeOff) -> Self {
        Self {
            id: t.id,
            doctor_id: t.doctor_id,
            from: t.starts_at,
            to: t.ends_at,
            reason: t.reason,
            created_at: t.created_at,
        }
    }
}

/// Time off entered, with what it did to the slots inside it.
#[derive(Serialize, ToSchema)]
pub struct TimeOffOutcomeView {
    #[serde(flatten)]
    pub time_off: TimeOffView,
    /// Slots it blocked.
    pub blocked: u64,
    /// Slots inside it with live appointments: never cancelled, listed for staff to move.
    pub booked_slots: Vec<SlotView>,
}

impl From<TimeOffOutcome> for TimeOffOutcomeView {
    fn from(o: TimeOffOutcome) -> Self {
        Self {
            time_off: o.time_off.into(),
            blocked: o.blocked,
            booked_slots: o.booked.into_iter().map(Into::into).collect(),
        }
    }
}

/// What deleting time off did.
#[derive(Serialize, ToSchema)]
pub struct TimeOffDeletedView {
    pub id: TimeOffId,
    /// Slots it had blocked that are bookable again.
    pub restored: u64,
}

/// Enter time off
///
/// Every free slot inside becomes BLOCKED (and stays so while any time off covers it). Slots
/// with live appointments inside are listed in `booked_slots`; their appointments are never
/// cancelled. Schedules generate no slots inside time off.
#[utoipa::path(post, path = "/doctors/{id}/time-off", operation_id = "createTimeOff", tag = "schedules",
    params(DoctorPath), request_body = CreateTimeOff,
    responses(
        (status = 201, description = "Entered, with what it blocked", body = Envelope<TimeOffOutcomeView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a `to` not after `from`, a span over 10 years, or (in the doctor's zone) a date that resolves outside the years 0001-9999", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
    JsonBody(body): JsonBody,
) -> Result<Reply<TimeOffOutcomeView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    let doctor = app.store.primary().get_doctor(p.id).await?;
    let new = input::body::<CreateTimeOff>(body, &())?.into_new(doctor.timezone.0)?;
    let outcome = app.store.create_time_off(p.id, new).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, time_off_id = %outcome.time_off.id, blocked = outcome.blocked,
        booked = outcome.booked.len(), "time off entered");
    Ok(response::created(
        "Time off created successfully",
        outcome.into(),
    ))
}

/// List a doctor's time off
#[utoipa::path(get, path = "/doctors/{id}/time-off", operation_id = "listTimeOff", tag = "schedules",
    params(DoctorPath),
    responses(
        (status = 200, description = "Time off, by start", body = Envelope<Vec<TimeOffView>>),
        (status = 404, description = "`NOT_FOUND`: no such doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorPath>,
) -> Result<Reply<Vec<TimeOffView>>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    app.store.get_doctor(p.id).await?;
    let entries = app.store.list_time_off(p.id).await?;
    Ok(response::ok(
        "Time off retrieved successfully",
        entries.into_iter().map(Into::into).collect(),
    ))
}

/// Delete time off
///
/// The slots it blocked become bookable again, unless other time off still covers them;
/// slots blocked otherwise stay blocked.
#[utoipa::path(delete, path = "/doctors/{id}/time-off/{timeOffId}", operation_id = "deleteTimeOff", tag = "schedules",
    params(DoctorTimeOffPath),
    responses(
        (status = 200, description = "Deleted", body = Envelope<TimeOffDeletedView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor or time off of this doctor, or (for a doctor) not their own calendar", body = ErrorBody),
    ))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<DoctorTimeOffPath>,
) -> Result<Reply<TimeOffDeletedView>, ApiError> {
    caller.must_run_calendar_of(p.id)?;
    let restored = app.store.delete_time_off(p.id, p.time_off_id).await?;
    app.availability.touch(p.id);
    tracing::info!(doctor_id = %p.id, time_off_id = %p.time_off_id, restored, "time off deleted");
    Ok(response::ok(
        "Time off deleted successfully",
        TimeOffDeletedView {
            id: p.time_off_id,
            restored,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_instants_or_local_dates() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = Moment::parse("2030-01-10").unwrap();
        let start = d.resolve(tz, false).unwrap();
        assert_eq!(start.to_rfc3339(), "2030-01-09T23:00:00+00:00");
        let end = d.resolve(tz, true).unwrap();
        assert_eq!(end - start, Duration::hours(24));
        let at = Moment::parse("2030-01-10T08:00:00+01:00").unwrap();
        assert_eq!(
            at.resolve(tz, true).unwrap().to_rfc3339(),
            "2030-01-10T07:00:00+00:00"
        );
        assert!(Moment::parse("soon").is_err());
    }

    #[test]
    fn moments_are_spelt_as_the_formats_say() {
        for ok in [
            "2030-01-10",
            "2030-01-10T08:00:00Z",
            "2030-01-10t08:00:00.5z",
            "1998-12-31T15:59:60-08:00",
        ] {
            assert!(Moment::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            " 2030-01-10",
            "2030-01-10T08:00:00Z ",
            "2030-01-10 08:00:00Z",
            "2030-01-10T08:00:00\u{2212}01:00",
            "2030-01-10T08:00:60Z",
            "2030-1-10",
        ] {
            assert!(Moment::parse(bad).is_err(), "{bad}");
        }
    }
}
