//! The store port on a fresh database, without the HTTP app: what the contract suite tests.

use std::sync::Arc;

use carebook::config::Settings;
use carebook::domain::store::Store;
use carebook::startup::open_store;

use super::{app_settings, drop_database, pg_base, template, through_pgbouncer};
use super::{Backend, PgBouncer, TempDir};

/// A store opened on a database of its own (through PgBouncer with `TEST_PGBOUNCER=1`, as the
/// app would be), dropped with it.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    /// The test database on PostgreSQL, and the server it is on.
    pg_db: Option<(String, String)>,
    _dir: Option<TempDir>,
    _pooler: Option<PgBouncer>,
}

impl TestStore {
    /// Opens a store on a fresh database of `backend`, its migrations applied.
    pub async fn open(backend: Backend) -> Self {
        Self::open_with(backend, |_| {}).await
    }

    /// Opens a store as [`TestStore::open`] does, with the settings `tweak` adjusted (the hold
    /// terms, the database limits).
    pub async fn open_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let (settings, pg_db, dir, pooler) = match backend {
            Backend::Postgres => {
                let server = pg_base();
                let name = format!("carebook_test_{}", uuid::Uuid::new_v4().simple());
                template::create_from_template(&server, &name).await;
                let pooler = through_pgbouncer()
                    .then(|| PgBouncer::start(&server, &[("default_pool_size", "8".into())]));
                let s = app_settings(&server, &name, pooler.as_ref());
                (s, Some((name, server)), None, pooler)
            }
            Backend::Sqlite => {
                let dir = std::env::temp_dir()
                    .join(format!("carebook-port-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite:{}", dir.join("test.db").display());
                (super::settings(&url), None, Some(TempDir(dir)), None)
            }
        };
        let mut settings = settings;
        tweak(&mut settings);
        let store = open_store(&settings).await.expect("the store opens");
        Self {
            store,
            backend,
            pg_db,
            _dir: dir,
            _pooler: pooler,
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((db, server)) = self.pg_db.take() {
            drop_database(&server, &db);
        }
    }
}

/// Generates, for each named `async fn(TestStore)`, a module with one test per backend.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let port = $crate::common::port::TestStore::open($crate::common::Backend::Postgres);
                super::$name(port.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let port = $crate::common::port::TestStore::open($crate::common::Backend::Sqlite);
                super::$name(port.await).await
            }
        }
    )*};
}
