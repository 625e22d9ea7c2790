//! carebook's PostgreSQL pools, and where each transaction's isolation level and time limits
//! come from.
//!
//! Connected straight to PostgreSQL, each connection starts with its pool's isolation level and
//! the time limits as startup options, so a single autocommit statement needs no extra round
//! trip. A transaction-pooling PgBouncer refuses those options, would lose any session `SET`
//! (consecutive transactions of one client connection run on different server connections),
//! and releases the server connection at every Sync outside a transaction, between the Parse
//! and the Bind of one unnamed statement. So behind one (`DB_STATEMENT_CACHE=off`) every
//! statement runs in an explicit transaction that sets the pool's isolation level and the
//! limits itself: `BEGIN ISOLATION LEVEL …; SET LOCAL …`, the statement, `COMMIT`. Two round
//! trips more per single statement, paid only in that mode.

use std::ops::Deref;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, TryStreamExt};
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgPool, Postgres, Transaction};

/// Plans each statement of the transaction with the data it will run on, never with a generic
/// plan kept in the connection's statement cache. PostgreSQL may keep a prepared statement's
/// generic plan after five executions, for as long as the connection lives and nothing
/// re-analyses the table. A background job's first executions often run on an empty or tiny
/// table (a fresh server idling, polling every second), where every estimate is one row, so the
/// plan kept was one that is only fine on an empty table: measured, the outbox claim then read
/// the whole pending index once per claimed row, and a backlog drained at about 100 rows/s
/// (`tests/api/outbox_plans.rs`). A job runs a few statements a second at most, so planning
/// each time costs nothing that matters; request paths keep their cached plans, whose lookups
/// by key have one right plan at any size.
pub const REPLAN: &str = "SET LOCAL plan_cache_mode = force_custom_plan";

/// A [`PgPool`] (it derefs to one) whose statements and transactions run at its isolation
/// level and under the time limits in either mode.
#[derive(Clone, Debug)]
pub struct TxPool {
    pool: PgPool,
    /// Behind a transaction pooler: `; SET LOCAL …` for each limit, appended to every `BEGIN`.
    limits: Option<Arc<str>>,
    /// Behind a transaction pooler: the statement that opens this pool's transactions.
    begin: Option<Arc<str>>,
}

impl TxPool {
    /// A pool whose connections carry the isolation level and limits as startup options.
    pub fn direct(pool: PgPool) -> Self {
        Self {
            pool,
            limits: None,
            begin: None,
        }
    }

    /// A pool behind a transaction pooler: each transaction opens with `BEGIN mode` and the
    /// `SET LOCAL` of each of `limits`.
    pub fn pooled(pool: PgPool, mode: &str, limits: &[(&str, String)]) -> Self {
        let limits: String = limits
            .iter()
            .map(|(name, value)| format!("; SET LOCAL {name} = {value}"))
            .collect();
        Self {
            pool,
            begin: Some(format!("BEGIN {mode}{limits}").into()),
            limits: Some(limits.into()),
        }
    }

    /// Starts a transaction at the pool's isolation level.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        match &self.begin {
            None => self.pool.begin().await,
            Some(sql) => self.pool.begin_with(sql.to_string()).await,
        }
    }

    /// Starts a transaction at the pool's isolation level whose statements are planned for the
    /// data at each execution (see [`REPLAN`]): for background jobs.
    pub async fn begin_replanned(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let begin = self.begin.as_deref().unwrap_or("BEGIN");
        self.pool.begin_with(format!("{begin}; {REPLAN}")).await
    }

    /// [`begin_with`](Self::begin_with) for a background job: `BEGIN mode`, then [`REPLAN`].
    pub async fn begin_replanned_with(
        &self,
        mode: &str,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin_with(&format!("{mode}; {REPLAN}")).await
    }

    /// Starts a transaction with `BEGIN mode` (e.g. `ISOLATION LEVEL REPEATABLE READ READ ONLY`).
    pub async fn begin_with(
        &self,
        mode: &str,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let limits = self.limits.as_deref().unwrap_or_default();
        self.pool.begin_with(format!("BEGIN {mode}{limits}")).await
    }
}

impl Deref for TxPool {
    type Target = PgPool;
    fn deref(&self) -> &PgPool {
        &self.pool
    }
}

/// A statement run on the pool: as it is straight to PostgreSQL; behind a pooler wrapped in a
/// transaction of its own, committed before any row is handed back, so a caller never sees a
/// result that might still fail to commit.
impl<'p> Executor<'p> for &'_ TxPool {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        if self.begin.is_none() {
            return self.pool.fetch_many(query);
        }
        let this = self.clone();
        Box::pin(
            stream::once(async move {
                let mut tx = this.begin().await?;
                let rows = tx.fetch_many(query).try_collect::<Vec<_>>().await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(rows)
            })
            .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
            .try_flatten(),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        if self.begin.is_none() {
            return self.pool.fetch_optional(query);
        }
        let this = self.clone();
        Box::pin(async move {
            let mut tx = this.begin().await?;
            let row = tx.fetch_optional(query).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>> {
        let pool = self.pool.clone();
        Box::pin(async move { pool.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>> {
        let pool = self.pool.clone();
        Box::pin(async move { pool.describe(sql).await })
    }
}
