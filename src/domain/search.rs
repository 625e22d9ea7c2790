//! Finding a free slot across doctors: the search, its page cursor and what it finds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Days, NaiveDate, Utc};

use super::calendar::TimeZone;
use super::slot::Slot;
use super::{DoctorId, SlotId};

/// Slots a search returns when the client sends no `limit`.
pub const DEFAULT_LIMIT: i64 = 20;
/// Most slots one search returns.
pub const MAX_LIMIT: i64 = 100;
/// Longest date range one search covers, in days (as the per-doctor availability).
pub const MAX_RANGE_DAYS: i64 = 92;

/// Where a page of results ends: the start and id of its last slot. Results are ordered by
/// that pair, so the next page holds exactly the free slots after it: none repeated, none
/// skipped, whatever was booked in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub starts_at: DateTime<Utc>,
    pub id: SlotId,
}

/// What a malformed cursor is told.
pub const BAD_CURSOR: &str = "must be a next_cursor returned by this route";

impl Cursor {
    /// The cursor just after `slot`.
    pub fn after(slot: &Slot) -> Self {
        Self {
            starts_at: slot.starts_at,
            id: slot.id,
        }
    }

    /// The opaque text form: base64url of the start in microseconds and the id's bytes.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.starts_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.0.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads [`Cursor::encode`]'s form back.
    pub fn decode(raw: &str) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim())
            .map_err(|_| BAD_CURSOR.to_owned())?;
        let (micros, id) = match bytes.split_first_chunk::<8>() {
            Some((m, id)) if id.len() == 16 => (i64::from_be_bytes(*m), id),
            _ => return Err(BAD_CURSOR.into()),
        };
        let starts_at = DateTime::from_timestamp_micros(micros).ok_or(BAD_CURSOR)?;
        let id = uuid::Uuid::from_slice(id).map_err(|_| BAD_CURSOR.to_owned())?;
        Ok(Self {
            starts_at,
            id: SlotId(id),
        })
    }
}

impl TryFrom<String> for Cursor {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::decode(&raw)
    }
}

/// A search for the earliest free slots, every field already valid.
#[derive(Debug, Clone)]
pub struct SlotSearch {
    /// Matched case-insensitively; `None` for every specialization.
    pub specialization: Option<String>,
    /// First and last local date (in each doctor's zone), inclusive.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only slots after this one.
    pub after: Option<Cursor>,
    /// Most slots to return.
    pub limit: i64,
}

impl SlotSearch {
    /// Instants every slot of the date range starts within, `[lower, upper)`, whatever its
    /// doctor's zone (offsets span UTC-12 to UTC+14), and not before the cursor: lets the
    /// stores walk a `starts_at` index over just that span rather than over every future slot.
    /// `None` past chrono's calendar.
    pub fn instant_bounds(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let lower = self.from.checked_sub_days(Days::new(1)).and_then(midnight);
        let lower = match (lower, self.after) {
            (Some(l), Some(c)) => Some(l.max(c.starts_at)),
            (None, Some(c)) => Some(c.starts_at),
            (l, None) => l,
        };
        let upper = self.to.checked_add_days(Days::new(2)).and_then(midnight);
        (lower, upper)
    }
}

/// The doctor of a found slot: public profile fields only.
#[derive(Debug, Clone)]
pub struct DoctorBrief {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub clinic_name: Option<String>,
    /// The zone the slot's date and time are given in.
    pub timezone: TimeZone,
}

/// A free slot and its doctor.
#[derive(Debug, Clone)]
pub struct FoundSlot {
    pub slot: Slot,
    pub doctor: DoctorBrief,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let c = Cursor {
            starts_at: DateTime::from_timestamp_micros(1_900_000_000_123_456).unwrap(),
            id: SlotId(uuid::Uuid::new_v4()),
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        let short = URL_SAFE_NO_PAD.encode([0u8; 23]);
        let long = URL_SAFE_NO_PAD.encode([0u8; 25]);
        let mut far = vec![0x7fu8; 8];
        far.extend([0u8; 16]);
        let huge = URL_SAFE_NO_PAD.encode(far);
        for bad in ["", "not a cursor", "%%%", &short, &long, &huge] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instant_bounds_cover_every_zone() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let s = SlotSearch {
            specialization: None,
            from: day("2030-03-10"),
            to: day("2030-03-12"),
            after: None,
            limit: 20,
        };
        let (lo, hi) = s.instant_bounds();
        // 00:00 on the first day at UTC+14, 23:59 on the last at UTC-12.
        assert!(lo.unwrap() <= "2030-03-09T10:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert!(hi.unwrap() > "2030-03-13T11:59:00Z".parse::<DateTime<Utc>>().unwrap());
        let at = "2030-03-11T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let after = Some(Cursor {
            starts_at: at,
            id: SlotId(uuid::Uuid::nil()),
        });
        let paged = SlotSearch { after, ..s.clone() };
        assert_eq!(paged.instant_bounds(), (Some(at), hi));
        let edge = SlotSearch {
            from: NaiveDate::MIN,
            to: NaiveDate::MAX,
            ..s
        };
        assert_eq!(edge.instant_bounds(), (None, None));
    }
}
