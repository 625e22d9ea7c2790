//! The closed-loop driver: C clients, each sending its next request as soon as the last one
//! is answered, until a deadline or an iteration budget runs out. Latencies go into
//! HdrHistograms (microseconds, 3 significant digits), statuses and error codes into counters.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::api::Reply;
use crate::results::OpSummary;

/// How long and how hard to drive.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Concurrent clients.
    pub clients: usize,
    /// Stop starting iterations after this long.
    pub duration: Duration,
    /// Stop after this many iterations in all (each client takes the next free index).
    pub max_iterations: u64,
}

/// One iteration of a scenario: iteration `i` of the run, recording its requests in `rec`.
pub trait Job: Send + Sync + 'static {
    /// Runs iteration `i`.
    fn run(&self, i: u64, rec: &mut Recorder) -> impl Future<Output = ()> + Send;
}

/// Counters of one kind of request.
pub struct OpStats {
    hist: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    codes: BTreeMap<String, u64>,
}

impl OpStats {
    fn new() -> Self {
        Self {
            hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds"),
            statuses: BTreeMap::new(),
            codes: BTreeMap::new(),
        }
    }
}

/// Per-operation counters of one client (or, merged, of a whole run).
#[derive(Default)]
pub struct Recorder {
    ops: BTreeMap<&'static str, OpStats>,
}

impl Recorder {
    /// Records one reply under operation name `op`.
    pub fn record(&mut self, op: &'static str, reply: &Reply) {
        let stats = self.ops.entry(op).or_insert_with(OpStats::new);
        let micros = u64::try_from(reply.elapsed.as_micros()).unwrap_or(u64::MAX);
        stats.hist.saturating_record(micros.max(1));
        *stats.statuses.entry(reply.status).or_default() += 1;
        if reply.status >= 400 {
            let code = reply.error_code().unwrap_or_else(|| "(no code)".into());
            *stats.codes.entry(code).or_default() += 1;
        }
    }

    /// Adds another recorder's counts to this one.
    pub fn merge(&mut self, other: Recorder) {
        for (op, theirs) in other.ops {
            let ours = self.ops.entry(op).or_insert_with(OpStats::new);
            ours.hist
                .add(&theirs.hist)
                .expect("histograms share bounds");
            for (s, n) in theirs.statuses {
                *ours.statuses.entry(s).or_default() += n;
            }
            for (c, n) in theirs.codes {
                *ours.codes.entry(c).or_default() += n;
            }
        }
    }

    /// Replies of operation `op` with status `status`.
    pub fn count(&self, op: &str, status: u16) -> u64 {
        self.ops
            .get(op)
            .and_then(|s| s.statuses.get(&status).copied())
            .unwrap_or(0)
    }

    /// One summary per operation, rates over `elapsed`.
    pub fn summarize(&self, elapsed: Duration) -> BTreeMap<String, OpSummary> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ms = |us: u64| us as f64 / 1000.0;
        self.ops
            .iter()
            .map(|(op, s)| {
                let requests = s.hist.len();
                let ok: u64 = s.statuses.range(200..300).map(|(_, n)| n).sum();
                let summary = OpSummary {
                    requests,
                    per_second: requests as f64 / secs,
                    ok,
                    ok_per_second: ok as f64 / secs,
                    mean_ms: s.hist.mean() / 1000.0,
                    p50_ms: ms(s.hist.value_at_quantile(0.50)),
                    p95_ms: ms(s.hist.value_at_quantile(0.95)),
                    p99_ms: ms(s.hist.value_at_quantile(0.99)),
                    max_ms: ms(s.hist.max()),
                    statuses: s
                        .statuses
                        .iter()
                        .map(|(k, v)| (status_name(*k), *v))
                        .collect(),
                    error_codes: s.codes.clone(),
                };
                ((*op).to_owned(), summary)
            })
            .collect()
    }
}

fn status_name(status: u16) -> String {
    if status == 0 {
        "transport_error".into()
    } else {
        status.to_string()
    }
}

/// Runs `job` under `plan`; returns the merged counters and the wall time from the first
/// request to the last answer.
pub async fn drive<J: Job>(plan: Plan, job: Arc<J>) -> (Recorder, Duration) {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + plan.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..plan.clients.max(1) {
        let (job, next) = (job.clone(), next.clone());
        tasks.spawn(async move {
            let mut rec = Recorder::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.max_iterations {
                    break;
                }
                job.run(i, &mut rec).await;
            }
            rec
        });
    }
    let mut all = Recorder::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(rec) = done {
            all.merge(rec);
        }
    }
    (all, start.elapsed())
}
