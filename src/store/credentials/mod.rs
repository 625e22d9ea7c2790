//! The credentials port ([`crate::domain::credentials::CredentialStore`]) for both adapters.
//!
//! The statements are the same on PostgreSQL and SQLite but for the clock, so one macro writes
//! them once per backend with its "now", "n seconds ago" and "n seconds from now" spelled in.
//! The throttling upsert runs READ COMMITTED on PostgreSQL: parallel attempts on one key then
//! queue on its row and each adds one, where SERIALIZABLE would refuse all but one of them.

mod port;

pub(crate) use port::impl_credential_store;

macro_rules! credential_queries {
    ($db:ty, $pool:ty, $now:literal, $ago_open:literal, $ago_close:literal,
     $later_open:literal, $later_close:literal) => {
        use chrono::{DateTime, Utc};

        use crate::domain::credentials::{
            AccountEvent, Link, LinkPurpose, NewLink, SecretKind, StoredSecret, Window,
        };
        use crate::domain::{DomainError, DomainResult, PatientId, SessionId, UserId};
        use crate::store::retry::{in_tx, retry};
        use crate::store::statements::{query, query_as, query_scalar};

        pub async fn take_attempt(
            pool: &$pool,
            keys: &[(String, i64)],
        ) -> DomainResult<Vec<Window>> {
            // In key order, so two attempts locking the same rows never wait on each other
            // in a circle.
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by(|a, b| keys[*a].0.cmp(&keys[*b].0));
            let order = &order;
            let windows: Vec<(usize, Window)> = in_tx(|| begin_short(pool), |mut tx| async move {
                let mut out = Vec::with_capacity(keys.len());
                for &i in order {
                    let (key, secs) = &keys[i];
                    let (failures, start, secs, now): (i64, DateTime<Utc>, i64, DateTime<Utc>) =
                        query_as(concat!(
                            "INSERT INTO login_throttle AS t (key, window_secs, window_start, failures)
                             VALUES ($1, $2, ", $now, ", 1)
                             ON CONFLICT (key) DO UPDATE SET
                               window_start = CASE WHEN t.window_start <= ",
                            $ago_open, "t.window_secs", $ago_close,
                            " THEN ", $now, " ELSE t.window_start END,
                               failures = CASE WHEN t.window_start <= ",
                            $ago_open, "t.window_secs", $ago_close,
                            " THEN 1 ELSE t.failures + 1 END,
                               window_secs = excluded.window_secs
                             RETURNING CAST(failures AS bigint), window_start,
                                       CAST(window_secs AS bigint), ", $now
                        ))
                        .bind(key)
                        .bind(*secs as i32)
                        .fetch_one(&mut *tx)
                        .await?;
                    let left = (start + chrono::Duration::seconds(secs) - now).num_seconds();
                    let window = Window {
                        failures,
                        // `now` is this transaction's start, which can precede the window's
                        // start when a parallel attempt opened the window while this one
                        // waited for the row: never promise more than the window's length.
                        retry_after_secs: (left + 1).clamp(1, secs),
                    };
                    out.push((i, window));
                }
                Ok((out, tx))
            })
            .await?;
            let mut windows = windows;
            windows.sort_by_key(|(i, _)| *i);
            Ok(windows.into_iter().map(|(_, w)| w).collect())
        }

        pub async fn give_back_attempts(
            pool: &$pool,
            keys: &[String],
            reset: &[String],
        ) -> DomainResult<()> {
            // In key order, as `take_attempt` locks them: never a circle of waits.
            let mut keys: Vec<&String> = keys.iter().collect();
            keys.sort();
            let keys = &keys;
            in_tx(|| begin_short(pool), |mut tx| async move {
                for key in keys {
                    query("UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                }
                for key in reset {
                    query("DELETE FROM login_throttle WHERE key = $1")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(((), tx))
            })
            .await
        }

        pub async fn purge_credentials(pool: &$pool) -> DomainResult<u64> {
            in_tx(|| begin_short(pool), |mut tx| async move {
                let a = query(concat!(
                    "DELETE FROM login_throttle WHERE window_start < ", $ago_open, "172800", $ago_close
                ))
                .execute(&mut *tx)
                .await?;
                let b = query(concat!(
                    "DELETE FROM link_tokens WHERE expires_at < ", $ago_open, "86400", $ago_close
                ))
                .execute(&mut *tx)
                .await?;
                Ok((a.rows_affected() + b.rows_affected(), tx))
            })
            .await
        }

        pub async fn address_in_use(pool: &$pool, email: &str) -> DomainResult<bool> {
            retry(|| async move {
                let n: i64 = query_scalar(
                    "SELECT (SELECT count(*) FROM users WHERE lower(email) = lower($1))
                          + (SELECT count(*) FROM patients WHERE lower(email) = lower($1))",
                )
                .bind(email)
                .fetch_one(pool)
                .await?;
                Ok(n > 0)
            })
            .await
        }

        pub async fn create_link(pool: &$pool, link: &NewLink) -> DomainResult<()> {
            retry(|| async move {
                query(concat!(
                    "INSERT INTO link_tokens (token_hash, purpose, email, user_id, patient_id, payload, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, ", $later_open, "$7", $later_close, ")"
                ))
                .bind(&link.token_hash)
                .bind(link.purpose.as_str())
                .bind(&link.email)
                .bind(link.user_id)
                .bind(link.patient_id)
                .bind(&link.payload)
                .bind(link.valid_secs)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn spend_link(
            pool: &$pool,
            purpose: LinkPurpose,
            token_hash: &str,
        ) -> DomainResult<Link> {
            let row: Option<(String, Option<UserId>, Option<PatientId>, Option<String>)> =
                in_tx(|| begin_short(pool), |mut tx| async move {
                    let row = query_as(concat!(
                        "UPDATE link_tokens SET used_at = ", $now,
                        " WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL
                           AND expires_at > ", $now,
                        " RETURNING email, user_id, patient_id, payload"
                    ))
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    Ok((row, tx))
                })
                .await?;
            let (email, user_id, patient_id, payload) = row.ok_or(DomainError::NotFound("link"))?;
            Ok(Link {
                email,
                user_id,
                patient_id,
                payload,
            })
        }

        pub async fn enrol_second_factor(
            pool: &$pool,
            user: UserId,
            sealed: &str,
            hashes: &[String],
        ) -> DomainResult<()> {
            in_tx(|| pool.begin(), |mut tx| async move {
                query(concat!(
                    "UPDATE users SET totp_secret = $2, totp_enabled = false, updated_at = ", $now,
                    " WHERE id = $1"
                ))
                .bind(user)
                .bind(sealed)
                .execute(&mut *tx)
                .await?;
                query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                for h in hashes {
                    query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(user)
                        .bind(h)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(((), tx))
            })
            .await
        }

        pub async fn clear_second_factor(
            pool: &$pool,
            user: UserId,
            event: &AccountEvent,
        ) -> DomainResult<()> {
            in_tx(|| pool.begin(), |mut tx| async move {
                query(concat!(
                    "UPDATE users SET totp_secret = NULL, totp_enabled = false, updated_at = ", $now,
                    " WHERE id = $1"
                ))
                .bind(user)
                .execute(&mut *tx)
                .await?;
                query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                insert_event(&mut *tx, event).await?;
                Ok(((), tx))
            })
            .await
        }

        /// Appends an account audit row on the caller's connection.
        pub async fn insert_event(
            conn: &mut <$db as sqlx::Database>::Connection,
            e: &AccountEvent,
        ) -> Result<(), sqlx::Error> {
            query(
                "INSERT INTO account_audit (actor_id, actor_role, user_id, action, request_id)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(e.actor_id)
            .bind(&e.actor_role)
            .bind(e.user_id)
            .bind(e.action)
            .bind(&e.request_id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub async fn use_recovery_code(pool: &$pool, user: UserId, hash: &str) -> DomainResult<bool> {
            in_tx(|| begin_short(pool), |mut tx| async move {
                let done = query(concat!(
                    "UPDATE recovery_codes SET used_at = ", $now,
                    " WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL"
                ))
                .bind(user)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
                Ok((done.rows_affected() == 1, tx))
            })
            .await
        }

        pub async fn advance_totp_step(pool: &$pool, user: UserId, step: i64) -> DomainResult<bool> {
            in_tx(|| begin_short(pool), |mut tx| async move {
                let done = query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
                    .bind(user)
                    .bind(step)
                    .execute(&mut *tx)
                    .await?;
                Ok((done.rows_affected() == 1, tx))
            })
            .await
        }

        pub async fn is_spent_refresh(
            pool: &$pool,
            session: SessionId,
            hash: &str,
        ) -> DomainResult<bool> {
            retry(|| async move {
                let n: i64 = query_scalar(
                    "SELECT count(*) FROM spent_refresh WHERE session_id = $1 AND refresh_hash = $2",
                )
                .bind(session)
                .bind(hash)
                .fetch_one(pool)
                .await?;
                Ok(n > 0)
            })
            .await
        }

        pub async fn stored_secrets(pool: &$pool) -> DomainResult<Vec<StoredSecret>> {
            let (keys, totp, hooks) = in_tx(|| pool.begin(), |mut tx| async move {
                let keys: Vec<(String, String)> =
                    query_as("SELECT kid, secret FROM signing_keys ORDER BY kid")
                        .fetch_all(&mut *tx)
                        .await?;
                let totp: Vec<(UserId, String)> = query_as(
                    "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL ORDER BY id",
                )
                .fetch_all(&mut *tx)
                .await?;
                let hooks: Vec<(uuid::Uuid, String)> =
                    query_as("SELECT id, secret FROM webhooks ORDER BY id")
                        .fetch_all(&mut *tx)
                        .await?;
                Ok(((keys, totp, hooks), tx))
            })
            .await?;
            let secret = |kind, row: String, value| StoredSecret { kind, row, value };
            Ok(keys
                .into_iter()
                .map(|(k, v)| secret(SecretKind::SigningKey, k, v))
                .chain(totp.into_iter().map(|(u, v)| secret(SecretKind::Totp, u.to_string(), v)))
                .chain(hooks.into_iter().map(|(w, v)| secret(SecretKind::Webhook, w.to_string(), v)))
                .collect())
        }

        pub async fn replace_secrets(
            pool: &$pool,
            changes: &[(StoredSecret, String)],
        ) -> DomainResult<u64> {
            in_tx(|| pool.begin(), |mut tx| async move {
                let mut n = 0;
                for (old, new) in changes {
                    let id = || {
                        uuid::Uuid::try_parse(&old.row)
                            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
                    };
                    let done = match old.kind {
                        SecretKind::SigningKey => {
                            query("UPDATE signing_keys SET secret = $3 WHERE kid = $1 AND secret = $2")
                                .bind(&old.row)
                                .bind(&old.value)
                                .bind(new)
                                .execute(&mut *tx)
                                .await?
                        }
                        SecretKind::Totp => {
                            query("UPDATE users SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2")
                                .bind(id()?)
                                .bind(&old.value)
                                .bind(new)
                                .execute(&mut *tx)
                                .await?
                        }
                        SecretKind::Webhook => {
                            query("UPDATE webhooks SET secret = $3 WHERE id = $1 AND secret = $2")
                                .bind(id()?)
                                .bind(&old.value)
                                .bind(new)
                                .execute(&mut *tx)
                                .await?
                        }
                    };
                    n += done.rows_affected();
                }
                Ok((n, tx))
            })
            .await
        }

        pub async fn record_account_event(pool: &$pool, e: &AccountEvent) -> DomainResult<()> {
            in_tx(|| pool.begin(), |mut tx| async move {
                insert_event(&mut *tx, e).await?;
                Ok(((), tx))
            })
            .await
        }
    };
}

/// The PostgreSQL spelling.
pub mod pg {
    use crate::store::postgres::tx_pool::TxPool;

    /// A short transaction of single-row writes that must queue on their row, not refuse.
    async fn begin_short(
        pool: &TxPool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        pool.begin_with("ISOLATION LEVEL READ COMMITTED").await
    }

    credential_queries!(
        sqlx::Postgres,
        TxPool,
        "now()",
        "(now() - make_interval(secs => ",
        "::float8))",
        "(now() + make_interval(secs => ",
        "::float8))"
    );
}

/// The SQLite spelling: instants are fixed-format UTC text.
pub mod lite {
    type Pool = sqlx::Pool<sqlx::Sqlite>;

    /// One writer: every transaction runs alone.
    async fn begin_short(
        pool: &Pool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        pool.begin().await
    }

    credential_queries!(
        sqlx::Sqlite,
        Pool,
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ",
        " || ' seconds')",
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || ",
        " || ' seconds')"
    );
}
