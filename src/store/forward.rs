//! The ports both adapters implement the same way: each method hands its arguments to a query
//! function with the pool the method needs. Written once here, as one table row per method,
//! and expanded in each adapter, so that the two cannot wire a method differently.
//!
//! An adapter provides `writes()` (the pool of transactions that write), `fresh()` (reads that
//! must see the latest commit) and `reads()` (pure reads, which a replica may serve), and a
//! `terms` field holding the waitlist's offer terms. The function a row names (`people::…`,
//! `slots::…`, `m::…`) resolves in the module that expands the table.

/// `impl $port for $store` from rows `fn name(&self, arg: Type, …) -> T => call;`, each
/// becoming `async fn name(&self, arg: Type, …) -> DomainResult<T> { call.await }`. The names
/// the rows use are brought in by `use` items before the rows, in a block of their own.
macro_rules! forward {
    ($store:ty, $port:path, { $($import:item)* }
     $(fn $name:ident(&$me:tt $(, $arg:ident: $ty:ty)*) -> $ret:ty => $call:expr;)*) => {
        const _: () = {
            $($import)*
            #[async_trait::async_trait]
            impl $port for $store {
                $(async fn $name(&$me $(, $arg: $ty)*) -> crate::domain::DomainResult<$ret> {
                    $call.await
                })*
            }
        };
    };
}
pub(crate) use forward;

/// `impl PeopleStore` for an adapter.
macro_rules! impl_people_store {
    ($store:ty) => {
        crate::store::forward::forward! { $store, crate::domain::store::PeopleStore, {
            use crate::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
            use crate::domain::page::{Page, Paged};
            use crate::domain::patient::{NewPatient, Patient, PatientPatch, PatientQuery};
            use crate::domain::user::Accessor;
            use crate::domain::{DoctorId, PatientId};
        }
        fn create_doctor(&self, new: NewDoctor) -> Doctor
            => people::create_doctor(self.writes(), new);
        fn list_doctors(&self, specialization: Option<&str>, page: Page) -> Paged<Doctor>
            => people::list_doctors(self.reads(), specialization, page);
        fn get_doctor(&self, id: DoctorId) -> Doctor => people::get_doctor(self.reads(), id);
        fn update_doctor(&self, id: DoctorId, patch: DoctorPatch) -> Doctor
            => people::update_doctor(self.writes(), id, patch);
        fn create_patient(&self, new: NewPatient, by: Option<Accessor>) -> Patient
            => people::create_patient(self.writes(), new, by);
        fn search_patients(&self, query: &PatientQuery, page: Page) -> Paged<Patient>
            => people::search_patients(self.reads(), query, page);
        fn list_patients(&self, page: Page) -> Paged<Patient>
            => people::list_patients(self.reads(), page);
        fn get_patient(&self, id: PatientId) -> Patient => people::get_patient(self.reads(), id);
        fn update_patient(&self, id: PatientId, patch: PatientPatch, by: Option<Accessor>)
            -> Patient
            => people::update_patient(self.writes(), id, patch, by);
        }
    };
}
pub(crate) use impl_people_store;

/// `impl SlotStore` for an adapter.
macro_rules! impl_slot_store {
    ($store:ty) => {
        crate::store::forward::forward! { $store, crate::domain::store::SlotStore, {
            use chrono::NaiveDate;
            use crate::domain::search::{FoundSlot, SlotSearch};
            use crate::domain::slot::{BulkOutcome, NewSlot, Slot, SlotAdminStatus};
            use crate::domain::{DoctorId, SlotId};
        }
        fn create_slot(&self, doctor: DoctorId, new: NewSlot) -> Slot
            => slots::create_slot(self.writes(), doctor, new);
        fn create_slots(&self, doctor: DoctorId, new: Vec<NewSlot>) -> BulkOutcome
            => slots::create_slots(self.writes(), doctor, new);
        fn list_slots(&self, doctor: DoctorId, from: NaiveDate, to: NaiveDate) -> Vec<Slot>
            => slots::list_slots(self.reads(), doctor, from, to, false);
        fn get_slot(&self, slot: SlotId) -> Slot
            => slots::get_slot(self.reads(), slot);
        fn available_slots(&self, doctor: DoctorId, from: NaiveDate, to: NaiveDate) -> Vec<Slot>
            => slots::list_slots(self.reads(), doctor, from, to, true);
        fn free_days(&self, doctor: DoctorId, from: NaiveDate, to: NaiveDate)
            -> Vec<(NaiveDate, i64)>
            => slots::free_days(self.reads(), doctor, from, to);
        fn set_slot_status(&self, doctor: DoctorId, slot: SlotId, status: SlotAdminStatus) -> Slot
            => slots::set_slot_status(self.writes(), doctor, slot, status);
        fn delete_slot(&self, doctor: DoctorId, slot: SlotId) -> ()
            => slot_removal::delete_slot(self.writes(), doctor, slot);
        fn find_free_slots(&self, search: &SlotSearch) -> Vec<FoundSlot>
            => search::find_free_slots(self.reads(), search);
        }
    };
}
pub(crate) use impl_slot_store;

/// `impl ScheduleStore` for an adapter.
macro_rules! impl_schedule_store {
    ($store:ty) => {
        crate::store::forward::forward! { $store, crate::domain::store::ScheduleStore, {
            use chrono::NaiveDate;
            use crate::domain::schedule::{Generation, NewTimeOff, Removal, Rule, Schedule};
            use crate::domain::schedule::{TimeOff, TimeOffOutcome};
            use crate::domain::{DoctorId, ScheduleId, TimeOffId};
        }
        fn create_schedule(&self, doctor: DoctorId, rule: Rule) -> Schedule
            => schedules::create(self.writes(), doctor, rule);
        fn list_schedules(&self, doctor: DoctorId) -> Vec<Schedule>
            => schedules::list(self.reads(), doctor);
        fn update_schedule(&self, doctor: DoctorId, id: ScheduleId, rule: Rule)
            -> (Schedule, Removal)
            => schedules::update(self.writes(), doctor, id, rule);
        fn end_schedule(&self, doctor: DoctorId, id: ScheduleId) -> Removal
            => schedules::end(self.writes(), doctor, id);
        fn generate_schedule(&self, id: ScheduleId, horizon_days: i64) -> Generation
            => schedules::generate(self.writes(), id, horizon_days);
        fn current_schedules(&self, today: NaiveDate) -> Vec<ScheduleId>
            => schedules::current(self.fresh(), today);
        fn create_time_off(&self, doctor: DoctorId, new: NewTimeOff) -> TimeOffOutcome
            => schedules::create_time_off(self.writes(), doctor, new);
        fn list_time_off(&self, doctor: DoctorId) -> Vec<TimeOff>
            => schedules::list_time_off(self.reads(), doctor);
        fn delete_time_off(&self, doctor: DoctorId, id: TimeOffId) -> u64
            => schedules::delete_time_off(self.writes(), doctor, id, self.terms);
        }
    };
}
pub(crate) use impl_schedule_store;

/// `impl NotifyStore` for an adapter.
macro_rules! impl_notify_store {
    ($store:ty) => {
        crate::store::forward::forward! { $store, crate::domain::outbox::NotifyStore, {
            use crate::domain::outbox::{Claimed, OutboxItem, OutboxStatus, Settlement};
            use crate::domain::page::{Page, Paged};
        }
        fn claim_outbox(&self, limit: i64, lease_secs: i64) -> Vec<Claimed>
            => outbox::claim(self.writes(), limit, lease_secs);
        fn settle_outbox_all(&self, lease: uuid::Uuid, settled: &[(i64, Settlement)]) -> u64
            => outbox::settle(self.writes(), lease, settled);
        fn renew_outbox_lease(&self, lease: uuid::Uuid, ids: &[i64], lease_secs: i64) -> u64
            => outbox::renew(self.writes(), lease, ids, lease_secs);
        fn list_outbox(&self, status: Option<OutboxStatus>, page: Page) -> Paged<OutboxItem>
            => outbox::list(self.fresh(), status, page);
        fn retry_outbox(&self, id: i64) -> OutboxItem => outbox::retry_row(self.writes(), id);
        fn enqueue_reminders(&self, hours: &[u32]) -> u64
            => outbox::enqueue_reminders(self.writes(), hours);
        }
    };
}
pub(crate) use impl_notify_store;

/// `impl AppointmentReads` and `impl Housekeeping` for an adapter.
macro_rules! impl_appointment_reads {
    ($store:ty) => {
        crate::store::forward::forward! { $store, crate::domain::store::AppointmentReads, {
            use crate::domain::appointment::{AppointmentStatus, AuditEntry};
            use crate::domain::page::{Page, Paged};
            use crate::domain::store::AppointmentFilter;
            use crate::domain::{Appointment, AppointmentDetail, AppointmentId, DoctorId, PatientId};
        }
        fn get_appointment(&self, id: AppointmentId) -> AppointmentDetail
            => appointments::reads::detail(self.reads(), id);
        fn history(&self, id: AppointmentId) -> Vec<AuditEntry>
            => appointments::reads::history(self.reads(), id);
        fn patient_appointments(&self, patient: PatientId, status: Option<AppointmentStatus>,
            page: Page) -> Paged<Appointment>
            => appointments::reads::for_patient(self.reads(), patient, status, page);
        fn doctor_appointments(&self, doctor: DoctorId, filter: AppointmentFilter, page: Page)
            -> Paged<Appointment>
            => appointments::reads::for_doctor(self.reads(), doctor, filter, page);
        fn day_sheet(&self, day: chrono::NaiveDate) -> crate::domain::store::DaySheet
            => appointments::reads::day_sheet(self.reads(), day);
        }
        crate::store::forward::forward! { $store, crate::domain::store::Housekeeping, {}
        fn expire_due(&self, batch: i64) -> u64
            => appointments::expire_due(self.writes(), batch, self.terms);
        fn purge_idempotency_keys(&self, max_age_secs: i64) -> u64
            => appointments::purge_keys(self.writes(), max_age_secs);
        }
    };
}
pub(crate) use impl_appointment_reads;
