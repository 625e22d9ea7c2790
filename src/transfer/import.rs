//! `carebook import`: a file written by `carebook export`, into an empty database of either
//! backend, in one transaction.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Connection, Postgres, Sqlite};

use super::cell::Cell;
use super::connect::{self, Conn};
use super::format::{parse_line, Header, Line};
use super::outcome::{Summary, TransferError};
use super::tables::{shape, Kind, Shape, Table, TABLES};
use crate::config::Settings;
use crate::domain::text::is_single_line;

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Add the file's rows to a database that already holds data (any clash of ids or unique
    /// values aborts the whole import). Without it a non-empty database is refused.
    pub allow_non_empty: bool,
}

/// The newest outbox row before the import. The audit rows an import inserts fire the
/// outbox trigger like any change; the rows it wrote are deleted before commit, so a moved
/// clinic's history is not told to its patients and receivers a second time.
const OUTBOX_MAX: &str = "SELECT COALESCE(max(id), 0) FROM outbox";

/// Rows per INSERT statement (at most 17 columns: well under both backends' parameter limits).
const BATCH: usize = 500;

/// Reads the export at `path` into the database named by `settings` (as for `serve`): checks
/// the header, creates the database and applies migrations if needed, refuses a non-empty database unless
/// `allow_non_empty`, inserts every row in one transaction keeping its ids, checks the
/// file's closing counts, and moves PostgreSQL's log sequences past the imported ids. On any
/// error nothing is imported.
pub async fn import(
    settings: &Settings,
    path: &Path,
    opts: ImportOptions,
) -> Result<Summary, TransferError> {
    let mut reader = Reader::open(path)?;
    let header = reader.header()?;
    let mut conn = connect::migrated(settings).await?;
    let counts = match &mut conn {
        Conn::Pg(c) => {
            let mut tx = c.begin().await?;
            let tables: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
            let lock = format!(
                "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                tables.join(", ")
            );
            sqlx::query(&lock).execute(&mut *tx).await?;
            check_empty(&mut Conn2::Pg(&mut tx), opts).await?;
            let before: i64 = sqlx::query_scalar(OUTBOX_MAX).fetch_one(&mut *tx).await?;
            while let Some((table, rows)) = reader.next_batch()? {
                insert_pg(&mut tx, table, rows)
                    .await
                    .map_err(|e| reader.bad(e))?;
            }
            let counts = reader.finish()?;
            sqlx::query("DELETE FROM outbox WHERE id > $1")
                .bind(before)
                .execute(&mut *tx)
                .await?;
            fix_sequences(&mut tx).await?;
            tx.commit().await?;
            counts
        }
        Conn::Sqlite(c) => {
            let mut tx = c.begin_with("BEGIN IMMEDIATE").await?;
            check_empty(&mut Conn2::Sqlite(&mut tx), opts).await?;
            let before: i64 = sqlx::query_scalar(OUTBOX_MAX).fetch_one(&mut *tx).await?;
            while let Some((table, rows)) = reader.next_batch()? {
                insert_sqlite(&mut tx, table, rows)
                    .await
                    .map_err(|e| reader.bad(e))?;
            }
            let counts = reader.finish()?;
            sqlx::query("DELETE FROM outbox WHERE id > ?1")
                .bind(before)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            counts
        }
    };
    if let Conn::Pg(c) = &mut conn {
        // Fresh tables have no statistics yet; the planner should not wait for autovacuum.
        sqlx::query("ANALYZE").execute(c).await?;
    }
    Ok(Summary {
        source_backend: header.source_backend,
        exported_at: header.exported_at,
        counts,
    })
}

/// A transaction of either backend, borrowed.
enum Conn2<'a, 'c> {
    Pg(&'a mut sqlx::Transaction<'c, Postgres>),
    Sqlite(&'a mut sqlx::Transaction<'c, Sqlite>),
}

async fn check_empty(tx: &mut Conn2<'_, '_>, opts: ImportOptions) -> Result<(), TransferError> {
    let mut found = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        let n: i64 = match tx {
            Conn2::Pg(t) => sqlx::query_scalar(&sql).fetch_one(&mut ***t).await?,
            Conn2::Sqlite(t) => sqlx::query_scalar(&sql).fetch_one(&mut ***t).await?,
        };
        if n > 0 {
            found.push(format!("{n} {}", table.name));
        }
    }
    if found.is_empty() || opts.allow_non_empty {
        Ok(())
    } else {
        Err(TransferError::NotEmpty(found.join(", ")))
    }
}

/// Moves each `bigserial` sequence past the largest id, so the next audit row does not collide.
async fn fix_sequences(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    for table in TABLES.iter().filter(|t| t.serial) {
        let name = table.name;
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{name}', 'id'), \
             COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"
        );
        sqlx::query(&sql).execute(&mut **tx).await?;
    }
    Ok(())
}

fn insert_sql(table: &Table, rows: usize, placeholder: impl Fn(usize) -> String) -> String {
    let n = table.columns.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let ps: Vec<String> = (1..=n).map(|c| placeholder(r * n + c)).collect();
            format!("({})", ps.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        table.column_list(),
        tuples.join(", ")
    )
}

async fn insert_pg(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &'static Table,
    rows: Vec<Vec<Cell>>,
) -> Result<(), TransferError> {
    let sql = insert_sql(table, rows.len(), |i| format!("${i}"));
    let mut q = sqlx::query(&sql);
    for row in &rows {
        for (cell, (col, kind)) in row.iter().zip(table.columns) {
            q = bind_pg(q, *kind, cell)
                .map_err(|m| TransferError::Data(format!("{}.{col}: {m}", table.name)))?;
        }
    }
    q.execute(&mut **tx).await.map(drop).map_err(refused(table))
}

async fn insert_sqlite(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    table: &'static Table,
    rows: Vec<Vec<Cell>>,
) -> Result<(), TransferError> {
    let sql = insert_sql(table, rows.len(), |_| "?".into());
    let mut q = sqlx::query(&sql);
    for row in &rows {
        for (cell, (col, kind)) in row.iter().zip(table.columns) {
            q = bind_sqlite(q, *kind, cell)
                .map_err(|m| TransferError::Data(format!("{}.{col}: {m}", table.name)))?;
        }
    }
    q.execute(&mut **tx).await.map(drop).map_err(refused(table))
}

fn refused(table: &'static Table) -> impl Fn(sqlx::Error) -> TransferError {
    move |e| match e.as_database_error() {
        Some(db) => TransferError::Data(format!(
            "the database refused a row of {}: {}",
            table.name,
            db.message()
        )),
        None => TransferError::Db(e),
    }
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;
type LiteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

fn bind_pg<'q>(q: PgQuery<'q>, kind: Kind, cell: &Cell) -> Result<PgQuery<'q>, String> {
    use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
    Ok(match (kind, cell) {
        (Kind::Uuid, Cell::Null) => q.bind(None::<uuid::Uuid>),
        (Kind::Text, Cell::Null) => q.bind(None::<String>),
        (Kind::Bool, Cell::Null) => q.bind(None::<bool>),
        (Kind::Int32, Cell::Null) => q.bind(None::<i32>),
        (Kind::Int64, Cell::Null) => q.bind(None::<i64>),
        (Kind::Instant, Cell::Null) => q.bind(None::<DateTime<Utc>>),
        (Kind::Date, Cell::Null) => q.bind(None::<NaiveDate>),
        (Kind::Time, Cell::Null) => q.bind(None::<NaiveTime>),
        (Kind::Int32, Cell::Int(n)) => {
            q.bind(i32::try_from(*n).map_err(|_| format!("{n} is out of range"))?)
        }
        (_, Cell::Uuid(u)) => q.bind(*u),
        (_, Cell::Text(s)) => q.bind(s.clone()),
        (_, Cell::Bool(b)) => q.bind(*b),
        (_, Cell::Int(n)) => q.bind(*n),
        (_, Cell::Instant(t)) => q.bind(*t),
        (_, Cell::Date(d)) => q.bind(*d),
        (_, Cell::Time(t)) => q.bind(*t),
    })
}

fn bind_sqlite<'q>(q: LiteQuery<'q>, _kind: Kind, cell: &Cell) -> Result<LiteQuery<'q>, String> {
    Ok(match cell {
        Cell::Null => q.bind(None::<String>),
        Cell::Uuid(u) => q.bind(*u),
        Cell::Text(s) => q.bind(s.clone()),
        Cell::Bool(b) => q.bind(*b),
        Cell::Int(n) => q.bind(*n),
        Cell::Instant(t) => q.bind(Cell::sqlite_instant(t)?),
        Cell::Date(_) | Cell::Time(_) => match cell.to_json() {
            serde_json::Value::String(s) => q.bind(s),
            other => return Err(format!("unexpected {other}")),
        },
    })
}

/// Rows of one table, inserted by one statement.
type Batch = (&'static Table, Vec<Vec<Cell>>);

/// A text cell checked against its column's [`Shape`], as the API would check it.
fn shaped(table: &str, column: &str, cell: Cell) -> Result<Cell, String> {
    let Cell::Text(t) = &cell else {
        return Ok(cell);
    };
    match shape(table, column) {
        Some(Shape::Line) if !is_single_line(t) => {
            Err("must be a single line without control characters".into())
        }
        Some(Shape::Prose) if t.chars().any(|c| c.is_control() && c != '\n') => {
            Err("must not contain control characters other than line breaks".into())
        }
        _ => Ok(cell),
    }
}

/// The export file, read line by line.
struct Reader {
    path: PathBuf,
    lines: Lines<BufReader<File>>,
    number: usize,
    /// The first row of the next batch, read while finishing the previous one.
    pending: Option<Batch>,
    counted: BTreeMap<&'static str, u64>,
    /// The end line's counts, once read.
    end: Option<BTreeMap<String, u64>>,
}

impl Reader {
    fn open(path: &Path) -> Result<Self, TransferError> {
        let file = File::open(path).map_err(|source| TransferError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            lines: BufReader::new(file).lines(),
            number: 0,
            pending: None,
            counted: TABLES.iter().map(|t| (t.name, 0)).collect(),
            end: None,
        })
    }

    fn bad(&self, message: impl std::fmt::Display) -> TransferError {
        TransferError::Format {
            path: self.path.clone(),
            message: format!("line {}: {message}", self.number),
        }
    }

    fn next_line(&mut self) -> Result<Option<String>, TransferError> {
        self.number += 1;
        match self.lines.next() {
            None => Ok(None),
            Some(Ok(line)) => Ok(Some(line)),
            Some(Err(e)) => Err(self.bad(e)),
        }
    }

    fn header(&mut self) -> Result<Header, TransferError> {
        let line = self.next_line()?.unwrap_or_default();
        Header::parse(&line).map_err(|m| self.bad(m))
    }

    /// The next batch of rows of one table (at most [`BATCH`]), or `None` after the end line.
    fn next_batch(&mut self) -> Result<Option<Batch>, TransferError> {
        let mut batch: Option<Batch> = self.pending.take();
        while self.end.is_none() {
            let Some(line) = self.next_line()? else {
                return Err(self.bad("the file ends without its \"end\" line (truncated?)"));
            };
            let (table, values) = match parse_line(&line).map_err(|m| self.bad(m))? {
                Line::End(counts) => {
                    self.end = Some(counts);
                    break;
                }
                Line::Row { table, values } => (table, values),
            };
            let cells = (values.iter().zip(table.columns))
                .map(|(v, (col, kind))| {
                    let cell = Cell::from_json(*kind, v)
                        .and_then(|c| shaped(table.name, col, c))
                        .map_err(|m| format!("{}.{col}: {m}", table.name))?;
                    Ok::<_, String>(cell)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| self.bad(m))?;
            *self.counted.entry(table.name).or_default() += 1;
            match &mut batch {
                None => batch = Some((table, vec![cells])),
                Some((t, rows)) if std::ptr::eq(*t, table) => {
                    rows.push(cells);
                    if rows.len() == BATCH {
                        break;
                    }
                }
                Some(_) => {
                    self.pending = Some((table, vec![cells]));
                    break;
                }
            }
        }
        Ok(batch)
    }

    /// After the last batch: nothing may follow the end line, whose counts must match the
    /// rows read. Returns the rows per table in [`TABLES`] order.
    fn finish(&mut self) -> Result<Vec<(&'static str, u64)>, TransferError> {
        if self.next_line()?.is_some_and(|l| !l.trim().is_empty()) {
            return Err(self.bad("content after the \"end\" line"));
        }
        // The end line's counts; a table it leaves out had no rows.
        let end = self.end.take().unwrap_or_default();
        if let Some(unknown) = end.keys().find(|t| !self.counted.contains_key(t.as_str())) {
            return Err(self.bad(format!(
                "the end line counts an unknown table \"{unknown}\""
            )));
        }
        let wrong: Vec<String> = (self.counted.iter())
            .filter(|(t, n)| end.get(**t).copied().unwrap_or(0) != **n)
            .map(|(t, n)| {
                format!(
                    "{t}: {n} rows, the end line says {}",
                    end.get(*t).copied().unwrap_or(0)
                )
            })
            .collect();
        if !wrong.is_empty() {
            return Err(self.bad(format!(
                "the row counts do not match ({}): damaged?",
                wrong.join("; ")
            )));
        }
        Ok(TABLES
            .iter()
            .map(|t| (t.name, self.counted[t.name]))
            .collect())
    }
}
