//! What a run produces, as written to JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Latency and outcome counts of one kind of request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpSummary {
    /// Requests answered (or failed) in the measured window.
    pub requests: u64,
    /// `requests` per second of wall time.
    pub per_second: f64,
    /// 2xx answers.
    pub ok: u64,
    /// `ok` per second of wall time.
    pub ok_per_second: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Slowest request, ms.
    pub max_ms: f64,
    /// Replies by HTTP status (`transport_error` when there was none).
    pub statuses: BTreeMap<String, u64>,
    /// Non-2xx replies by the envelope's `error.code`.
    pub error_codes: BTreeMap<String, u64>,
}

impl OpSummary {
    /// Replies with a 5xx status or no HTTP answer at all.
    pub fn failures(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(k, _)| k.starts_with('5') || k.as_str() == "transport_error")
            .map(|(_, n)| n)
            .sum()
    }
}

/// CPU and memory while a scenario ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Resources {
    /// Highest VmRSS of the server process seen (sampled every 100 ms), MiB.
    pub server_rss_max_mib: Option<f64>,
    /// The server's VmHWM (peak RSS since start) at the scenario's end, MiB.
    pub server_hwm_mib: Option<f64>,
    /// CPU time of the server process per wall second (1.0 = one core busy).
    pub server_cpu_cores: Option<f64>,
    /// CPU time of all `postgres` processes per wall second.
    pub postgres_cpu_cores: f64,
    /// CPU time of this load generator per wall second.
    pub bench_cpu_cores: f64,
    /// Share of the machine's CPU time that was busy (not idle, not I/O wait), %.
    pub machine_busy_pct: f64,
    /// Share of the machine's CPU time spent idle waiting for I/O, %.
    pub machine_iowait_pct: f64,
}

/// One scenario's measured window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario name (`book-distinct`, `hot-slot`, …).
    pub name: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Wall time of the measured window, s.
    pub elapsed_s: f64,
    /// Seconds spent creating the scenario's fixtures through the API (not measured).
    pub setup_s: f64,
    /// The operation whose 2xx rate is the scenario's throughput.
    pub primary_op: String,
    /// 2xx answers of `primary_op` per second (for `book-confirm`: completed book+confirm pairs).
    pub throughput: f64,
    /// Per-operation latency and status counts.
    pub ops: BTreeMap<String, OpSummary>,
    /// CPU and memory during the window.
    pub resources: Resources,
    /// PostgreSQL's side of the window, when it was watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<crate::pgstat::PgWindow>,
    /// Post-run checks made through the API (hot-slot), with `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Value>,
    /// Anything worth knowing about the window (e.g. the iteration budget ran out first).
    #[serde(default)]
    pub notes: Vec<String>,
    /// `growth` measured against a reference server on an empty database, windows alternating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<Paired>,
}

/// The windows of a paired `growth`: the reference (empty database) and the seeded server's,
/// in the order R S R S … R, so that a drift of the machine's speed between windows weighs on
/// both sides alike.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Paired {
    /// Bookings/s of each reference window, in order.
    pub reference: Vec<f64>,
    /// Bookings/s of each seeded window, in order.
    pub seeded: Vec<f64>,
}

impl Paired {
    /// Mean bookings/s of the reference windows.
    pub fn reference_mean(&self) -> f64 {
        mean(&self.reference)
    }

    /// Mean bookings/s of the seeded windows.
    pub fn seeded_mean(&self) -> f64 {
        mean(&self.seeded)
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

impl ScenarioResult {
    /// 5xx replies and transport errors over every operation.
    pub fn failures(&self) -> u64 {
        self.ops.values().map(OpSummary::failures).sum()
    }
}

/// What seeding inserted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedReport {
    /// Appointments inserted.
    pub appointments: u64,
    /// Time slots inserted (10 appointments each).
    pub slots: u64,
    /// Patients inserted.
    pub patients: u64,
    /// Doctors inserted.
    pub doctors: u64,
    /// Wall time of the insert transaction, s.
    pub insert_s: f64,
    /// Wall time of the follow-up maintenance (VACUUM ANALYZE + CHECKPOINT, or WAL checkpoint), s.
    pub maintenance_s: f64,
    /// Appointments in the database afterwards.
    pub appointments_total: i64,
}

/// Everything one `run` against one server measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendRun {
    /// A name for the server under test (e.g. `postgres`, `sqlite`).
    pub label: String,
    /// The API base URL driven.
    pub base_url: String,
    /// When the run began (UTC, RFC 3339).
    pub started_at: String,
    /// The run's settings.
    pub config: Value,
    /// One entry per scenario, in run order.
    pub scenarios: Vec<ScenarioResult>,
    /// The seeding before `growth`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<SeedReport>,
    /// The server's VmHWM at the end of the run, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hwm_mib: Option<f64>,
}

impl BackendRun {
    /// The scenario named `name`, if it ran.
    pub fn scenario(&self, name: &str) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}
