//! CPU and memory of the server, PostgreSQL and this process, read from `/proc` (Linux).
//! Absent files (another OS, a server on another machine) leave the figures empty.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::results::Resources;

/// Clock ticks per second of `/proc/*/stat` CPU times (USER_HZ, 100 on Linux x86-64/arm64).
const TICKS_PER_SECOND: f64 = 100.0;

/// A `key: N kB` line of `/proc/<pid>/status`, in MiB.
pub fn status_mib(pid: u32, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// utime + stime of a process, in ticks.
fn process_ticks(path: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces; fields follow the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at indices 11 and 12.
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Ticks of every process named `postgres`.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| process_ticks(&format!("{}/stat", e.path().display())))
        .filter(|(comm, _)| comm == "postgres")
        .map(|(_, t)| t)
        .sum()
}

/// (busy, iowait, total) ticks of the whole machine from `/proc/stat`.
fn machine_ticks() -> (u64, u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return (0, 0, 0);
    };
    let Some(line) = text.lines().next() else {
        return (0, 0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0);
    let iowait = v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle + iowait), iowait, total)
}

struct Snapshot {
    at: Instant,
    server: Option<u64>,
    postgres: u64,
    me: u64,
    machine: (u64, u64, u64),
}

fn snapshot(server_pid: Option<u32>) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        server: server_pid.and_then(|p| process_ticks(&format!("/proc/{p}/stat")).map(|t| t.1)),
        postgres: postgres_ticks(),
        me: process_ticks("/proc/self/stat").map_or(0, |t| t.1),
        machine: machine_ticks(),
    }
}

/// Samples resources from `start` until `finish`.
pub struct Probe {
    server_pid: Option<u32>,
    first: Snapshot,
    stop: Arc<AtomicBool>,
    sampler: Option<tokio::task::JoinHandle<Option<f64>>>,
}

impl Probe {
    /// Takes the first snapshot and starts sampling the server's RSS every 100 ms.
    pub fn start(server_pid: Option<u32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = server_pid.map(|pid| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut max: Option<f64> = None;
                // Bounded: at most an hour of samples even if never stopped.
                for _ in 0..36_000 {
                    if let Some(rss) = status_mib(pid, "VmRSS:") {
                        max = Some(max.map_or(rss, |m: f64| m.max(rss)));
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                max
            })
        });
        Self {
            server_pid,
            first: snapshot(server_pid),
            stop,
            sampler,
        }
    }

    /// Stops sampling and reports CPU shares and memory over the window.
    pub async fn finish(mut self) -> Resources {
        let last = snapshot(self.server_pid);
        self.stop.store(true, Ordering::Relaxed);
        let rss_max = match self.sampler.take() {
            Some(h) => h.await.ok().flatten(),
            None => None,
        };
        let secs = (last.at - self.first.at).as_secs_f64().max(1e-9);
        let cores = |a: u64, b: u64| b.saturating_sub(a) as f64 / TICKS_PER_SECOND / secs;
        let (busy0, io0, total0) = self.first.machine;
        let (busy1, io1, total1) = last.machine;
        let total = total1.saturating_sub(total0).max(1) as f64;
        Resources {
            server_rss_max_mib: rss_max,
            server_hwm_mib: self.server_pid.and_then(|p| status_mib(p, "VmHWM:")),
            server_cpu_cores: match (self.first.server, last.server) {
                (Some(a), Some(b)) => Some(cores(a, b)),
                _ => None,
            },
            postgres_cpu_cores: cores(self.first.postgres, last.postgres),
            bench_cpu_cores: cores(self.first.me, last.me),
            machine_busy_pct: 100.0 * busy1.saturating_sub(busy0) as f64 / total,
            machine_iowait_pct: 100.0 * io1.saturating_sub(io0) as f64 / total,
        }
    }
}
