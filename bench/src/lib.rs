//! carebook-bench: a load generator for any server speaking the carebook API.
//!
//! [`api`] talks to the server, [`fixtures`] creates each scenario's data through the API,
//! [`load`] drives C closed-loop clients into HdrHistograms, [`jobs`] and [`scenarios`] are the
//! issue's scenarios, [`seed`] fills a database with appointment history in SQL, [`probe`]
//! reads CPU and memory from `/proc`, [`pgstat`] samples PostgreSQL's wait events, and [`results`]/[`report`] write JSON and markdown.

pub mod api;
pub mod fixtures;
pub mod jobs;
pub mod load;
pub mod pages;
pub mod pgstat;
pub mod probe;
pub mod report;
pub mod results;
pub mod scenarios;
pub mod seed;

use std::time::Duration;

use api::Api;
use fixtures::Fixtures;
use results::BackendRun;
use scenarios::{Scenario, Settings};

/// Runs `which` in order against `base_url` and returns everything measured;
/// `reference_url`, a second server on an empty database, makes `growth` a paired measurement.
pub async fn run(
    label: &str,
    base_url: &str,
    reference_url: Option<&str>,
    settings: &Settings,
    which: &[Scenario],
) -> Result<BackendRun, String> {
    let started_at = chrono::Utc::now().to_rfc3339();
    eprintln!("[{label}] registering {} patients", settings.patients);
    let fx = fixtures(base_url, settings).await?;
    let reference = match reference_url {
        Some(url) if which.contains(&Scenario::Growth) => {
            eprintln!("[{label}] registering them on the reference server {url}");
            Some(fixtures(url, settings).await?)
        }
        _ => None,
    };
    let mut run = BackendRun {
        label: label.to_owned(),
        base_url: base_url.to_owned(),
        started_at,
        config: scenarios::settings_json(settings, which),
        scenarios: Vec::new(),
        seed: None,
        server_hwm_mib: None,
    };
    for &s in which {
        eprintln!("[{label}] {}", s.name());
        let (result, seed) = scenarios::run(&fx, reference.as_ref(), settings, s).await?;
        eprintln!(
            "[{label}] {}: {:.0}/s ({}), setup {:.1} s, window {:.1} s",
            result.name, result.throughput, result.primary_op, result.setup_s, result.elapsed_s
        );
        for (op, o) in &result.ops {
            eprintln!(
                "    {op}: {} requests, p50 {:.2} p95 {:.2} p99 {:.2} ms, {:?}",
                o.requests, o.p50_ms, o.p95_ms, o.p99_ms, o.statuses
            );
        }
        run.scenarios.push(result);
        if seed.is_some() {
            run.seed = seed;
        }
    }
    run.server_hwm_mib = settings
        .server_pid
        .and_then(|p| probe::status_mib(p, "VmHWM:"));
    Ok(run)
}

/// A logged-in client of the server at `base_url`, with the run's patients registered.
async fn fixtures(base_url: &str, settings: &Settings) -> Result<Fixtures, String> {
    let mut api = Api::new(base_url, settings.clients.max(settings.read_clients) + 8)?;
    api.wait_healthy(Duration::from_secs(30)).await?;
    if let Some((email, password)) = &settings.login {
        api.login(email, password).await?;
    }
    Fixtures::new(api, settings.patients, 32).await
}
