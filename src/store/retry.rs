//! Bounded, jittered retry of whole transactions, and the mapping of database errors.

use std::time::Duration;

use crate::domain::DomainError;
use crate::observability as metrics;

/// A failure inside a transaction attempt: a domain answer, or a database error to classify.
#[derive(Debug)]
pub enum TxError {
    Domain(DomainError),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl From<DomainError> for TxError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

/// How many times a transaction is tried before answering 503.
pub const MAX_ATTEMPTS: u32 = 12;

/// Whether the error means "run the whole transaction again": serialization failure or
/// deadlock on PostgreSQL, a busy or locked database on SQLite.
pub fn is_retryable(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    matches!(
        db.code().as_deref(),
        Some("40001" | "40P01" | "5" | "6" | "261" | "517" | "262")
    )
}

/// Whether the error means the database cannot be reached at all.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_)
    ) || e
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| {
            c.starts_with("08")
                || c.starts_with("57P")
                // too many connections; out of (shared) memory, e.g. SSI's predicate-lock
                // table full while long transactions keep it from being summarised;
                // lock_timeout; statement_timeout (query canceled)
                || matches!(c.as_ref(), "53300" | "53200" | "55P03" | "57014")
        })
}

/// The domain error for a database error that no use case mapped.
pub fn unmapped(e: sqlx::Error) -> DomainError {
    if is_unavailable(&e) || is_retryable(&e) {
        DomainError::Unavailable(Box::new(e))
    } else {
        DomainError::Internal(Box::new(e))
    }
}

/// The SQLSTATE (or SQLite result code) of a database error, empty for other errors.
fn sqlstate(e: &sqlx::Error) -> String {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// Why the database was unavailable, for the 503 metric: `retries_exhausted` (serialization
/// failures or a busy database to the last try), `pool_timeout`, `lock_timeout`,
/// `statement_timeout`, else `database`.
pub fn unavailable_cause(e: &(dyn std::error::Error + 'static)) -> &'static str {
    if e.is::<super::gate::GateTimeout>() {
        return "lock_timeout";
    }
    let Some(e) = e.downcast_ref::<sqlx::Error>() else {
        return "database";
    };
    match (e, sqlstate(e).as_str()) {
        (sqlx::Error::PoolTimedOut, _) => "pool_timeout",
        (_, "55P03") => "lock_timeout",
        (_, "57014") => "statement_timeout",
        (e, _) if is_retryable(e) => "retries_exhausted",
        _ => "database",
    }
}

/// Backoff before attempt `n` (1-based): exponential from 2 ms, capped, fully jittered.
fn backoff(n: u32) -> Duration {
    let cap_ms = (2u64 << n.min(6)).min(100);
    Duration::from_micros(fastrand::u64(500..=cap_ms * 1000))
}

/// Runs `work` in the transaction `begin` opens and commits it, the whole retried as [`retry`]
/// retries it. `work` hands the transaction back so that it can be committed; a refusal
/// (`Err`) drops it, rolling back.
pub async fn in_tx<DB, T, B, BFut, F, Fut>(begin: B, work: F) -> Result<T, DomainError>
where
    DB: sqlx::Database,
    B: Fn() -> BFut,
    BFut: std::future::Future<Output = Result<sqlx::Transaction<'static, DB>, sqlx::Error>>,
    F: Fn(sqlx::Transaction<'static, DB>) -> Fut,
    Fut: std::future::Future<Output = Result<(T, sqlx::Transaction<'static, DB>), TxError>>,
{
    retry(|| async {
        let (value, tx) = work(begin().await?).await?;
        tx.commit().await?;
        Ok(value)
    })
    .await
}

/// Runs `attempt` until it succeeds, fails with a non-retryable error, or runs out of tries.
pub async fn retry<T, F, Fut>(attempt: F) -> Result<T, DomainError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, TxError>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match attempt().await {
            Ok(v) => {
                metrics::transaction(if n == 1 {
                    "committed"
                } else {
                    "committed_after_retry"
                });
                return Ok(v);
            }
            Err(TxError::Domain(e)) => {
                metrics::transaction("refused");
                return Err(e);
            }
            Err(TxError::Db(e)) if is_retryable(&e) && n < MAX_ATTEMPTS => {
                metrics::retried(sqlstate(&e));
                tokio::time::sleep(backoff(n)).await;
            }
            Err(TxError::Db(e)) => {
                metrics::transaction(if is_retryable(&e) {
                    "retries_exhausted"
                } else {
                    "failed"
                });
                return Err(unmapped(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        for n in 1..20 {
            assert!(backoff(n) <= Duration::from_millis(100));
        }
    }
}
