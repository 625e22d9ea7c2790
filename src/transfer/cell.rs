//! One column value between a database row and the file: decoded from either backend's
//! storage, written in the canonical JSON form, read back and bound for either backend.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::tables::Kind;

/// A typed value of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Uuid(Uuid),
    Text(String),
    Bool(bool),
    Int(i64),
    Instant(DateTime<Utc>),
    Date(NaiveDate),
    Time(NaiveTime),
}

/// SQLite's stored instant format (see migrations/sqlite/0001_schema.sql).
const SQLITE_INSTANT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";
const DATE: &str = "%Y-%m-%d";
const TIME: &str = "%H:%M:%S%.f";

impl Cell {
    /// The canonical JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Uuid(u) => Value::String(u.hyphenated().to_string()),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(n) => Value::from(*n),
            Cell::Instant(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true)),
            Cell::Date(d) => Value::String(d.format(DATE).to_string()),
            Cell::Time(t) => Value::String(t.format(TIME).to_string()),
        }
    }

    /// Reads a value of `kind` from the file; the error says what was expected.
    pub fn from_json(kind: Kind, v: &Value) -> Result<Self, String> {
        if v.is_null() {
            return Ok(Cell::Null);
        }
        let text = || {
            v.as_str()
                .ok_or_else(|| format!("expected a string, got {v}"))
        };
        Ok(match kind {
            Kind::Uuid => Cell::Uuid(
                Uuid::try_parse(text()?).map_err(|_| format!("expected a uuid, got {v}"))?,
            ),
            Kind::Text => Cell::Text(text()?.to_owned()),
            Kind::Bool => Cell::Bool(
                v.as_bool()
                    .ok_or_else(|| format!("expected true or false, got {v}"))?,
            ),
            Kind::Int32 | Kind::Int64 => Cell::Int(
                v.as_i64()
                    .ok_or_else(|| format!("expected an integer, got {v}"))?,
            ),
            Kind::Instant => Cell::Instant(parse_instant(text()?)?),
            Kind::Date => Cell::Date(
                NaiveDate::parse_from_str(text()?, DATE)
                    .map_err(|_| format!("expected a date YYYY-MM-DD, got {v}"))?,
            ),
            Kind::Time => Cell::Time(
                NaiveTime::parse_from_str(text()?, TIME)
                    .map_err(|_| format!("expected a time HH:MM:SS, got {v}"))?,
            ),
        })
    }

    /// Decodes column `i` of a PostgreSQL row.
    pub fn from_pg(row: &PgRow, i: usize, kind: Kind) -> Result<Self, sqlx::Error> {
        Ok(match kind {
            Kind::Uuid => row.try_get::<Option<Uuid>, _>(i)?.map(Cell::Uuid),
            Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Cell::Text),
            Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Cell::Bool),
            Kind::Int32 => row
                .try_get::<Option<i32>, _>(i)?
                .map(|n| Cell::Int(n.into())),
            Kind::Int64 => row.try_get::<Option<i64>, _>(i)?.map(Cell::Int),
            Kind::Instant => row
                .try_get::<Option<DateTime<Utc>>, _>(i)?
                .map(Cell::Instant),
            Kind::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(Cell::Date),
            Kind::Time => row.try_get::<Option<NaiveTime>, _>(i)?.map(Cell::Time),
        }
        .unwrap_or(Cell::Null))
    }

    /// Decodes column `i` of a SQLite row (ids are BLOBs, instants, dates and times TEXT).
    pub fn from_sqlite(row: &SqliteRow, i: usize, kind: Kind) -> Result<Self, String> {
        let get_err = |e: sqlx::Error| e.to_string();
        if kind == Kind::Text {
            return Ok(opt(row
                .try_get::<Option<String>, _>(i)
                .map_err(get_err)?
                .map(Cell::Text)));
        }
        if matches!(kind, Kind::Bool | Kind::Int32 | Kind::Int64) {
            let n = row.try_get::<Option<i64>, _>(i).map_err(get_err)?;
            return match (kind, n) {
                (_, None) => Ok(Cell::Null),
                (Kind::Bool, Some(0 | 1)) => Ok(Cell::Bool(n == Some(1))),
                (Kind::Bool, Some(n)) => Err(format!("expected 0 or 1, got {n}")),
                (_, Some(n)) => Ok(Cell::Int(n)),
            };
        }
        if kind == Kind::Uuid {
            let bytes = row.try_get::<Option<Vec<u8>>, _>(i).map_err(get_err)?;
            return match bytes {
                None => Ok(Cell::Null),
                Some(b) => Uuid::from_slice(&b)
                    .map(Cell::Uuid)
                    .map_err(|_| format!("expected a 16-byte id, got {} bytes", b.len())),
            };
        }
        let Some(s) = row.try_get::<Option<String>, _>(i).map_err(get_err)? else {
            return Ok(Cell::Null);
        };
        Self::from_json(kind, &Value::String(s))
    }

    /// The SQLite storage form of an instant: UTC text to the millisecond (finer digits are
    /// dropped), in the years 0000–9999 only.
    pub fn sqlite_instant(t: &DateTime<Utc>) -> Result<String, String> {
        if (0..=9999).contains(&t.year()) {
            Ok(t.format(SQLITE_INSTANT).to_string())
        } else {
            Err(format!(
                "the instant {t} is outside the years SQLite can store"
            ))
        }
    }
}

fn opt(c: Option<Cell>) -> Cell {
    c.unwrap_or(Cell::Null)
}

/// An RFC 3339 instant (any offset), as UTC.
fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("expected an RFC 3339 instant, got \"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_forms() {
        let t = DateTime::parse_from_rfc3339("2030-12-20T09:00:00.123+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Cell::Instant(t).to_json(),
            json!("2030-12-20T08:00:00.123000Z")
        );
        let id = Uuid::parse_str("3F2B6C1E-9A4D-4F0B-8C2E-5D7A1B9E0F42").unwrap();
        assert_eq!(
            Cell::Uuid(id).to_json(),
            json!("3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42")
        );
        let time = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        assert_eq!(Cell::Time(time).to_json(), json!("09:30:00"));
        let day = NaiveDate::from_ymd_opt(2030, 1, 2).unwrap();
        assert_eq!(Cell::Date(day).to_json(), json!("2030-01-02"));
    }

    #[test]
    fn every_kind_reads_back_what_it_writes() {
        let t = Utc::now();
        let cases = [
            (Kind::Uuid, Cell::Uuid(Uuid::new_v4())),
            (Kind::Text, Cell::Text("x\ny \"z\" é".into())),
            (Kind::Bool, Cell::Bool(false)),
            (Kind::Int32, Cell::Int(-7)),
            (Kind::Int64, Cell::Int(1 << 40)),
            (Kind::Instant, Cell::Instant(t)),
            (Kind::Date, Cell::Date(t.date_naive())),
            (
                Kind::Time,
                Cell::Time(NaiveTime::from_hms_opt(23, 59, 59).unwrap()),
            ),
            (Kind::Text, Cell::Null),
        ];
        for (kind, cell) in cases {
            let back = Cell::from_json(kind, &cell.to_json()).unwrap();
            // The file keeps microseconds; chrono's clock may have nanoseconds.
            if let (Cell::Instant(a), Cell::Instant(b)) = (&cell, &back) {
                assert!((*a - *b).num_microseconds().unwrap().abs() < 1);
            } else {
                assert_eq!(back, cell, "{kind:?}");
            }
        }
    }

    #[test]
    fn wrong_types_are_named() {
        assert!(Cell::from_json(Kind::Uuid, &json!("nope"))
            .unwrap_err()
            .contains("uuid"));
        assert!(Cell::from_json(Kind::Bool, &json!(1))
            .unwrap_err()
            .contains("true or false"));
        assert!(Cell::from_json(Kind::Instant, &json!("2030-01-01 10:00"))
            .unwrap_err()
            .contains("RFC 3339"));
        assert!(Cell::from_json(Kind::Int32, &json!("3"))
            .unwrap_err()
            .contains("integer"));
    }

    #[test]
    fn sqlite_instants_keep_milliseconds_and_the_fixed_width() {
        let t = DateTime::parse_from_rfc3339("2030-12-20T08:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Cell::sqlite_instant(&t).unwrap(),
            "2030-12-20T08:00:00.123Z"
        );
        let whole = DateTime::parse_from_rfc3339("2030-12-20T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Cell::sqlite_instant(&whole).unwrap(),
            "2030-12-20T08:00:00.000Z"
        );
    }
}
