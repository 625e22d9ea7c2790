//! The waitlist: a patient waiting for a seat with a doctor between two local dates.
//!
//! When a seat frees in a matching slot (a cancel, an expiry by the sweeper, a reschedule away
//! from it, time off lifted), the first entry in line — FIFO by join time — is given a PENDING
//! hold on it, in the same transaction as the release, audited `OFFERED_FROM_WAITLIST` by
//! `system`. The entry then becomes OFFERED, linked to that appointment, and is never offered
//! again (an offer that lapses passes the seat to the next in line; the lapsed entry is done).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::page::{Page, Paged};
use super::user::Accessor;
use super::{AppointmentId, DoctorId, DomainError, DomainResult, FieldError, PatientId};

/// The longest range one entry may wait over, in days (`to_date - from_date`).
pub const MAX_RANGE_DAYS: i64 = 90;

/// Identifies a waitlist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct WaitlistId(pub uuid::Uuid);

impl WaitlistId {
    /// A fresh random (v4) id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl std::fmt::Display for WaitlistId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> serde::Deserialize<'de> for WaitlistId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_uuid(&raw)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// Where an entry is: waiting in line, or given a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitlistStatus {
    Waiting,
    /// Given a PENDING hold (`appointment_id`); never offered again.
    Offered,
}

impl WaitlistStatus {
    /// The wire and stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "WAITING",
            Self::Offered => "OFFERED",
        }
    }

    /// Parses a stored status.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "WAITING" => Ok(Self::Waiting),
            "OFFERED" => Ok(Self::Offered),
            _ => Err(format!("unknown waitlist status {raw:?}")),
        }
    }
}

/// One patient waiting for one doctor.
#[derive(Debug, Clone)]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    /// First local date (the doctor's zone) a seat may be on.
    pub from_date: NaiveDate,
    /// Last local date, inclusive.
    pub to_date: NaiveDate,
    pub status: WaitlistStatus,
    /// The hold it was offered.
    pub appointment_id: Option<AppointmentId>,
    pub offered_at: Option<DateTime<Utc>>,
    /// The place in line.
    pub created_at: DateTime<Utc>,
}

/// A request to join the waitlist, its dates checked by [`check_range`].
#[derive(Debug, Clone)]
pub struct NewWaitlistEntry {
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
}

/// Which entries a list shows (`None`: any).
#[derive(Debug, Clone, Copy, Default)]
pub struct WaitlistFilter {
    pub patient: Option<PatientId>,
    pub doctor: Option<DoctorId>,
}

/// Checks an entry's dates against `today` in the doctor's zone: not before today, `to_date`
/// not before `from_date`, at most [`MAX_RANGE_DAYS`] apart. Every fault is named.
pub fn check_range(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    if from < today {
        errors.push(FieldError::new(
            "from_date",
            format!("must not be in the past (today is {today} in the doctor's time zone)"),
        ));
    }
    if to < from {
        errors.push(FieldError::new("to_date", "must not be before from_date"));
    } else if (to - from).num_days() > MAX_RANGE_DAYS {
        errors.push(FieldError::new(
            "to_date",
            format!("must be at most {MAX_RANGE_DAYS} days after from_date"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Validation(errors))
    }
}

/// What an offer is made with: the hold's length and the patient hold cap booking enforces.
/// Given to the store when it opens ([`crate::store::StoreOptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferTerms {
    /// Seconds the offered hold lasts before it expires unconfirmed.
    pub hold_secs: i64,
    /// A patient holding this many PENDING appointments is skipped; `None`: no cap.
    pub max_holds: Option<i64>,
}

impl Default for OfferTerms {
    fn default() -> Self {
        Self {
            hold_secs: 300,
            max_holds: None,
        }
    }
}

/// The waitlist use cases. The offers themselves are made inside the releasing use cases of
/// [`super::store::Store`] (cancel, expire_due, reschedule, delete_time_off).
#[async_trait]
pub trait WaitlistStore: Send + Sync + 'static {
    /// Adds an entry at the end of the line, recording the access when `by` is a person.
    /// Errors: `NotFound("patient" | "doctor")`, `Duplicate` (the patient already waits for this
    /// doctor on overlapping dates).
    async fn join_waitlist(
        &self,
        new: NewWaitlistEntry,
        by: Option<Accessor>,
    ) -> DomainResult<WaitlistEntry>;
    /// Entries by join time (the order of the line), filtered. A pure read.
    async fn list_waitlist(
        &self,
        filter: WaitlistFilter,
        page: Page,
    ) -> DomainResult<Paged<WaitlistEntry>>;
    /// Removes an entry; only one within `only` (its patient and doctor, when set: anyone
    /// else's is `NotFound`). Records the access when `by` is a person. Errors:
    /// `NotFound("waitlist entry")`.
    async fn leave_waitlist(
        &self,
        id: WaitlistId,
        only: WaitlistFilter,
        by: Option<Accessor>,
    ) -> DomainResult<WaitlistEntry>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn fields(r: Result<(), DomainError>) -> Vec<String> {
        match r {
            Ok(()) => vec![],
            Err(DomainError::Validation(e)) => e.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn ranges() {
        let today = day("2030-03-10");
        assert!(fields(check_range(today, today, today)).is_empty());
        let last = today + chrono::Duration::days(MAX_RANGE_DAYS);
        assert!(fields(check_range(today, last, today)).is_empty());
        let over = last + chrono::Duration::days(1);
        assert_eq!(fields(check_range(today, over, today)), ["to_date"]);
        let yesterday = day("2030-03-09");
        assert_eq!(
            fields(check_range(yesterday, yesterday, today)),
            ["from_date"]
        );
        assert_eq!(fields(check_range(today, yesterday, today)), ["to_date"]);
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(
            WaitlistStatus::parse("OFFERED"),
            Ok(WaitlistStatus::Offered)
        );
    }
}
