//! `carebook-bench`: `run` the scenarios against a server, `seed` a database, or `report`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use carebook_bench::pgstat::PgSampler;
use carebook_bench::report::{combine, markdown, Pgbench};
use carebook_bench::results::BackendRun;
use carebook_bench::scenarios::{Scenario, Settings};

/// Load generator and benchmark suite for the carebook API.
#[derive(Parser)]
#[command(name = "carebook-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against a server and write their results as JSON.
    Run(RunArgs),
    /// Insert appointment history directly into a database (as `growth` does first).
    Seed {
        /// `postgres://…` or `sqlite:PATH`.
        #[arg(long)]
        database_url: String,
        /// Appointments to insert (a multiple of 10).
        #[arg(long, default_value_t = 1_000_000)]
        appointments: u64,
    },
    /// Watch a PostgreSQL database for a while (wait events, commits per WAL flush), e.g.
    /// during pgbench; writes the window as JSON.
    PgSample {
        /// The database to watch.
        #[arg(long)]
        database_url: String,
        /// How long to watch, seconds.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Where to write the JSON (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Combine run results and a pgbench output into results.json and results.md.
    Report {
        /// A `run` output; repeat for each backend.
        #[arg(long = "input", required = true)]
        inputs: Vec<PathBuf>,
        /// A `run` output against a baseline server (e.g. the revision before a change),
        /// compared with the `--input` of the same label; repeatable.
        #[arg(long = "baseline")]
        baselines: Vec<PathBuf>,
        /// pgbench's output: the database's own limit.
        #[arg(long)]
        pgbench_output: Option<PathBuf>,
        /// A `pg-sample` taken during pgbench.
        #[arg(long)]
        pgbench_sample: Option<PathBuf>,
        /// `key=value` facts about the machine and the run; repeatable.
        #[arg(long = "meta")]
        meta: Vec<String>,
        /// Where to write the combined JSON.
        #[arg(long)]
        out_json: PathBuf,
        /// Where to write the markdown tables.
        #[arg(long)]
        out_md: PathBuf,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The API's base URL, e.g. http://127.0.0.1:5000/api.
    #[arg(long)]
    base_url: String,
    /// A name for this server in the results.
    #[arg(long, default_value = "server")]
    label: String,
    /// Scenarios to run, in order (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Concurrent clients of the booking scenarios.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Concurrent clients of the availability scenarios.
    #[arg(long, default_value_t = 32)]
    read_clients: usize,
    /// Concurrent clients of the page scenarios.
    #[arg(long, default_value_t = 8)]
    page_clients: usize,
    /// Time limit of each measured window, seconds.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Iteration limit of each booking window (slots are created for every one).
    #[arg(long, default_value_t = 40_000)]
    max_bookings: u64,
    /// Unmeasured bookings before `book-distinct` and `growth`.
    #[arg(long, default_value_t = 2_000)]
    warmup: u64,
    /// Contested slots in `hot-slot`.
    #[arg(long, default_value_t = 20)]
    hot_slots: usize,
    /// Seats of each contested slot.
    #[arg(long, default_value_t = 5)]
    hot_capacity: u32,
    /// Requests aimed at each contested slot (distinct patients; at most --patients).
    #[arg(long, default_value_t = 100)]
    hot_requests_per_slot: u64,
    /// Patients to register.
    #[arg(long, default_value_t = 1_000)]
    patients: usize,
    /// Doctors sharing a booking scenario's slots.
    #[arg(long, default_value_t = 16)]
    doctors: usize,
    /// The server's pid, to sample its RSS and CPU from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Database to seed before `growth` (postgres://… or sqlite:PATH).
    #[arg(long)]
    seed_database_url: Option<String>,
    /// Appointments to seed before `growth`.
    #[arg(long, default_value_t = 1_000_000)]
    seed_appointments: u64,
    /// A second server on an empty database: `growth` then alternates windows between it and
    /// the seeded server (R S R … R) instead of comparing with `book-distinct`.
    #[arg(long)]
    reference_url: Option<String>,
    /// Seeded windows of a paired `growth` (each followed by a reference window).
    #[arg(long, default_value_t = 2)]
    growth_rounds: usize,
    /// A PostgreSQL database to watch during each window (the server's own database).
    #[arg(long)]
    pg_stats_url: Option<String>,
    /// The admin account to log in as.
    #[arg(long, env = "ADMIN_EMAIL", default_value = "bench@carebook.test")]
    email: String,
    /// Its password.
    #[arg(
        long,
        env = "ADMIN_PASSWORD",
        default_value = "bench admin passphrase",
        hide_env_values = true
    )]
    password: String,
    /// Do not log in and send no token (a server from before authentication).
    #[arg(long)]
    no_login: bool,
    /// Where to write the JSON results (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl RunArgs {
    fn settings(&self) -> Result<Settings, String> {
        if !(self.duration > 0.0 && self.duration <= 600.0) {
            return Err("--duration must be in (0, 600] seconds".into());
        }
        if self.hot_requests_per_slot as usize > self.patients {
            return Err("--hot-requests-per-slot may not exceed --patients".into());
        }
        Ok(Settings {
            clients: self.clients.clamp(1, 1024),
            read_clients: self.read_clients.clamp(1, 1024),
            page_clients: self.page_clients.clamp(1, 1024),
            duration: Duration::from_secs_f64(self.duration),
            max_bookings: self.max_bookings.min(1_000_000),
            warmup: self.warmup.min(100_000),
            hot_slots: self.hot_slots.clamp(1, 1000),
            hot_capacity: self.hot_capacity.clamp(1, 1000),
            hot_requests_per_slot: self.hot_requests_per_slot.max(1),
            patients: self.patients.clamp(1, 100_000),
            doctors: self.doctors.clamp(1, 1000),
            server_pid: self.server_pid,
            seed_url: self.seed_database_url.clone(),
            seed_appointments: self.seed_appointments.min(20_000_000),
            growth_rounds: self.growth_rounds.clamp(1, 10),
            pg_stats_url: self.pg_stats_url.clone(),
            login: (!self.no_login).then(|| (self.email.clone(), self.password.clone())),
        })
    }
}

fn write(path: &PathBuf, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_runs(paths: &[PathBuf]) -> Result<Vec<BackendRun>, String> {
    paths
        .iter()
        .map(|p| serde_json::from_str(&read(p)?).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}

async fn main_inner(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Run(args) => {
            let settings = args.settings()?;
            let which = if args.scenarios.is_empty() {
                Scenario::ALL.to_vec()
            } else {
                args.scenarios.clone()
            };
            let run = carebook_bench::run(
                &args.label,
                &args.base_url,
                args.reference_url.as_deref(),
                &settings,
                &which,
            )
            .await?;
            let json = serde_json::to_string_pretty(&run).map_err(|e| e.to_string())?;
            match &args.out {
                Some(p) => write(p, &json),
                None => {
                    println!("{json}");
                    Ok(())
                }
            }
        }
        Command::Seed {
            database_url,
            appointments,
        } => {
            let tag = format!("{:08x}", fastrand::u32(..));
            let r = carebook_bench::seed::seed(&database_url, appointments, &tag).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::PgSample {
            database_url,
            seconds,
            out,
        } => {
            if !(seconds > 0.0 && seconds <= 600.0) {
                return Err("--seconds must be in (0, 600]".into());
            }
            let limit = Duration::from_secs_f64(seconds);
            let sampler = PgSampler::start(&database_url, limit, false).await?;
            tokio::time::sleep(limit).await;
            let w = sampler.finish().await?;
            let json = serde_json::to_string_pretty(&w).map_err(|e| e.to_string())?;
            match &out {
                Some(p) => write(p, &json),
                None => {
                    println!("{json}");
                    Ok(())
                }
            }
        }
        Command::Report {
            inputs,
            baselines,
            pgbench_output,
            pgbench_sample,
            meta,
            out_json,
            out_md,
        } => {
            let runs = read_runs(&inputs)?;
            let baseline = read_runs(&baselines)?;
            let mut pgbench = match &pgbench_output {
                Some(p) => Some(Pgbench::parse(&read(p)?)?),
                None => None,
            };
            if let (Some(pg), Some(p)) = (pgbench.as_mut(), &pgbench_sample) {
                let window: carebook_bench::pgstat::PgWindow =
                    serde_json::from_str(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?;
                pg.postgres = Some(window);
            }
            let meta: BTreeMap<String, String> = meta
                .iter()
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                })
                .collect();
            let combined = combine(runs, pgbench, meta).with_baseline(baseline);
            write(
                &out_json,
                &serde_json::to_string_pretty(&combined).map_err(|e| e.to_string())?,
            )?;
            write(&out_md, &markdown(&combined))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carebook-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
