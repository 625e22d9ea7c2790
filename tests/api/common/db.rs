//! Reading and writing the test database behind the app's back, on a connection of the test's
//! own: the signing key (to forge tokens), session instants (to age a session without waiting),
//! and arbitrary statements (to check the database itself refuses them).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use uuid::Uuid;

use super::clock::Raw;
use super::TestApp;

/// The columns of `sessions` a test may move back in time.
#[derive(Debug, Clone, Copy)]
pub enum SessionInstant {
    CreatedAt,
    LastRefreshAt,
}

impl SessionInstant {
    fn column(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::LastRefreshAt => "last_refresh_at",
        }
    }
}

impl TestApp {
    /// The newest signing key not retired: its `kid` and its secret bytes (unsealed).
    pub async fn signing_key(&self) -> (String, Vec<u8>) {
        const SQL: &str = "SELECT kid, secret FROM signing_keys WHERE retired_at IS NULL \
                           ORDER BY created_at DESC LIMIT 1";
        let (kid, secret): (String, String) = match &mut self.raw().await {
            Raw::Pg(c) => sqlx::query_as(SQL).fetch_one(c).await,
            Raw::Sqlite(c) => sqlx::query_as(SQL).fetch_one(c).await,
        }
        .expect("a signing key");
        // Kept sealed under the master key: opened with the test apps' key.
        let aad = carebook::auth::vault::signing_key_aad(&kid);
        let secret = super::test_vault()
            .open(&aad, &secret)
            .expect("a secret sealed with the test key");
        (kid, STANDARD.decode(secret).expect("base64 secret"))
    }

    /// Sets a session's instant to the database clock's now minus `ago`.
    pub async fn age_session(&self, session: &str, which: SessionInstant, ago: chrono::Duration) {
        let id: Uuid = session.parse().expect("session id");
        let secs = ago.num_seconds();
        let col = which.column();
        let n = match &mut self.raw().await {
            Raw::Pg(c) => sqlx::query(&format!(
                "UPDATE sessions SET {col} = now() - make_interval(secs => $2) WHERE id = $1"
            ))
            .bind(id)
            .bind(secs as f64)
            .execute(c)
            .await
            .map(|r| r.rows_affected()),
            Raw::Sqlite(c) => sqlx::query(&format!(
                "UPDATE sessions SET {col} = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) WHERE id = ?1"
            ))
            .bind(id)
            .bind(format!("-{secs} seconds"))
            .execute(c)
            .await
            .map(|r| r.rows_affected()),
        }
        .expect("move the session's instant");
        assert_eq!(n, 1, "no session {session}");
    }

    /// Runs one statement on a connection of the test's own; the rows it affected, or the
    /// database's refusal as text.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, String> {
        match &mut self.raw().await {
            Raw::Pg(c) => sqlx::query(sql).execute(c).await.map(|r| r.rows_affected()),
            Raw::Sqlite(c) => sqlx::query(sql).execute(c).await.map(|r| r.rows_affected()),
        }
        .map_err(|e| e.to_string())
    }

    /// A PostgreSQL connection of the test's own to the app's database (panics on SQLite).
    pub async fn pg_connection(&self) -> sqlx::PgConnection {
        match self.raw().await {
            Raw::Pg(c) => c,
            Raw::Sqlite(_) => panic!("pg_connection on SQLite"),
        }
    }

    /// `SELECT count(*)` of a table (or any `FROM …` clause).
    pub async fn count_rows(&self, from: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {from}");
        match &mut self.raw().await {
            Raw::Pg(c) => sqlx::query_scalar(&sql).fetch_one(c).await,
            Raw::Sqlite(c) => sqlx::query_scalar(&sql).fetch_one(c).await,
        }
        .expect("count rows")
    }
}
