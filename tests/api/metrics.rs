//! `/metrics` on the private listener: valid Prometheus text, counters that move with traffic,
//! and no ids or personal data in it.

use std::collections::HashMap;

use carebook::jobs::expiry::sweep_once;
use reqwest::StatusCode;
use serde_json::json;

use crate::backends;
use crate::common::TestApp;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text exposition format strictly enough to catch a malformed line:
/// `# HELP`/`# TYPE` comments, and `name{label="value",…} value [timestamp]` samples.
fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    let mut typed = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = |what: &str| format!("line {}: {what}: {line}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !kinds.contains(&kind) || !valid_name(name) {
                        return Err(at("bad TYPE"));
                    }
                    typed.insert(name.to_owned(), kind.to_owned());
                }
                (Some("HELP"), Some(name), _) if valid_name(name) => {}
                _ => return Err(at("bad comment")),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value"))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(at("bad metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = HashMap::new();
        if let Some(body) = rest.strip_prefix('{') {
            let (parsed, after) = parse_labels(body).ok_or_else(|| at("bad labels"))?;
            labels = parsed;
            rest = after;
        }
        let mut fields = rest.split_whitespace();
        let value = match fields.next() {
            Some("+Inf") => f64::INFINITY,
            Some("-Inf") => f64::NEG_INFINITY,
            Some(v) => v.parse().map_err(|_| at("bad value"))?,
            None => return Err(at("no value")),
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| at("bad timestamp"))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing text"));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains_key(*f)))
            .unwrap_or(name);
        if !typed.contains_key(family) {
            return Err(at("sample without a TYPE line"));
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(samples)
}

/// Parses `k="v",…}` (after the `{`), quoted values with `\\`, `\"` and `\n` escapes;
/// returns the labels and the text after the `}`.
fn parse_labels(body: &str) -> Option<(HashMap<String, String>, &str)> {
    let mut labels = HashMap::new();
    let mut rest = body;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (name, after) = rest.split_once("=\"")?;
        if !valid_name(name) || name.contains(':') {
            return None;
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    _ => return None,
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The value of the sample with this name and at least these labels (0 when absent).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let res = app.anon.get(&app.metrics).send().await.expect("scrape");
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = res.text().await.unwrap();
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (text, samples)
}

async fn counters_move_with_traffic_and_carry_no_ids(app: TestApp) {
    let (_, before) = scrape(&app).await;
    let d = app.doctor().await;
    let slot = app.slot(&d, 2, "10:00", 3).await;
    let (p1, p2) = (app.patient().await, app.patient().await);
    let (s, first) = app.book(&p1, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, again) = app.book(&p1, &d, &slot).await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    let (s, second) = app.book(&p2, &d, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let held = first["data"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .post(&format!("/appointments/{held}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let lapsed = second["data"]["id"].as_str().unwrap().to_owned();
    app.expire_hold(&lapsed).await;
    assert_eq!(sweep_once(&*app.store).await.unwrap(), 1);
    let (s, _) = app
        .get(&format!("/patients/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (text, after) = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    // nextest runs each test in a process of its own, so the counters moved by exactly this
    // test's traffic; `cargo test` shares one recorder between concurrent tests.
    let alone = std::env::var_os("NEXTEST_RUN_ID").is_some();
    let expect = |got: f64, want: f64, what: &str| {
        if alone {
            assert_eq!(got, want, "{what}");
        } else {
            assert!(got >= want, "{what}: {got} < {want}");
        }
    };
    let booked_2xx = [
        ("method", "POST"),
        ("route", "/api/appointments"),
        ("status_class", "2xx"),
    ];
    expect(
        moved("carebook_http_requests_total", &booked_2xx),
        2.0,
        "carebook_http_requests_total",
    );
    let booked_4xx = [
        ("method", "POST"),
        ("route", "/api/appointments"),
        ("status_class", "4xx"),
    ];
    expect(
        moved("carebook_http_requests_total", &booked_4xx),
        1.0,
        "carebook_http_requests_total",
    );
    let missing = [("route", "/api/patients/{id}"), ("status_class", "4xx")];
    expect(
        moved("carebook_http_requests_total", &missing),
        1.0,
        "carebook_http_requests_total",
    );
    expect(
        moved("carebook_http_request_duration_seconds_count", &booked_2xx),
        2.0,
        "carebook_http_request_duration_seconds_count",
    );
    let inf = [booked_2xx.as_slice(), &[("le", "+Inf")]].concat();
    expect(
        moved("carebook_http_request_duration_seconds_bucket", &inf),
        2.0,
        "carebook_http_request_duration_seconds_bucket",
    );
    let bookings = "carebook_bookings_total";
    expect(
        moved(bookings, &[("outcome", "booked"), ("code", "none")]),
        2.0,
        "bookings",
    );
    let refused = [("outcome", "refused"), ("code", "ALREADY_BOOKED")];
    expect(moved(bookings, &refused), 1.0, "bookings");
    expect(
        moved("carebook_holds_total", &[("event", "created")]),
        2.0,
        "carebook_holds_total",
    );
    expect(
        moved("carebook_holds_total", &[("event", "confirmed")]),
        1.0,
        "carebook_holds_total",
    );
    expect(
        moved("carebook_holds_total", &[("event", "expired")]),
        1.0,
        "carebook_holds_total",
    );
    expect(
        moved("carebook_sweeper_runs_total", &[("outcome", "ok")]),
        1.0,
        "carebook_sweeper_runs_total",
    );
    expect(
        moved("carebook_sweeper_expired_total", &[]),
        1.0,
        "carebook_sweeper_expired_total",
    );
    assert!(
        moved(
            "carebook_db_transactions_total",
            &[("outcome", "committed")]
        ) >= 4.0
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(&after, "carebook_build_info", &[("version", version)]),
        1.0
    );
    for pool in ["write", "read"] {
        let max = value(
            &after,
            "carebook_db_pool_max_connections",
            &[("pool", pool)],
        );
        assert!(max >= 1.0, "{pool}: {max}");
        for state in ["in_use", "idle"] {
            assert!(
                after
                    .iter()
                    .any(|s| s.name == "carebook_db_pool_connections"
                        && s.labels.get("pool").map(String::as_str) == Some(pool)
                        && s.labels.get("state").map(String::as_str) == Some(state)),
                "no {pool}/{state} gauge"
            );
        }
    }
    // Nothing is in flight between requests (the scrape is not counted: another listener).
    if alone {
        assert_eq!(value(&after, "carebook_http_requests_in_flight", &[]), 0.0);
    }
    // Ids never become labels, and no personal data is exported.
    for id in [&d, &slot, &p1, &p2, &held, &lapsed] {
        assert!(!text.contains(id.as_str()), "{id} in /metrics");
    }
    assert!(!text.contains("@"), "an e-mail in /metrics");
}

async fn metrics_are_not_on_the_public_port(app: TestApp) {
    let public = app.base.trim_end_matches("/api");
    for path in ["/metrics", "/api/metrics"] {
        let res = app
            .anon
            .get(format!("{public}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The private listener serves nothing else.
    let other = app.metrics.replace("/metrics", "/api/patients");
    let res = app.anon.get(other).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[test]
fn the_parser_refuses_malformed_lines() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",r=\"/a/{id}\\\"\"} 3\n";
    let parsed = parse(ok).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].labels["r"], "/a/{id}\"");
    assert_eq!(parsed[0].value, 3.0);
    for bad in [
        "# TYPE a_total counter\na_total{x=1} 3\n",
        "# TYPE a_total counter\na_total{x=\"1\" 3\n",
        "# TYPE a_total counter\na_total three\n",
        "b_total 1\n",
        "# TYPE 9a counter\n",
        "# TYPE a_total counter\na_total{x=\"a\\q\"} 1\n",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

backends!(
    counters_move_with_traffic_and_carry_no_ids,
    metrics_are_not_on_the_public_port,
);
