//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migration files at compile time, and without this Cargo would not notice a new file (an
//! incremental build would ship the old set). Nothing is downloaded or generated here.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
