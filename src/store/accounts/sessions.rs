//! Sessions (refresh tokens) and the keys access tokens are signed with.

/// The session and signing-key functions for one backend: `$db` the sqlx database, `$pool` its pool type (PostgreSQL's sets each transaction's
/// isolation level itself behind a pooler), `$now` its SQL for the current instant,
/// `$ago_open`/`$ago_close` wrapped around a placeholder of seconds to make "that many seconds
/// before now".
macro_rules! session_queries {
    ($db:ty, $pool:ty, $now:literal, $ago_open:literal, $ago_close:literal) => {
        use crate::domain::user::{Session, SigningKey};
        use crate::domain::{DomainResult, SessionId, UserId};
        use crate::store::retry::retry;
        use crate::store::rows::{self, KeyRow, SessionRow};

        pub async fn create_session(
            pool: &$pool,
            id: SessionId,
            user: UserId,
            hash: &str,
        ) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query(
                    "INSERT INTO sessions (id, user_id, refresh_hash) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(user)
                .bind(hash)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn session(pool: &$pool, id: SessionId) -> DomainResult<Option<Session>> {
            let row: Option<SessionRow> = retry(|| async move {
                Ok(crate::store::statements::query_as(concat!(
                    "SELECT id, user_id, refresh_hash, created_at, last_refresh_at,
                            revoked_at IS NOT NULL AS revoked, ",
                    $now,
                    " AS now FROM sessions WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(pool)
                .await?)
            })
            .await?;
            rows::one(row)
        }

        pub async fn rotate_session(
            pool: &$pool,
            id: SessionId,
            old: &str,
            new: &str,
        ) -> DomainResult<bool> {
            retry(|| async move {
                let mut tx = pool.begin().await?;
                let done = crate::store::statements::query(concat!(
                    "UPDATE sessions SET refresh_hash = $3, last_refresh_at = ",
                    $now,
                    " WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL"
                ))
                .bind(id)
                .bind(old)
                .bind(new)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                // The spent secret is remembered: presented again, it means a copied token.
                crate::store::statements::query(
                    "INSERT INTO spent_refresh (refresh_hash, session_id) VALUES ($1, $2)
                     ON CONFLICT (refresh_hash) DO NOTHING",
                )
                .bind(old)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
        }

        pub async fn revoke_session(pool: &$pool, id: SessionId, reason: &str) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query(concat!(
                    "UPDATE sessions SET revoked_at = ",
                    $now,
                    ", revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL"
                ))
                .bind(id)
                .bind(reason)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn revoked_sessions(
            pool: &$pool,
            within_secs: i64,
        ) -> DomainResult<Vec<SessionId>> {
            retry(|| async move {
                Ok(crate::store::statements::query_scalar(concat!(
                    "SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at > ",
                    $ago_open,
                    "$1",
                    $ago_close
                ))
                .bind(within_secs)
                .fetch_all(pool)
                .await?)
            })
            .await
        }

        pub async fn signing_keys(pool: &$pool) -> DomainResult<Vec<SigningKey>> {
            let rows: Vec<KeyRow> = retry(|| async move {
                Ok(crate::store::statements::query_as(
                    "SELECT kid, secret, created_at FROM signing_keys WHERE retired_at IS NULL
                     ORDER BY created_at DESC, kid DESC",
                )
                .fetch_all(pool)
                .await?)
            })
            .await?;
            rows::all(rows)
        }

        pub async fn add_signing_key(
            pool: &$pool,
            kid: &str,
            secret: &str,
            only_if_none: bool,
        ) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query(
                    "INSERT INTO signing_keys (kid, secret) SELECT $1, $2
                     WHERE NOT $3 OR NOT EXISTS (SELECT 1 FROM signing_keys)
                     ON CONFLICT (kid) DO NOTHING",
                )
                .bind(kid)
                .bind(secret)
                .bind(only_if_none)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn retire_signing_keys(pool: &$pool, older_than_secs: i64) -> DomainResult<u64> {
            retry(|| async move {
                let done = crate::store::statements::query(concat!(
                    "UPDATE signing_keys SET retired_at = ",
                    $now,
                    " WHERE retired_at IS NULL AND created_at < ",
                    $ago_open,
                    "$1",
                    $ago_close,
                    " AND kid <> (SELECT kid FROM signing_keys WHERE retired_at IS NULL
                                  ORDER BY created_at DESC, kid DESC LIMIT 1)"
                ))
                .bind(older_than_secs)
                .execute(pool)
                .await?;
                Ok(done.rows_affected())
            })
            .await
        }
    };
}
pub(crate) use session_queries;
