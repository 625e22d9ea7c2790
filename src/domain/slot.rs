//! Time slots: a local date and time in the doctor's zone, pinned to an absolute instant.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};

use super::input::Input;
use super::validate;
use super::{DoctorId, DomainError, DomainResult, FieldError, SlotId};

/// A slot as reported: status and seats are effective (expired holds do not count).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Slot {
    pub id: SlotId,
    pub doctor_id: DoctorId,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub max_capacity: i32,
    /// Seats held by live appointments (PENDING and unexpired, CONFIRMED, COMPLETED).
    pub current_bookings: i32,
    pub available_capacity: i32,
    /// `AVAILABLE`, `BOOKED` (no seat left) or `BLOCKED`.
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How far ahead slots may be created: ten years.
pub const HORIZON_DAYS: i64 = 3653;

/// A validated slot to create, already pinned to its instant.
#[derive(Debug, Clone)]
pub struct NewSlot {
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub max_capacity: i32,
    pub starts_at: DateTime<Utc>,
}

/// The status an administrator can set on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotAdminStatus {
    /// Takes bookings while it has seats.
    Available,
    /// Takes no new bookings; existing ones stay.
    Blocked,
}

impl SlotAdminStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Blocked => "BLOCKED",
        }
    }

    /// Parses `{"status": "BLOCKED" | "AVAILABLE"}`.
    pub fn parse(body: &Map<String, Value>) -> DomainResult<Self> {
        let mut i = Input::new(body, "");
        let s = i.required("status", |s| match s.trim().to_uppercase().as_str() {
            "AVAILABLE" => Ok(Self::Available),
            "BLOCKED" => Ok(Self::Blocked),
            _ => Err("must be BLOCKED or AVAILABLE".into()),
        });
        i.errors.finish()?;
        Ok(s.unwrap_or(Self::Available))
    }
}

/// The absolute instant of a local date and time in `tz`. A time skipped by a DST change is an
/// error; a repeated one (DST end) resolves to its first occurrence.
pub fn locate(tz: Tz, date: NaiveDate, time: NaiveTime) -> Result<DateTime<Utc>, String> {
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("{date} {time} does not exist in time zone {tz} (daylight-saving gap)")
        })
}

impl NewSlot {
    /// Parses one slot (field names prefixed with `prefix` in errors) for a doctor in `tz`,
    /// rejecting slots that start at or before `now`.
    pub fn parse(
        body: &Map<String, Value>,
        prefix: &str,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        let mut i = Input::new(body, prefix);
        let date = i.required("slot_date", |s| validate::date(s.trim()));
        let time = i.required("slot_time", |s| validate::time(s.trim()));
        let duration_minutes = i.int_in("duration_minutes", 5, 480, 30);
        let max_capacity = i.int_in("max_capacity", 1, 1000, 1);
        let name = i.name("slot_time");
        i.errors.finish()?;
        let (slot_date, slot_time) = (date.unwrap_or_default(), time.unwrap_or_default());
        let starts_at =
            locate(tz, slot_date, slot_time).map_err(|m| DomainError::field(&name, m))?;
        if starts_at <= now {
            return Err(DomainError::field(
                format!("{prefix}slot_date"),
                "the slot must start in the future",
            ));
        }
        if starts_at > now + chrono::Duration::days(HORIZON_DAYS) {
            return Err(DomainError::field(
                format!("{prefix}slot_date"),
                "the slot must start within 10 years",
            ));
        }
        Ok(Self {
            slot_date,
            slot_time,
            duration_minutes,
            max_capacity,
            starts_at,
        })
    }

    /// Parses `{"slots": [...]}` with 1..=1000 items; any invalid item fails the whole batch.
    pub fn parse_bulk(
        body: &Map<String, Value>,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> DomainResult<Vec<Self>> {
        let Some(Value::Array(items)) = body.get("slots") else {
            return Err(DomainError::field(
                "slots",
                "is required and must be an array",
            ));
        };
        if items.is_empty() || items.len() > 1000 {
            return Err(DomainError::field(
                "slots",
                "must hold between 1 and 1000 items",
            ));
        }
        let mut slots = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let prefix = format!("slots[{n}].");
            let Some(obj) = item.as_object() else {
                errors.push(FieldError::new(format!("slots[{n}]"), "must be an object"));
                continue;
            };
            match Self::parse(obj, &prefix, tz, now) {
                Ok(s) => slots.push(s),
                Err(DomainError::Validation(mut e)) => errors.append(&mut e),
                Err(other) => return Err(other),
            }
        }
        if errors.is_empty() {
            Ok(slots)
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// One item of a bulk request that was not created.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedSlot {
    pub index: usize,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub reason: String,
}

/// The result of a bulk creation.
#[derive(Debug, Clone, Serialize)]
pub struct BulkOutcome {
    pub created: Vec<Slot>,
    pub skipped: Vec<SkippedSlot>,
}

/// Splits a batch into first occurrences and in-batch repeats of the same (date, time).
pub fn dedupe(slots: Vec<NewSlot>) -> (Vec<(usize, NewSlot)>, Vec<SkippedSlot>) {
    let mut seen = std::collections::HashSet::new();
    let mut fresh = Vec::new();
    let mut skipped = Vec::new();
    for (index, s) in slots.into_iter().enumerate() {
        if seen.insert((s.slot_date, s.slot_time)) {
            fresh.push((index, s));
        } else {
            skipped.push(SkippedSlot {
                index,
                slot_date: s.slot_date,
                slot_time: s.slot_time,
                reason: "repeats an earlier item of this batch".into(),
            });
        }
    }
    (fresh, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2030-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn local_time_pins_to_the_doctors_zone() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2030, 12, 23).unwrap();
        let t = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        assert_eq!(
            locate(tz, d, t).unwrap().to_rfc3339(),
            "2030-12-23T03:30:00+00:00"
        );
    }

    #[test]
    fn dst_gap_is_rejected_and_overlap_takes_the_first() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let gap = locate(
            tz,
            NaiveDate::from_ymd_opt(2030, 3, 10).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert!(gap.is_err());
        let overlap = locate(
            tz,
            NaiveDate::from_ymd_opt(2030, 11, 3).unwrap(),
            NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
        );
        assert_eq!(overlap.unwrap().to_rfc3339(), "2030-11-03T05:30:00+00:00");
    }

    #[test]
    fn parse_checks_ranges_and_past() {
        let body = json!({"slot_date": "2030-01-02", "slot_time": "10:00", "duration_minutes": 4, "max_capacity": 0});
        let Err(DomainError::Validation(e)) =
            NewSlot::parse(body.as_object().unwrap(), "", Tz::UTC, now())
        else {
            panic!()
        };
        assert_eq!(e.len(), 2);
        let past = json!({"slot_date": "2029-12-31", "slot_time": "10:00"});
        assert!(NewSlot::parse(past.as_object().unwrap(), "", Tz::UTC, now()).is_err());
        let far = json!({"slot_date": "2040-01-02", "slot_time": "10:00"});
        assert!(NewSlot::parse(far.as_object().unwrap(), "", Tz::UTC, now()).is_err());
        let ok = json!({"slot_date": "2030-01-02", "slot_time": "10:00"});
        let s = NewSlot::parse(ok.as_object().unwrap(), "", Tz::UTC, now()).unwrap();
        assert_eq!((s.duration_minutes, s.max_capacity), (30, 1));
    }

    #[test]
    fn bulk_names_the_bad_index_and_dedupes() {
        let body = json!({"slots": [{"slot_date": "2030-01-02", "slot_time": "10:00"}, {"slot_date": "x", "slot_time": "10:00"}]});
        let Err(DomainError::Validation(e)) =
            NewSlot::parse_bulk(body.as_object().unwrap(), Tz::UTC, now())
        else {
            panic!()
        };
        assert_eq!(e[0].field, "slots[1].slot_date");
        let body = json!({"slots": [{"slot_date": "2030-01-02", "slot_time": "10:00"}, {"slot_date": "2030-01-02", "slot_time": "10:00:00"}]});
        let slots = NewSlot::parse_bulk(body.as_object().unwrap(), Tz::UTC, now()).unwrap();
        let (fresh, skipped) = dedupe(slots);
        assert_eq!((fresh.len(), skipped[0].index), (1, 1));
    }
}
