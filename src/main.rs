//! The `carebook` binary: `serve` (default), `migrate`, `user create|disable`, `keys rotate`,
//! `rotate-master-key`, `export`, `import`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use carebook::admin;
use carebook::config::RawSettings;
use carebook::startup::{open_store, shutdown_signal, Application};
use carebook::{telemetry, transfer};

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
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the keys that sign access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Seal every secret kept in the database (signing keys, TOTP and webhook secrets) under a
    /// new master key, in one transaction. Stop the other instances first, or restart them
    /// with the new key after.
    RotateMasterKey {
        /// The new key's file (made, owner-only, when missing). Without it, a new key is made
        /// and replaces the configured MASTER_KEY_FILE once the database is resealed.
        #[arg(long)]
        new_key_file: Option<std::path::PathBuf>,
    },
    /// Write every row of the database to a JSON-lines file (one consistent snapshot).
    Export {
        /// The file to write (replaced if it exists; readable by its owner only).
        #[arg(long)]
        output: std::path::PathBuf,
    },
    /// Read a file written by `export` into this database (created and migrated if needed).
    Import {
        /// The file to read.
        #[arg(long)]
        input: std::path::PathBuf,
        /// Add the rows to a database that already holds data (refused otherwise); any
        /// clash of ids or unique values aborts the whole import.
        #[arg(long)]
        allow_non_empty: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password comes from CAREBOOK_PASSWORD, else from stdin.
    Create {
        #[arg(long)]
        email: String,
        /// admin, scheduler, doctor or patient.
        #[arg(long)]
        role: String,
        /// The doctor a `doctor` account is linked to.
        #[arg(long)]
        doctor_id: Option<String>,
        /// The patient a `patient` account is linked to.
        #[arg(long)]
        patient_id: Option<String>,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key; keys older than --retire-after-minutes (but the newest) are
    /// retired, and the tokens they signed stop working.
    Rotate {
        /// Keep older keys verifying this long (at least the access-token lifetime).
        #[arg(long, default_value_t = 60)]
        retire_after_minutes: u32,
    },
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
        Command::User(cmd) => {
            let store = match open_store(&settings).await {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            let done = match cmd {
                UserCommand::Create {
                    email,
                    role,
                    doctor_id,
                    patient_id,
                } => match admin::read_password() {
                    Ok(pw) => {
                        let (d, p) = (doctor_id.as_deref(), patient_id.as_deref());
                        admin::create_user(&*store, &email, &role, d, p, pw).await
                    }
                    Err(e) => Err(e),
                },
                UserCommand::Disable { email } => admin::disable_user(&*store, &email).await,
            };
            match done {
                Ok(user) => {
                    println!(
                        "{} {} ({}){}",
                        user.id,
                        user.email.as_str(),
                        user.role.as_str(),
                        if user.disabled { ", disabled" } else { "" }
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Keys(KeysCommand::Rotate {
            retire_after_minutes,
        }) => {
            let store = match open_store(&settings).await {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            let vault = match carebook::startup::open_vault(&*store, &settings).await {
                Ok(v) => std::sync::Arc::new(v),
                Err(e) => return fail(&e.to_string()),
            };
            let retire = i64::from(retire_after_minutes.max(1)) * 60;
            match admin::rotate_keys(store, vault, retire).await {
                Ok((kid, retired)) => {
                    println!("new signing key {kid}; {retired} old key(s) retired");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::RotateMasterKey { new_key_file } => {
            let store = match open_store(&settings).await {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            match admin::rotate_master_key(&*store, &settings, new_key_file).await {
                Ok(done) => {
                    println!("{done}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Export { output } => match transfer::export(&settings, &output).await {
            Ok(s) => {
                eprintln!(
                    "carebook: exported {} to {}",
                    s.describe(),
                    output.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Import {
            input,
            allow_non_empty,
        } => {
            let opts = transfer::ImportOptions { allow_non_empty };
            match transfer::import(&settings, &input, opts).await {
                Ok(s) => {
                    eprintln!(
                        "carebook: imported {} (exported from {} at {})",
                        s.describe(),
                        s.source_backend,
                        s.exported_at
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Serve => {
            let app = match Application::build(settings).await {
                Ok(app) => app,
                Err(e) => return fail(&e.to_string()),
            };
            tracing::info!(port = app.port(), "{}", app.describe());
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
