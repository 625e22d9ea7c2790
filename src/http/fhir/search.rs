//! Search requests and their answers: the parameters a search takes (anything else is
//! refused, so a client never mistakes an ignored filter for an applied one), `_count` and
//! `_offset` paging, date prefixes, references, and the `searchset` Bundle with its links.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::http::error::ApiError;

/// Most entries one page of a search holds, and the default.
pub const MAX_COUNT: usize = 100;
pub const DEFAULT_COUNT: usize = 20;

/// The furthest a search pages (`_offset`).
pub const MAX_OFFSET: usize = 1_000_000_000;

/// Parameters that may repeat, their values ANDed: the bounds of a date range, and `_include`.
const REPEATABLE: &[&str] = &["start", "date", "_include"];

/// Parameters every search takes besides its own.
const COMMON: &[&str] = &["_count", "_offset", "_format", "_include"];

/// A search's parameters, as sent (a name may repeat: `start=ge…&start=lt…`).
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    pub count: usize,
    pub offset: usize,
    /// The `_include`s asked for, each one the resource serves, once each.
    includes: Vec<String>,
}

impl Params {
    /// Reads the query of a search of `kind`: the parameters and `_include`s its row of
    /// [`SERVED`](super::capability::SERVED) lists, and no others.
    pub fn of(raw: Option<&str>, kind: &str) -> Result<Self, ApiError> {
        let served = super::capability::SERVED.iter().find(|r| r.kind == kind);
        let known: Vec<&str> = served
            .into_iter()
            .flat_map(|r| r.search.iter().map(|p| p.0))
            .collect();
        let mut params = Self::parse(raw, &known)?;
        let allowed = served.map_or(&[][..], |r| r.includes);
        let asked: Vec<String> = params
            .all("_include")
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        for v in asked {
            if !allowed.contains(&v.as_str()) {
                let names = if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                };
                let why = format!("'{v}' is not served here; these are: {names}");
                return Err(ApiError::field("_include", why));
            }
            if !params.includes.contains(&v) {
                params.includes.push(v);
            }
        }
        Ok(params)
    }

    /// Whether the search asked to `_include` this (`Appointment:patient`, …).
    pub fn includes(&self, what: &str) -> bool {
        self.includes.iter().any(|i| i == what)
    }

    /// The id a reference parameter names (see [`reference_id`]), when sent.
    pub fn reference(&self, name: &str, kind: &str) -> Result<Option<Uuid>, ApiError> {
        self.one(name)
            .map(|r| reference_id(r, kind, name))
            .transpose()
    }

    /// Reads a query string, refusing a parameter not in `known` (nor common to every search).
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (i, (k, v)) in pairs.iter().enumerate() {
            if k.contains(':') {
                return Err(ApiError::field(k, "search modifiers are not supported"));
            }
            if !known.contains(&k.as_str()) && !COMMON.contains(&k.as_str()) {
                return Err(ApiError::field(
                    k,
                    format!(
                        "is not a search parameter here; these are: {}",
                        known.join(", ")
                    ),
                ));
            }
            if v.chars().any(char::is_control) || v.len() > 1000 {
                return Err(ApiError::field(
                    k,
                    "must be at most 1000 characters, none a control character",
                ));
            }
            // Repeated, a parameter means AND in FHIR; only the date ranges (and `_include`)
            // are served that way, so another repeat is refused rather than half applied.
            let repeats =
                !REPEATABLE.contains(&k.as_str()) && pairs[..i].iter().any(|(o, _)| o == k);
            if repeats {
                return Err(ApiError::field(
                    k,
                    "must be sent once (a comma-separated list means OR)",
                ));
            }
            if k == "_id" && v.contains(',') {
                return Err(ApiError::field(k, "must name one id"));
            }
        }
        let number = |name: &str, default: usize, most: usize| -> Result<usize, ApiError> {
            match pairs.iter().find(|(k, _)| k == name) {
                None => Ok(default),
                Some((_, v)) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| v.trim().bytes().all(|b| b.is_ascii_digit()) && *n <= most)
                    .ok_or_else(|| {
                        ApiError::field(name, format!("must be a whole number up to {most}"))
                    }),
            }
        };
        let count = number("_count", DEFAULT_COUNT, usize::MAX)?.min(MAX_COUNT);
        let offset = number("_offset", 0, MAX_OFFSET)?;
        Ok(Self {
            pairs,
            count,
            offset,
            includes: Vec::new(),
        })
    }

    /// One page holding all `n` results (an operation's answer).
    pub fn whole(n: usize) -> Self {
        Self {
            count: n.max(1),
            ..Self::default()
        }
    }

    /// Every value of `name` (without modifiers).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// The first value of `name`, when sent and not blank.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// The query as sent, for the Bundle's `self` link, with `_offset` set to `offset`.
    fn query_at(&self, offset: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs.iter().filter(|(k, _)| k != "_offset") {
            q.append_pair(k, v);
        }
        if offset > 0 {
            q.append_pair("_offset", &offset.to_string());
        }
        q.finish()
    }
}

/// The id a reference names: `Kind/{id}`, a full URL ending so, or the bare id.
pub fn reference_id(raw: &str, kind: &str, field: &str) -> Result<Uuid, ApiError> {
    let raw = raw.trim();
    let id = match raw.rsplit_once('/') {
        Some((head, id)) if head == kind || head.ends_with(&format!("/{kind}")) => id,
        Some(_) => return Err(ApiError::field(field, format!("must reference a {kind}"))),
        None => raw,
    };
    Uuid::parse_str(id)
        .map_err(|_| ApiError::field(field, format!("names no {kind} of this server")))
}

/// A token parameter's code when its system (if it names one) is `system`: `system|code`,
/// `|code` or `code`. Another system matches nothing.
pub fn token_in<'a>(raw: &'a str, system: &str) -> Option<&'a str> {
    match raw.split_once('|') {
        Some((s, code)) if s.is_empty() || s == system => Some(code.trim()),
        Some(_) => None,
        None => Some(raw.trim()),
    }
}

/// A token parameter's code (`system|code` or `code`).
pub fn token_code(raw: &str) -> &str {
    raw.rsplit_once('|').map_or(raw, |(_, c)| c).trim()
}

/// One bound of a date search: `ge2026-12-10`, `lt2026-12-10T09:00:00Z`, or a bare date (`eq`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    /// Inclusive lower and exclusive upper instants.
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Range {
    /// Reads every value of a date parameter into one range.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>, field: &str) -> Result<Self, ApiError> {
        let mut r = Self::default();
        for v in values.filter(|v| !v.is_empty()) {
            let (prefix, rest) = match v.get(..2) {
                Some(p @ ("ge" | "gt" | "le" | "lt" | "eq" | "sa" | "eb")) => (p, &v[2..]),
                _ => ("eq", v),
            };
            let (start, end) = period(rest).ok_or_else(|| {
                ApiError::field(field, "must be a date (YYYY-MM-DD) or an instant, with an optional prefix ge, gt, le, lt or eq")
            })?;
            let lower =
                |r: &mut Self, t: DateTime<Utc>| r.from = Some(r.from.map_or(t, |f| f.max(t)));
            let upper =
                |r: &mut Self, t: DateTime<Utc>| r.until = Some(r.until.map_or(t, |u| u.min(t)));
            match prefix {
                "ge" => lower(&mut r, start),
                "gt" | "sa" => lower(&mut r, end),
                "lt" | "eb" => upper(&mut r, start),
                "le" => upper(&mut r, end),
                _ => {
                    lower(&mut r, start);
                    upper(&mut r, end);
                }
            }
        }
        Ok(r)
    }

    /// Whether an instant falls in the range.
    pub fn holds(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t < u)
    }
}

/// The span a date or instant value covers: a whole day (UTC) for a date, one second for an
/// instant given to the second.
fn period(raw: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (start, span) = match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => (d.and_hms_opt(0, 0, 0)?.and_utc(), chrono::Duration::days(1)),
        Err(_) => (
            DateTime::parse_from_rfc3339(raw).ok()?.with_timezone(&Utc),
            chrono::Duration::seconds(1),
        ),
    };
    in_calendar(start).then_some((start, start + span))
}

/// Whether an instant is within the years 1 to 9999, where every date the facade computes
/// from it (a day or a season either side) stays inside chrono's calendar.
pub fn in_calendar(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.year())
}

/// One entry of a searchset: a match or an included resource.
pub struct Entry {
    pub resource: Value,
    pub included: bool,
}

impl Entry {
    pub fn matched(resource: Value) -> Self {
        Self {
            resource,
            included: false,
        }
    }

    /// A resource a match refers to, asked for with `_include`.
    pub fn included(resource: Value) -> Self {
        Self {
            resource,
            included: true,
        }
    }
}

/// A `searchset` Bundle of one page of `total` matches (offset and count from `params`).
pub fn bundle(base: &str, kind: &str, params: &Params, total: usize, page: Vec<Entry>) -> Value {
    let link = |offset: usize| format!("{base}/{kind}?{}", params.query_at(offset));
    let mut links = vec![json!({"relation": "self", "url": link(params.offset)})];
    if params.count > 0 && params.offset.saturating_add(params.count) < total {
        links.push(
            json!({"relation": "next", "url": link(params.offset.saturating_add(params.count))}),
        );
    }
    if params.offset > 0 {
        let previous = params.offset.saturating_sub(params.count);
        links.push(json!({"relation": "previous", "url": link(previous)}));
    }
    let entries: Vec<Value> = page
        .into_iter()
        .map(|e| {
            let r = &e.resource;
            let url = match (r["resourceType"].as_str(), r["id"].as_str()) {
                (Some(t), Some(id)) => format!("{base}/{t}/{id}"),
                _ => format!("urn:uuid:{}", Uuid::new_v4()),
            };
            let mode = if e.included { "include" } else { "match" };
            json!({"fullUrl": url, "resource": e.resource, "search": {"mode": mode}})
        })
        .collect();
    let mut b =
        json!({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links});
    if !entries.is_empty() {
        b["entry"] = Value::Array(entries);
    }
    b
}

/// The page of `items` that `params` asks for.
pub fn page_of<T>(items: Vec<T>, params: &Params) -> Vec<T> {
    items
        .into_iter()
        .skip(params.offset)
        .take(params.count)
        .collect()
}

/// Every item of a paged store read, a page of [`MAX_COUNT`] at a time.
pub async fn every<T, F, Fut>(read: F) -> Result<Vec<T>, ApiError>
where
    F: Fn(crate::domain::page::Page) -> Fut,
    Fut: std::future::Future<Output = crate::domain::DomainResult<crate::domain::page::Paged<T>>>,
{
    let mut all = Vec::new();
    loop {
        let page = crate::domain::page::Page::new(Some(MAX_COUNT as i64), Some(all.len() as i64));
        let found = read(page).await?;
        let done = found.items.is_empty() || all.len() + found.items.len() >= found.total as usize;
        all.extend(found.items);
        if done {
            return Ok(all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_prefixes_make_one_range() {
        let r = Range::parse(["ge2030-01-02", "lt2030-01-04"].into_iter(), "start").unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(r.holds(at("2030-01-02T00:00:00Z")));
        assert!(r.holds(at("2030-01-03T23:59:59Z")));
        assert!(!r.holds(at("2030-01-04T00:00:00Z")));
        assert!(!r.holds(at("2030-01-01T23:59:59Z")));
        let day = Range::parse(["2030-01-02"].into_iter(), "date").unwrap();
        assert!(day.holds(at("2030-01-02T12:00:00Z")) && !day.holds(at("2030-01-03T00:00:00Z")));
        assert!(Range::parse(["ge2030-13-01"].into_iter(), "start").is_err());
    }

    #[test]
    fn references_name_their_kind() {
        let id = Uuid::new_v4();
        assert_eq!(
            reference_id(&format!("Patient/{id}"), "Patient", "p").unwrap(),
            id
        );
        assert_eq!(reference_id(&id.to_string(), "Patient", "p").unwrap(), id);
        let full = format!("http://h/fhir/R4/Patient/{id}");
        assert_eq!(reference_id(&full, "Patient", "p").unwrap(), id);
        assert!(reference_id(&format!("Practitioner/{id}"), "Patient", "p").is_err());
        assert!(reference_id("Patient/x", "Patient", "p").is_err());
    }

    #[test]
    fn unknown_parameters_are_refused_and_count_is_capped() {
        assert!(Params::parse(Some("name=a&colour=blue"), &["name"]).is_err());
        let p = Params::parse(Some("name=a&_count=1000"), &["name"]).unwrap();
        assert_eq!((p.count, p.one("name")), (MAX_COUNT, Some("a")));
    }
}
