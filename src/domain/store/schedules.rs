//! The port of weekly rules and time off.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::{DoctorId, DomainResult};

/// Weekly rules, the slots they lay, and time off.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Stores a weekly rule (slots are laid out by [`ScheduleStore::generate_schedule`]).
    /// Errors: `NotFound("doctor")`.
    async fn create_schedule(
        &self,
        doctor: DoctorId,
        rule: crate::domain::schedule::Rule,
    ) -> DomainResult<crate::domain::schedule::Schedule>;
    /// The doctor's rules, oldest first.
    async fn list_schedules(
        &self,
        doctor: DoctorId,
    ) -> DomainResult<Vec<crate::domain::schedule::Schedule>>;
    /// Replaces a rule and, in the same transaction, deletes its future slots that hold no
    /// appointment; those with live appointments stay and are returned.
    /// Errors: `NotFound("schedule")` (unknown, or not this doctor's).
    async fn update_schedule(
        &self,
        doctor: DoctorId,
        id: crate::domain::ScheduleId,
        rule: crate::domain::schedule::Rule,
    ) -> DomainResult<(
        crate::domain::schedule::Schedule,
        crate::domain::schedule::Removal,
    )>;
    /// Deletes a rule and its future slots that hold no appointment; future slots with only
    /// past appointments are blocked, and those with live ones kept (and returned); all that
    /// stay are detached from the rule. Errors: `NotFound("schedule")`.
    async fn end_schedule(
        &self,
        doctor: DoctorId,
        id: crate::domain::ScheduleId,
    ) -> DomainResult<crate::domain::schedule::Removal>;
    /// Lays out a rule's slots from today to `horizon_days` ahead in the doctor's zone, skipping
    /// (and reporting) times in a DST gap, overlapping any slot, or inside time off. Idempotent,
    /// and safe from several instances at once: each slot is created once.
    /// Errors: `NotFound("schedule")`.
    async fn generate_schedule(
        &self,
        id: crate::domain::ScheduleId,
        horizon_days: i64,
    ) -> DomainResult<crate::domain::schedule::Generation>;
    /// Rules open-ended or valid on `today` or later.
    async fn current_schedules(
        &self,
        today: NaiveDate,
    ) -> DomainResult<Vec<crate::domain::ScheduleId>>;
    /// Records time off and blocks the slots inside it that are AVAILABLE (or blocked by other
    /// time off), remembering which; slots inside with live appointments are returned.
    /// Errors: `NotFound("doctor")`.
    async fn create_time_off(
        &self,
        doctor: DoctorId,
        new: crate::domain::schedule::NewTimeOff,
    ) -> DomainResult<crate::domain::schedule::TimeOffOutcome>;
    /// The doctor's time off, by start.
    async fn list_time_off(
        &self,
        doctor: DoctorId,
    ) -> DomainResult<Vec<crate::domain::schedule::TimeOff>>;
    /// Deletes time off and unblocks the slots it blocked that no other time off covers.
    /// Returns how many. Errors: `NotFound("time off")` (unknown, or not this doctor's).
    async fn delete_time_off(
        &self,
        doctor: DoctorId,
        id: crate::domain::TimeOffId,
    ) -> DomainResult<u64>;
}
