//! The configuration reference lives in one place, `docs/operations.md`, and `.env.example`
//! follows it: every setting the binary reads (as `carebook --help` lists them) is documented
//! in both, and every documented setting exists.

use std::collections::BTreeSet;
use std::process::Command;

/// Read by other parts than the settings: the log filter (tracing) and `user create`'s
/// password.
const OUTSIDE_THE_SETTINGS: &[&str] = &["RUST_LOG", "CAREBOOK_PASSWORD"];

fn help_variables() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_carebook"))
        .arg("--help")
        .env_clear()
        .output()
        .expect("carebook --help");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .map(str::to_owned)
        .collect()
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The variables of the configuration table: the backticked names in each row's first cell.
fn table_variables() -> BTreeSet<String> {
    let doc = repo_file("docs/operations.md");
    let start = doc
        .find("## Configuration")
        .expect("a Configuration section");
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| variable"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .collect()
}

/// The variables `.env.example` sets or shows commented out (`NAME=` or `# NAME=`).
fn example_variables() -> BTreeSet<String> {
    repo_file(".env.example")
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('=').map(|(n, _)| n.trim()))
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_setting_is_documented_and_every_documented_setting_exists() {
    let read = help_variables();
    assert!(read.len() > 40, "{read:?}");
    let extra: BTreeSet<String> = OUTSIDE_THE_SETTINGS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let known: BTreeSet<String> = read.union(&extra).cloned().collect();
    let table = table_variables();
    let missing: Vec<_> = read.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "read but not in docs/operations.md: {missing:?}"
    );
    let stale: Vec<_> = table.difference(&known).collect();
    assert!(stale.is_empty(), "documented but not read: {stale:?}");
    let example = example_variables();
    let missing: Vec<_> = read.difference(&example).collect();
    assert!(
        missing.is_empty(),
        "read but not in .env.example: {missing:?}"
    );
    let stale: Vec<_> = example.difference(&known).collect();
    assert!(stale.is_empty(), "in .env.example but not read: {stale:?}");
}
