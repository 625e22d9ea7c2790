//! Start-up as a newcomer meets it, through the binary: flags before or after `serve`, the one
//! line that says where carebook answers, no colour codes in a file, a taken metrics address
//! refused by name, a short request timeout alone accepted, and pools the server cannot hold
//! refused with both numbers.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::{pg_base, settings, TempDir};

/// Runs the binary with `args` and `env` on a fresh SQLite file in a temp folder until it exits
/// or has logged that it listens (then it is stopped), at most `limit_secs`; what it wrote.
fn run(args: &[&str], env: &[(&str, &str)], limit_secs: u64) -> Output {
    use std::io::Read;
    let dir =
        TempDir(std::env::temp_dir().join(format!("start-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_carebook"))
        .args(args)
        .current_dir(&dir.0)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite:{}", dir.0.join("c.db").display()),
        )
        .env("HOST", "127.0.0.1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start carebook");
    // Read stdout as it comes, to stop the server once it says it listens.
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(limit_secs);
    let mut stdout = Vec::new();
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(chunk) => stdout.extend(chunk),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if String::from_utf8_lossy(&stdout).contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    let _ = reader.join();
    stdout.extend(rx.try_iter().flatten());
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn flags_work_after_serve_and_the_start_line_names_the_url() {
    let (port, metrics) = (free_port(), free_port());
    let m = format!("127.0.0.1:{metrics}");
    let p = port.to_string();
    for args in [vec!["serve", "--port", &p], vec!["--port", &p, "serve"]] {
        let out = run(&args, &[("METRICS_ADDR", &m)], 20);
        let all = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let want = format!("listening on http://127.0.0.1:{port} — API /api, docs /docs, metrics http://{m}/metrics");
        assert!(all.contains(&want), "{args:?}: {all}");
        // Written to a pipe, not a terminal: no colour codes.
        assert!(
            !all.contains('\u{1b}'),
            "escape codes in piped logs: {all:?}"
        );
    }
    let help = run(&["serve", "--help"], &[], 5);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("--port") && text.contains("METRICS_ADDR"),
        "{text}"
    );
}

#[test]
fn a_taken_metrics_address_is_refused_by_name() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let port = free_port().to_string();
    let out = run(&["serve"], &[("METRICS_ADDR", &addr), ("PORT", &port)], 20);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("METRICS_ADDR") && err.contains("METRICS_ADDR=off"),
        "{err}"
    );
    // Off: it serves.
    let out = run(&["serve"], &[("METRICS_ADDR", "off"), ("PORT", &port)], 20);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("metrics off"), "{log}");
}

#[test]
fn a_short_request_timeout_alone_starts_and_only_set_limits_conflict() {
    let port = free_port().to_string();
    let base = [("METRICS_ADDR", "off"), ("PORT", port.as_str())];
    let mut env = base.to_vec();
    env.push(("REQUEST_TIMEOUT_SECONDS", "5"));
    let out = run(&["serve"], &env, 20);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("listening on"),
        "{log} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.push(("DB_STATEMENT_TIMEOUT_MS", "6000"));
    let out = run(&["serve"], &env, 20);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DB_STATEMENT_TIMEOUT_MS (6000)") && err.contains("REQUEST_TIMEOUT_SECONDS"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_the_server_cannot_hold_are_refused() {
    let name = format!("carebook_pools_{}", uuid::Uuid::new_v4().simple());
    let mut s = settings(&format!("{}/{name}", pg_base()));
    s.pool_size = 5000;
    let err = carebook::startup::open_store(&s)
        .await
        .err()
        .expect("refused");
    let e = err.to_string();
    assert!(
        e.contains("DB_POOL_SIZE 5000") && e.contains("max_connections"),
        "{e}"
    );
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base()))
        .await
        .unwrap();
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut c)
        .await;
}
