//! The port of time slots.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::slot::{BulkOutcome, NewSlot, Slot, SlotAdminStatus};
use crate::domain::{DoctorId, DomainResult, SlotId};

/// Time slots: laid one by one or in bulk, listed, searched, blocked and removed.
#[async_trait]
pub trait SlotStore: Send + Sync + 'static {
    /// Errors: `NotFound("doctor")`, `Duplicate` (same doctor, date and time).
    async fn create_slot(&self, doctor: DoctorId, new: NewSlot) -> DomainResult<Slot>;
    /// Creates every new slot in one transaction; existing ones and in-batch repeats are skipped.
    /// Errors: `NotFound("doctor")`.
    async fn create_slots(&self, doctor: DoctorId, new: Vec<NewSlot>) -> DomainResult<BulkOutcome>;
    /// Every slot of the doctor between the dates (inclusive), any status, by start.
    async fn list_slots(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<Slot>>;
    /// One slot with its effective seats. Errors: `NotFound("time slot")`.
    async fn get_slot(&self, slot: SlotId) -> DomainResult<Slot>;
    /// Future AVAILABLE slots with seats left, between the dates, by start.
    async fn available_slots(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<Slot>>;
    /// How many slots [`available_slots`](Self::available_slots) would list on each day
    /// between the dates that has any, by date: a month's calendar without its slots.
    async fn free_days(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<(NaiveDate, i64)>>;
    /// Errors: `NotFound("time slot")` (unknown, or not this doctor's).
    async fn set_slot_status(
        &self,
        doctor: DoctorId,
        slot: SlotId,
        status: SlotAdminStatus,
    ) -> DomainResult<Slot>;

    /// Deletes a slot laid by mistake. Errors: `NotFound("time slot")` (unknown, or not this
    /// doctor's); `Conflict` `SLOT_IN_USE` when it ever held an appointment, `SLOT_FROM_SCHEDULE`
    /// when a weekly rule laid it (the rule would lay it again).
    async fn delete_slot(&self, doctor: DoctorId, slot: SlotId) -> DomainResult<()>;

    /// The earliest free slots (AVAILABLE, a seat left, not started) of active doctors between
    /// the dates, by start then id, each with its doctor; at most `search.limit`, after
    /// `search.after` when given. A pure read.
    async fn find_free_slots(
        &self,
        search: &crate::domain::search::SlotSearch,
    ) -> DomainResult<Vec<crate::domain::search::FoundSlot>>;
}
