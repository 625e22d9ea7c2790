//! A private PgBouncer in transaction pooling mode, on a free port, configured from the
//! repository's `deploy/pgbouncer.ini` with only what a test must change (port, local trust
//! auth, no files outside its directory). Stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;

/// The shipped configuration.
const SHIPPED: &str = include_str!("../../../deploy/pgbouncer.ini");

/// A running PgBouncer.
pub struct PgBouncer {
    /// `postgres://postgres@127.0.0.1:port`, to which a database name is appended.
    pub server: String,
    child: Child,
    _dir: TempDir,
}

/// `SHIPPED` with each `key = value` of `overrides` put in place of the shipped line (or
/// appended to the `[pgbouncer]` section, the file's last), and the upstream server replaced.
fn config(overrides: &[(&str, String)], upstream: &str) -> String {
    let mut out = Vec::new();
    let mut done = vec![false; overrides.len()];
    for line in SHIPPED.lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        if key == "*" {
            out.push(format!("* = {upstream}"));
            continue;
        }
        match overrides.iter().position(|(k, _)| *k == key) {
            Some(i) if !line.trim_start().starts_with(';') => {
                out.push(format!("{key} = {}", overrides[i].1));
                done[i] = true;
            }
            _ => out.push(line.to_owned()),
        }
    }
    for (i, (k, v)) in overrides.iter().enumerate() {
        if !done[i] {
            out.push(format!("{k} = {v}"));
        }
    }
    out.join("\n") + "\n"
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgBouncer {
    /// Starts one in front of the PostgreSQL server `pg` (`postgres://user@host:port`), with
    /// `extra` settings of its own besides the shipped ones.
    pub fn start(pg: &str, extra: &[(&str, String)]) -> Self {
        let hostport = pg.rsplit('@').next().unwrap_or("127.0.0.1:5432");
        let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
        let user = pg
            .trim_start_matches("postgres://")
            .split('@')
            .next()
            .unwrap_or("postgres");
        let dir = std::env::temp_dir().join(format!("carebook-pgb-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("pgbouncer dir");
        let dir = TempDir(dir);
        let users = dir.0.join("userlist.txt");
        std::fs::write(&users, format!("\"{user}\" \"\"\n")).expect("userlist");
        let listen = free_port();
        let ini = dir.0.join("pgbouncer.ini");
        let mut overrides = vec![
            ("listen_port", listen.to_string()),
            ("auth_type", "trust".to_owned()),
            ("auth_file", users.display().to_string()),
            ("unix_socket_dir", String::new()),
            ("logfile", String::new()),
            ("pidfile", String::new()),
        ];
        overrides.extend(extra.iter().cloned());
        let upstream = format!("host={host} port={port}");
        std::fs::write(&ini, config(&overrides, &upstream)).expect("pgbouncer.ini");
        let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("pgbouncer");
        let mut cmd = Command::new(bin);
        // PgBouncer refuses to run as root; it can drop to another user itself.
        if running_as_root() {
            cmd.args(["-u", "postgres"]);
        }
        let child = cmd
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer (Debian package `pgbouncer`; .ci/run installs it)");
        let this = Self {
            server: format!("postgres://{user}@127.0.0.1:{listen}"),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", listen)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        this
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_test_config_changes_only_what_it_names() {
    let c = config(
        &[("listen_port", "7000".into()), ("logfile", String::new())],
        "host=h port=1",
    );
    assert!(c.contains("\nlisten_port = 7000\n"), "{c}");
    assert!(c.contains("\n* = host=h port=1\n"));
    assert!(c.contains("\npool_mode = transaction\n"));
    assert!(c.ends_with("logfile = \n"));
    assert!(!c.contains("listen_port = 6432"));
}
