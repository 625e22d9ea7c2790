//! `carebook export`: one read-only snapshot of the database, streamed to a file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::{Connection, PgConnection, SqliteConnection};

use super::cell::Cell;
use super::connect::{self, Conn};
use super::format::{end_line, row_line, Header};
use super::outcome::{Summary, TransferError};
use super::tables::{Table, TABLES};
use crate::config::Settings;

/// Writes every exported table of the database named by `settings` (`DATABASE_URL` or the
/// `DB_*` parts, as for `serve`) to `path` (replacing it). The file is
/// written beside it as `<path>.partial` and renamed when complete, so a failed export never
/// leaves a file that looks whole; it is readable by its owner only (it holds password hashes
/// and medical records).
pub async fn export(settings: &Settings, path: &Path) -> Result<Summary, TransferError> {
    let mut conn = connect::existing(&settings.database_url.0).await?;
    connect::check_schema(&mut conn).await?;
    let partial = partial_path(path);
    let io = |source| TransferError::Io {
        path: partial.clone(),
        source,
    };
    let mut sink = Sink::new(create_private(&partial).map_err(io)?, partial.clone());
    let written = match &mut conn {
        Conn::Pg(c) => from_pg(c, &mut sink).await,
        Conn::Sqlite(c) => from_sqlite(c, &mut sink).await,
    };
    let finished = written.and_then(|summary| {
        sink.finish(&summary).map_err(io)?;
        std::fs::rename(&partial, path).map_err(|source| TransferError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(summary)
    });
    if finished.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    finished
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn create_private(path: &Path) -> std::io::Result<File> {
    crate::files::create_private(path)
}

/// The output file, line by line.
struct Sink {
    out: BufWriter<File>,
    path: PathBuf,
    counts: Vec<(&'static str, u64)>,
}

impl Sink {
    fn new(file: File, path: PathBuf) -> Self {
        Self {
            out: BufWriter::new(file),
            path,
            counts: Vec::new(),
        }
    }

    fn line(&mut self, v: &impl serde::Serialize) -> Result<(), TransferError> {
        serde_json::to_writer(&mut self.out, v)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| TransferError::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn header(&mut self, backend: &str, at: DateTime<Utc>) -> Result<Summary, TransferError> {
        let exported_at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
        self.line(&Header::new(backend, exported_at.clone()))?;
        Ok(Summary {
            source_backend: backend.into(),
            exported_at,
            counts: Vec::new(),
        })
    }

    fn row(&mut self, table: &Table, cells: Vec<Cell>) -> Result<(), TransferError> {
        match self.counts.last_mut() {
            Some((name, n)) if *name == table.name => *n += 1,
            _ => self.counts.push((table.name, 1)),
        }
        self.line(&row_line(table, cells.iter().map(Cell::to_json).collect()))
    }

    /// Records a table with no rows, so the end line lists every table.
    fn table_done(&mut self, table: &Table) {
        if self.counts.last().map(|(t, _)| *t) != Some(table.name) {
            self.counts.push((table.name, 0));
        }
    }

    /// Writes the end line and makes the file durable.
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, &end_line(&summary.counts))?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        self.out.get_ref().sync_all()
    }
}

fn select(table: &Table, order: &str) -> String {
    format!(
        "SELECT {} FROM {} ORDER BY {order}",
        table.column_list(),
        table.name
    )
}

async fn from_pg(c: &mut PgConnection, sink: &mut Sink) -> Result<Summary, TransferError> {
    let mut tx = c
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let mut summary = sink.header("postgres", now)?;
    for table in TABLES {
        let sql = select(table, table.order.0);
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let cells = (table.columns.iter().enumerate())
                .map(|(i, (_, kind))| Cell::from_pg(&row, i, *kind))
                .collect::<Result<_, _>>()?;
            sink.row(table, cells)?;
        }
        sink.table_done(table);
    }
    tx.rollback().await?;
    summary.counts = sink.counts.clone();
    Ok(summary)
}

async fn from_sqlite(c: &mut SqliteConnection, sink: &mut Sink) -> Result<Summary, TransferError> {
    // A deferred transaction: its first SELECT fixes the snapshot every later one reads.
    let mut tx = c.begin().await?;
    let now: String = sqlx::query_scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
        .fetch_one(&mut *tx)
        .await?;
    let now = DateTime::parse_from_rfc3339(&now)
        .map_err(|e| TransferError::Data(format!("the database clock read {now}: {e}")))?;
    let mut summary = sink.header("sqlite", now.with_timezone(&Utc))?;
    for table in TABLES {
        let sql = select(table, table.order.1);
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let cells = (table.columns.iter().enumerate())
                .map(|(i, (col, kind))| {
                    Cell::from_sqlite(&row, i, *kind)
                        .map_err(|m| TransferError::Data(format!("{}.{col}: {m}", table.name)))
                })
                .collect::<Result<_, _>>()?;
            sink.row(table, cells)?;
        }
        sink.table_done(table);
    }
    tx.rollback().await?;
    summary.counts = sink.counts.clone();
    Ok(summary)
}
