//! The PostgreSQL adapter: SERIALIZABLE everywhere, hot paths as single statements.
//!
//! Every connection starts with `default_transaction_isolation = serializable`, so both explicit
//! transactions and single autocommit statements are serializable without an extra round trip.
//! Use cases that fit one statement (book, confirm, cancel, complete, expire) are written as one
//! data-modifying CTE that also inserts the audit row: one round trip, atomic by construction.

/// The current instant (see `crate::store::shared`).
macro_rules! now_sql {
    () => {
        "now()"
    };
}

/// The row lock of a read before a write (see `crate::store::shared`).
macro_rules! lock_sql {
    () => {
        " FOR UPDATE"
    };
}

/// What keeps rows created in the same instant in a stable order (see `crate::store::shared`).
macro_rules! seq_sql {
    () => {
        "id"
    };
}

mod adapter;
mod appointments;
mod capacity;
mod outbox;
mod people;
mod pools;
mod replica;
mod reviews;
mod schedules;
mod search;
mod slots;
mod tx;
pub(crate) mod tx_pool;
mod waitlist;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use super::gate::SlotGate;
use super::options::{OpenError, StoreOptions};
use crate::domain::appointment::{Action, NewAppointment};
use crate::domain::store::{Actor, AppointmentStore, Booked, IdempotencyKey, PoolStats, Store};
use crate::domain::{Appointment, AppointmentId, DomainError, DomainResult, SlotId};
use crate::store::slot_removal::pg as slot_removal;
pub use adapter::PgStore;
use pools::{pool_options, read_only, startup, tx_pool, READS};
pub use tx_pool::TxPool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

super::credentials::impl_credential_store!(PgStore, crate::store::credentials::pg);
super::accounts::impl_account_store!(PgStore, crate::store::accounts::pg, |t| t);

crate::store::forward::impl_people_store!(PgStore);
crate::store::forward::impl_slot_store!(PgStore);
crate::store::forward::impl_schedule_store!(PgStore);
crate::store::forward::impl_notify_store!(PgStore);
crate::store::forward::impl_appointment_reads!(PgStore);

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
            crate::store::statements::send_unnamed();
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
        let (terms, notice) = (opts.terms, opts.notice);
        let gate = Arc::new(SlotGate::new(opts.db.lock));
        let Some(reader) = replica else {
            let reader = fresh.clone();
            return Ok(Self {
                pool,
                reader,
                fresh,
                on_primary: None,
                terms,
                notice,
                gate,
            });
        };
        let on_primary = Self {
            pool: pool.clone(),
            reader: fresh.clone(),
            fresh: fresh.clone(),
            on_primary: None,
            terms,
            notice,
            gate: gate.clone(),
        };
        Ok(Self {
            pool,
            reader,
            fresh,
            on_primary: Some(Arc::new(on_primary)),
            terms,
            notice,
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
    async fn replica_lag(&self) -> Option<DomainResult<crate::domain::store::ReplicaLag>> {
        self.on_primary.as_ref()?;
        Some(replica::lag(&self.fresh, &self.reader).await)
    }
    fn has_replica(&self) -> bool {
        self.on_primary.is_some()
    }
    async fn write_position(&self) -> Option<DomainResult<u64>> {
        self.on_primary.as_ref()?;
        Some(replica::position(&self.fresh).await)
    }
    async fn replayed(&self, position: u64) -> DomainResult<bool> {
        if self.on_primary.is_none() {
            return Ok(true);
        }
        replica::replayed(&self.reader, position).await
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
            crate::store::options::pool_stats("write", &self.pool).await,
            crate::store::options::pool_stats("read", &self.reader).await,
        ];
        if self.on_primary.is_some() {
            stats.push(crate::store::options::pool_stats("read_primary", &self.fresh).await);
        }
        stats
    }
}

#[async_trait]
impl AppointmentStore for PgStore {
    async fn book(
        &self,
        new: NewAppointment,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> DomainResult<Booked> {
        appointments::booking::book(
            &self.pool,
            &self.gate,
            &new,
            self.terms,
            self.notice.book_window(actor.role),
            key.as_ref(),
            &actor,
        )
        .await
    }
    async fn confirm(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        let terms = Some(self.terms);
        let terms = appointments::Terms {
            offers: terms,
            notice: self.notice,
        };
        appointments::transition(&self.pool, id, Action::Confirm, None, &actor, terms, None).await
    }
    async fn cancel(
        &self,
        id: AppointmentId,
        reason: Option<String>,
        actor: Actor,
    ) -> DomainResult<Appointment> {
        let (reason, terms) = (reason.as_deref(), Some(self.terms));
        let slot = appointments::slot_of(&self.fresh, id).await?;
        let queue = Some((&*self.gate, slot.as_slice()));
        let terms = appointments::Terms {
            offers: terms,
            notice: self.notice,
        };
        appointments::transition(&self.pool, id, Action::Cancel, reason, &actor, terms, queue).await
    }
    async fn complete(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        let terms = appointments::Terms {
            offers: None,
            notice: self.notice,
        };
        appointments::transition(&self.pool, id, Action::Complete, None, &actor, terms, None).await
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
        appointments::moves::reschedule(
            &self.pool,
            id,
            slot,
            &actor,
            self.terms,
            self.notice,
            queue,
        )
        .await
    }
    async fn mark_no_show(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        appointments::moves::no_show(&self.pool, id, &actor).await
    }
}
