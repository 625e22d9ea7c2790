//! Time slots: a local date and time in the doctor's zone, pinned to an absolute instant.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::calendar::locate;
use super::text::{string_ser, string_serde};
use super::{DoctorId, FieldError, SlotId};

/// How far ahead slots may be created: ten years.
pub const HORIZON_DAYS: i64 = 3653;
/// Shortest and longest slot, in minutes.
pub const DURATION_RANGE: (i64, i64) = (5, 480);
/// Fewest and most seats a slot may have.
pub const CAPACITY_RANGE: (i64, i64) = (1, 1000);
/// Most slots in one bulk request.
pub const BULK_MAX: usize = 1000;

/// A slot's effective status as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// Takes bookings: not blocked, seats left.
    Available,
    /// No seat left.
    Booked,
    /// Blocked by an administrator.
    Blocked,
}

impl SlotStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Available, Self::Booked, Self::Blocked];

    /// The wire and stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Booked => "BOOKED",
            Self::Blocked => "BLOCKED",
        }
    }

    /// Parses a stored or computed status.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| format!("unknown slot status {raw:?}"))
    }
}

string_ser!(SlotStatus);

/// A slot as reported: status and seats are effective (expired holds do not count).
#[derive(Debug, Clone)]
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
    pub status: SlotStatus,
    pub starts_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
    /// Both settings.
    pub const ALL: [Self; 2] = [Self::Available, Self::Blocked];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Blocked => "BLOCKED",
        }
    }

    /// Parses `BLOCKED` or `AVAILABLE`, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let up = raw.trim().to_uppercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == up)
            .ok_or_else(|| "must be BLOCKED or AVAILABLE".into())
    }
}

impl TryFrom<String> for SlotAdminStatus {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(SlotAdminStatus);

/// A slot to create, pinned to its instant.
#[derive(Debug, Clone)]
pub struct NewSlot {
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub max_capacity: i32,
    pub starts_at: DateTime<Utc>,
}

impl NewSlot {
    /// Pins a slot to its instant in `tz` and checks that it starts after `now` and within the
    /// horizon. Errors name `{prefix}slot_time` (no such local time) or `{prefix}slot_date`.
    pub fn new(
        date: NaiveDate,
        time: NaiveTime,
        duration_minutes: i32,
        max_capacity: i32,
        (tz, now): (Tz, DateTime<Utc>),
        prefix: &str,
    ) -> Result<Self, FieldError> {
        let starts_at =
            locate(tz, date, time).map_err(|m| FieldError::new(format!("{prefix}slot_time"), m))?;
        let date_error = |m: &str| FieldError::new(format!("{prefix}slot_date"), m);
        if starts_at <= now {
            return Err(date_error("the slot must start in the future"));
        }
        if starts_at > now + chrono::Duration::days(HORIZON_DAYS) {
            return Err(date_error("the slot must start within 10 years"));
        }
        Ok(Self {
            slot_date: date,
            slot_time: time,
            duration_minutes,
            max_capacity,
            starts_at,
        })
    }
}

/// One item of a bulk request that was not created.
#[derive(Debug, Clone)]
pub struct SkippedSlot {
    pub index: usize,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub reason: String,
}

/// The result of a bulk creation.
#[derive(Debug, Clone)]
pub struct BulkOutcome {
    pub created: Vec<Slot>,
    pub skipped: Vec<SkippedSlot>,
}

/// Why an item of a batch was skipped because a slot exists at its date and time.
pub const SLOT_EXISTS: &str = "a slot already exists at this date and time";

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
    use chrono::Duration;

    fn at(days: i64) -> NaiveDate {
        (Utc::now() + Duration::days(days)).date_naive()
    }

    #[test]
    fn new_checks_past_and_horizon() {
        let ten = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        let ctx = (Tz::UTC, Utc::now());
        let past = NewSlot::new(at(-1), ten, 30, 1, ctx, "slots[2].").unwrap_err();
        assert_eq!(past.field, "slots[2].slot_date");
        assert!(NewSlot::new(at(HORIZON_DAYS + 2), ten, 30, 1, ctx, "").is_err());
        let ok = NewSlot::new(at(2), ten, 30, 3, ctx, "").unwrap();
        assert_eq!((ok.duration_minutes, ok.max_capacity), (30, 3));
    }

    #[test]
    fn dedupe_keeps_first_occurrences() {
        let ten = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        let ctx = (Tz::UTC, Utc::now());
        let s = NewSlot::new(at(2), ten, 30, 1, ctx, "").unwrap();
        let (fresh, skipped) = dedupe(vec![s.clone(), s]);
        assert_eq!((fresh.len(), skipped[0].index), (1, 1));
    }

    #[test]
    fn statuses_round_trip() {
        for s in SlotStatus::ALL {
            assert_eq!(SlotStatus::parse(s.as_str()).unwrap(), s);
        }
        assert_eq!(
            SlotAdminStatus::parse("blocked").unwrap(),
            SlotAdminStatus::Blocked
        );
        assert!(SlotAdminStatus::parse("BOOKED").is_err());
    }
}
