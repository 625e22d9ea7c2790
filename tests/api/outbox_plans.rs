//! Background statements are planned for the data they find. PostgreSQL may keep a prepared
//! statement's generic plan after five executions; a plan chosen while the outbox was empty
//! (every estimate one row) scanned the whole pending index once per claimed row, and a
//! server that had idled before its first burst drained the backlog at about 100 rows a
//! second (BENCHMARKS.md, fifth session). Measured here by the index entries one claim reads.

use std::time::Duration;

use crate::common::{Backend, TestApp};

/// Index entries read from `index` so far, as the statistics collector last heard.
async fn entries_read(conn: &mut sqlx::PgConnection, index: &str) -> i64 {
    sqlx::query_scalar("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = $1")
        .bind(index)
        .fetch_one(conn)
        .await
        .expect("index statistics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_primed_on_an_empty_outbox_still_reads_the_backlog_by_index() {
    // One connection, so every claim below runs on the same session and its statement cache.
    let app = TestApp::spawn_with(Backend::Postgres, |s| s.pool_size = 1).await;
    for _ in 0..10 {
        assert!(app.store.claim_outbox(50, 60).await.unwrap().is_empty());
    }
    app.execute_raw(
        "INSERT INTO outbox (event, appointment_id, channel) \
         SELECT 'appointment.booked', gen_random_uuid(), 'email' FROM generate_series(1, 2000)",
    )
    .await
    .expect("backlog");
    let mut conn = app.pg_connection().await;
    let due_before = entries_read(&mut conn, "outbox_due_idx").await;
    let order_before = entries_read(&mut conn, "outbox_order_idx").await;
    let claimed = app.store.claim_outbox(50, 60).await.unwrap();
    assert_eq!(claimed.len(), 50);
    // A backend reports its counters when it goes idle, up to a second later: wait for the
    // claim's reads of the due index to show, then compare.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while entries_read(&mut conn, "outbox_due_idx").await == due_before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the claim's statistics never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let order_reads = entries_read(&mut conn, "outbox_order_idx").await - order_before;
    // By index: a lookup per claimed row (at most an entry or two each). The generic plan
    // read all 2,000 pending entries for each of the 50: 100,000.
    assert!(
        order_reads <= 500,
        "one claim of 50 read {order_reads} entries of outbox_order_idx"
    );
}
