//! A few-second smoke run of every scenario, growth's SQL seeding and the report, against a
//! carebook started in-process on a temporary SQLite file (no PostgreSQL needed).

use std::time::Duration;

use carebook::config::RawSettings;
use carebook::startup::Application;
use carebook_bench::report::{combine, markdown};
use carebook_bench::scenarios::{Scenario, Settings};
use clap::Parser;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    raw: RawSettings,
}

/// Removes the directory on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_against_a_real_server() {
    let dir = TempDir(
        std::env::temp_dir().join(format!("carebook-bench-smoke-{:016x}", fastrand::u64(..))),
    );
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let url = format!("sqlite:{}", dir.0.join("smoke.db").display());
    let (base, stop, server) = serve(&url).await;
    // The empty database a paired `growth` compares with.
    let ref_url = format!("sqlite:{}", dir.0.join("reference.db").display());
    let (ref_base, ref_stop, ref_server) = serve(&ref_url).await;

    let s = Settings {
        clients: 4,
        read_clients: 4,
        page_clients: 2,
        duration: Duration::from_millis(500),
        max_bookings: 40,
        warmup: 8,
        hot_slots: 2,
        hot_capacity: 3,
        hot_requests_per_slot: 10,
        patients: 20,
        doctors: 2,
        server_pid: Some(std::process::id()),
        seed_url: Some(url.clone()),
        seed_appointments: 1_000,
        growth_rounds: 2,
        pg_stats_url: None,
        login: Some((
            "bench@carebook.test".into(),
            "bench admin passphrase".into(),
        )),
    };
    let run = carebook_bench::run("smoke", &base, Some(&ref_base), &s, &Scenario::ALL)
        .await
        .expect("run");
    // The page scenarios run on a server of their own (here the reference one).
    let pages = [Scenario::PageDeskDay, Scenario::PageDoctorMonth];
    let page_run = carebook_bench::run("smoke-pages", &ref_base, None, &s, &pages)
        .await
        .expect("page run");
    for sc in &page_run.scenarios {
        assert_eq!(sc.failures(), 0, "{}: {:?}", sc.name, sc.ops);
        assert!(
            sc.ops[&sc.primary_op].ok > 0,
            "{}: nothing succeeded",
            sc.name
        );
    }
    for (stop, server) in [(stop, server), (ref_stop, ref_server)] {
        let _ = stop.send(());
        let _ = server.await;
    }

    assert_eq!(run.scenarios.len(), Scenario::ALL.len());
    for sc in &run.scenarios {
        assert_eq!(sc.failures(), 0, "{}: {:?}", sc.name, sc.ops);
        let primary = &sc.ops[&sc.primary_op];
        assert!(primary.ok > 0, "{}: nothing succeeded", sc.name);
        assert!(primary.p50_ms <= primary.p99_ms && primary.p99_ms <= primary.max_ms);
    }
    for name in ["book-distinct", "growth"] {
        let book = &run.scenario(name).expect(name).ops["book"];
        assert_eq!(
            book.ok, book.requests,
            "{name}: every distinct booking wins"
        );
    }
    let hot = run
        .scenario("hot-slot")
        .and_then(|s| s.verify.clone())
        .expect("hot-slot check");
    assert_eq!(hot["ok"], true, "{hot}");
    assert_eq!(hot["wins"], 6);
    let seed = run.seed.as_ref().expect("growth seeded");
    assert_eq!(seed.appointments, 1_000);
    assert!(seed.appointments_total >= 1_000);
    assert!(run.scenarios[0].resources.server_rss_max_mib.is_some());
    let paired = run
        .scenario("growth")
        .and_then(|g| g.paired.clone())
        .expect("growth paired with the reference server");
    assert_eq!((paired.reference.len(), paired.seeded.len()), (3, 2));
    assert!(
        paired
            .reference
            .iter()
            .chain(&paired.seeded)
            .all(|t| *t > 0.0),
        "{paired:?}"
    );

    let combined = combine(vec![run.clone()], None, Default::default()).with_baseline(vec![run]);
    assert_eq!(combined.comparisons.len(), Scenario::ALL.len());
    let md = markdown(&combined);
    assert!(
        md.contains("| smoke | no 5xx in any scenario | 0 5xx/transport errors | met |"),
        "{md}"
    );
    assert!(
        md.contains("| smoke | book-distinct within 5% of the baseline |"),
        "{md}"
    );
    assert!(md.contains("### Baseline: smoke"), "{md}");
    assert!(
        md.contains("on an empty reference, windows alternating"),
        "{md}"
    );
}

/// Starts carebook in-process on `url`; returns its API base URL, a stop switch and its task.
async fn serve(url: &str) -> (String, oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let args = [
        "carebook",
        "--database-url",
        url,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--appointment-expiry-minutes",
        "60",
        "--admin-email",
        "bench@carebook.test",
        "--admin-password",
        "bench admin passphrase",
        "--rate-limit-per-minute",
        "0",
        "--max-pending-holds-per-patient",
        "0",
        // Nothing of the test's on a fixed port or in the working folder.
        "--metrics-addr",
        "off",
        "--mail-dir",
        "off",
        "--master-key",
        "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
    ];
    let settings = Args::try_parse_from(args)
        .expect("flags")
        .raw
        .validate()
        .expect("settings");
    let app = Application::build(settings).await.expect("server starts");
    let base = format!("http://127.0.0.1:{}/api", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (base, stop, server)
}
