//! carebook behind a transaction-pooling PgBouncer (Debian's 1.18, the shipped
//! `deploy/pgbouncer.ini`) with `DB_STATEMENT_CACHE=off`: writes still run SERIALIZABLE with
//! carebook's time limits, statements survive hopping between server connections, and the
//! capacity race still holds. (`.ci/run` also runs the whole PostgreSQL suite through one.)

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{PgBouncer, TestApp};

/// Records, from inside each write, the isolation level and limits it ran with.
const SPY: &str = "
CREATE TABLE write_spy (tbl text, op text, isolation text, lock_timeout text, statement_timeout text);
CREATE FUNCTION spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO write_spy VALUES (TG_TABLE_NAME, TG_OP, current_setting('transaction_isolation'),
        current_setting('lock_timeout'), current_setting('statement_timeout'));
    RETURN NULL;
END $$;
CREATE TRIGGER spy AFTER INSERT OR UPDATE ON doctors FOR EACH ROW EXECUTE FUNCTION spy();
CREATE TRIGGER spy AFTER INSERT OR UPDATE ON patients FOR EACH ROW EXECUTE FUNCTION spy();
CREATE TRIGGER spy AFTER INSERT OR UPDATE ON time_slots FOR EACH ROW EXECUTE FUNCTION spy();
CREATE TRIGGER spy AFTER INSERT OR UPDATE ON appointments FOR EACH ROW EXECUTE FUNCTION spy();
CREATE TRIGGER spy AFTER INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION spy();
";

/// (table, operation, isolation, lock_timeout, statement_timeout) of every spied write.
type Seen = Vec<(String, String, String, String, String)>;

async fn seen(app: &TestApp) -> Seen {
    let mut c = app.pg_connection().await;
    sqlx::query_as("SELECT * FROM write_spy ORDER BY 1, 2")
        .fetch_all(&mut c)
        .await
        .expect("read the spy table")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_pgbouncer_run_serializable_with_the_configured_limits() {
    // Three server connections for the app's twenty client connections: consecutive
    // transactions of one client connection land on different server connections, where a
    // statement prepared under a name by an earlier one does not exist.
    let app = TestApp::spawn_through_pgbouncer(&[("default_pool_size", "3".into())], |s| {
        s.db.lock = Duration::from_millis(1234);
        s.db.statement = Duration::from_millis(4321);
    })
    .await;
    let mut spy = app.pg_connection().await;
    sqlx::raw_sql(SPY)
        .execute(&mut spy)
        .await
        .expect("install the spy");

    // Single-statement writes (create, book, confirm, cancel) and multi-statement ones
    // (patient update, slot status), many at once.
    let d = app.doctor().await;
    let times: Vec<String> = (0..6).map(|i| format!("1{i}:00")).collect();
    let slots = join_all(times.iter().map(|t| app.slot(&d, 2, t, 3))).await;
    let patients = join_all((0..6).map(|_| app.patient())).await;
    let booked = join_all(patients.iter().zip(&slots).map(|(p, s)| app.book(p, &d, s))).await;
    let mut ids = Vec::new();
    for (s, b) in &booked {
        assert_eq!(*s, StatusCode::CREATED, "{b}");
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    let (s, b) = app
        .post(&format!("/appointments/{}/confirm", ids[0]), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .post(
            &format!("/appointments/{}/cancel", ids[1]),
            json!({"reason": "moved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .patch(
            &format!("/patients/{}", patients[0]),
            json!({"phone": "+1 555 010 9999"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let rows = seen(&app).await;
    let tables: std::collections::BTreeSet<_> = rows.iter().map(|r| r.0.as_str()).collect();
    for t in ["appointments", "doctors", "patients", "time_slots"] {
        assert!(tables.contains(t), "no write to {t} seen: {rows:?}");
    }
    for (tbl, op, isolation, lock, statement) in &rows {
        assert_eq!(isolation, "serializable", "{op} on {tbl}");
        assert_eq!(lock, "1234ms", "{op} on {tbl}");
        assert_eq!(statement, "4321ms", "{op} on {tbl}");
    }

    // The spy can tell: a write through the same PgBouncer without carebook's BEGIN runs at
    // the server's default.
    let pooled = format!(
        "{}/{}",
        app.pooler_server().expect("pooler"),
        app.database_name()
    );
    let mut plain = <sqlx::PgConnection as sqlx::Connection>::connect(&pooled)
        .await
        .expect("connect through pgbouncer");
    sqlx::raw_sql("UPDATE doctors SET updated_at = now()")
        .execute(&mut plain)
        .await
        .expect("plain update");
    let plain_rows: Vec<_> = seen(&app)
        .await
        .into_iter()
        .filter(|r| r.2 != "serializable")
        .collect();
    assert_eq!(plain_rows.len(), 1, "{plain_rows:?}");
    assert_eq!(plain_rows[0].2, "read committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_seats_race_holds_through_pgbouncer() {
    let app = TestApp::spawn_through_pgbouncer(&[("default_pool_size", "4".into())], |_| {}).await;
    let d = app.doctor().await;
    let slot = app.slot(&d, 3, "09:00", 4).await;
    let patients = join_all((0..24).map(|_| app.patient())).await;
    let answers = join_all(patients.iter().map(|p| app.book(p, &d, &slot))).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    for (s, b) in &answers {
        assert!(
            *s == StatusCode::CREATED || *s == StatusCode::CONFLICT,
            "{s}: {b}"
        );
    }
    assert_eq!(created, 4);
    let live = app
        .count_rows(&format!(
            "appointments WHERE time_slot_id = '{slot}' AND status = 'PENDING'"
        ))
        .await;
    assert_eq!(live, 4);
    assert_eq!(app.slot_view(&d, &slot).await["current_bookings"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_created_and_migrated_through_pgbouncer() {
    let server = crate::common::pg_base();
    let pooler = PgBouncer::start(&server, &[]);
    let name = format!("carebook_test_{}", uuid::Uuid::new_v4().simple());
    let mut s = crate::common::settings(&format!("{}/{name}", pooler.server));
    s.db.statement_cache = false;
    let store = carebook::startup::open_store(&s)
        .await
        .expect("create, migrate and open through pgbouncer");
    // Opening again (a second instance) finds it migrated.
    let again = carebook::startup::open_store(&s).await.expect("reopen");
    again.close().await;
    store.close().await;
    drop(pooler);
    let direct = format!("{server}/{name}");
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&direct)
        .await
        .expect("the database exists");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut db)
        .await
        .expect("migrations table");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations")
        .count();
    assert_eq!(applied, shipped as i64);
    drop(db);
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{server}/postgres"))
            .await
            .expect("connect");
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop the test database");
}
