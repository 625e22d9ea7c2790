//! Every table and column of a migrated database, on both backends, is either carried by the
//! export format or left out on purpose: a migration that adds one fails here until
//! `src/transfer/tables.rs` (and the README's table) says what becomes of it.

use std::str::FromStr;

use sqlx::{ConnectOptions, Connection};

use carebook::transfer::tables::{table, DERIVED, NOT_EXPORTED};

use super::harness::{settings, Db};

/// Columns of tables only: a view (`access_records`) holds no data of its own to carry.
const PG_COLUMNS: &str =
    "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
     JOIN information_schema.tables t USING (table_schema, table_name) \
     WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY 1, 2";
const SQLITE_COLUMNS: &str =
    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                              WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, 2";

async fn columns(db: &Db) -> Vec<(String, String)> {
    let store = carebook::startup::open_store(&settings(db.url()))
        .await
        .expect("migrate");
    store.close().await;
    match db {
        Db::Pg { url, .. } => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_as(PG_COLUMNS).fetch_all(&mut c).await
        }
        Db::Sqlite { url, .. } => {
            let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .expect("url")
                .connect()
                .await
                .expect("connect");
            sqlx::query_as(SQLITE_COLUMNS).fetch_all(&mut c).await
        }
    }
    .expect("list the columns")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_column_of_both_schemas_is_exported_or_left_out_on_purpose() {
    for db in [Db::fresh_pg(), Db::fresh_sqlite()] {
        let mut unaccounted = Vec::new();
        let all = columns(&db).await;
        assert!(all.len() > 80, "{}: only {} columns", db.url(), all.len());
        for (t, c) in all {
            let carried = table(&t).is_some_and(|t| t.columns.iter().any(|(name, _)| *name == c));
            let excluded = NOT_EXPORTED.iter().any(|(name, _)| *name == t);
            let derived = DERIVED.iter().any(|(dt, dc, _)| *dt == t && *dc == c);
            if !(carried || excluded || derived) {
                unaccounted.push(format!("{t}.{c}"));
            }
        }
        assert!(
            unaccounted.is_empty(),
            "{}: not in the export format: {unaccounted:?}",
            db.url()
        );
    }
}
