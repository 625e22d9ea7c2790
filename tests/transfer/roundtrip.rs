//! SQLite → export → import into PostgreSQL → every API read answers the same; and back.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use carebook::transfer::{export, import, ImportOptions};

use super::harness::{settings, Db, Scratch, Server, PASSWORD};
use super::populate::populate;
use super::reads::{assert_same, snapshot, to_millis};

/// The row lines of an export file (without the header), as a set.
fn rows(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).expect("read the export");
    text.lines().skip(1).map(str::to_owned).collect()
}

fn count(summary: &carebook::transfer::Summary, table: &str) -> u64 {
    summary
        .counts
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, n)| *n)
        .unwrap_or_else(|| panic!("no count for {table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_every_read_answers_the_same() {
    let files = Scratch::new("files");
    let (source, target) = (Db::fresh_sqlite(), Db::fresh_pg());
    let original = Server::start(source.url()).await;
    let ids = populate(&original, source.url()).await;

    // Exported while the server is running: one snapshot.
    let file = files.join("carebook.jsonl");
    let out = export(&settings(source.url()), &file)
        .await
        .expect("export");
    assert_eq!(out.source_backend, "sqlite");
    let imported = import(&settings(target.url()), &file, ImportOptions::default())
        .await
        .expect("import");
    assert_eq!(imported.counts, out.counts);
    assert_eq!(count(&imported, "doctors"), 3);
    assert_eq!(count(&imported, "patients"), 5);
    assert_eq!(count(&imported, "appointments"), 6);
    assert_eq!(count(&imported, "users"), 5);
    assert_eq!(count(&imported, "idempotency_keys"), 1);
    assert_eq!(count(&imported, "reviews"), 1);
    assert!(count(&imported, "appointment_audit_log") >= 12);
    assert!(count(&imported, "access_log") >= 10);

    // PostgreSQL exports the very rows SQLite did: the canonical form does not depend on the
    // backend.
    let again = files.join("again.jsonl");
    let out2 = export(&settings(target.url()), &again)
        .await
        .expect("export the copy");
    assert_eq!(out2.source_backend, "postgres");
    assert_eq!(out2.counts, out.counts);
    assert!(rows(&file) == rows(&again), "the PostgreSQL export differs");

    assert_eq!(miscounted_holds(target.url()).await, 0);
    assert_eq!(
        queued_deliveries(target.url()).await,
        0,
        "an import tells no one about old changes"
    );

    let copy = Server::start(target.url()).await;
    let (a, b) = (snapshot(&original, &ids).await, snapshot(&copy, &ids).await);
    assert_same(&a, &b);

    // Accounts work with the imported password hashes; the idempotency key still replays.
    copy.login("ada.account@clinic.test", PASSWORD).await;
    let replay = json!({"patient_id": ids.patients[0], "doctor_id": ids.doctors[0],
        "time_slot_id": b_slot_of(&b, &ids.appointments[3]), "reason_for_visit": "Checkup",
        "consultation_type": "video"});
    let (st, body) = copy
        .call_as(
            Some(&copy.token),
            Method::POST,
            "/appointments",
            replay,
            &[("Idempotency-Key", "retry-safe-1")],
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{body}");
    assert_eq!(body["data"]["id"], ids.appointments[3].as_str());

    // New audit and access rows take ids past the imported ones (the sequences were moved).
    let a3 = &ids.appointments[3];
    copy.send(
        Method::POST,
        &format!("/appointments/{a3}/confirm"),
        Value::Null,
        200,
    )
    .await;
    let (st, history) = copy.get(&format!("/appointments/{a3}/history")).await;
    assert_eq!(st.as_u16(), 200);
    assert_eq!(
        history["data"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );

    copy.stop().await;
    original.stop().await;
}

/// Patients whose trigger-kept hold count (PostgreSQL `patients.pending_holds`, not in the
/// file) disagrees with their PENDING appointments after the import.
async fn miscounted_holds(url: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM appointments WHERE status = 'PENDING'")
            .fetch_one(&mut c)
            .await
            .expect("count holds");
    assert!(pending > 0, "the data holds a PENDING appointment");
    sqlx::query_scalar(
        "SELECT count(*) FROM patients p WHERE pending_holds <> \
         (SELECT count(*) FROM appointments a WHERE a.patient_id = p.id AND a.status = 'PENDING')",
    )
    .fetch_one(&mut c)
    .await
    .expect("compare the hold counts")
}

/// Outbox rows in the PostgreSQL database at `url` (the source's audit rows fire the trigger
/// on import like any change).
async fn queued_deliveries(url: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut c)
        .await
        .expect("count outbox rows")
}

/// The slot of an appointment, from its read in a snapshot.
fn b_slot_of(reads: &[super::reads::Read], appointment: &str) -> String {
    let path = format!("/appointments/{appointment}");
    let (_, _, body) = reads.iter().find(|(p, _, _)| *p == path).expect("read");
    body["data"]["time_slot_id"]
        .as_str()
        .expect("slot id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite_every_read_answers_the_same_to_the_millisecond() {
    let files = Scratch::new("files");
    let (source, target) = (Db::fresh_pg(), Db::fresh_sqlite());
    let original = Server::start(source.url()).await;
    let ids = populate(&original, source.url()).await;
    let file = files.join("carebook.jsonl");
    let out = export(&settings(source.url()), &file)
        .await
        .expect("export");
    assert_eq!(out.source_backend, "postgres");
    import(&settings(target.url()), &file, ImportOptions::default())
        .await
        .expect("import");
    let copy = Server::start(target.url()).await;
    let (a, b) = (snapshot(&original, &ids).await, snapshot(&copy, &ids).await);
    // SQLite keeps instants to the millisecond; PostgreSQL to the microsecond.
    assert_same(&to_millis(&a), &to_millis(&b));
    copy.stop().await;
    original.stop().await;
}
