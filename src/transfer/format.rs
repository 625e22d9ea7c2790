//! The lines of an export file: the header, the rows, the closing count. Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tables::{self, Table};

/// The `format` of the header line.
pub const FORMAT: &str = "carebook-export";
/// The version this carebook writes and the only one it reads.
pub const VERSION: u64 = 1;

/// The first line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u64,
    /// `postgres` or `sqlite`.
    pub source_backend: String,
    /// The source database's clock when the snapshot was taken, RFC 3339 UTC.
    pub exported_at: String,
    /// The carebook that wrote the file (informational).
    pub carebook_version: String,
}

impl Header {
    /// A header of this format and version.
    pub fn new(source_backend: &str, exported_at: String) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            source_backend: source_backend.into(),
            exported_at,
            carebook_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// Reads the first line, refusing anything but this format and version.
    pub fn parse(line: &str) -> Result<Self, String> {
        let not_ours = || {
            format!("not a carebook export: the first line must be a JSON object with \"format\": \"{FORMAT}\"")
        };
        let v: Value = serde_json::from_str(line).map_err(|_| not_ours())?;
        if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(not_ours());
        }
        match v.get("version").and_then(Value::as_u64) {
            Some(VERSION) => {}
            Some(n) => {
                return Err(format!(
                    "{FORMAT} version {n} is not supported: this carebook reads version {VERSION} \
                     only (a newer file needs a newer carebook)"
                ))
            }
            None => return Err(format!("the header has no integer \"version\" ({line})")),
        }
        let header: Header =
            serde_json::from_value(v).map_err(|e| format!("invalid header: {e}"))?;
        if !matches!(header.source_backend.as_str(), "postgres" | "sqlite") {
            return Err(format!(
                "invalid header: unknown source_backend \"{}\"",
                header.source_backend
            ));
        }
        Ok(header)
    }
}

/// A line after the header.
#[derive(Debug, PartialEq)]
pub enum Line {
    /// One row of `table`, its columns in the table's order.
    Row {
        table: &'static Table,
        values: Vec<Value>,
    },
    /// The closing line: rows per table.
    End(BTreeMap<String, u64>),
}

/// The line for one row: `{"table": …, "row": {…}}`, columns in the table's order.
pub fn row_line(table: &Table, values: Vec<Value>) -> RowLine<'_> {
    RowLine { table, values }
}

/// A row as written: the table first, then the columns in the schema's order (serde_json's
/// own map would sort them), so the file reads like the table.
pub struct RowLine<'a> {
    table: &'a Table,
    values: Vec<Value>,
}

impl Serialize for RowLine<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Row<'r>(&'r Table, &'r [Value]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.1.len()))?;
                for ((c, _), v) in self.0.columns.iter().zip(self.1) {
                    m.serialize_entry(c, v)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("table", self.table.name)?;
        m.serialize_entry("row", &Row(self.table, &self.values))?;
        m.end()
    }
}

/// The closing line, `{"end": {table: rows, …}}`, tables in file order.
pub fn end_line<'a>(counts: &'a [(&'static str, u64)]) -> EndLine<'a> {
    EndLine(counts)
}

/// The closing line as written.
pub struct EndLine<'a>(&'a [(&'static str, u64)]);

impl Serialize for EndLine<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Counts<'c>(&'c [(&'static str, u64)]);
        impl Serialize for Counts<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (t, n) in self.0 {
                    m.serialize_entry(t, n)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("end", &Counts(self.0))?;
        m.end()
    }
}

/// Reads a line after the header: a row of a known table with exactly its columns, or the end.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut obj) = v else {
        return Err("not a JSON object".into());
    };
    if let Some(end) = obj.remove("end") {
        let counts: BTreeMap<String, u64> = serde_json::from_value(end)
            .map_err(|_| "\"end\" must map table names to row counts".to_owned())?;
        return Ok(Line::End(counts));
    }
    let name = obj
        .get("table")
        .and_then(Value::as_str)
        .ok_or("a line must have \"table\" and \"row\", or \"end\"")?;
    let table = tables::table(name).ok_or_else(|| format!("unknown table \"{name}\""))?;
    let name = table.name;
    let Some(Value::Object(mut row)) = obj.remove("row") else {
        return Err("\"row\" must be an object".into());
    };
    let mut values = Vec::with_capacity(table.columns.len());
    for (col, _) in table.columns {
        values.push(
            row.remove(*col)
                .ok_or_else(|| format!("table {name}: the row has no column \"{col}\""))?,
        );
    }
    if let Some(extra) = row.keys().next() {
        return Err(format!("table {name}: unknown column \"{extra}\""));
    }
    Ok(Line::Row { table, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_round_trips() {
        let h = Header::new("sqlite", "2030-01-01T00:00:00.000000Z".into());
        let line = serde_json::to_string(&h).unwrap();
        assert_eq!(Header::parse(&line).unwrap(), h);
    }

    #[test]
    fn foreign_or_future_headers_are_refused() {
        for bad in ["", "garbage", "[]", r#"{"format":"pg_dump","version":1}"#] {
            assert!(
                Header::parse(bad)
                    .unwrap_err()
                    .contains("not a carebook export"),
                "{bad}"
            );
        }
        let future = r#"{"format":"carebook-export","version":2,"source_backend":"sqlite","exported_at":"x","carebook_version":"9"}"#;
        assert!(Header::parse(future)
            .unwrap_err()
            .contains("version 2 is not supported"));
        let odd = r#"{"format":"carebook-export","version":1,"source_backend":"mysql","exported_at":"x","carebook_version":"9"}"#;
        assert!(Header::parse(odd).unwrap_err().contains("mysql"));
    }

    #[test]
    fn rows_need_exactly_their_columns() {
        let t = tables::table("idempotency_keys").unwrap();
        let line = serde_json::to_string(&row_line(
            t,
            vec![json!("k"), json!("f"), json!("a"), json!("c")],
        ))
        .unwrap();
        assert_eq!(
            line,
            r#"{"table":"idempotency_keys","row":{"key":"k","fingerprint":"f","appointment_id":"a","created_at":"c"}}"#
        );
        let parsed = parse_line(&line).unwrap();
        assert_eq!(
            parsed,
            Line::Row {
                table: t,
                values: vec![json!("k"), json!("f"), json!("a"), json!("c")]
            }
        );
        let missing = json!({"table": "idempotency_keys", "row": {"key": "k"}});
        assert!(parse_line(&missing.to_string())
            .unwrap_err()
            .contains("no column \"fingerprint\""));
        let mut extra: Value = serde_json::from_str(&line).unwrap();
        extra["row"]["surprise"] = json!(1);
        assert!(parse_line(&extra.to_string())
            .unwrap_err()
            .contains("unknown column \"surprise\""));
        let unknown = json!({"table": "sessions", "row": {}});
        assert!(parse_line(&unknown.to_string())
            .unwrap_err()
            .contains("unknown table"));
    }

    #[test]
    fn the_end_line_counts_rows() {
        let line = serde_json::to_string(&end_line(&[("doctors", 2), ("patients", 0)])).unwrap();
        assert_eq!(line, r#"{"end":{"doctors":2,"patients":0}}"#);
        let Line::End(counts) = parse_line(&line).unwrap() else {
            panic!("not an end line");
        };
        assert_eq!(counts["doctors"], 2);
        assert_eq!(counts["patients"], 0);
    }
}
