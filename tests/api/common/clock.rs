//! Moving time without waiting for it: helpers that rewrite instants in the test database on a
//! connection of their own (the app has no route for this, and needs none), and calendar dates
//! computed from today rather than pinned to a year.
//!
//! Every instant is set relative to the database clock, which is the clock carebook decides
//! expiry and "has started" with. On SQLite the values keep the stored text format
//! `YYYY-MM-DDTHH:MM:SS.SSSZ` exactly, since instants there are compared as text.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, DurationRound, NaiveDate, Offset, TimeZone, Utc};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, SqliteConnection};
use uuid::Uuid;

use super::{Backend, TestApp};

/// A connection of the test's own to its database.
pub(super) enum Raw {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// An instant in SQLite's stored text format.
fn sqlite_instant(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A duration in (fractional) seconds, to the millisecond.
fn seconds(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn parse_id(id: &str) -> Uuid {
    id.parse()
        .unwrap_or_else(|e| panic!("not a uuid: {id}: {e}"))
}

impl TestApp {
    /// Opens a connection of the test's own to the test database.
    pub(super) async fn raw(&self) -> Raw {
        match self.backend {
            Backend::Postgres => Raw::Pg(
                PgConnection::connect(&self.db_url)
                    .await
                    .expect("raw PostgreSQL connection"),
            ),
            Backend::Sqlite => Raw::Sqlite(
                SqliteConnectOptions::from_str(&self.db_url)
                    .expect("SQLite URL")
                    .busy_timeout(Duration::from_secs(10))
                    .connect()
                    .await
                    .expect("raw SQLite connection"),
            ),
        }
    }

    /// Sets each appointment's `expires_at` to the database clock's now plus its offset
    /// (negative: overdue), whatever its status, in one transaction (on PostgreSQL, against one
    /// "now"). Panics unless every id names an appointment.
    pub async fn move_expiries(&self, moves: &[(&str, chrono::Duration)]) {
        let mut raw = self.raw().await;
        let committed = match &mut raw {
            Raw::Pg(c) => {
                let mut tx = c.begin().await.expect("begin");
                for (a, offset) in moves {
                    let n = sqlx::query(
                        "UPDATE appointments SET expires_at = now() + make_interval(secs => $2) \
                         WHERE id = $1",
                    )
                    .bind(parse_id(a))
                    .bind(seconds(*offset))
                    .execute(&mut *tx)
                    .await
                    .expect("move expires_at")
                    .rows_affected();
                    assert_eq!(n, 1, "no appointment {a}");
                }
                tx.commit().await
            }
            Raw::Sqlite(c) => {
                let mut tx = c.begin().await.expect("begin");
                for (a, offset) in moves {
                    let n = sqlx::query(
                        "UPDATE appointments \
                         SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) WHERE id = ?1",
                    )
                    .bind(parse_id(a))
                    .bind(format!("{:+.3} seconds", seconds(*offset)))
                    .execute(&mut *tx)
                    .await
                    .expect("move expires_at")
                    .rows_affected();
                    assert_eq!(n, 1, "no appointment {a}");
                }
                tx.commit().await
            }
        };
        committed.expect("commit");
    }

    /// Sets every appointment's `expires_at` to the database clock's now plus `offset`.
    pub async fn move_expiry(&self, appointments: &[impl AsRef<str>], offset: chrono::Duration) {
        let moves: Vec<_> = appointments.iter().map(|a| (a.as_ref(), offset)).collect();
        self.move_expiries(&moves).await;
    }

    /// Lets holds lapse: their `expires_at` one second before the database clock's now.
    pub async fn expire_holds(&self, appointments: &[impl AsRef<str>]) {
        self.move_expiry(appointments, -chrono::Duration::seconds(1))
            .await;
    }

    /// Lets a hold lapse: its `expires_at` one second before the database clock's now.
    pub async fn expire_hold(&self, appointment: &str) {
        self.expire_holds(&[appointment]).await;
    }

    /// Makes a slot have just started: its start one whole second (at most two) before the
    /// database clock's now. Moves `starts_at` and the local `slot_date` and `slot_time` (in
    /// the doctor's current zone), on the slot and on its appointments, which copy them.
    pub async fn start_slot(&self, slot: &str) {
        self.move_slot_start(slot, -chrono::Duration::seconds(1))
            .await;
    }

    /// Moves a slot's start to the database clock's now (truncated to the second) plus
    /// `offset`: `starts_at` and the local `slot_date` and `slot_time` (in the doctor's current
    /// zone), on the slot and on its appointments, which copy them.
    pub async fn move_slot_start(&self, slot: &str, offset: chrono::Duration) {
        let id = parse_id(slot);
        let mut raw = self.raw().await;
        let (zone, now) = slot_zone_and_now(&mut raw, id).await;
        let tz: chrono_tz::Tz = zone.parse().expect("doctor's zone");
        let starts = now
            .duration_trunc(chrono::Duration::seconds(1))
            .expect("truncate")
            + offset;
        let local = starts.with_timezone(&tz).naive_local();
        let n = match &mut raw {
            Raw::Pg(c) => {
                let mut tx = c.begin().await.expect("begin");
                let n = sqlx::query(
                    "UPDATE time_slots SET starts_at = $2, slot_date = $3, slot_time = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(starts)
                .bind(local.date())
                .bind(local.time())
                .execute(&mut *tx)
                .await
                .expect("move the slot")
                .rows_affected();
                sqlx::query(
                    "UPDATE appointments SET starts_at = $2, appointment_date = $3, appointment_time = $4 \
                     WHERE time_slot_id = $1",
                )
                .bind(id)
                .bind(starts)
                .bind(local.date())
                .bind(local.time())
                .execute(&mut *tx)
                .await
                .expect("move its appointments");
                tx.commit().await.expect("commit");
                n
            }
            Raw::Sqlite(c) => {
                let (at, date, time) = (
                    sqlite_instant(starts),
                    local.format("%Y-%m-%d").to_string(),
                    local.format("%H:%M:%S").to_string(),
                );
                let mut tx = c.begin().await.expect("begin");
                let n = sqlx::query(
                    "UPDATE time_slots SET starts_at = ?2, slot_date = ?3, slot_time = ?4 WHERE id = ?1",
                )
                .bind(id)
                .bind(&at)
                .bind(&date)
                .bind(&time)
                .execute(&mut *tx)
                .await
                .expect("move the slot")
                .rows_affected();
                sqlx::query(
                    "UPDATE appointments SET starts_at = ?2, appointment_date = ?3, appointment_time = ?4 \
                     WHERE time_slot_id = ?1",
                )
                .bind(id)
                .bind(&at)
                .bind(&date)
                .bind(&time)
                .execute(&mut *tx)
                .await
                .expect("move its appointments");
                tx.commit().await.expect("commit");
                n
            }
        };
        assert_eq!(n, 1, "no slot {slot}");
    }
}

/// The slot's doctor's time zone and the database clock's now.
async fn slot_zone_and_now(raw: &mut Raw, slot: Uuid) -> (String, DateTime<Utc>) {
    const MISSING: &str = "the slot exists";
    match raw {
        Raw::Pg(c) => sqlx::query_as(
            "SELECT d.timezone, now() FROM time_slots s JOIN doctors d ON d.id = s.doctor_id \
             WHERE s.id = $1",
        )
        .bind(slot)
        .fetch_one(c)
        .await
        .expect(MISSING),
        Raw::Sqlite(c) => {
            let (zone, now): (String, String) = sqlx::query_as(
                "SELECT d.timezone, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                 FROM time_slots s JOIN doctors d ON d.id = s.doctor_id WHERE s.id = ?1",
            )
            .bind(slot)
            .fetch_one(c)
            .await
            .expect(MISSING);
            let now = DateTime::parse_from_rfc3339(&now)
                .expect("SQLite instant")
                .with_timezone(&Utc);
            (zone, now)
        }
    }
}

/// Which way clocks move on a daylight-saving change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    /// The offset from UTC grows: a local hour is skipped (spring).
    Forward,
    /// The offset shrinks: a local hour repeats (autumn).
    Back,
}

/// The first local date after today (in `tz`) on which its clocks change the way `change`
/// says, found by scanning day by day for up to two years. Zones change clocks at night, so
/// comparing the UTC offsets at local noon on consecutive days finds the day of the change.
pub fn next_clock_change(tz: chrono_tz::Tz, change: ClockChange) -> NaiveDate {
    let offset_at_noon = |d: NaiveDate| {
        let noon = d.and_hms_opt(12, 0, 0).expect("noon");
        tz.from_local_datetime(&noon)
            .earliest()
            .expect("noon exists")
            .offset()
            .fix()
            .local_minus_utc()
    };
    let today = Utc::now().with_timezone(&tz).date_naive();
    (1..=730)
        .map(|n| today + chrono::Duration::days(n))
        .find(|&d| {
            let (before, after) = (
                offset_at_noon(d.pred_opt().expect("date")),
                offset_at_noon(d),
            );
            match change {
                ClockChange::Forward => after > before,
                ClockChange::Back => after < before,
            }
        })
        .unwrap_or_else(|| panic!("{tz} changes its clocks {change:?} within two years"))
}
