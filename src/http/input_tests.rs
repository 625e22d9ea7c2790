//! Tests of `input`: every failing field named at once, in the client's terms.

use super::*;
use crate::domain::text::Text;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Item {
    #[garde(required)]
    name: Option<Text<5>>,
    #[garde(inner(range(min = 1, max = 9)))]
    n: Option<i64>,
}

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Batch {
    #[garde(required, length(min = 1, max = 3), dive)]
    items: Option<Vec<Item>>,
    #[garde(skip)]
    #[allow(dead_code)] // only its type matters here
    note: Option<String>,
}

fn fields(e: DomainError) -> Vec<(String, String)> {
    match e {
        DomainError::Validation(v) => v.into_iter().map(|f| (f.field, f.message)).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_failing_field_is_named() {
    let v = json!({"items": [{"name": 5, "n": "x"}, "oops", {"n": 0, "extra": 1}], "note": [], "who": 1});
    let errs = fields(body::<Batch>(v, &()).unwrap_err());
    let mut names: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "items[0].n",
            "items[0].name",
            "items[1]",
            "items[2].extra",
            "items[2].n",
            "items[2].name",
            "note",
            "who"
        ],
        "{errs:?}"
    );
    let msg = |f: &str| errs.iter().find(|(n, _)| n == f).unwrap().1.clone();
    assert_eq!(msg("items[0].name"), "must be a string");
    assert_eq!(msg("items[0].n"), "must be an integer");
    assert_eq!(msg("items[1]"), "must be an object");
    assert_eq!(msg("who"), "is not a known field");
    assert_eq!(msg("items[2].name"), "is required");
    assert_eq!(msg("items[2].n"), "must be at least 1");
}

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[garde(required, length(min = 1))]
    days: Option<Vec<Text<3>>>,
    #[garde(skip)]
    #[allow(dead_code)] // only its type matters here
    n: Option<i64>,
    #[garde(required)]
    name: Option<Text<5>>,
}

#[test]
fn each_bad_item_of_a_list_of_values_is_named_once_and_the_rest_still_read() {
    let v = json!({"days": ["MON", "TUESDAY", "WED", "THURSDAY", 5], "n": "x", "name": "toolong"});
    let errs = fields(body::<Rule>(v, &()).unwrap_err());
    let names: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        ["days[1]", "days[3]", "days[4]", "n", "name"],
        "{errs:?}"
    );
    let msg = |f: &str| errs.iter().find(|(n, _)| n == f).unwrap().1.clone();
    assert_eq!(msg("days[1]"), "must be at most 3 characters");
    assert_eq!(msg("days[4]"), "must be a string");
    // Every item bad: named each, not again as an empty list.
    let errs = fields(body::<Rule>(json!({"days": ["XXXX"], "name": "ab"}), &()).unwrap_err());
    assert_eq!(
        errs,
        [("days[0]".into(), "must be at most 3 characters".into())]
    );
}

#[test]
fn read_only_fields_cannot_be_changed() {
    let v = json!({"id": "x", "name": "toolong", "who": 1});
    let errs = fields(patch::<Item>(v, &(), &["id", "created_at"]).unwrap_err());
    assert_eq!(
        errs,
        [
            ("id".into(), "cannot be changed".into()),
            ("name".into(), "must be at most 5 characters".into()),
            ("who".into(), "is not a known field".into())
        ]
    );
    let errs = fields(
        patch::<Item>(json!({"created_at": 1, "name": "ab"}), &(), &["created_at"]).unwrap_err(),
    );
    assert_eq!(errs, [("created_at".into(), "cannot be changed".into())]);
    assert!(patch::<Item>(json!({"name": "ab"}), &(), &["id"]).is_ok());
}

#[test]
fn value_types_report_their_own_message() {
    let errs = fields(body::<Item>(json!({"name": "toolong"}), &()).unwrap_err());
    assert_eq!(
        errs,
        [("name".into(), "must be at most 5 characters".into())]
    );
    let ok = body::<Item>(json!({"name": " ab ", "n": 3}), &()).unwrap();
    assert_eq!((ok.name.unwrap().as_str(), ok.n), ("ab", Some(3)));
}

#[derive(Debug, Deserialize, garde::Validate)]
struct Q {
    #[garde(inner(range(min = 1)))]
    limit: Option<i64>,
    #[garde(inner(range(min = 0)))]
    offset: Option<i64>,
}

#[test]
fn queries_name_each_bad_parameter() {
    let errs = fields(query::<Q>("limit=abc&offset=-2&other=1").unwrap_err());
    assert_eq!(
        errs,
        [
            ("limit".into(), "must be an integer".into()),
            ("offset".into(), "must be at least 0".into())
        ]
    );
    let q = query::<Q>("limit=5").unwrap();
    assert_eq!((q.limit, q.offset), (Some(5), None));
    let q = query::<Q>("limit=abc&limit=7").unwrap();
    assert_eq!(q.limit, Some(7), "the last of a repeated parameter wins");
}
