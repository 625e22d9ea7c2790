//! Combines backend runs, the pgbench baseline and runs against an earlier revision into
//! results.json and results.md, with the targets checked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::results::{BackendRun, ScenarioResult};

/// The `pgbench -N` baseline, parsed from its output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pgbench {
    /// Transactions per second, without initial connection time.
    pub tps: f64,
    /// Mean latency, ms.
    pub latency_ms: Option<f64>,
    /// Clients (-c).
    pub clients: Option<u64>,
    /// Threads (-j).
    pub threads: Option<u64>,
    /// Scale factor of the pgbench database.
    pub scale: Option<u64>,
    /// Duration of the run, s.
    pub duration_s: Option<f64>,
    /// Failed transactions.
    pub failed: Option<u64>,
    /// The summary lines as pgbench printed them.
    pub output: Vec<String>,
    /// PostgreSQL's side of the pgbench run, if it was watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<crate::pgstat::PgWindow>,
}

/// The number after `key` on the first line that contains it.
fn number_after(text: &str, key: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.contains(key))?;
    let rest = &line[line.find(key)? + key.len()..];
    let token: String = rest
        .trim_start_matches([' ', '=', ':'])
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    token.parse().ok()
}

impl Pgbench {
    /// Parses pgbench's summary.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tps = text
            .lines()
            .find(|l| l.starts_with("tps") && l.contains("without initial connection time"))
            .and_then(|l| number_after(l, "tps"))
            .or_else(|| number_after(text, "tps"))
            .ok_or("no 'tps = …' line in the pgbench output")?;
        let int = |k| number_after(text, k).map(|v| v as u64);
        Ok(Self {
            tps,
            latency_ms: number_after(text, "latency average"),
            clients: int("number of clients"),
            threads: int("number of threads"),
            scale: int("scaling factor"),
            duration_s: number_after(text, "duration"),
            failed: int("number of failed transactions"),
            output: text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("pgbench ("))
                .map(str::to_owned)
                .collect(),
            postgres: None,
        })
    }
}

/// One of the targets, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetCheck {
    /// The run it was checked on.
    pub backend: String,
    /// What the issue asks.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// Whether it was met; `None` when the run lacks the figure.
    pub met: Option<bool>,
}

/// One scenario measured against the baseline server and against the server under test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The label both runs share (`postgres`, `sqlite`).
    pub backend: String,
    /// The scenario.
    pub scenario: String,
    /// Its throughput's operation.
    pub primary_op: String,
    /// Throughput on the baseline, /s.
    pub before: f64,
    /// Throughput on the server under test, /s.
    pub after: f64,
    /// `after / before`.
    pub ratio: f64,
    /// Median latency of `primary_op` on the baseline, ms.
    pub before_p50_ms: f64,
    /// 99th percentile of `primary_op` on the baseline, ms.
    pub before_p99_ms: f64,
    /// Median latency of `primary_op` on the server under test, ms.
    pub after_p50_ms: f64,
    /// 99th percentile of `primary_op` on the server under test, ms.
    pub after_p99_ms: f64,
}

/// The combined results file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Combined {
    /// Machine and settings, as `key=value` pairs given on the command line.
    pub meta: BTreeMap<String, String>,
    /// The pgbench baseline, if given.
    pub pgbench: Option<Pgbench>,
    /// The backend runs.
    pub runs: Vec<BackendRun>,
    /// The targets, checked on every run.
    pub targets: Vec<TargetCheck>,
    /// Runs against a baseline server (an earlier revision), paired with `runs` by label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline: Vec<BackendRun>,
    /// Every scenario both a run and its baseline measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<Comparison>,
}

fn check(backend: &str, target: &str, measured: String, met: Option<bool>) -> TargetCheck {
    TargetCheck {
        backend: backend.to_owned(),
        target: target.to_owned(),
        measured,
        met,
    }
}

/// SQLite's `book-distinct` target, bookings/s.
const SQLITE_BOOKINGS: f64 = 2000.0;
/// `availability-day`'s target, answers/s.
/// The pages' p99 target, milliseconds.
const PAGE_P99_MS: f64 = 20.0;
const DAY_ANSWERS: f64 = 1000.0;

fn checks(run: &BackendRun, pg: Option<&Pgbench>) -> Vec<TargetCheck> {
    let b = run.label.as_str();
    let distinct = run.scenario("book-distinct").map(|s| s.throughput);
    let mut out = Vec::new();
    // A run of only some scenarios (the hot slot at another pool size) is checked on those.
    let whole = distinct.is_some();
    if whole && b.starts_with("sqlite") {
        let t = distinct.unwrap_or_default();
        out.push(check(
            b,
            "book-distinct >= 2000 bookings/s",
            format!("{t:.0} bookings/s"),
            Some(t >= SQLITE_BOOKINGS),
        ));
    } else if whole {
        out.push(match (distinct, pg) {
            (Some(t), Some(pg)) => check(
                b,
                "book-distinct >= 1.0 x pgbench -N tps",
                format!("{t:.0} bookings/s / {:.0} tps = {:.2}x", pg.tps, t / pg.tps),
                Some(t >= pg.tps),
            ),
            _ => check(
                b,
                "book-distinct >= 1.0 x pgbench -N tps",
                "not measured".into(),
                None,
            ),
        });
    }
    if let Some(day) = run.scenario("availability-day").map(|s| s.throughput) {
        out.push(check(
            b,
            "availability-day >= 1000 answers/s",
            format!("{day:.0} answers/s"),
            Some(day >= DAY_ANSWERS),
        ));
    }
    for (name, what) in [
        (
            "page-desk-day",
            "desk day view (20 doctors x 16 slots) p99 <= 20 ms",
        ),
        ("page-doctor-month", "doctor month view p99 <= 20 ms"),
    ] {
        if let Some((s, o)) = run
            .scenario(name)
            .and_then(|s| s.ops.get("get").map(|o| (s, o)))
        {
            out.push(check(
                b,
                &format!("{what} at {} clients", s.clients),
                format!("{:.1} ms", o.p99_ms),
                Some(o.p99_ms <= PAGE_P99_MS),
            ));
        }
    }
    let fails: u64 = run.scenarios.iter().map(ScenarioResult::failures).sum();
    let hot = run
        .scenario("hot-slot")
        .and_then(|s| s.verify.as_ref())
        .and_then(|v| v["ok"].as_bool());
    out.push(check(
        b,
        "no 5xx in any scenario",
        format!("{fails} 5xx/transport errors"),
        Some(fails == 0),
    ));
    if let Some(ok) = hot {
        out.push(check(
            b,
            "hot-slot: wins = seats, counts consistent",
            if ok { "holds" } else { "violated" }.into(),
            Some(ok),
        ));
    }
    let week = run
        .scenario("availability-week")
        .and_then(|s| s.ops.get("get"));
    out.push(match week {
        None if !whole => return out,
        Some(o) => check(
            b,
            "availability week p99 <= 10 ms at 32 clients",
            format!("{:.1} ms", o.p99_ms),
            Some(o.p99_ms <= 10.0),
        ),
        None => check(
            b,
            "availability week p99 <= 10 ms at 32 clients",
            "not measured".into(),
            None,
        ),
    });
    let growth = run.scenario("growth");
    let paired = growth.and_then(|s| s.paired.as_ref());
    out.push(match (distinct, growth, paired) {
        (_, _, Some(p)) if p.reference_mean() > 0.0 => {
            let (e, g) = (p.reference_mean(), p.seeded_mean());
            check(
                b,
                "growth within 10% of empty",
                format!(
                    "{g:.0} vs {e:.0} bookings/s on an empty reference, windows alternating = {:+.1}%",
                    100.0 * (g / e - 1.0)
                ),
                Some(g >= 0.9 * e),
            )
        }
        (Some(e), Some(g), None) if e > 0.0 => check(
            b,
            "growth within 10% of empty",
            format!(
                "{:.0} vs {e:.0} bookings/s = {:+.1}%",
                g.throughput,
                100.0 * (g.throughput / e - 1.0)
            ),
            Some(g.throughput >= 0.9 * e),
        ),
        _ => check(b, "growth within 10% of empty", "not measured".into(), None),
    });
    let rss = run.server_hwm_mib.or_else(|| {
        run.scenarios
            .iter()
            .filter_map(|s| s.resources.server_rss_max_mib)
            .reduce(f64::max)
    });
    out.push(match rss {
        Some(m) => check(
            b,
            "server RSS under load <= 100 MiB",
            format!("{m:.1} MiB peak (VmHWM)"),
            Some(m <= 100.0),
        ),
        None => check(
            b,
            "server RSS under load <= 100 MiB",
            "not measured".into(),
            None,
        ),
    });
    out
}

/// Combines runs, baseline and metadata, checking the targets.
pub fn combine(
    runs: Vec<BackendRun>,
    pgbench: Option<Pgbench>,
    meta: BTreeMap<String, String>,
) -> Combined {
    let targets = runs
        .iter()
        .flat_map(|r| checks(r, pgbench.as_ref()))
        .collect();
    Combined {
        meta,
        pgbench,
        runs,
        targets,
        baseline: Vec::new(),
        comparisons: Vec::new(),
    }
}

/// Within how much of the baseline's `book-distinct` throughput a run must stay.
const BASELINE_TOLERANCE: f64 = 0.05;

fn compare(before: &BackendRun, after: &BackendRun) -> Vec<Comparison> {
    let pair = |b: &ScenarioResult| {
        let a = after.scenario(&b.name)?;
        let (bo, ao) = (b.ops.get(&b.primary_op)?, a.ops.get(&a.primary_op)?);
        Some(Comparison {
            backend: after.label.clone(),
            scenario: b.name.clone(),
            primary_op: b.primary_op.clone(),
            before: b.throughput,
            after: a.throughput,
            ratio: a.throughput / b.throughput,
            before_p50_ms: bo.p50_ms,
            before_p99_ms: bo.p99_ms,
            after_p50_ms: ao.p50_ms,
            after_p99_ms: ao.p99_ms,
        })
    };
    before.scenarios.iter().filter_map(pair).collect()
}

impl Combined {
    /// Adds runs against a baseline server, each compared with the run of the same label,
    /// and checks `book-distinct` against it.
    pub fn with_baseline(mut self, baseline: Vec<BackendRun>) -> Self {
        let target = format!(
            "book-distinct within {:.0}% of the baseline",
            BASELINE_TOLERANCE * 100.0
        );
        for before in &baseline {
            let Some(after) = self.runs.iter().find(|r| r.label == before.label) else {
                continue;
            };
            let rows = compare(before, after);
            let distinct = rows.iter().find(|c| c.scenario == "book-distinct");
            self.targets.push(match distinct {
                Some(c) => check(
                    &c.backend,
                    &target,
                    format!(
                        "{:.0} vs {:.0} bookings/s = {:.3}x ({:+.1}%)",
                        c.after,
                        c.before,
                        c.ratio,
                        100.0 * (c.ratio - 1.0)
                    ),
                    Some(c.ratio >= 1.0 - BASELINE_TOLERANCE),
                ),
                None => check(&after.label, &target, "not measured".into(), None),
            });
            self.comparisons.extend(rows);
        }
        self.baseline = baseline;
        self
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// One line on what PostgreSQL's backends did during a window.
pub fn pg_line(w: &crate::pgstat::PgWindow) -> String {
    let secs = w.seconds;
    let mut states: Vec<(&String, &f64)> = w.backends.iter().filter(|(_, v)| **v >= 0.05).collect();
    states.sort_by(|a, b| b.1.total_cmp(a.1));
    let states: Vec<String> = states.iter().map(|(k, v)| format!("{k} {v:.1}")).collect();
    format!(
        "backends (mean count): {}; {:.0} commits/s, {:.0} rollbacks/s, {:.1} commits per WAL flush, {:.0} WAL bytes/commit, {} full-page images",
        states.join(", "),
        w.commits as f64 / secs.max(1e-9),
        w.rollbacks as f64 / secs.max(1e-9),
        w.commits_per_wal_sync,
        w.wal_bytes_per_commit,
        w.wal_fpi
    )
}

fn run_table(md: &mut String, heading: &str, run: &BackendRun) {
    let _ = writeln!(md, "### {heading}{} ({})\n", run.label, run.base_url);
    md.push_str("| scenario | clients | throughput /s | request | requests | p50 ms | p95 ms | p99 ms | max ms | statuses | server CPU | postgres CPU | bench CPU | machine busy % | server RSS MiB |\n");
    md.push_str("|---|--:|--:|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|\n");
    for s in &run.scenarios {
        for (i, (op, o)) in s.ops.iter().enumerate() {
            let statuses: Vec<String> = o
                .statuses
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let first = i == 0;
            let r = &s.resources;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {op} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {} | {} | {} | {} |",
                if first { s.name.as_str() } else { "" },
                if first { s.clients.to_string() } else { String::new() },
                if first { format!("{:.0} ({})", s.throughput, s.primary_op) } else { String::new() },
                o.requests, o.p50_ms, o.p95_ms, o.p99_ms, o.max_ms, statuses.join(", "),
                if first { opt(r.server_cpu_cores, 2) } else { String::new() },
                if first { format!("{:.2}", r.postgres_cpu_cores) } else { String::new() },
                if first { format!("{:.2}", r.bench_cpu_cores) } else { String::new() },
                if first { format!("{:.0}", r.machine_busy_pct) } else { String::new() },
                if first { opt(r.server_rss_max_mib, 1) } else { String::new() },
            );
        }
    }
    md.push('\n');
    for s in &run.scenarios {
        if let Some(v) = &s.verify {
            let _ = writeln!(md, "- {} check: `{v}`", s.name);
        }
        for n in &s.notes {
            let _ = writeln!(md, "- {}: {n}", s.name);
        }
        if let Some(w) = &s.postgres {
            let _ = writeln!(md, "- {} PostgreSQL: {}", s.name, pg_line(w));
        }
    }
    if let Some(seed) = &run.seed {
        let _ = writeln!(
            md,
            "- growth seed: {} appointments on {} slots in {:.1} s (+{:.1} s VACUUM ANALYZE/CHECKPOINT or WAL checkpoint); {} appointments in the database",
            seed.appointments, seed.slots, seed.insert_s, seed.maintenance_s, seed.appointments_total
        );
    }
    if let Some(h) = run.server_hwm_mib {
        let _ = writeln!(md, "- server peak RSS (VmHWM) over the run: {h:.1} MiB");
    }
    md.push('\n');
}

fn comparison_table(md: &mut String, c: &Combined) {
    if c.comparisons.is_empty() {
        return;
    }
    let what = c
        .meta
        .get("baseline")
        .map_or("the baseline", String::as_str);
    let _ = writeln!(md, "### Against {what}\n");
    md.push_str("| backend | scenario | before /s | after /s | after ÷ before | p50 ms before → after | p99 ms before → after |\n");
    md.push_str("|---|---|--:|--:|--:|--:|--:|\n");
    for r in &c.comparisons {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | **{:.3}** | {:.2} → {:.2} | {:.2} → {:.2} |",
            r.backend,
            r.scenario,
            r.before,
            r.after,
            r.ratio,
            r.before_p50_ms,
            r.after_p50_ms,
            r.before_p99_ms,
            r.after_p99_ms
        );
    }
    md.push('\n');
}

/// The markdown page.
pub fn markdown(c: &Combined) -> String {
    let mut md = String::from("## Results\n\n");
    for (k, v) in &c.meta {
        let _ = writeln!(md, "- {k}: {v}");
    }
    md.push('\n');
    if let Some(pg) = &c.pgbench {
        let _ = writeln!(
            md,
            "### Baseline: pgbench -N\n\n{:.0} tps, mean latency {} ms, {} clients, {} threads, scale {}, {} failed.\n",
            pg.tps,
            opt(pg.latency_ms, 2),
            pg.clients.map_or("?".into(), |v| v.to_string()),
            pg.threads.map_or("?".into(), |v| v.to_string()),
            pg.scale.map_or("?".into(), |v| v.to_string()),
            pg.failed.map_or("?".into(), |v| v.to_string()),
        );
        if let Some(w) = &pg.postgres {
            let _ = writeln!(md, "- pgbench PostgreSQL: {}", pg_line(w));
        }
        for run in &c.runs {
            if let Some(s) = run.scenario("book-distinct") {
                let _ = writeln!(
                    md,
                    "- {}: book-distinct {:.0} bookings/s ÷ pgbench {:.0} tps = **{:.2}×**",
                    run.label,
                    s.throughput,
                    pg.tps,
                    s.throughput / pg.tps
                );
            }
        }
        md.push('\n');
    }
    comparison_table(&mut md, c);
    for run in &c.runs {
        run_table(&mut md, "", run);
    }
    for run in &c.baseline {
        run_table(&mut md, "Baseline: ", run);
    }
    md.push_str("### Targets\n\n| backend | target | measured | met |\n|---|---|---|---|\n");
    for t in &c.targets {
        let met = match t.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "–",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {met} |",
            t.backend, t.target, t.measured
        );
    }
    md
}
