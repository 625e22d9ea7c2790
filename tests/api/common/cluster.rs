//! A private PostgreSQL primary with a streaming replica of it, for the read-replica tests.
//!
//! Each cluster lives in its own temporary directory on ports of its own, so the tests need
//! nothing from the shared server's configuration (which allows no replication connections):
//! `initdb` makes the primary, `pg_basebackup -R` the replica. Both are stopped and their
//! directory removed on drop, whether the test passed or not. The server refuses to run as
//! root, so as root every PostgreSQL tool runs as the `postgres` user (`runuser`).
//! `PG_BIN_DIR` names the directory of the PostgreSQL tools; by default the newest
//! `/usr/lib/postgresql/*/bin` (Debian's layout), else whatever is on `PATH`.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running primary and replica.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub primary_port: u16,
    pub replica_port: u16,
    /// Data directories of the servers started so far, stopped on drop.
    running: Vec<PathBuf>,
}

impl Cluster {
    /// Creates and starts the primary, then a replica streaming from it; blocks until both
    /// accept connections.
    pub async fn start() -> Self {
        tokio::task::spawn_blocking(|| Self::start_blocking(60, true))
            .await
            .expect("start the cluster")
    }

    /// Creates and starts a primary of its own, without a replica, accepting
    /// `max_connections`: for tests whose outcome depends on the whole server's state (SSI's
    /// bookkeeping is cluster-wide, so a long transaction of a parallel test elsewhere on the
    /// shared server can fail their serialization checks).
    pub async fn primary_only(max_connections: u32) -> Self {
        tokio::task::spawn_blocking(move || Self::start_blocking(max_connections, false))
            .await
            .expect("start the primary")
    }

    fn start_blocking(max_connections: u32, replica: bool) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "carebook-cluster-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        let as_postgres = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let mut cluster = Self {
            dir,
            bin: bin_dir(),
            as_postgres,
            primary_port: free_port(),
            replica_port: free_port(),
            running: Vec::new(),
        };
        if as_postgres {
            let mut chown = Command::new("chown");
            chown.args(["postgres:", &cluster.path("")]);
            run(chown);
        }
        cluster.start_primary(max_connections);
        if replica {
            cluster.start_replica();
        }
        cluster
    }

    /// `postgres://postgres@127.0.0.1:<port>` of the primary.
    pub fn primary_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.primary_port)
    }

    /// `postgres://postgres@127.0.0.1:<port>` of the replica.
    pub fn replica_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.replica_port)
    }

    /// Stops the replica (fast shutdown), as an operator or a crash would.
    pub async fn stop_replica(&self) {
        let data = self.dir.join("replica");
        let cmd = self.pg("pg_ctl", &["-D", &path(&data), "-m", "fast", "-w", "stop"]);
        tokio::task::spawn_blocking(move || run(cmd))
            .await
            .expect("stop the replica");
    }

    fn start_primary(&mut self, max_connections: u32) {
        let data = self.path("primary");
        self.run_pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        append(
            &self.dir.join("primary/postgresql.conf"),
            &format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                 shared_buffers = 16MB\nmax_connections = {}\nwal_level = replica\n\
                 max_wal_senders = 4\nhot_standby = on\nmax_pred_locks_per_transaction = 256\n",
                self.primary_port,
                self.path(""),
                max_connections,
            ),
        );
        self.pg_start("primary");
    }

    fn start_replica(&mut self) {
        let data = self.path("replica");
        let port = self.primary_port.to_string();
        self.run_pg(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        // The copied configuration names the primary's port; the last setting wins.
        append(
            &self.dir.join("replica/postgresql.conf"),
            &format!("port = {}\n", self.replica_port),
        );
        self.pg_start("replica");
    }

    /// Starts a server. Its port was free when picked, but another test may have bound it
    /// since: then it starts again on a new one.
    fn pg_start(&mut self, name: &str) {
        let data = self.path(name);
        let log = self.path(&format!("{name}.log"));
        for _ in 0..5 {
            let args = ["-D", &data, "-l", &log, "-w", "-t", "60", "start"];
            let out = self.pg("pg_ctl", &args).output().expect("run pg_ctl");
            if out.status.success() {
                self.running.push(self.dir.join(name));
                return;
            }
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                said.contains("could not bind") || said.contains("could not create any TCP/IP"),
                "{name} did not start:\n{}{said}",
                String::from_utf8_lossy(&out.stdout)
            );
            let port = free_port();
            match name {
                "primary" => self.primary_port = port,
                _ => self.replica_port = port,
            }
            let conf = self.dir.join(format!("{name}/postgresql.conf"));
            append(&conf, &format!("port = {port}\n"));
        }
        panic!("{name} did not start: every port tried was taken");
    }

    fn path(&self, name: &str) -> String {
        path(&self.dir.join(name))
    }

    /// A PostgreSQL tool, run as `postgres` when this process is root.
    fn pg(&self, tool: &str, args: &[&str]) -> Command {
        let tool = path(&self.bin.join(tool));
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &tool]);
            c
        } else {
            Command::new(&tool)
        };
        cmd.args(args).current_dir(&self.dir);
        cmd
    }

    fn run_pg(&self, tool: &str, args: &[&str]) {
        run(self.pg(tool, args));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The replica first, so the primary does not wait for its WAL sender to finish.
        for data in self.running.iter().rev() {
            let mut cmd = self.pg(
                "pg_ctl",
                &["-D", &path(data), "-m", "immediate", "-w", "stop"],
            );
            // A server already stopped (the replica, by a test) fails this: nothing to do.
            let _ = cmd.output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `cmd` to completion; panics with its output unless it succeeds.
fn run(mut cmd: Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    f.write_all(text.as_bytes())
        .expect("append the configuration");
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// `PG_BIN_DIR`, else the newest `/usr/lib/postgresql/<version>/bin` with `initdb`, else
/// empty (the tools are then looked up on `PATH`).
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
