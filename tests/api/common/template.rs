//! A migrated PostgreSQL template database, built once per schema and copied for each test:
//! `CREATE DATABASE … TEMPLATE` takes a fraction of the time of migrating a new database.

use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor, PgConnection};

use carebook::store::StoreOptions;

/// The template's name: it changes whenever a PostgreSQL migration does, so a stale template
/// is never used (old ones are harmless and can be dropped by hand).
fn template_name() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/postgres")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in files {
        hash.update(std::fs::read(&f).expect("read migration"));
    }
    let hex: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("carebook_tpl_{hex}")
}

/// Creates database `name` on the server at `base` as a copy of the migrated template,
/// building the template first if no test process has yet.
pub async fn create_from_template(base: &str, name: &str) {
    let template = template_name();
    let mut admin = PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect to the postgres database");
    // One builder at a time across the test processes nextest runs in parallel.
    admin
        .execute(format!("SELECT pg_advisory_lock(hashtext('{template}'))").as_str())
        .await
        .expect("advisory lock");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut admin)
        .await
        .expect("look for the template");
    if exists.is_none() {
        build(&mut admin, base, &template).await;
    }
    admin
        .execute(format!("SELECT pg_advisory_unlock(hashtext('{template}'))").as_str())
        .await
        .expect("advisory unlock");
    admin
        .execute(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"").as_str())
        .await
        .expect("create the test database from the template");
    let _ = admin.close().await;
}

/// Migrates a scratch database with carebook's own migrator, then publishes it under the
/// template's name in one step, so no process ever sees a half-built template.
async fn build(admin: &mut PgConnection, base: &str, template: &str) {
    let scratch = format!("{template}_build_{}", uuid::Uuid::new_v4().simple());
    let store = carebook::store::open(&StoreOptions {
        url: format!("{base}/{scratch}"),
        read_url: None,
        pool_size: 1,
        db: Default::default(),
        terms: Default::default(),
        notice: Default::default(),
    })
    .await
    .expect("migrate the template");
    store.close().await;
    for sql in [
        format!("ALTER DATABASE \"{scratch}\" RENAME TO \"{template}\""),
        format!("ALTER DATABASE \"{template}\" WITH IS_TEMPLATE true"),
    ] {
        admin
            .execute(sql.as_str())
            .await
            .expect("publish the template");
    }
}
