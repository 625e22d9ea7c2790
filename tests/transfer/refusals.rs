//! What import refuses, through the binary as an operator runs it: a non-empty database, a file
//! that is not a carebook export or of a version it does not know, a truncated file.

use carebook::transfer::{export, import, ImportOptions, TransferError};

use super::harness::{carebook, settings, Db, Scratch, Server};

async fn users(s: &Server) -> usize {
    let (_, b) = s.get("/users?limit=100").await;
    b["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_into_a_non_empty_database_is_refused_and_changes_nothing() {
    let files = Scratch::new("files");
    let source = Db::fresh_sqlite();
    Server::start(source.url()).await.stop().await;
    let file = files.join("export.jsonl");
    let path = file.to_str().expect("utf-8 path");
    let (ok, err) = carebook(source.url(), &["export", "--output", path], &files.0);
    assert!(ok, "export: {err}");
    assert!(err.contains("exported"), "{err}");

    // A target that has served once: it holds its first admin.
    for target in [Db::fresh_pg(), Db::fresh_sqlite()] {
        let served = Server::start(target.url()).await;
        served
            .send(
                reqwest::Method::POST,
                "/users",
                serde_json::json!({"email": "desk@clinic.test", "password": super::harness::PASSWORD, "role": "scheduler"}),
                201,
            )
            .await;
        let (ok, err) = carebook(target.url(), &["import", "--input", path], &files.0);
        assert!(!ok, "a non-empty database was imported into");
        assert!(
            err.contains("the target database is not empty (2 users)")
                && err.contains("--allow-non-empty"),
            "{err}"
        );
        // Told to add to it: the file's admin clashes with the one there, and nothing is kept.
        let (ok, err) = carebook(
            target.url(),
            &["import", "--input", path, "--allow-non-empty"],
            &files.0,
        );
        assert!(!ok, "a clashing import succeeded");
        assert!(err.contains("refused a row of users"), "{err}");
        assert_eq!(users(&served).await, 2);
        served.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_another_format_or_version_or_truncated_are_refused() {
    let files = Scratch::new("files");
    let source = Db::fresh_sqlite();
    Server::start(source.url()).await.stop().await;
    let good = files.join("good.jsonl");
    export(&settings(source.url()), &good)
        .await
        .expect("export");
    let text = std::fs::read_to_string(&good).expect("read");
    let (header, rest) = text.split_once('\n').expect("lines");

    let cases = [
        (
            "garbage",
            "PGDMP\u{1}\u{2}binary\n".to_owned(),
            "not a carebook export",
        ),
        ("empty", String::new(), "not a carebook export"),
        (
            "future",
            text.replacen("\"version\":1", "\"version\":2", 1),
            "carebook-export version 2 is not supported",
        ),
        (
            "truncated",
            format!("{header}\n{}", rest.lines().next().expect("a row")),
            "ends without its \"end\" line",
        ),
        (
            "miscounted",
            text.replacen("\"users\":1,", "\"users\":2,", 1),
            "users: 1 rows, the end line says 2",
        ),
        (
            // A line break in a single-line field, as the API would refuse it: reported by
            // its line, nothing imported.
            "poisoned",
            text.replacen(
                "\"admin@carebook.test\"",
                "\"admin@carebook.test\\nBcc: spy@evil.test\"",
                1,
            ),
            "users.email: must be a single line without control characters",
        ),
        (
            "unknown-table",
            format!("{header}\n{{\"table\":\"sessions\",\"row\":{{}}}}\n{rest}"),
            "unknown table \"sessions\"",
        ),
    ];
    for (name, content, message) in cases {
        let bad = files.join(&format!("{name}.jsonl"));
        std::fs::write(&bad, content).expect("write");
        let target = Db::fresh_sqlite();
        let err = import(&settings(target.url()), &bad, ImportOptions::default())
            .await
            .expect_err(name);
        assert!(
            matches!(err, TransferError::Format { .. }) && err.to_string().contains(message),
            "{name}: {err}"
        );
        let path = bad.to_str().expect("utf-8");
        let (ok, stderr) = carebook(target.url(), &["import", "--input", path], &files.0);
        assert!(!ok && stderr.contains(message), "{name}: {stderr}");
        if matches!(name, "garbage" | "empty" | "future") {
            // Refused before touching the database: no file was created.
            assert!(!target.sqlite_file().exists(), "{name}");
        }
    }
    // The good file still imports.
    let target = Db::fresh_pg();
    import(&settings(target.url()), &good, ImportOptions::default())
        .await
        .expect("the good file imports");
}
