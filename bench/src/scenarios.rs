//! The benchmark scenarios: fixtures, measured window, checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::fixtures::{minute_slots, Fixtures, Target};
use crate::jobs::{BookConfirm, BookDistinct, Get, HotSlot};
use crate::load::{drive, Job, Plan, Recorder};
use crate::pgstat::{PgSampler, PgWindow};
use crate::probe::Probe;
use crate::results::{ScenarioResult, SeedReport};

/// The scenarios, in their default order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// C clients book distinct free slots; every request should win.
    BookDistinct,
    /// Clients race for a few small slots; then wins = seats is checked through the API.
    HotSlot,
    /// Book, then confirm.
    BookConfirm,
    /// `available-slots` for a week of a busy doctor (~100 slots).
    AvailabilityWeek,
    /// `available-slots` for a day holding 1,440 slots.
    AvailabilityDay,
    /// Seed 1,000,000 appointments in SQL, then `book-distinct` again.
    Growth,
    /// The front desk's day page: 20 doctors × 16 slots (on a server of its own).
    PageDeskDay,
    /// A doctor's month page (on a server of its own).
    PageDoctorMonth,
}

impl Scenario {
    /// Every scenario, in run order.
    pub const ALL: [Scenario; 6] = [
        Scenario::BookDistinct,
        Scenario::HotSlot,
        Scenario::BookConfirm,
        Scenario::AvailabilityWeek,
        Scenario::AvailabilityDay,
        Scenario::Growth,
    ];

    /// The scenario's name as written in results.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::BookDistinct => "book-distinct",
            Scenario::HotSlot => "hot-slot",
            Scenario::BookConfirm => "book-confirm",
            Scenario::AvailabilityWeek => "availability-week",
            Scenario::AvailabilityDay => "availability-day",
            Scenario::Growth => "growth",
            Scenario::PageDeskDay => "page-desk-day",
            Scenario::PageDoctorMonth => "page-doctor-month",
        }
    }
}

/// How hard and how long each scenario drives.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Concurrent clients of the booking scenarios.
    pub clients: usize,
    /// Concurrent clients of the availability scenarios.
    pub read_clients: usize,
    /// Concurrent clients of the page scenarios.
    pub page_clients: usize,
    /// Time limit of each measured window.
    pub duration: Duration,
    /// Iteration limit of each booking window (and the number of slots created for it).
    pub max_bookings: u64,
    /// Unmeasured bookings before `book-distinct` and `growth`'s windows.
    pub warmup: u64,
    /// Contested slots in `hot-slot`.
    pub hot_slots: usize,
    /// Seats of each contested slot.
    pub hot_capacity: u32,
    /// Requests aimed at each contested slot.
    pub hot_requests_per_slot: u64,
    /// Patients registered for the run.
    pub patients: usize,
    /// Doctors sharing the slots of a booking scenario.
    pub doctors: usize,
    /// The server's pid, for RSS and CPU figures.
    pub server_pid: Option<u32>,
    /// The database to seed before `growth` (`postgres://…` or `sqlite:…`); none: no seeding.
    pub seed_url: Option<String>,
    /// Appointments to seed.
    pub seed_appointments: u64,
    /// Seeded `growth` windows, each followed by a window on the reference server (when
    /// `run` is given one).
    pub growth_rounds: usize,
    /// A PostgreSQL database to watch during each window (wait events, commits per WAL flush).
    #[serde(skip)]
    pub pg_stats_url: Option<String>,
    /// The account the run logs in as (an admin, so it may create doctors and patients);
    /// `None` sends no token, for a server without authentication.
    #[serde(skip)]
    pub login: Option<(String, String)>,
}

/// A scenario's measured window, before it becomes a [`ScenarioResult`].
pub(crate) struct Window {
    rec: Recorder,
    elapsed: Duration,
    probe: crate::results::Resources,
    postgres: Option<PgWindow>,
    clients: usize,
}

pub(crate) async fn measure<J: Job>(plan: Plan, job: J, s: &Settings) -> Result<Window, String> {
    let sampler = match &s.pg_stats_url {
        Some(url) => {
            Some(PgSampler::start(url, plan.duration + Duration::from_secs(120), true).await?)
        }
        None => None,
    };
    let probe = Probe::start(s.server_pid);
    let (rec, elapsed) = drive(plan, Arc::new(job)).await;
    let probe = probe.finish().await;
    let postgres = match sampler {
        Some(p) => Some(p.finish().await?),
        None => None,
    };
    Ok(Window {
        rec,
        elapsed,
        probe,
        postgres,
        clients: plan.clients,
    })
}

pub(crate) fn result(name: &str, setup: Duration, primary: &str, w: Window) -> ScenarioResult {
    let ops = w.rec.summarize(w.elapsed);
    let throughput = ops.get(primary).map_or(0.0, |o| o.ok_per_second);
    ScenarioResult {
        name: name.to_owned(),
        clients: w.clients,
        elapsed_s: w.elapsed.as_secs_f64(),
        setup_s: setup.as_secs_f64(),
        primary_op: primary.to_owned(),
        throughput,
        ops,
        resources: w.probe,
        postgres: w.postgres,
        verify: None,
        notes: Vec::new(),
        paired: None,
    }
}

/// Runs one scenario against the fixtures' server; `reference` (fixtures on a second server
/// with an empty database) makes `growth` a paired measurement.
pub async fn run(
    fx: &Fixtures,
    reference: Option<&Fixtures>,
    s: &Settings,
    which: Scenario,
) -> Result<(ScenarioResult, Option<SeedReport>), String> {
    let mut seed = None;
    let r = match which {
        Scenario::BookDistinct => book_distinct(fx, s, "book-distinct").await?,
        Scenario::HotSlot => hot_slot(fx, s).await?,
        Scenario::BookConfirm => book_confirm(fx, s).await?,
        Scenario::AvailabilityWeek => availability_week(fx, s).await?,
        Scenario::AvailabilityDay => availability_day(fx, s).await?,
        Scenario::PageDeskDay => crate::pages::desk_day(fx, s).await?,
        Scenario::PageDoctorMonth => crate::pages::doctor_month(fx, s).await?,
        Scenario::Growth => {
            if let Some(url) = &s.seed_url {
                eprintln!(
                    "  seeding {} appointments into {}",
                    s.seed_appointments,
                    redact(url)
                );
                let report = crate::seed::seed(url, s.seed_appointments, &fx.tag).await?;
                eprintln!(
                    "  seeded in {:.1} s (+{:.1} s maintenance); {} appointments in all",
                    report.insert_s, report.maintenance_s, report.appointments_total
                );
                seed = Some(report);
            }
            let mut r = match reference {
                Some(rf) => paired_growth(fx, rf, s).await?,
                None => book_distinct(fx, s, "growth").await?,
            };
            if seed.is_none() {
                r.notes
                    .push("no --seed-database-url: the database was not seeded".into());
            }
            r
        }
    };
    Ok((r, seed))
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn budget_note(r: &mut ScenarioResult, used: u64, budget: u64) {
    if used >= budget {
        r.notes.push(format!(
            "the iteration budget ({budget}) ran out before the time limit"
        ));
    }
}

async fn book_distinct(fx: &Fixtures, s: &Settings, name: &str) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let warmup = usize::try_from(s.warmup).unwrap_or(0);
    let budget = usize::try_from(s.max_bookings).unwrap_or(usize::MAX);
    let targets = Arc::new(fx.distinct_targets(s.doctors, warmup + budget).await?);
    let setup = started.elapsed();
    let job = |offset| BookDistinct {
        api: fx.api.clone(),
        targets: targets.clone(),
        patients: fx.patients.clone(),
        offset,
    };
    let warm = Plan {
        clients: s.clients,
        duration: Duration::from_secs(10),
        max_iterations: s.warmup,
    };
    drive(warm, Arc::new(job(0))).await;
    let plan = Plan {
        clients: s.clients,
        duration: s.duration,
        max_iterations: s.max_bookings,
    };
    let w = measure(plan, job(warmup), s).await?;
    let used = w.rec.count("book", 201) + w.rec.count("book", 409);
    let mut r = result(name, setup, "book", w);
    budget_note(&mut r, used, s.max_bookings);
    Ok(r)
}

/// `growth` as windows alternating between the reference server (empty database) and the
/// seeded one, R S R … R with `growth_rounds` seeded windows: a machine whose speed drifts
/// between windows (measured here: `pgbench -N` moving by a third within an hour) then weighs
/// on both sides of the ratio instead of on one. The result is the first seeded window's, with
/// every window's throughput in `paired`.
async fn paired_growth(
    fx: &Fixtures,
    reference: &Fixtures,
    s: &Settings,
) -> Result<ScenarioResult, String> {
    // The reference server is neither the one whose resources are probed nor the watched
    // database.
    let rs = Settings {
        server_pid: None,
        pg_stats_url: None,
        ..s.clone()
    };
    let mut waited = vec![quiesce_both(fx, reference).await?];
    let mut refs = vec![
        book_distinct(reference, &rs, "growth-reference")
            .await?
            .throughput,
    ];
    let mut seeded: Vec<ScenarioResult> = Vec::new();
    for _ in 0..s.growth_rounds.max(1) {
        waited.push(quiesce_both(fx, reference).await?);
        let r = book_distinct(fx, s, "growth").await?;
        eprintln!("  seeded window: {:.0}/s", r.throughput);
        seeded.push(r);
        waited.push(quiesce_both(fx, reference).await?);
        let t = book_distinct(reference, &rs, "growth-reference")
            .await?
            .throughput;
        eprintln!("  reference window: {t:.0}/s");
        refs.push(t);
    }
    let throughputs = seeded.iter().map(|r| r.throughput).collect();
    let mut r = seeded.remove(0);
    r.notes.push(format!(
        "paired with a reference server on an empty database: windows R S R … R, {} seeded, each \
         started once neither server had a notification pending (waited {}); the result's \
         latencies are the first seeded window's",
        s.growth_rounds.max(1),
        waited
            .iter()
            .map(|w| format!("{:.1} s", w.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    r.paired = Some(crate::results::Paired {
        reference: refs,
        seeded: throughputs,
    });
    Ok(r)
}

/// Waits until neither server has a notification pending. Both, not just the one about to be
/// measured: the two servers share the machine's cores and the database server, so a window
/// started while the other server still drains its backlog is measured against that work.
async fn quiesce_both(a: &Fixtures, b: &Fixtures) -> Result<Duration, String> {
    let waited = quiesce(a).await? + quiesce(b).await?;
    Ok(waited)
}

/// Waits until the server's outbox has no pending notification (at most five minutes) and
/// returns how long that took. A booking window leaves a backlog that the outbox worker
/// settles afterwards; on SQLite that work shares the one writer with the next window's
/// bookings, so a window started on a backlog measures the previous window's notifications
/// as much as its own bookings.
async fn quiesce(fx: &Fixtures) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let r = fx.api.get("/outbox?status=pending&limit=1").await;
        let total = r
            .json()
            .and_then(|v| v["pagination"]["total"].as_i64())
            .ok_or_else(|| format!("GET /outbox: {}", r.describe()))?;
        if total == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(format!(
                "{total} notifications still pending after five minutes"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn hot_slot(fx: &Fixtures, s: &Settings) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let doctor = fx.doctors(1).await?.remove(0);
    let specs = minute_slots(Fixtures::day(2), s.hot_slots, s.hot_capacity);
    let slots = fx.api.create_slots(&doctor, &specs).await?;
    let targets: Vec<Target> = slots
        .iter()
        .map(|id| (doctor.clone(), id.clone()))
        .collect();
    let setup = started.elapsed();
    let budget = s.hot_slots as u64 * s.hot_requests_per_slot;
    let plan = Plan {
        clients: s.clients,
        duration: s.duration.max(Duration::from_secs(60)),
        max_iterations: budget,
    };
    let job = HotSlot {
        api: fx.api.clone(),
        targets: Arc::new(targets),
        patients: fx.patients.clone(),
        per_slot: s.hot_requests_per_slot,
    };
    let w = measure(plan, job, s).await?;
    let wins = w.rec.count("book", 201);
    let mut r = result("hot-slot", setup, "book", w);
    // The invariant, read back through the API.
    let listed = fx
        .api
        .list_slots(&doctor, specs[0].date, specs[specs.len() - 1].date)
        .await?;
    let bookings: Vec<i64> = slots
        .iter()
        .map(|id| {
            listed
                .iter()
                .find(|v| v["id"].as_str() == Some(id))
                .and_then(|v| v["current_bookings"].as_i64())
                .unwrap_or(-1)
        })
        .collect();
    let seats = s.hot_slots as u64 * u64::from(s.hot_capacity);
    let sum: i64 = bookings.iter().sum();
    let ok = wins == seats
        && i64::try_from(wins).ok() == Some(sum)
        && bookings.iter().all(|b| *b == i64::from(s.hot_capacity))
        && r.failures() == 0;
    r.verify = Some(
        json!({"ok": ok, "seats": seats, "wins": wins, "current_bookings_sum": sum,
                           "per_slot_current_bookings": bookings, "five_xx": r.failures()}),
    );
    Ok(r)
}

async fn book_confirm(fx: &Fixtures, s: &Settings) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let budget = usize::try_from(s.max_bookings / 2).unwrap_or(usize::MAX);
    let targets = Arc::new(fx.distinct_targets(s.doctors, budget).await?);
    let setup = started.elapsed();
    let plan = Plan {
        clients: s.clients,
        duration: s.duration,
        max_iterations: budget as u64,
    };
    let job = BookConfirm {
        api: fx.api.clone(),
        targets,
        patients: fx.patients.clone(),
    };
    let w = measure(plan, job, s).await?;
    let used = w.rec.count("book", 201) + w.rec.count("book", 409);
    let mut r = result("book-confirm", setup, "confirm", w);
    budget_note(&mut r, used, budget as u64);
    Ok(r)
}

/// Measures `GET path` after checking once that it answers 200 with `expect` slots.
async fn availability(
    fx: &Fixtures,
    s: &Settings,
    name: &str,
    path: String,
    setup: Duration,
) -> Result<ScenarioResult, String> {
    let probe = fx.api.get(&path).await;
    let listed = probe
        .json()
        .filter(|_| probe.status == 200)
        .and_then(|v| v["data"].as_array().map(Vec::len))
        .ok_or_else(|| format!("{name}: {}", probe.describe()))?;
    let plan = Plan {
        clients: s.read_clients,
        duration: s.duration,
        max_iterations: 10_000_000,
    };
    let w = measure(
        plan,
        Get {
            api: fx.api.clone(),
            path,
        },
        s,
    )
    .await?;
    let mut r = result(name, setup, "get", w);
    r.notes.push(format!(
        "each answer lists {listed} available slots ({} bytes)",
        probe.body.len()
    ));
    Ok(r)
}

async fn availability_week(fx: &Fixtures, s: &Settings) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let doctor = fx.doctors(1).await?.remove(0);
    // Seven days of 15 half-hourly two-seat slots (09:00–16:00): 105 slots.
    let first = Fixtures::day(3);
    let specs: Vec<_> = (0..7u64)
        .flat_map(|d| {
            (0..15u32).map(move |k| crate::api::SlotSpec {
                date: first
                    .checked_add_days(chrono::Days::new(d))
                    .unwrap_or(first),
                time: chrono::NaiveTime::from_hms_opt(9 + k / 2, (k % 2) * 30, 0)
                    .unwrap_or_default(),
                capacity: 2,
            })
        })
        .collect();
    let ids = fx.api.create_slots(&doctor, &specs).await?;
    // A busy doctor: a third of the slots half taken, a sixth full.
    let mut bookings: Vec<Target> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let seats = match i % 6 {
            0 | 1 => 1,
            2 => 2,
            _ => 0,
        };
        bookings.extend((0..seats).map(|_| (doctor.clone(), id.clone())));
    }
    fx.book_all(bookings).await?;
    let last = first
        .checked_add_days(chrono::Days::new(6))
        .unwrap_or(first);
    let path = format!("/doctors/{doctor}/available-slots?from_date={first}&to_date={last}");
    availability(fx, s, "availability-week", path, started.elapsed()).await
}

async fn availability_day(fx: &Fixtures, s: &Settings) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let doctor = fx.doctors(1).await?.remove(0);
    let day = Fixtures::day(3);
    let ids = fx
        .api
        .create_slots(&doctor, &minute_slots(day, 1440, 1))
        .await?;
    // Every tenth slot taken.
    let taken: Vec<Target> = ids
        .iter()
        .step_by(10)
        .map(|id| (doctor.clone(), id.clone()))
        .collect();
    fx.book_all(taken).await?;
    let path = format!("/doctors/{doctor}/available-slots?from_date={day}&to_date={day}");
    availability(fx, s, "availability-day", path, started.elapsed()).await
}

/// The run's settings as JSON, for the results file.
pub fn settings_json(s: &Settings, scenarios: &[Scenario]) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    v["duration_s"] = json!(s.duration.as_secs_f64());
    v["scenarios"] = json!(scenarios.iter().map(|x| x.name()).collect::<Vec<_>>());
    v["logged_in"] = json!(s.login.is_some());
    if let Some(url) = &s.seed_url {
        v["seed_url"] = json!(redact(url));
    }
    v
}
