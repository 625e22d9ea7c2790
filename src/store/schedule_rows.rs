//! Rows of `schedules` and `time_off`, as both adapters read them, and their mapping to
//! domain types.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::domain::schedule::{split_days, Existing, Rule, Schedule, TimeOff};
use crate::domain::{DoctorId, DomainError, ScheduleId, TimeOffId};

/// A `schedules` row.
#[derive(sqlx::FromRow)]
pub struct ScheduleRow {
    id: ScheduleId,
    doctor_id: DoctorId,
    weekdays: String,
    start_time: NaiveTime,
    end_time: NaiveTime,
    slot_minutes: i32,
    capacity: i32,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ScheduleRow> for Schedule {
    type Error = DomainError;
    fn try_from(r: ScheduleRow) -> Result<Self, DomainError> {
        let weekdays = split_days(&r.weekdays)
            .map_err(|_| DomainError::Internal("stored weekdays are not a known value".into()))?;
        Ok(Self {
            id: r.id,
            doctor_id: r.doctor_id,
            rule: Rule {
                weekdays,
                start_time: r.start_time,
                end_time: r.end_time,
                slot_minutes: r.slot_minutes,
                capacity: r.capacity,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A `time_off` row.
#[derive(sqlx::FromRow)]
pub struct TimeOffRow {
    id: TimeOffId,
    doctor_id: DoctorId,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<TimeOffRow> for TimeOff {
    fn from(r: TimeOffRow) -> Self {
        Self {
            id: r.id,
            doctor_id: r.doctor_id,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

/// A slot as generation sees it.
#[derive(sqlx::FromRow)]
pub struct ExistingRow {
    schedule_id: Option<ScheduleId>,
    slot_date: NaiveDate,
    slot_time: NaiveTime,
    starts_at: DateTime<Utc>,
    duration_minutes: i32,
}

impl From<ExistingRow> for Existing {
    fn from(r: ExistingRow) -> Self {
        Self {
            schedule_id: r.schedule_id,
            slot_date: r.slot_date,
            slot_time: r.slot_time,
            starts_at: r.starts_at,
            duration_minutes: r.duration_minutes,
        }
    }
}

/// A slot inside a period, with whether it holds live appointments (`live`), any appointment
/// at all (`used`), and whether time off blocked it (`by_time_off`).
#[derive(sqlx::FromRow)]
pub struct SlotUse {
    pub id: crate::domain::SlotId,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub status: String,
    pub live: bool,
    pub used: bool,
    pub by_time_off: bool,
}

/// The rule's zone as stored on its doctor.
pub fn zone(raw: &str) -> Result<chrono_tz::Tz, DomainError> {
    raw.parse()
        .map_err(|_| DomainError::Internal("stored time zone is not a known value".into()))
}
