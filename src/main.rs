//! The `carebook` binary: `serve` (default) or `migrate`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use carebook::config::RawSettings;
use carebook::startup::{open_store, shutdown_signal, Application};
use carebook::telemetry;

/// carebook — doctor appointment booking service.
#[derive(Parser)]
#[command(name = "carebook", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: RawSettings,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve,
    /// Create the database if needed and apply pending migrations, then exit.
    Migrate,
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = match cli.settings.validate() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    telemetry::init(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => match open_store(&settings).await {
            Ok(_) => {
                tracing::info!("database is up to date");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Serve => {
            let app = match Application::build(settings).await {
                Ok(app) => app,
                Err(e) => return fail(&e.to_string()),
            };
            tracing::info!(port = app.port(), "carebook listening");
            match app.run_until_stopped(shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("server error: {e}")),
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("carebook: {message}");
    ExitCode::FAILURE
}
