use super::*;
use clap::Parser;

#[derive(Parser)]
struct T {
    #[command(flatten)]
    raw: RawSettings,
}

fn parse(args: &[&str]) -> Result<Settings, String> {
    let mut all = vec!["t"];
    all.extend_from_slice(args);
    T::try_parse_from(all)
        .map_err(|e| e.to_string())?
        .raw
        .validate()
}

#[test]
fn builds_url_from_parts_and_prefers_seconds() {
    let s = parse(&[
        "--db-host",
        "db",
        "--db-password",
        "p@ss word",
        "--appointment-expiry-seconds",
        "90",
    ])
    .unwrap();
    assert_eq!(
        s.database_url.0,
        "postgres://postgres:p%40ss%20word@db:5432/carebook"
    );
    assert_eq!(
        (s.booking.hold_secs(), s.booking.hold_description()),
        (90, "90 seconds".to_string())
    );
    assert!(format!("{s:?}").contains("[redacted]"));
    assert!(!format!("{s:?}").contains("p@ss"));
}

#[test]
fn read_url_needs_postgres_on_both_sides() {
    let pg = "postgres://p@primary/carebook";
    let replica = "postgres://p@replica/carebook";
    let s = parse(&["--database-url", pg, "--database-read-url", replica]).unwrap();
    assert_eq!(s.database_read_url.map(|r| r.0).as_deref(), Some(replica));
    assert!(format!("{:?}", parse(&["--database-read-url", replica])).contains("SQLite"));
    assert!(parse(&["--database-url", pg, "--database-read-url", "sqlite:x.db"]).is_err());
    let blank = parse(&["--database-url", pg, "--database-read-url", " "]).unwrap();
    assert!(blank.database_read_url.is_none());
    assert!(parse(&[]).unwrap().database_read_url.is_none());
}

#[test]
fn statement_cache_is_on_unless_switched_off() {
    assert!(parse(&[]).unwrap().db.statement_cache);
    let off = parse(&["--db-statement-cache", "off"]).unwrap();
    assert!(!off.db.statement_cache);
    assert!(parse(&["--db-statement-cache", "sometimes"]).is_err());
}

#[test]
fn rejects_bad_zone() {
    assert!(parse(&["--clinic-timezone", "Mars/Base"]).is_err());
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.booking.hold_description(), "5 minutes");
    assert_eq!(defaults.database_url.0, DEFAULT_DATABASE_URL);
    let one = parse(&["--appointment-expiry-seconds", "1"]).unwrap();
    assert_eq!(one.booking.hold_description(), "1 second");
    let minute = parse(&["--appointment-expiry-minutes", "1"]).unwrap();
    assert_eq!(minute.booking.hold_description(), "1 minute");
}

#[test]
fn notice_windows_default_off_and_read_minutes() {
    assert_eq!(parse(&[]).unwrap().booking.notice, Default::default());
    let s = parse(&["--min-notice-minutes", "90"]).unwrap();
    assert_eq!(
        (s.booking.notice.book_secs, s.booking.notice.cancel_secs),
        (5400, 0)
    );
    let s = parse(&["--cancel-notice-minutes", "1440"]).unwrap();
    assert_eq!(
        (s.booking.notice.book_secs, s.booking.notice.cancel_secs),
        (0, 86400)
    );
}

#[test]
fn database_limits_follow_the_request_timeout_unless_set() {
    let d = parse(&[]).unwrap().db;
    assert_eq!(
        (
            d.statement.as_millis(),
            d.lock.as_millis(),
            d.acquire.as_millis()
        ),
        (5000, 2000, 2000)
    );
    let short = parse(&["--request-timeout-seconds", "5"]).unwrap().db;
    assert_eq!(
        (short.statement.as_millis(), short.lock.as_millis()),
        (2500, 1250)
    );
    let e = parse(&[
        "--request-timeout-seconds",
        "5",
        "--db-statement-timeout-ms",
        "6000",
    ])
    .unwrap_err();
    assert!(
        e.contains("DB_STATEMENT_TIMEOUT_MS (6000)") && e.contains("REQUEST_TIMEOUT_SECONDS"),
        "{e}"
    );
    assert!(parse(&[
        "--request-timeout-seconds",
        "5",
        "--db-lock-timeout-ms",
        "3000"
    ])
    .is_ok());
}

#[test]
fn flags_work_after_the_subcommand_too() {
    #[derive(Parser)]
    struct WithServe {
        #[command(subcommand)]
        cmd: Option<Sub>,
        #[command(flatten)]
        raw: RawSettings,
    }
    #[derive(clap::Subcommand)]
    enum Sub {
        Serve,
    }
    for args in [
        ["t", "serve", "--port", "5001"],
        ["t", "--port", "5001", "serve"],
    ] {
        let parsed = WithServe::try_parse_from(args).unwrap();
        assert_eq!(parsed.raw.port, 5001);
        assert!(parsed.cmd.is_some());
    }
}
