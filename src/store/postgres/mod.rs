//! The PostgreSQL adapter: SERIALIZABLE everywhere, hot paths as single statements.
//!
//! Every connection starts with `default_transaction_isolation = serializable`, so both explicit
//! transactions and single autocommit statements are serializable without an extra round trip.
//! Use cases that fit one statement (book, confirm, cancel, complete, expire) are written as one
//! data-modifying CTE that also inserts the audit row: one round trip, atomic by construction.

mod appointments;
mod capacity;
mod outbox;
mod people;
mod replica;
mod reviews;
mod schedules;
mod search;
mod slots;
mod tx_pool;
mod waitlist;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgPool};

use chrono::NaiveDate;

use super::gate::SlotGate;
use super::retry::{retry, TxError};
use super::{OpenError, StoreOptions};
use crate::config::DbSettings;
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
pub use tx_pool::TxPool;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    /// SERIALIZABLE connections for every use case that writes.
    pool: TxPool,
    /// READ COMMITTED, read-only connections for pure reads: on the replica when
    /// `DATABASE_READ_URL` is set, else on the primary (then the same pool as `fresh`).
    reader: TxPool,
    /// READ COMMITTED, read-only connections on the primary, for reads that must see the latest
    /// commit: who someone is, what they may do, what a write is about to change.
    fresh: TxPool,
    /// This store with its pure reads on the primary too; `None` when they already are.
    on_primary: Option<Arc<PgStore>>,
    /// How waitlist offers are made, shared with `on_primary`.
    terms: Arc<crate::domain::waitlist::SharedTerms>,
    /// The in-process queue per slot for seat-changing writes, shared with `on_primary`.
    gate: Arc<SlotGate<SlotId>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

super::credentials::impl_credential_store!(PgStore, crate::store::credentials::pg, pool, fresh);

super::accounts::impl_account_store!(
    PgStore,
    crate::store::accounts::pg,
    pool,
    fresh,
    reader,
    |t| t
);

impl PgStore {
    /// Connects (creating the database when it does not exist) and applies migrations.
    pub async fn open(opts: &StoreOptions) -> Result<Self, OpenError> {
        let base = PgConnectOptions::from_str(&opts.url)
            .map_err(|e| OpenError::Config(format!("invalid DATABASE_URL: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace);
        create_database_if_missing(&base).await?;
        // Migrations run on a connection of their own, without the statement timeout: building
        // an index on a large table may take longer than any request should.
        let mut migrating = connect(&base).await.map_err(OpenError::Connect)?;
        if opts.db.statement_cache {
            MIGRATOR.run(&mut migrating).await?;
        } else {
            migrate_behind_pooler(&mut migrating).await?;
        }
        if opts.db.statement_cache {
            capacity::check_pools_fit(&mut migrating, opts.pool_size).await?;
        }
        migrating.close().await.map_err(OpenError::Connect)?;
        let writes = startup(
            base.clone(),
            &opts.db,
            &[("default_transaction_isolation", "serializable")],
        )
        .application_name("carebook-write");
        let pool = pool_options(opts)
            .connect_with(writes)
            .await
            .map_err(OpenError::Connect)?;
        if !opts.db.statement_cache {
            store::statements::send_unnamed();
        }
        let pool = tx_pool(opts, pool, WRITES);
        let replica = replica::pool(opts)?.map(|r| tx_pool(opts, r, READS));
        let name = match replica {
            Some(_) => replica::READ_PRIMARY_APP,
            None => replica::READ_APP,
        };
        let fresh = pool_options(opts)
            .connect_with(read_only(base, &opts.db).application_name(name))
            .await
            .map_err(OpenError::Connect)?;
        let fresh = tx_pool(opts, fresh, READS);
        let terms = Arc::new(crate::domain::waitlist::SharedTerms::default());
        let gate = Arc::new(SlotGate::new(opts.db.lock));
        let Some(reader) = replica else {
            let reader = fresh.clone();
            return Ok(Self {
                pool,
                reader,
                fresh,
                on_primary: None,
                terms,
                gate,
            });
        };
        let on_primary = Self {
            pool: pool.clone(),
            reader: fresh.clone(),
            fresh: fresh.clone(),
            on_primary: None,
            terms: terms.clone(),
            gate: gate.clone(),
        };
        Ok(Self {
            pool,
            reader,
            fresh,
            on_primary: Some(Arc::new(on_primary)),
            terms,
            gate,
        })
    }
}

/// Applies the migrations through a transaction-pooling PgBouncer. sqlx's migrator takes a
/// session advisory lock and prepares named statements; outside a transaction each of its
/// statements could land on another server connection (the unlock not where the lock is, a
/// name left behind for the next client of that server connection to collide with). So it
/// runs inside one transaction, pinned to one server connection, which forgets its prepared
/// statements before it is handed back. Each migration then runs in a savepoint.
async fn migrate_behind_pooler(conn: &mut sqlx::PgConnection) -> Result<(), OpenError> {
    let mut tx = conn.begin().await.map_err(OpenError::Connect)?;
    MIGRATOR.run(&mut tx).await?;
    tx.execute("DEALLOCATE ALL")
        .await
        .map_err(OpenError::Connect)?;
    tx.commit().await.map_err(OpenError::Connect)
}

/// How the write pool's transactions begin behind a transaction pooler.
const WRITES: &str = "ISOLATION LEVEL SERIALIZABLE";
/// How the read pools' transactions begin behind a transaction pooler.
const READS: &str = "ISOLATION LEVEL READ COMMITTED READ ONLY";

/// `pool` as a [`TxPool`]: straight to PostgreSQL with the statement cache on; otherwise
/// behind a pooler, each transaction opening with `BEGIN mode` and the limits.
fn tx_pool(opts: &StoreOptions, pool: PgPool, mode: &str) -> TxPool {
    if opts.db.statement_cache {
        TxPool::direct(pool)
    } else {
        TxPool::pooled(pool, mode, &limits(&opts.db))
    }
}

/// `base` with the server-side limits and `session` settings every pooled connection runs
/// with, sent as startup options. With the statement cache off (behind a transaction-pooling
/// PgBouncer, which refuses startup options and would not keep them on the server connection a
/// transaction lands on) nothing is sent: every transaction sets the isolation level and the limits itself
/// ([`TxPool`]).
fn startup(base: PgConnectOptions, db: &DbSettings, session: &[(&str, &str)]) -> PgConnectOptions {
    if !db.statement_cache {
        return base.statement_cache_capacity(0);
    }
    let limits = limits(db);
    base.options(limits.iter().map(|(k, v)| (*k, v.as_str())))
        .options(session.iter().copied())
}

/// `base` for pure reads. They are single statements, each consistent in its own snapshot at
/// READ COMMITTED. Running them SERIALIZABLE would only add predicate locks, which cost CPU and
/// make concurrent bookings fail serialization checks against readers (and a hot standby
/// refuses SERIALIZABLE).
fn read_only(base: PgConnectOptions, db: &DbSettings) -> PgConnectOptions {
    startup(
        base,
        db,
        &[
            // PostgreSQL splits `options` on spaces unless escaped.
            ("default_transaction_isolation", "read\\ committed"),
            ("default_transaction_read_only", "on"),
        ],
    )
}

/// The server-side limits every pooled connection runs with, in milliseconds. A statement
/// blocked on a lock gives up after `lock_timeout` and any statement after
/// `statement_timeout`, so the database itself stops work whose request is being answered 503.
fn limits(t: &DbSettings) -> [(&'static str, String); 3] {
    let ms = |d: std::time::Duration| d.as_millis().to_string();
    [
        ("statement_timeout", ms(t.statement)),
        ("lock_timeout", ms(t.lock)),
        (
            "idle_in_transaction_session_timeout",
            ms(t.idle_in_transaction),
        ),
    ]
}

fn pool_options(opts: &StoreOptions) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(opts.pool_size)
        // No ping before every query: it doubles the round trips of a booking. A connection
        // broken by a server restart fails its next query once (503, Retry-After) and is then
        // dropped by the pool.
        .test_before_acquire(false)
        .min_connections(1)
        .acquire_timeout(opts.db.acquire)
}

/// How long start-up waits for the server before giving up.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn connect(opts: &PgConnectOptions) -> Result<sqlx::PgConnection, sqlx::Error> {
    tokio::time::timeout(CONNECT_TIMEOUT, opts.connect())
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

/// Whether connecting failed because the database does not exist: 3D000 from PostgreSQL; from
/// PgBouncer, which relays the server's refusal of its login under its own code (08P01), the
/// server's message.
fn database_missing(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    match db.code().as_deref() {
        Some("3D000") => true,
        Some("08P01") => {
            db.message().contains("does not exist") && db.message().contains("database")
        }
        _ => false,
    }
}

/// Creates the target database when connecting to it fails with "does not exist" (3D000).
/// Connecting first means a user without access to the `postgres` database can still start
/// against an existing one.
async fn create_database_if_missing(target: &PgConnectOptions) -> Result<(), OpenError> {
    let missing = match connect(target).await {
        Ok(conn) => return conn.close().await.map_err(OpenError::Connect),
        Err(e) if database_missing(&e) => e,
        Err(e) => return Err(OpenError::Connect(e)),
    };
    let Some(name) = target.get_database().map(str::to_owned) else {
        return Err(OpenError::Connect(missing));
    };
    let mut admin = connect(&target.clone().database("postgres"))
        .await
        .map_err(OpenError::Connect)?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    // Another process may create it at the same moment: "already exists" (42P04) is fine.
    if let Err(e) = admin
        .execute(format!("CREATE DATABASE {quoted}").as_str())
        .await
    {
        if e.as_database_error().and_then(|d| d.code()).as_deref() != Some("42P04") {
            return Err(OpenError::Connect(e));
        }
    }
    admin.close().await.map_err(OpenError::Connect)
}

/// A read-only transaction whose statements all see one snapshot.
type ReadTx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Runs `read` in one REPEATABLE READ, read-only transaction, so that a list's total and its
/// page (and any existence check before them) come from the same snapshot. `read` hands the
/// transaction back so it can be committed; the whole of it is retried like any transaction.
async fn snapshot<T, F, Fut>(pool: &TxPool, read: F) -> DomainResult<T>
where
    F: Fn(ReadTx) -> Fut,
    Fut: std::future::Future<Output = Result<(T, ReadTx), TxError>>,
{
    retry(|| async {
        let tx = pool
            .begin_with("ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let (value, tx) = read(tx).await?;
        tx.commit().await?;
        Ok(value)
    })
    .await
}

/// Maps a unique violation on `constraint` to `Duplicate(message)`; leaves other errors alone.
fn on_unique(e: sqlx::Error, messages: &[(&str, &str)]) -> TxError {
    if let Some(db) = e.as_database_error() {
        if db.is_unique_violation() {
            if let Some(c) = db.constraint() {
                if let Some((_, m)) = messages.iter().find(|(name, _)| *name == c) {
                    return TxError::Domain(DomainError::Duplicate((*m).to_owned()));
                }
            }
        }
    }
    TxError::Db(e)
}

#[async_trait]
impl crate::domain::outbox::NotifyStore for PgStore {
    async fn claim_outbox(
        &self,
        limit: i64,
        lease_secs: i64,
    ) -> DomainResult<Vec<crate::domain::outbox::Claimed>> {
        outbox::claim(&self.pool, limit, lease_secs).await
    }
    async fn settle_outbox_all(
        &self,
        lease: uuid::Uuid,
        settled: &[(i64, crate::domain::outbox::Settlement)],
    ) -> DomainResult<u64> {
        outbox::settle(&self.pool, lease, settled).await
    }
    async fn renew_outbox_lease(
        &self,
        lease: uuid::Uuid,
        ids: &[i64],
        lease_secs: i64,
    ) -> DomainResult<u64> {
        outbox::renew(&self.pool, lease, ids, lease_secs).await
    }
    async fn list_outbox(
        &self,
        status: Option<crate::domain::outbox::OutboxStatus>,
        page: Page,
    ) -> DomainResult<Paged<crate::domain::outbox::OutboxItem>> {
        outbox::list(&self.fresh, status, page).await
    }
    async fn retry_outbox(&self, id: i64) -> DomainResult<crate::domain::outbox::OutboxItem> {
        outbox::retry_row(&self.pool, id).await
    }
    async fn enqueue_reminders(&self, hours: &[u32]) -> DomainResult<u64> {
        outbox::enqueue_reminders(&self.pool, hours).await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> DomainResult<()> {
        let ping = crate::store::statements::query("SELECT 1")
            .execute(&self.fresh)
            .await;
        ping.map(drop)
            .map_err(|e| DomainError::Unavailable(Box::new(e)))
    }
    async fn ping_replica(&self) -> Option<DomainResult<()>> {
        self.on_primary.as_ref()?;
        let ping = match self.reader.acquire().await {
            Ok(mut conn) => conn.ping().await,
            Err(e) => Err(e),
        };
        Some(ping.map_err(|e| DomainError::Unavailable(Box::new(e))))
    }
    fn primary(&self) -> &dyn Store {
        match &self.on_primary {
            Some(store) => store.as_ref(),
            None => self,
        }
    }
    async fn close(&self) {
        self.pool.close().await;
        self.reader.close().await;
        self.fresh.close().await;
    }
    async fn pool_stats(&self) -> Vec<PoolStats> {
        let mut stats = vec![
            store::pool_stats("write", &self.pool).await,
            store::pool_stats("read", &self.reader).await,
        ];
        if self.on_primary.is_some() {
            stats.push(store::pool_stats("read_primary", &self.fresh).await);
        }
        stats
    }

    async fn create_doctor(&self, new: NewDoctor) -> DomainResult<Doctor> {
        people::create_doctor(&self.pool, new).await
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
        people::update_doctor(&self.pool, id, patch).await
    }
    async fn create_patient(&self, new: NewPatient, by: Option<Accessor>) -> DomainResult<Patient> {
        people::create_patient(&self.pool, new, by).await
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
        people::update_patient(&self.pool, id, patch, by).await
    }

    async fn create_slot(&self, doctor: DoctorId, new: NewSlot) -> DomainResult<Slot> {
        slots::create_slot(&self.pool, doctor, new).await
    }
    async fn create_slots(&self, doctor: DoctorId, new: Vec<NewSlot>) -> DomainResult<BulkOutcome> {
        slots::create_slots(&self.pool, doctor, new).await
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
        crate::store::slot_removal::pg::delete_slot(&self.pool, doctor, slot).await
    }
    async fn set_slot_status(
        &self,
        doctor: DoctorId,
        slot: SlotId,
        status: SlotAdminStatus,
    ) -> DomainResult<Slot> {
        slots::set_slot_status(&self.pool, doctor, slot, status).await
    }

    async fn book(
        &self,
        new: NewAppointment,
        hold_secs: i64,
        max_holds: Option<i64>,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> DomainResult<Booked> {
        appointments::book(
            &self.pool,
            &self.gate,
            &new,
            hold_secs,
            max_holds,
            key.as_ref(),
            &actor,
        )
        .await
    }
    async fn confirm(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        let terms = Some(self.terms.get());
        appointments::transition(&self.pool, id, Action::Confirm, None, &actor, terms, None).await
    }
    async fn cancel(
        &self,
        id: AppointmentId,
        reason: Option<String>,
        actor: Actor,
    ) -> DomainResult<Appointment> {
        let (reason, terms) = (reason.as_deref(), Some(self.terms.get()));
        let slot = appointments::slot_of(&self.fresh, id).await?;
        let queue = Some((&*self.gate, slot.as_slice()));
        appointments::transition(&self.pool, id, Action::Cancel, reason, &actor, terms, queue).await
    }
    async fn complete(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        appointments::transition(&self.pool, id, Action::Complete, None, &actor, None, None).await
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
        appointments::expire_due(&self.pool, batch, self.terms.get()).await
    }
    async fn purge_idempotency_keys(&self, max_age_secs: i64) -> DomainResult<u64> {
        appointments::purge_keys(&self.pool, max_age_secs).await
    }

    async fn create_schedule(&self, doctor: DoctorId, rule: Rule) -> DomainResult<Schedule> {
        schedules::create(&self.pool, doctor, rule).await
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
        schedules::update(&self.pool, doctor, id, rule).await
    }
    async fn end_schedule(&self, doctor: DoctorId, id: ScheduleId) -> DomainResult<Removal> {
        schedules::end(&self.pool, doctor, id).await
    }
    async fn generate_schedule(
        &self,
        id: ScheduleId,
        horizon_days: i64,
    ) -> DomainResult<Generation> {
        schedules::generate(&self.pool, id, horizon_days).await
    }
    async fn current_schedules(&self, today: NaiveDate) -> DomainResult<Vec<ScheduleId>> {
        schedules::current(&self.fresh, today).await
    }
    async fn create_time_off(
        &self,
        doctor: DoctorId,
        new: NewTimeOff,
    ) -> DomainResult<TimeOffOutcome> {
        schedules::create_time_off(&self.pool, doctor, new).await
    }
    async fn list_time_off(&self, doctor: DoctorId) -> DomainResult<Vec<TimeOff>> {
        schedules::list_time_off(&self.reader, doctor).await
    }
    async fn delete_time_off(&self, doctor: DoctorId, id: TimeOffId) -> DomainResult<u64> {
        schedules::delete_time_off(&self.pool, doctor, id, self.terms.get()).await
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
        let mut slots = appointments::slot_of(&self.fresh, id).await?;
        slots.push(slot);
        let queue = (&*self.gate, slots.as_slice());
        appointments::reschedule(&self.pool, id, slot, &actor, self.terms.get(), queue).await
    }
    async fn mark_no_show(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        appointments::no_show(&self.pool, id, &actor).await
    }
    async fn slot_starts_in(&self, slot: SlotId) -> DomainResult<Option<f64>> {
        appointments::slot_starts_in(&self.fresh, slot).await
    }
}
