//! The SQLite adapter: one writer connection, a pool of readers, WAL journal.
//!
//! SQLite allows one writer at a time. Rather than letting requests race for the file lock (and
//! fail with "database is locked"), every write use case goes through a pool of exactly one
//! connection and starts with `BEGIN IMMEDIATE`, taking the write lock up front: writes queue
//! in-process and each runs alone. That makes read-then-write logic inside a write transaction
//! race-free, so write use cases read the state, decide with the shared pure rules, and apply,
//! all in one transaction; the schema's constraints remain as the backstop. Pure reads use a
//! separate pool and, thanks to WAL, never wait for the writer. Bookings and transitions go
//! through a group commit (`group.rs`): several share one transaction and one fsync, each in its
//! own savepoint, and each is answered only after the shared commit.
//!
//! Instants are TEXT `YYYY-MM-DDTHH:MM:SS.SSSZ` (see the migration) taken from the database
//! clock, so they compare correctly as text and the clock is the same for every instance.

/// SQL for the database clock's current instant, in the stored instant format.
macro_rules! now_sql {
    () => {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    };
}

mod appointments;
mod group;
mod outbox;
mod people;
mod reviews;
mod schedules;
mod search;
mod slots;
#[cfg(test)]
mod tests;
mod waitlist;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite, SqlitePool, Transaction};

use super::retry::TxError;
use super::{OpenError, StoreOptions};
use crate::domain::appointment::{Action, AppointmentStatus, AuditEntry, NewAppointment};
use crate::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
use crate::domain::page::{Page, Paged};
use crate::domain::patient::{NewPatient, Patient, PatientPatch};
use crate::domain::schedule::{
    Generation, NewTimeOff, Removal, Rule, Schedule, TimeOff, TimeOffOutcome,
};
use crate::domain::slot::{BulkOutcome, NewSlot, Slot, SlotAdminStatus};
use crate::domain::store::{Actor, AppointmentFilter, Booked, IdempotencyKey, PoolStats, Store};
use crate::domain::user::Accessor;
use crate::domain::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, DomainResult, PatientId,
    SlotId,
};
use crate::domain::{ScheduleId, TimeOffId};
use crate::store;

/// How long a connection waits for another process's lock before SQLite gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write waits for its turn on the single writer connection.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a read waits for a free reader connection.
const READ_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write use case, one at a time.
    writer: SqlitePool,
    /// Pure reads.
    reader: SqlitePool,
    /// How waitlist offers are made.
    terms: std::sync::Arc<crate::domain::waitlist::SharedTerms>,
    /// The writer task bookings and transitions queue to, so that several share one
    /// transaction and one fsync; `None` (each runs alone) outside a Tokio runtime.
    group: Option<group::GroupCommit>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

super::credentials::impl_credential_store!(
    SqliteStore,
    crate::store::credentials::lite,
    writer,
    reader
);

// A filter instant outside the years 0000..=9999 cannot be stored; as text it bounds nothing.
super::accounts::impl_account_store!(
    SqliteStore,
    crate::store::accounts::lite,
    writer,
    reader,
    reader,
    |t| {
        instant(t).unwrap_or_else(|| {
            if t.year() < 0 {
                String::new()
            } else {
                "~".into()
            }
        })
    }
);

impl SqliteStore {
    /// Opens (creating the file and its folder when missing) and applies migrations.
    ///
    /// Accepts `sqlite:path/to/file.db` and the other forms `SqliteConnectOptions` parses.
    pub async fn open(opts: &StoreOptions) -> Result<Self, OpenError> {
        let connect = SqliteConnectOptions::from_str(&opts.url)
            .map_err(|e| OpenError::Config(format!("invalid DATABASE_URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode FULL syncs the log on every commit: an answered write survives a
            // power cut, not only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .log_statements(tracing::log::LevelFilter::Trace);
        let in_memory = is_in_memory(&opts.url);
        if !in_memory {
            let file = connect.get_filename();
            if let Some(dir) = file.parent() {
                if !dir.as_os_str().is_empty() {
                    crate::files::private_dir(dir)?;
                }
            }
            // Made owner-only before SQLite opens it: its -wal and -shm take the same mode.
            crate::files::touch_private(file)?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // A local file does not go away under us: no ping before each use.
            .test_before_acquire(false)
            .acquire_timeout(WRITE_QUEUE_TIMEOUT)
            // Keep the one connection for good: nothing is gained by recycling it, and an
            // in-memory database would vanish with it.
            .max_lifetime(None)
            .idle_timeout(None)
            // Every write runs on this one connection, so its page cache holds the b-tree
            // pages writes touch: 16 MiB instead of SQLite's 2 MB default, so a large database
            // (issue 14's `growth`: a million appointments) does not re-read index pages from
            // the file for each group of bookings. Readers keep the default.
            .connect_with(connect.clone().pragma("cache_size", "-16384"))
            .await
            .map_err(OpenError::Connect)?;
        MIGRATOR.run(&writer).await?;
        let reader = if in_memory {
            // An in-memory database has no WAL and lives only while a connection holds it:
            // reads share the writer's connection.
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(opts.pool_size)
                .min_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(READ_ACQUIRE_TIMEOUT)
                // A guard: nothing on a reader connection can ever write.
                .connect_with(connect.pragma("query_only", "ON"))
                .await
                .map_err(OpenError::Connect)?
        };
        let terms = Default::default();
        let group = group::GroupCommit::start(&writer, group::MAX_GROUP);
        Ok(Self {
            writer,
            reader,
            terms,
            group,
        })
    }

    /// Confirms, cancels or completes through the group commit (alone without one).
    async fn transition(
        &self,
        id: AppointmentId,
        action: Action,
        reason: Option<String>,
        actor: Actor,
        terms: Option<crate::domain::waitlist::OfferTerms>,
    ) -> DomainResult<Appointment> {
        let req = appointments::TransitionRequest {
            id,
            action,
            reason,
            actor,
            terms,
        };
        match &self.group {
            Some(group) => group.transition(req).await,
            None => appointments::alone(&self.writer, &req).await,
        }
    }

    /// The writer pool (one connection), for tests and tools that need raw access.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The reader pool, for tests and tools that need raw access.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

/// Whether the URL names an in-memory database rather than a file.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A write transaction that holds the database's write lock from its first statement.
type WriteTx = Transaction<'static, Sqlite>;

/// Begins a write transaction on the writer pool with `BEGIN IMMEDIATE`, so the write lock is
/// taken up front instead of on the first write (where upgrading could fail with SQLITE_BUSY).
async fn begin_write(pool: &SqlitePool) -> Result<WriteTx, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// The database clock's current instant, read once per transaction so that every row the
/// transaction writes, and every decision it makes, uses the same "now".
async fn db_now(conn: &mut SqliteConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(concat!("SELECT ", now_sql!()))
        .fetch_one(conn)
        .await
}

/// An instant computed in Rust, in the stored text format (must match `now_sql!`); `None`
/// outside the years 0000..=9999, which the fixed-width format cannot hold.
fn instant(t: DateTime<Utc>) -> Option<String> {
    (0..=9999)
        .contains(&t.year())
        .then(|| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Whether a row exists for a query with one bound value.
async fn exists<'q, T>(
    conn: &mut SqliteConnection,
    sql: &'q str,
    value: T,
) -> Result<bool, sqlx::Error>
where
    T: 'q + Send + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite>,
{
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(value)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// Maps a unique violation whose message names `table.column` to `Duplicate(message)`; leaves
/// other errors alone. SQLite reports no constraint names, only the columns; the database's
/// text is only matched, never shown.
fn on_unique(e: sqlx::Error, messages: &[(&str, &str)]) -> TxError {
    if let Some(db) = e.as_database_error() {
        if db.is_unique_violation() {
            let text = db.message();
            if let Some((_, m)) = messages.iter().find(|(column, _)| text.contains(column)) {
                return TxError::Domain(DomainError::Duplicate((*m).to_owned()));
            }
        }
    }
    TxError::Db(e)
}

#[async_trait]
impl crate::domain::outbox::NotifyStore for SqliteStore {
    async fn claim_outbox(
        &self,
        limit: i64,
        lease_secs: i64,
    ) -> DomainResult<Vec<crate::domain::outbox::Claimed>> {
        outbox::claim(&self.writer, limit, lease_secs).await
    }
    async fn settle_outbox_all(
        &self,
        lease: uuid::Uuid,
        settled: &[(i64, crate::domain::outbox::Settlement)],
    ) -> DomainResult<u64> {
        outbox::settle(&self.writer, lease, settled).await
    }
    async fn renew_outbox_lease(
        &self,
        lease: uuid::Uuid,
        ids: &[i64],
        lease_secs: i64,
    ) -> DomainResult<u64> {
        outbox::renew(&self.writer, lease, ids, lease_secs).await
    }
    async fn list_outbox(
        &self,
        status: Option<crate::domain::outbox::OutboxStatus>,
        page: Page,
    ) -> DomainResult<Paged<crate::domain::outbox::OutboxItem>> {
        outbox::list(&self.reader, status, page).await
    }
    async fn retry_outbox(&self, id: i64) -> DomainResult<crate::domain::outbox::OutboxItem> {
        outbox::retry_row(&self.writer, id).await
    }
    async fn enqueue_reminders(&self, hours: &[u32]) -> DomainResult<u64> {
        outbox::enqueue_reminders(&self.writer, hours).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> DomainResult<()> {
        let ping = sqlx::query("SELECT 1").execute(&self.reader).await;
        ping.map(drop)
            .map_err(|e| DomainError::Unavailable(Box::new(e)))
    }
    fn primary(&self) -> &dyn Store {
        // One file: every read sees every commit.
        self
    }
    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
    async fn pool_stats(&self) -> Vec<PoolStats> {
        vec![
            store::pool_stats("write", &self.writer).await,
            store::pool_stats("read", &self.reader).await,
        ]
    }

    async fn create_doctor(&self, new: NewDoctor) -> DomainResult<Doctor> {
        people::create_doctor(&self.writer, new).await
    }
    async fn list_doctors(
        &self,
        specialization: Option<&str>,
        page: Page,
    ) -> DomainResult<Paged<Doctor>> {
        people::list_doctors(&self.reader, specialization, page).await
    }
    async fn get_doctor(&self, id: DoctorId) -> DomainResult<Doctor> {
        people::get_doctor(&self.reader, id).await
    }
    async fn update_doctor(&self, id: DoctorId, patch: DoctorPatch) -> DomainResult<Doctor> {
        people::update_doctor(&self.writer, id, patch).await
    }
    async fn create_patient(&self, new: NewPatient, by: Option<Accessor>) -> DomainResult<Patient> {
        people::create_patient(&self.writer, new, by).await
    }
    async fn search_patients(
        &self,
        query: &crate::domain::patient::PatientQuery,
        page: Page,
    ) -> DomainResult<Paged<Patient>> {
        people::search_patients(&self.reader, query, page).await
    }
    async fn list_patients(&self, page: Page) -> DomainResult<Paged<Patient>> {
        people::list_patients(&self.reader, page).await
    }
    async fn get_patient(&self, id: PatientId) -> DomainResult<Patient> {
        people::get_patient(&self.reader, id).await
    }
    async fn update_patient(
        &self,
        id: PatientId,
        patch: PatientPatch,
        by: Option<Accessor>,
    ) -> DomainResult<Patient> {
        people::update_patient(&self.writer, id, patch, by).await
    }

    async fn create_slot(&self, doctor: DoctorId, new: NewSlot) -> DomainResult<Slot> {
        slots::create_slot(&self.writer, doctor, new).await
    }
    async fn create_slots(&self, doctor: DoctorId, new: Vec<NewSlot>) -> DomainResult<BulkOutcome> {
        slots::create_slots(&self.writer, doctor, new).await
    }
    async fn list_slots(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<Slot>> {
        slots::list_slots(&self.reader, doctor, from, to, false).await
    }
    async fn available_slots(
        &self,
        doctor: DoctorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> DomainResult<Vec<Slot>> {
        slots::list_slots(&self.reader, doctor, from, to, true).await
    }
    async fn delete_slot(&self, doctor: DoctorId, slot: SlotId) -> DomainResult<()> {
        crate::store::slot_removal::lite::delete_slot(&self.writer, doctor, slot).await
    }
    async fn set_slot_status(
        &self,
        doctor: DoctorId,
        slot: SlotId,
        status: SlotAdminStatus,
    ) -> DomainResult<Slot> {
        slots::set_slot_status(&self.writer, doctor, slot, status).await
    }

    async fn book(
        &self,
        new: NewAppointment,
        hold_secs: i64,
        max_holds: Option<i64>,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> DomainResult<Booked> {
        let req = appointments::BookRequest::new(new, hold_secs, max_holds, key, actor);
        match &self.group {
            Some(group) => group.book(req).await,
            None => appointments::alone(&self.writer, &req).await,
        }
    }
    async fn confirm(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        let terms = Some(self.terms.get());
        self.transition(id, Action::Confirm, None, actor, terms)
            .await
    }
    async fn cancel(
        &self,
        id: AppointmentId,
        reason: Option<String>,
        actor: Actor,
    ) -> DomainResult<Appointment> {
        let terms = Some(self.terms.get());
        self.transition(id, Action::Cancel, reason, actor, terms)
            .await
    }
    async fn complete(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        self.transition(id, Action::Complete, None, actor, None)
            .await
    }
    async fn get_appointment(&self, id: AppointmentId) -> DomainResult<AppointmentDetail> {
        appointments::detail(&self.reader, id).await
    }
    async fn history(&self, id: AppointmentId) -> DomainResult<Vec<AuditEntry>> {
        appointments::history(&self.reader, id).await
    }
    async fn patient_appointments(
        &self,
        patient: PatientId,
        status: Option<AppointmentStatus>,
        page: Page,
    ) -> DomainResult<Paged<Appointment>> {
        appointments::for_patient(&self.reader, patient, status, page).await
    }
    async fn doctor_appointments(
        &self,
        doctor: DoctorId,
        filter: AppointmentFilter,
        page: Page,
    ) -> DomainResult<Paged<Appointment>> {
        appointments::for_doctor(&self.reader, doctor, filter, page).await
    }
    async fn expire_due(&self, batch: i64) -> DomainResult<u64> {
        appointments::expire_due(&self.writer, batch, self.terms.get()).await
    }
    async fn purge_idempotency_keys(&self, max_age_secs: i64) -> DomainResult<u64> {
        appointments::purge_keys(&self.writer, max_age_secs).await
    }

    async fn create_schedule(&self, doctor: DoctorId, rule: Rule) -> DomainResult<Schedule> {
        schedules::create(&self.writer, doctor, rule).await
    }
    async fn list_schedules(&self, doctor: DoctorId) -> DomainResult<Vec<Schedule>> {
        schedules::list(&self.reader, doctor).await
    }
    async fn update_schedule(
        &self,
        doctor: DoctorId,
        id: ScheduleId,
        rule: Rule,
    ) -> DomainResult<(Schedule, Removal)> {
        schedules::update(&self.writer, doctor, id, rule).await
    }
    async fn end_schedule(&self, doctor: DoctorId, id: ScheduleId) -> DomainResult<Removal> {
        schedules::end(&self.writer, doctor, id).await
    }
    async fn generate_schedule(
        &self,
        id: ScheduleId,
        horizon_days: i64,
    ) -> DomainResult<Generation> {
        schedules::generate(&self.writer, id, horizon_days).await
    }
    async fn current_schedules(&self, today: NaiveDate) -> DomainResult<Vec<ScheduleId>> {
        schedules::current(&self.reader, today).await
    }
    async fn create_time_off(
        &self,
        doctor: DoctorId,
        new: NewTimeOff,
    ) -> DomainResult<TimeOffOutcome> {
        schedules::create_time_off(&self.writer, doctor, new).await
    }
    async fn list_time_off(&self, doctor: DoctorId) -> DomainResult<Vec<TimeOff>> {
        schedules::list_time_off(&self.reader, doctor).await
    }
    async fn delete_time_off(&self, doctor: DoctorId, id: TimeOffId) -> DomainResult<u64> {
        schedules::delete_time_off(&self.writer, doctor, id, self.terms.get()).await
    }
    async fn find_free_slots(
        &self,
        search: &crate::domain::search::SlotSearch,
    ) -> DomainResult<Vec<crate::domain::search::FoundSlot>> {
        search::find_free_slots(&self.reader, search).await
    }
    async fn reschedule(
        &self,
        id: AppointmentId,
        slot: SlotId,
        actor: Actor,
    ) -> DomainResult<Appointment> {
        appointments::reschedule(&self.writer, id, slot, &actor, self.terms.get()).await
    }
    async fn mark_no_show(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        appointments::no_show(&self.writer, id, &actor).await
    }
    async fn slot_starts_in(&self, slot: SlotId) -> DomainResult<Option<f64>> {
        appointments::slot_starts_in(&self.reader, slot).await
    }
}
