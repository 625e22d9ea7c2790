//! The README's "Backup and restore" steps, run as written against a database with data, and
//! the restored copy checked to serve the same data. A tool that is not installed fails the
//! test (see `run_tool`).

use super::harness::{carebook_with, exists, pg_base, run_tool, Db, Scratch, Server};
use super::populate::populate;
use super::reads::{assert_same, snapshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pg_dump_and_pg_restore_as_in_the_readme() {
    let files = Scratch::new("backup");
    let source = Db::fresh_pg();
    let original = Server::start(source.url()).await;
    let ids = populate(&original, source.url()).await;

    // README: pg_dump --format=custom --file=carebook.dump "$DATABASE_URL"   (while serving)
    let dump = files.join("carebook.dump");
    let dump = dump.to_str().expect("utf-8");
    run_tool(
        "pg_dump",
        &["--format=custom", &format!("--file={dump}"), source.url()],
        "postgresql-client",
    );
    let before = snapshot(&original, &ids).await;
    original.stop().await;

    // README: createdb --maintenance-db="postgres://…/postgres" carebook_restored
    //         pg_restore --exit-on-error --no-owner --dbname="postgres://…/carebook_restored" carebook.dump
    let restored = Db::fresh_pg();
    let Db::Pg { name, url } = &restored else {
        unreachable!()
    };
    run_tool(
        "createdb",
        &[&format!("--maintenance-db={}/postgres", pg_base()), name],
        "postgresql-client",
    );
    run_tool(
        "pg_restore",
        &[
            "--exit-on-error",
            "--no-owner",
            &format!("--dbname={url}"),
            dump,
        ],
        "postgresql-client",
    );
    let copy = Server::start(url).await;
    assert_same(&before, &snapshot(&copy, &ids).await);
    copy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_vacuum_into_and_file_restore_as_in_the_readme() {
    let files = Scratch::new("backup");
    let source = Db::fresh_sqlite();
    let original = Server::start(source.url()).await;
    let ids = populate(&original, source.url()).await;

    // README: sqlite3 data/carebook.db "VACUUM INTO 'backup/carebook.db'"   (while serving)
    let backup = files.join("carebook.db");
    let db = source.sqlite_file();
    let (db, backup_str) = (db.to_str().expect("utf-8"), backup.to_str().expect("utf-8"));
    run_tool(
        "sqlite3",
        &[db, &format!("VACUUM INTO '{backup_str}'")],
        "sqlite3",
    );
    // README: sqlite3 backup/carebook.db "PRAGMA integrity_check"   → ok
    let check = run_tool(
        "sqlite3",
        &[backup_str, "PRAGMA integrity_check"],
        "sqlite3",
    );
    assert_eq!(check.trim(), "ok");
    let n = run_tool(
        "sqlite3",
        &[backup_str, "SELECT count(*) FROM access_records"],
        "sqlite3",
    );
    let m = run_tool(
        "sqlite3",
        &[db, "SELECT count(*) FROM access_records"],
        "sqlite3",
    );
    eprintln!("PROBE backup {} source {}", n.trim(), m.trim());
    let before = snapshot(&original, &ids).await;
    original.stop().await;

    // README, with carebook stopped: rm -f data/carebook.db-wal data/carebook.db-shm
    //                                 cp backup/carebook.db data/carebook.db
    // Restored over a database that has been in use (and holds other data), by a carebook
    // process that has exited, as the README says.
    let target = Db::fresh_sqlite();
    let (ok, err) = carebook_with(
        target.url(),
        &[
            "user",
            "create",
            "--email",
            "old@clinic.test",
            "--role",
            "admin",
        ],
        &files.0,
        &[("CAREBOOK_PASSWORD", "an older admin passphrase")],
    );
    assert!(ok, "{err}");
    let file = target.sqlite_file();
    for suffix in ["-wal", "-shm"] {
        let companion = format!("{}{suffix}", file.display());
        if exists(companion.as_ref()) {
            std::fs::remove_file(&companion).expect("rm -f");
        }
    }
    std::fs::copy(&backup, &file).expect("cp");
    let k = run_tool(
        "sqlite3",
        &[
            file.to_str().unwrap(),
            "SELECT count(*) FROM access_records",
        ],
        "sqlite3",
    );
    eprintln!("PROBE restored {}", k.trim());
    let copy = Server::start(target.url()).await;
    assert_same(&before, &snapshot(&copy, &ids).await);
    copy.stop().await;
}
