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

/// The row lock of a read before a write: none, as write transactions hold the database's
/// write lock from their first statement (see `crate::store::shared`).
macro_rules! lock_sql {
    () => {
        ""
    };
}

/// What keeps rows created within one millisecond in creation order (see
/// `crate::store::shared`).
macro_rules! seq_sql {
    () => {
        "rowid"
    };
}

mod adapter;
mod appointments;
mod group;
mod offers;
mod outbox;
mod people;
mod reviews;
mod schedules;
mod search;
mod slots;
mod steps;
#[cfg(test)]
mod tests;
mod tx;
mod waitlist;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Datelike;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;

use super::options::{OpenError, StoreOptions};
use crate::domain::appointment::{Action, NewAppointment};
use crate::domain::store::{Actor, AppointmentStore, Booked, IdempotencyKey, PoolStats, Store};
use crate::domain::{Appointment, AppointmentId, DomainError, DomainResult, SlotId};
use crate::store::slot_removal::lite as slot_removal;
pub use adapter::SqliteStore;
use tx::instant;

/// How long a connection waits for another process's lock before SQLite gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write waits for its turn on the single writer connection.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a read waits for a free reader connection.
const READ_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

super::credentials::impl_credential_store!(SqliteStore, crate::store::credentials::lite);

// A filter instant outside the years 0000..=9999 cannot be stored; as text it bounds nothing.
super::accounts::impl_account_store!(SqliteStore, crate::store::accounts::lite, |t| {
    instant(t).unwrap_or_else(|| {
        if t.year() < 0 {
            String::new()
        } else {
            "~".into()
        }
    })
});

crate::store::forward::impl_people_store!(SqliteStore);
crate::store::forward::impl_slot_store!(SqliteStore);
crate::store::forward::impl_schedule_store!(SqliteStore);
crate::store::forward::impl_notify_store!(SqliteStore);
crate::store::forward::impl_appointment_reads!(SqliteStore);

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
            // (the `growth` benchmark: a million appointments) does not re-read index pages from
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
        let (terms, notice) = (opts.terms, opts.notice);
        let group = group::GroupCommit::start(&writer, group::MAX_GROUP);
        Ok(Self {
            writer,
            reader,
            terms,
            notice,
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
            notice: self.notice,
        };
        match &self.group {
            Some(group) => group.transition(req).await,
            None => steps::alone(&self.writer, &req).await,
        }
    }
}

/// Whether the URL names an in-memory database rather than a file.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
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
            crate::store::options::pool_stats("write", &self.writer).await,
            crate::store::options::pool_stats("read", &self.reader).await,
        ]
    }
}

#[async_trait]
impl AppointmentStore for SqliteStore {
    async fn book(
        &self,
        new: NewAppointment,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> DomainResult<Booked> {
        let (hold, cap) = (self.terms.hold_secs, self.terms.max_holds);
        let notice = self.notice.book_window(actor.role);
        let req = appointments::booking::BookRequest::new(new, hold, cap, notice, key, actor);
        match &self.group {
            Some(group) => group.book(req).await,
            None => steps::alone(&self.writer, &req).await,
        }
    }
    async fn confirm(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        let terms = Some(self.terms);
        self.transition(id, Action::Confirm, None, actor, terms)
            .await
    }
    async fn cancel(
        &self,
        id: AppointmentId,
        reason: Option<String>,
        actor: Actor,
    ) -> DomainResult<Appointment> {
        let terms = Some(self.terms);
        self.transition(id, Action::Cancel, reason, actor, terms)
            .await
    }
    async fn complete(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        self.transition(id, Action::Complete, None, actor, None)
            .await
    }
    async fn reschedule(
        &self,
        id: AppointmentId,
        slot: SlotId,
        actor: Actor,
    ) -> DomainResult<Appointment> {
        let (terms, notice) = (self.terms, self.notice);
        appointments::moves::reschedule(&self.writer, id, slot, &actor, terms, notice).await
    }
    async fn mark_no_show(&self, id: AppointmentId, actor: Actor) -> DomainResult<Appointment> {
        appointments::moves::no_show(&self.writer, id, &actor).await
    }
}
