//! Every read the API offers an admin, in an order that reads the access log before anything
//! that adds to it, so that two databases holding the same data answer the same.

use serde_json::Value;

use super::harness::Server;
use super::populate::Ids;

/// One read: the path, the status and the body.
pub type Read = (String, u16, Value);

/// Every page of a list (`limit=100`).
async fn pages(s: &Server, path: &str, out: &mut Vec<Read>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    for offset in (0..).step_by(100) {
        let p = format!("{path}{sep}limit=100&offset={offset}");
        let (status, body) = s.get(&p).await;
        let n = body["data"].as_array().map_or(0, Vec::len);
        out.push((p, status.as_u16(), body));
        if n < 100 {
            break;
        }
    }
}

async fn one(s: &Server, path: &str, out: &mut Vec<Read>) {
    let (status, body) = s.get(path).await;
    out.push((path.to_owned(), status.as_u16(), body));
}

/// Reads everything as the admin.
pub async fn snapshot(s: &Server, ids: &Ids) -> Vec<Read> {
    let mut out = Vec::new();
    // Reading the access log is not itself recorded; everything after it may be.
    pages(s, "/audit/access", &mut out).await;
    pages(s, "/audit/access?break_glass=true", &mut out).await;
    for p in &ids.patients {
        pages(s, &format!("/patients/{p}/access-log"), &mut out).await;
    }
    pages(s, "/users", &mut out).await;
    pages(s, "/webhooks", &mut out).await;
    one(s, "/auth/me", &mut out).await;
    pages(s, "/doctors", &mut out).await;
    pages(s, "/doctors/specialization/cardiology", &mut out).await;
    for d in &ids.doctors {
        one(s, &format!("/doctors/{d}"), &mut out).await;
        pages(s, &format!("/doctors/{d}/reviews"), &mut out).await;
        one(s, &format!("/doctors/{d}/time-slots"), &mut out).await;
        one(s, &format!("/doctors/{d}/available-slots"), &mut out).await;
        pages(s, &format!("/appointments/doctor/{d}"), &mut out).await;
        pages(
            s,
            &format!("/appointments/doctor/{d}?status=EXPIRED"),
            &mut out,
        )
        .await;
    }
    pages(s, "/patients", &mut out).await;
    let listed: Vec<String> = out
        .iter()
        .filter(|(p, _, _)| p.starts_with("/patients?"))
        .flat_map(|(_, _, b)| b["data"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    for p in &listed {
        one(s, &format!("/patients/{p}"), &mut out).await;
        pages(s, &format!("/appointments/patient/{p}"), &mut out).await;
    }
    for a in &ids.appointments {
        one(s, &format!("/appointments/{a}"), &mut out).await;
        one(s, &format!("/appointments/{a}/history"), &mut out).await;
    }
    out
}

/// Asserts two snapshots are equal, naming the first read that differs.
pub fn assert_same(original: &[Read], copy: &[Read]) {
    for (a, b) in original.iter().zip(copy) {
        assert_eq!(a.0, b.0, "not the same reads");
        assert_eq!(a, b, "GET {} answers differently", a.0);
        assert_eq!(a.1, 200, "GET {}: {}", a.0, a.2);
    }
    assert_eq!(original.len(), copy.len(), "not the same reads");
}

/// The same reads with every instant cut to whole milliseconds (what SQLite stores).
pub fn to_millis(reads: &[Read]) -> Vec<Read> {
    reads
        .iter()
        .map(|(p, s, b)| (p.clone(), *s, millis(b)))
        .collect()
}

fn millis(v: &Value) -> Value {
    match v {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) if s.contains('T') => Value::String(
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
            ),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(millis).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), millis(v))).collect()),
        _ => v.clone(),
    }
}
