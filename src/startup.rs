//! Builds the application on a bound listener and runs it until a shutdown signal.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::bootstrap::{ensure_admin, Bootstrap, BootstrapError, DEFAULT_ADMIN};
use crate::auth::Auth;
use crate::config::Settings;
use crate::domain::store::Store;
use crate::http::linger::{LingeringListener, PeerAddr};
use crate::http::{router, AppState, Limits};
use crate::jobs::expiry;
use crate::observability;
use crate::store::{self, OpenError, StoreOptions};

/// A ready-to-run carebook: store opened, migrations applied, port bound.
pub struct Application {
    listener: TcpListener,
    /// The private `/metrics` listener, when `METRICS_ADDR` is set and could be bound.
    metrics: Option<TcpListener>,
    state: AppState,
    /// E-mail and webhook delivery for the outbox worker.
    channels: Arc<crate::notify::Channels>,
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, #[source] std::io::Error),
    #[error("cannot set up the admin account: {0}")]
    Admin(#[from] BootstrapError),
    #[error("cannot load the signing keys: {0}")]
    Keys(#[from] crate::domain::DomainError),
    #[error("cannot set up notifications: {0}")]
    Notify(String),
    #[error("{0}")]
    MasterKey(String),
    #[error("{0}")]
    Metrics(String),
}

/// Opens the store named by the settings (creating the database, applying migrations).
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, OpenError> {
    store::open(&StoreOptions {
        url: settings.database_url.0.clone(),
        read_url: settings.database_read_url.as_ref().map(|r| r.0.clone()),
        pool_size: settings.pool_size,
        db: settings.db,
        terms: crate::domain::waitlist::OfferTerms {
            hold_secs: settings.booking.hold_secs(),
            max_holds: settings.booking.max_pending_holds,
        },
        notice: settings.booking.notice,
    })
    .await
}

impl Application {
    /// Opens the store and binds `host:port` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let store = open_store(&settings).await?;
        Self::with_store(settings, store).await
    }

    /// Binds with an already opened store.
    pub async fn with_store(settings: Settings, store: Arc<dyn Store>) -> Result<Self, StartError> {
        match ensure_admin(&*store, &settings.auth).await? {
            Bootstrap::Generated(password) => {
                // Printed once, on stderr, never logged: the newcomer's way in.
                eprintln!(
                    "carebook: created the first account: {DEFAULT_ADMIN} with password {password}\n\
                     carebook: log in with POST /api/auth/login and change it with POST /api/auth/password"
                );
            }
            Bootstrap::Created => tracing::info!("admin account created from ADMIN_EMAIL"),
            Bootstrap::Nothing => {}
        }

        let vault = Arc::new(open_vault(&*store, &settings).await?);
        let gate = crate::auth::password::HashGate::new(
            settings.security.hash_concurrency,
            settings.security.hash_queue,
        );
        let channels = crate::notify::Channels::from_settings(&settings.notify, vault.clone())
            .map_err(StartError::Notify)?;
        let auth = Auth::load(store.clone(), settings.auth.clone(), vault, gate).await?;
        let addr = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|e| StartError::Bind(addr, e))?;
        let metrics = match &settings.metrics_addr {
            Some(addr) => Some(bind_metrics(addr).await?),
            None => None,
        };
        let base = match &settings.security.public_url {
            Some(u) => u.clone(),
            None => format!(
                "http://localhost:{}",
                listener
                    .local_addr()
                    .map(|a| a.port())
                    .unwrap_or(settings.port)
            ),
        };
        let mailer = crate::notify::email::Mailer::from_settings(&settings.notify)
            .map_err(StartError::Notify)?;
        let mail = Arc::new(crate::notify::email::account::AccountMail::new(
            mailer, base,
        ));
        let state = AppState {
            store,
            limits: Arc::new(Limits::new(settings.auth.rate_limit_per_minute)),
            availability: Arc::new(crate::http::availability::AvailabilityCache::new(
                settings.availability_cache,
            )),
            settings: Arc::new(settings),
            auth: Arc::new(auth),
            jobs: Arc::new(crate::jobs::health::JobHealth::new()),
            mail,
            fences: Arc::default(),
        };
        Ok(Self {
            listener,
            metrics,
            state,
            channels: Arc::new(channels),
        })
    }

    /// This instance's token keys and revocation list (tests drive its sync step).
    pub fn auth(&self) -> Arc<Auth> {
        self.state.auth.clone()
    }

    /// The port of the private metrics listener, if it runs.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Where this instance answers, for the start-up line: a URL for people (a wildcard
    /// address shown as `localhost`).
    pub fn describe(&self) -> String {
        let host = match self.state.settings.host.as_str() {
            "0.0.0.0" | "::" | "[::]" | "" => "localhost".to_owned(),
            h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
            h => h.to_owned(),
        };
        let metrics = match self.metrics.as_ref().and_then(|l| l.local_addr().ok()) {
            Some(a) => format!("metrics http://{a}/metrics"),
            None => "metrics off".to_owned(),
        };
        format!(
            "listening on http://{host}:{} — API /api, docs /docs, {metrics}",
            self.port()
        )
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and stops the sweeper.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let sweeper = tokio::spawn(expiry::run(
            self.state.store.clone(),
            self.state.settings.sweep_interval,
            self.state.jobs.clone(),
            stop_rx.clone(),
        ));
        let revocations = tokio::spawn(crate::jobs::revocations::run(
            self.state.store.clone(),
            self.state.auth.clone(),
            self.state.jobs.clone(),
            stop_rx.clone(),
        ));
        let generator = tokio::spawn(crate::jobs::generation::run(
            self.state.store.clone(),
            self.state.settings.schedule_horizon_days,
            self.state.settings.schedule_interval,
            self.state.jobs.clone(),
            stop_rx.clone(),
        ));
        let outbox = tokio::spawn(crate::notify::worker::run(
            self.state.store.clone(),
            self.channels,
            self.state.settings.notify.clone(),
            self.state.jobs.clone(),
            stop_rx,
        ));
        let store = self.state.store.clone();
        let metrics = self.metrics.map(|listener| {
            let mut stop = stop_tx.subscribe();
            let app = observability::router(store.clone());
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.changed().await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
                {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            })
        });
        let app = router(self.state);
        let app = app.into_make_service_with_connect_info::<PeerAddr>();
        let served = axum::serve(LingeringListener(self.listener), app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down");
            })
            .await;
        let _ = stop_tx.send(true);
        let _ = sweeper.await;
        let _ = revocations.await;
        let _ = generator.await;
        let _ = outbox.await;
        if let Some(m) = metrics {
            let _ = m.await;
        }
        store.close().await;
        served
    }
}

/// Loads the master key, seals any secret still kept in the clear, and checks that the
/// database's sealed secrets open with it: a database copied under another key is refused with
/// a message that says so, never served with keys read as garbage.
pub async fn open_vault(
    store: &dyn Store,
    settings: &Settings,
) -> Result<crate::auth::vault::Vault, StartError> {
    use crate::auth::{sealing, vault::Vault};
    let vault = Vault::load(&settings.security.master_key)
        .map_err(|e| StartError::MasterKey(e.to_string()))?;
    if let Err(e) = sealing::check_key(store, &vault).await? {
        return Err(StartError::MasterKey(format!(
            "the database's secrets do not open with this master key (key {}): {e}; start \
             with the key this database was sealed with (CAREBOOK_MASTER_KEY or MASTER_KEY_FILE)",
            vault.key_id()
        )));
    }
    let sealed = sealing::seal_plaintext(store, &vault).await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "sealed secrets kept in the clear under the master key"
        );
    }
    Ok(vault)
}

/// Binds the metrics listener and installs the recorder. An address that cannot be bound (a
/// second instance on one machine with the default, say) stops the start: serving without
/// metrics, or a scraper reading another instance's numbers, would go unnoticed.
async fn bind_metrics(addr: &str) -> Result<TcpListener, StartError> {
    match TcpListener::bind(addr).await {
        Ok(l) => {
            observability::handle();
            Ok(l)
        }
        Err(e) => Err(StartError::Metrics(format!(
            "cannot listen for metrics on {addr} (METRICS_ADDR): {e}; set METRICS_ADDR to a free \
             address (e.g. 127.0.0.1:9465), or METRICS_ADDR=off for none"
        ))),
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
