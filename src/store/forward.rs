//! The ports both adapters implement the same way: each method hands its arguments to the
//! adapter's module of that name (`people`, `slots`, `search`, `schedules`, `outbox`,
//! `slot_removal`, `appointments::moves`) with the pool the method needs. Written once here and
//! expanded in each adapter, so that the two cannot wire a method differently.
//!
//! An adapter provides `writes()` (the pool of transactions that write), `fresh()` (reads that
//! must see the latest commit) and `reads()` (pure reads, which a replica may serve), and a
//! `terms` field holding the waitlist's offer terms.

/// `impl PeopleStore` for an adapter.
macro_rules! impl_people_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::domain::store::PeopleStore for $store {
            async fn create_doctor(
                &self,
                new: crate::domain::doctor::NewDoctor,
            ) -> crate::domain::DomainResult<crate::domain::doctor::Doctor> {
                people::create_doctor(self.writes(), new).await
            }
            async fn list_doctors(
                &self,
                specialization: Option<&str>,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<
                crate::domain::page::Paged<crate::domain::doctor::Doctor>,
            > {
                people::list_doctors(self.reads(), specialization, page).await
            }
            async fn get_doctor(
                &self,
                id: crate::domain::DoctorId,
            ) -> crate::domain::DomainResult<crate::domain::doctor::Doctor> {
                people::get_doctor(self.reads(), id).await
            }
            async fn update_doctor(
                &self,
                id: crate::domain::DoctorId,
                patch: crate::domain::doctor::DoctorPatch,
            ) -> crate::domain::DomainResult<crate::domain::doctor::Doctor> {
                people::update_doctor(self.writes(), id, patch).await
            }
            async fn create_patient(
                &self,
                new: crate::domain::patient::NewPatient,
                by: Option<crate::domain::user::Accessor>,
            ) -> crate::domain::DomainResult<crate::domain::patient::Patient> {
                people::create_patient(self.writes(), new, by).await
            }
            async fn search_patients(
                &self,
                query: &crate::domain::patient::PatientQuery,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<
                crate::domain::page::Paged<crate::domain::patient::Patient>,
            > {
                people::search_patients(self.reads(), query, page).await
            }
            async fn list_patients(
                &self,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<
                crate::domain::page::Paged<crate::domain::patient::Patient>,
            > {
                people::list_patients(self.reads(), page).await
            }
            async fn get_patient(
                &self,
                id: crate::domain::PatientId,
            ) -> crate::domain::DomainResult<crate::domain::patient::Patient> {
                people::get_patient(self.reads(), id).await
            }
            async fn update_patient(
                &self,
                id: crate::domain::PatientId,
                patch: crate::domain::patient::PatientPatch,
                by: Option<crate::domain::user::Accessor>,
            ) -> crate::domain::DomainResult<crate::domain::patient::Patient> {
                people::update_patient(self.writes(), id, patch, by).await
            }
        }
    };
}
pub(crate) use impl_people_store;

/// `impl SlotStore` for an adapter.
macro_rules! impl_slot_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::domain::store::SlotStore for $store {
            async fn create_slot(
                &self,
                doctor: crate::domain::DoctorId,
                new: crate::domain::slot::NewSlot,
            ) -> crate::domain::DomainResult<crate::domain::slot::Slot> {
                slots::create_slot(self.writes(), doctor, new).await
            }
            async fn create_slots(
                &self,
                doctor: crate::domain::DoctorId,
                new: Vec<crate::domain::slot::NewSlot>,
            ) -> crate::domain::DomainResult<crate::domain::slot::BulkOutcome> {
                slots::create_slots(self.writes(), doctor, new).await
            }
            async fn list_slots(
                &self,
                doctor: crate::domain::DoctorId,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> crate::domain::DomainResult<Vec<crate::domain::slot::Slot>> {
                slots::list_slots(self.reads(), doctor, from, to, false).await
            }
            async fn available_slots(
                &self,
                doctor: crate::domain::DoctorId,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> crate::domain::DomainResult<Vec<crate::domain::slot::Slot>> {
                slots::list_slots(self.reads(), doctor, from, to, true).await
            }
            async fn set_slot_status(
                &self,
                doctor: crate::domain::DoctorId,
                slot: crate::domain::SlotId,
                status: crate::domain::slot::SlotAdminStatus,
            ) -> crate::domain::DomainResult<crate::domain::slot::Slot> {
                slots::set_slot_status(self.writes(), doctor, slot, status).await
            }
            async fn delete_slot(
                &self,
                doctor: crate::domain::DoctorId,
                slot: crate::domain::SlotId,
            ) -> crate::domain::DomainResult<()> {
                slot_removal::delete_slot(self.writes(), doctor, slot).await
            }
            async fn find_free_slots(
                &self,
                search: &crate::domain::search::SlotSearch,
            ) -> crate::domain::DomainResult<Vec<crate::domain::search::FoundSlot>> {
                search::find_free_slots(self.reads(), search).await
            }
        }
    };
}
pub(crate) use impl_slot_store;

/// `impl ScheduleStore` for an adapter.
macro_rules! impl_schedule_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::domain::store::ScheduleStore for $store {
            async fn create_schedule(
                &self,
                doctor: crate::domain::DoctorId,
                rule: crate::domain::schedule::Rule,
            ) -> crate::domain::DomainResult<crate::domain::schedule::Schedule> {
                schedules::create(self.writes(), doctor, rule).await
            }
            async fn list_schedules(
                &self,
                doctor: crate::domain::DoctorId,
            ) -> crate::domain::DomainResult<Vec<crate::domain::schedule::Schedule>> {
                schedules::list(self.reads(), doctor).await
            }
            async fn update_schedule(
                &self,
                doctor: crate::domain::DoctorId,
                id: crate::domain::ScheduleId,
                rule: crate::domain::schedule::Rule,
            ) -> crate::domain::DomainResult<(
                crate::domain::schedule::Schedule,
                crate::domain::schedule::Removal,
            )> {
                schedules::update(self.writes(), doctor, id, rule).await
            }
            async fn end_schedule(
                &self,
                doctor: crate::domain::DoctorId,
                id: crate::domain::ScheduleId,
            ) -> crate::domain::DomainResult<crate::domain::schedule::Removal> {
                schedules::end(self.writes(), doctor, id).await
            }
            async fn generate_schedule(
                &self,
                id: crate::domain::ScheduleId,
                horizon_days: i64,
            ) -> crate::domain::DomainResult<crate::domain::schedule::Generation> {
                schedules::generate(self.writes(), id, horizon_days).await
            }
            async fn current_schedules(
                &self,
                today: chrono::NaiveDate,
            ) -> crate::domain::DomainResult<Vec<crate::domain::ScheduleId>> {
                schedules::current(self.fresh(), today).await
            }
            async fn create_time_off(
                &self,
                doctor: crate::domain::DoctorId,
                new: crate::domain::schedule::NewTimeOff,
            ) -> crate::domain::DomainResult<crate::domain::schedule::TimeOffOutcome> {
                schedules::create_time_off(self.writes(), doctor, new).await
            }
            async fn list_time_off(
                &self,
                doctor: crate::domain::DoctorId,
            ) -> crate::domain::DomainResult<Vec<crate::domain::schedule::TimeOff>> {
                schedules::list_time_off(self.reads(), doctor).await
            }
            async fn delete_time_off(
                &self,
                doctor: crate::domain::DoctorId,
                id: crate::domain::TimeOffId,
            ) -> crate::domain::DomainResult<u64> {
                schedules::delete_time_off(self.writes(), doctor, id, self.terms).await
            }
        }
    };
}
pub(crate) use impl_schedule_store;

/// `impl NotifyStore` for an adapter.
macro_rules! impl_notify_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::domain::outbox::NotifyStore for $store {
            async fn claim_outbox(
                &self,
                limit: i64,
                lease_secs: i64,
            ) -> crate::domain::DomainResult<Vec<crate::domain::outbox::Claimed>> {
                outbox::claim(self.writes(), limit, lease_secs).await
            }
            async fn settle_outbox_all(
                &self,
                lease: uuid::Uuid,
                settled: &[(i64, crate::domain::outbox::Settlement)],
            ) -> crate::domain::DomainResult<u64> {
                outbox::settle(self.writes(), lease, settled).await
            }
            async fn renew_outbox_lease(
                &self,
                lease: uuid::Uuid,
                ids: &[i64],
                lease_secs: i64,
            ) -> crate::domain::DomainResult<u64> {
                outbox::renew(self.writes(), lease, ids, lease_secs).await
            }
            async fn list_outbox(
                &self,
                status: Option<crate::domain::outbox::OutboxStatus>,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<
                crate::domain::page::Paged<crate::domain::outbox::OutboxItem>,
            > {
                outbox::list(self.fresh(), status, page).await
            }
            async fn retry_outbox(
                &self,
                id: i64,
            ) -> crate::domain::DomainResult<crate::domain::outbox::OutboxItem> {
                outbox::retry_row(self.writes(), id).await
            }
            async fn enqueue_reminders(&self, hours: &[u32]) -> crate::domain::DomainResult<u64> {
                outbox::enqueue_reminders(self.writes(), hours).await
            }
        }
    };
}
pub(crate) use impl_notify_store;

/// `impl AppointmentReads` for an adapter.
macro_rules! impl_appointment_reads {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::domain::store::AppointmentReads for $store {
            async fn get_appointment(
                &self,
                id: crate::domain::AppointmentId,
            ) -> crate::domain::DomainResult<crate::domain::AppointmentDetail> {
                appointments::reads::detail(self.reads(), id).await
            }
            async fn history(
                &self,
                id: crate::domain::AppointmentId,
            ) -> crate::domain::DomainResult<Vec<crate::domain::appointment::AuditEntry>> {
                appointments::reads::history(self.reads(), id).await
            }
            async fn patient_appointments(
                &self,
                patient: crate::domain::PatientId,
                status: Option<crate::domain::appointment::AppointmentStatus>,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<crate::domain::page::Paged<crate::domain::Appointment>>
            {
                appointments::reads::for_patient(self.reads(), patient, status, page).await
            }
            async fn doctor_appointments(
                &self,
                doctor: crate::domain::DoctorId,
                filter: crate::domain::store::AppointmentFilter,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<crate::domain::page::Paged<crate::domain::Appointment>>
            {
                appointments::reads::for_doctor(self.reads(), doctor, filter, page).await
            }
        }
    };
}
pub(crate) use impl_appointment_reads;

/// `impl Housekeeping` for an adapter.
macro_rules! impl_housekeeping {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::domain::store::Housekeeping for $store {
            async fn expire_due(&self, batch: i64) -> crate::domain::DomainResult<u64> {
                appointments::expire_due(self.writes(), batch, self.terms).await
            }
            async fn purge_idempotency_keys(
                &self,
                max_age_secs: i64,
            ) -> crate::domain::DomainResult<u64> {
                appointments::purge_keys(self.writes(), max_age_secs).await
            }
        }
    };
}
pub(crate) use impl_housekeeping;
