//! Write use cases that can run inside a transaction they do not own: alone, or in a group that
//! shares one transaction and one commit (`group.rs`).

use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};

use super::tx::{begin_write, db_now};
use crate::domain::{DomainError, DomainResult};
use crate::store::retry::{retry, TxError};

/// The savepoint statements a group runs before a request's first statement (see `group.rs`),
/// folded into that statement's round trip where the request can: SQLite's round trips, not its
/// work, are what the single writer spends most on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Alone, or the savepoint is already open.
    None,
    /// Opens the group's first savepoint.
    First,
    /// Keeps the previous request's writes and opens this one's savepoint.
    Next,
    /// Undoes the previous request's writes and opens this one's savepoint.
    UndoThenNext,
}

impl Opening {
    /// The statements on their own, for a request that cannot fold them into its first one.
    pub fn sql(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::First => Some("SAVEPOINT job"),
            Self::Next => Some("RELEASE job; SAVEPOINT job"),
            Self::UndoThenNext => Some("ROLLBACK TO job; RELEASE job; SAVEPOINT job"),
        }
    }

    /// Runs the statements on their own; afterwards there is nothing left to open.
    pub async fn run(self, conn: &mut SqliteConnection) -> Result<Opening, sqlx::Error> {
        if let Some(sql) = self.sql() {
            sqlx::query(sql).execute(conn).await?;
        }
        Ok(Self::None)
    }
}

/// What a write use case run inside a larger transaction decided.
///
/// `Ok(Ok(v))`: done, keep its writes. `Ok(Err(refusal))`: refused, but keep its writes (an
/// overdue hold expired on the way is committed even when the request is refused, as on
/// PostgreSQL). `Err(TxError::Domain(e))`: refused, undo its writes. `Err(TxError::Db(e))`: the
/// database failed; the enclosing transaction must not be committed.
pub type Step<T> = Result<Result<T, DomainError>, TxError>;

/// A write use case that can run inside a transaction it does not own: alone, or in a group
/// that shares one transaction and one commit (see `group.rs`).
#[async_trait]
pub trait WriteStep: Sync {
    /// What the use case answers.
    type Out: Send;
    /// Runs the use case on `conn`, inside a write transaction, as of `now`, after the
    /// savepoint statements `opening` (which it may fold into its first statement).
    async fn step(
        &self,
        conn: &mut SqliteConnection,
        now: &str,
        opening: Opening,
    ) -> Step<Self::Out>;
}

/// Runs `step` alone in its own write transaction, retried as a whole on a busy database: the
/// path of a write that is not group-committed, and the fallback when a group fails.
pub async fn alone<S: WriteStep>(pool: &SqlitePool, step: &S) -> DomainResult<S::Out> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let decided = step.step(&mut tx, &now, Opening::None).await?;
        tx.commit().await?;
        decided.map_err(TxError::Domain)
    })
    .await
}
