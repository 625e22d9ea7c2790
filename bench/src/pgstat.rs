//! What PostgreSQL was doing during a window: what its backends waited on (sampled from
//! `pg_stat_activity` every 50 ms) and how many commits shared one WAL flush (`pg_stat_wal`).
//! Needs no extension and no restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};

/// PostgreSQL's side of a window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PgWindow {
    /// Samples of `pg_stat_activity` taken.
    pub samples: u64,
    /// Length of the sampled window, s.
    pub seconds: f64,
    /// Mean number of the database's backends in each state: `CPU` (active, not waiting),
    /// `<wait_event_type>:<wait_event>` (active, waiting), or the idle state names.
    pub backends: BTreeMap<String, f64>,
    /// Committed transactions in the database (`pg_stat_database`).
    pub commits: i64,
    /// Rolled-back transactions (serialization failures, refused bookings, …).
    pub rollbacks: i64,
    /// WAL flushes to disk, server-wide (`pg_stat_wal.wal_sync`).
    pub wal_syncs: i64,
    /// WAL bytes written, server-wide.
    pub wal_bytes: i64,
    /// Full-page images written to WAL, server-wide.
    pub wal_fpi: i64,
    /// `commits / wal_syncs`: how many commits each flush carried (group commit).
    pub commits_per_wal_sync: f64,
    /// `wal_bytes / commits`.
    pub wal_bytes_per_commit: f64,
}

/// Cumulative counters at one instant.
struct Counters {
    commits: i64,
    rollbacks: i64,
    wal_syncs: i64,
    wal_bytes: i64,
    wal_fpi: i64,
}

async fn counters(c: &mut PgConnection) -> Result<Counters, sqlx::Error> {
    let (commits, rollbacks, wal_syncs, wal_bytes, wal_fpi): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT d.xact_commit, d.xact_rollback, w.wal_sync, w.wal_bytes::bigint, w.wal_fpi
         FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()",
        )
        .fetch_one(c)
        .await?;
    Ok(Counters {
        commits,
        rollbacks,
        wal_syncs,
        wal_bytes,
        wal_fpi,
    })
}

async fn sample(c: &mut PgConnection, into: &mut BTreeMap<String, f64>) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU')
                     ELSE coalesce(state, 'unknown') END, count(*)
         FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
         GROUP BY 1",
    )
    .fetch_all(c)
    .await?;
    for (k, n) in rows {
        *into.entry(k).or_default() += n as f64;
    }
    Ok(())
}

/// Samples a database until [`PgSampler::finish`].
pub struct PgSampler {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<Result<PgWindow, String>>,
}

impl PgSampler {
    /// Connects to `url` and starts sampling (bounded to `limit`). With `settle`, the final
    /// counters are read a second after the window, once backends have published theirs (for
    /// windows after which the load stops; under steady load the lag cancels out).
    pub async fn start(url: &str, limit: Duration, settle: bool) -> Result<Self, String> {
        let mut conn = PgConnection::connect(url)
            .await
            .map_err(|e| format!("pg stats: {e}"))?;
        // Flush this session's view so the counters are current.
        let _ = sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut conn)
            .await;
        let first = counters(&mut conn)
            .await
            .map_err(|e| format!("pg stats: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = tokio::spawn(async move {
            let started = Instant::now();
            let deadline = started + limit;
            let mut w = PgWindow::default();
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let _ = sqlx::query("SELECT pg_stat_clear_snapshot()")
                    .execute(&mut conn)
                    .await;
                sample(&mut conn, &mut w.backends)
                    .await
                    .map_err(|e| e.to_string())?;
                w.samples += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            w.seconds = started.elapsed().as_secs_f64();
            if settle {
                // Backends publish their counters about once a second: let the last ones land.
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            let _ = sqlx::query("SELECT pg_stat_clear_snapshot()")
                .execute(&mut conn)
                .await;
            let last = counters(&mut conn).await.map_err(|e| e.to_string())?;
            let _ = conn.close().await;
            let n = w.samples.max(1) as f64;
            for v in w.backends.values_mut() {
                *v /= n;
            }
            w.commits = last.commits - first.commits;
            w.rollbacks = last.rollbacks - first.rollbacks;
            w.wal_syncs = last.wal_syncs - first.wal_syncs;
            w.wal_bytes = last.wal_bytes - first.wal_bytes;
            w.wal_fpi = last.wal_fpi - first.wal_fpi;
            w.commits_per_wal_sync = w.commits as f64 / (w.wal_syncs.max(1) as f64);
            w.wal_bytes_per_commit = w.wal_bytes as f64 / (w.commits.max(1) as f64);
            Ok(w)
        });
        Ok(Self { stop, handle })
    }

    /// Stops sampling and returns the window.
    pub async fn finish(self) -> Result<PgWindow, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .await
            .map_err(|e| format!("pg stats: {e}"))?
            .map_err(|e| format!("pg stats: {e}"))
    }
}
