//! Weekly rules, slot generation and time off on SQLite. Every write transaction holds the
//! write lock from its first statement, so read-decide-write cannot race.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use super::tx::{begin_write, instant};
use crate::domain::schedule::{
    join_days, plan, slot_in, window, Existing, Generation, NewTimeOff, Removal, Rule, Schedule,
    TimeOff, TimeOffOutcome,
};
use crate::domain::slot::Slot;
use crate::domain::{DoctorId, DomainError, DomainResult, ScheduleId, SlotId, TimeOffId};
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, SlotRow};
use crate::store::schedule_rows::{zone, ExistingRow, ScheduleRow, SlotUse, TimeOffRow};

/// Whether an appointment holds a seat on slot `s` now.
macro_rules! live_sql {
    () => {
        concat!(
            "EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id
              AND (a.status IN ('CONFIRMED', 'COMPLETED')
                   OR (a.status = 'PENDING' AND a.expires_at > ",
            now_sql!(),
            ")))"
        )
    };
}

/// An instant in the stored format; one outside the years 0000..=9999 is refused as input.
fn stored(t: DateTime<Utc>, field: &str) -> Result<String, DomainError> {
    instant(t).ok_or_else(|| DomainError::field(field, "must be between the years 0000 and 9999"))
}

async fn require_doctor(conn: &mut SqliteConnection, doctor: DoctorId) -> Result<(), TxError> {
    if super::tx::exists(conn, "SELECT 1 FROM doctors WHERE id = ?1", doctor).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound("doctor").into())
    }
}

pub async fn create(pool: &SqlitePool, doctor: DoctorId, rule: Rule) -> DomainResult<Schedule> {
    let (id, rule) = (ScheduleId::random(), &rule);
    let row: ScheduleRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        require_doctor(&mut tx, doctor).await?;
        let row: ScheduleRow = sqlx::query_as(
            "INSERT INTO schedules (id, doctor_id, weekdays, start_time, end_time, slot_minutes,
                                    capacity, valid_from, valid_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING *",
        )
        .bind(id)
        .bind(doctor)
        .bind(join_days(&rule.weekdays))
        .bind(rule.start_time)
        .bind(rule.end_time)
        .bind(rule.slot_minutes)
        .bind(rule.capacity)
        .bind(rule.valid_from)
        .bind(rule.valid_until)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    })
    .await?;
    row.try_into()
}

pub async fn list(pool: &SqlitePool, doctor: DoctorId) -> DomainResult<Vec<Schedule>> {
    let found: Vec<ScheduleRow> = retry(|| async move {
        Ok(sqlx::query_as(
            "SELECT * FROM schedules WHERE doctor_id = ?1 ORDER BY created_at, rowid",
        )
        .bind(doctor)
        .fetch_all(pool)
        .await?)
    })
    .await?;
    found.into_iter().map(TryInto::try_into).collect()
}

/// Takes the rule's future slots out: those without any appointment are deleted; with `end`,
/// those with only past (cancelled, expired) appointments are blocked and detached, and those
/// with live ones detached. Returns how many were deleted and the ids of the live ones.
async fn remove_future(
    conn: &mut SqliteConnection,
    id: ScheduleId,
    end: bool,
) -> Result<(u64, Vec<SlotId>), TxError> {
    let found: Vec<SlotUse> = sqlx::query_as(concat!(
        "SELECT s.id, s.starts_at, s.duration_minutes, s.status, ",
        live_sql!(),
        " AS live, EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id) AS used,
           0 AS by_time_off
         FROM time_slots s WHERE s.schedule_id = ?1 AND s.starts_at > ",
        now_sql!()
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut removed = 0;
    for s in &found {
        if !s.used {
            removed += sqlx::query("DELETE FROM time_slots WHERE id = ?1")
                .bind(s.id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        } else if end {
            let status = if s.live { s.status.as_str() } else { "BLOCKED" };
            sqlx::query(concat!(
                "UPDATE time_slots SET schedule_id = NULL, status = ?2, updated_at = ",
                now_sql!(),
                " WHERE id = ?1"
            ))
            .bind(s.id)
            .bind(status)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok((
        removed,
        found.iter().filter(|s| s.live).map(|s| s.id).collect(),
    ))
}

pub async fn update(
    pool: &SqlitePool,
    doctor: DoctorId,
    id: ScheduleId,
    rule: Rule,
) -> DomainResult<(Schedule, Removal)> {
    let rule = &rule;
    let (row, removed, live): (ScheduleRow, u64, Vec<SlotId>) = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let row: Option<ScheduleRow> = sqlx::query_as(concat!(
            "UPDATE schedules SET weekdays = ?3, start_time = ?4, end_time = ?5,
                    slot_minutes = ?6, capacity = ?7, valid_from = ?8, valid_until = ?9,
                    updated_at = ",
            now_sql!(),
            " WHERE id = ?1 AND doctor_id = ?2 RETURNING *"
        ))
        .bind(id)
        .bind(doctor)
        .bind(join_days(&rule.weekdays))
        .bind(rule.start_time)
        .bind(rule.end_time)
        .bind(rule.slot_minutes)
        .bind(rule.capacity)
        .bind(rule.valid_from)
        .bind(rule.valid_until)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(TxError::Domain(DomainError::NotFound("schedule")))?;
        let (removed, live) = remove_future(&mut tx, id, false).await?;
        tx.commit().await?;
        Ok((row, removed, live))
    })
    .await?;
    let booked = slots(pool, &live).await?;
    Ok((row.try_into()?, Removal { removed, booked }))
}

pub async fn end(pool: &SqlitePool, doctor: DoctorId, id: ScheduleId) -> DomainResult<Removal> {
    let (removed, live): (u64, Vec<SlotId>) = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let gone = sqlx::query("DELETE FROM schedules WHERE id = ?1 AND doctor_id = ?2")
            .bind(id)
            .bind(doctor)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(TxError::Domain(DomainError::NotFound("schedule")));
        }
        let out = remove_future(&mut tx, id, true).await?;
        tx.commit().await?;
        Ok(out)
    })
    .await?;
    let booked = slots(pool, &live).await?;
    Ok(Removal { removed, booked })
}

pub async fn current(pool: &SqlitePool, today: NaiveDate) -> DomainResult<Vec<ScheduleId>> {
    retry(|| async move {
        Ok(sqlx::query_scalar(
            "SELECT id FROM schedules WHERE valid_until IS NULL OR valid_until >= ?1 ORDER BY id",
        )
        .bind(today)
        .fetch_all(pool)
        .await?)
    })
    .await
}

pub async fn generate(
    pool: &SqlitePool,
    id: ScheduleId,
    horizon_days: i64,
) -> DomainResult<Generation> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT d.timezone FROM schedules s JOIN doctors d ON d.id = s.doctor_id WHERE s.id = ?1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tz,)) = found else {
            return Err(DomainError::NotFound("schedule").into());
        };
        let tz = zone(&tz)?;
        let row: ScheduleRow = sqlx::query_as("SELECT * FROM schedules WHERE id = ?1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let schedule: Schedule = row.try_into()?;
        let now = Utc::now();
        let Some(w) = window(&schedule.rule, tz, now, horizon_days) else {
            return Ok(Generation::default());
        };
        let (lo, hi) = w.instants();
        let (lo, hi) = (stored(lo, "valid_from")?, stored(hi, "valid_until")?);
        let existing: Vec<ExistingRow> = sqlx::query_as(
            "SELECT schedule_id, slot_date, slot_time, starts_at, duration_minutes FROM time_slots
             WHERE doctor_id = ?1 AND starts_at BETWEEN ?2 AND ?3",
        )
        .bind(schedule.doctor_id)
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *tx)
        .await?;
        let existing: Vec<Existing> = existing.into_iter().map(Into::into).collect();
        let off: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT starts_at, ends_at FROM time_off WHERE doctor_id = ?1 AND starts_at < ?3 AND ends_at > ?2",
        )
        .bind(schedule.doctor_id)
        .bind(&lo)
        .bind(&hi)
        .fetch_all(&mut *tx)
        .await?;
        let (planned, skipped) = plan(id, &schedule.rule, (tz, now), w, &existing, &off);
        let mut created = 0;
        for p in &planned {
            created += sqlx::query(
                "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at,
                                         duration_minutes, max_capacity, schedule_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING",
            )
            .bind(SlotId::time_ordered())
            .bind(schedule.doctor_id)
            .bind(p.slot_date)
            .bind(p.slot_time)
            .bind(stored(p.starts_at, "valid_until")?)
            .bind(p.duration_minutes)
            .bind(p.max_capacity)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(Generation { created, skipped })
    })
    .await
}

/// Effective slots by id, by start.
async fn slots(pool: &SqlitePool, ids: &[SlotId]) -> DomainResult<Vec<Slot>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row: Option<SlotRow> = retry(|| async move {
            Ok(sqlx::query_as(concat!(
                "SELECT s.id, s.doctor_id, s.slot_date, s.slot_time, s.duration_minutes,
                        s.max_capacity, s.current_bookings - l.lapsed AS current_bookings,
                        s.max_capacity - s.current_bookings + l.lapsed AS available_capacity,
                        CASE WHEN s.status = 'BLOCKED' THEN 'BLOCKED'
                             WHEN s.current_bookings - l.lapsed >= s.max_capacity THEN 'BOOKED'
                             ELSE 'AVAILABLE' END AS status,
                        s.starts_at, s.created_at, s.updated_at
                 FROM time_slots s,
                      (SELECT count(*) AS lapsed FROM appointments a
                       WHERE a.time_slot_id = ?1 AND a.status = 'PENDING' AND a.expires_at <= ",
                now_sql!(),
                ") l WHERE s.id = ?1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
        .await?;
        if let Some(r) = row {
            out.push(r);
        }
    }
    let mut slots: Vec<Slot> = rows::all(out)?;
    slots.sort_by_key(|s| (s.starts_at, s.id.0));
    Ok(slots)
}

pub async fn create_time_off(
    pool: &SqlitePool,
    doctor: DoctorId,
    new: NewTimeOff,
) -> DomainResult<TimeOffOutcome> {
    let from = stored(new.starts_at, "from")?;
    let to = stored(new.ends_at, "to")?;
    let lower = stored(new.starts_at - Duration::minutes(480), "from")?;
    let (id, new, from, to, lower) = (TimeOffId::random(), &new, &from, &to, &lower);
    let (row, blocked, live): (TimeOffRow, u64, Vec<SlotId>) = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        require_doctor(&mut tx, doctor).await?;
        let row: TimeOffRow = sqlx::query_as(
            "INSERT INTO time_off (id, doctor_id, starts_at, ends_at, reason)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING *",
        )
        .bind(id)
        .bind(doctor)
        .bind(from)
        .bind(to)
        .bind(&new.reason)
        .fetch_one(&mut *tx)
        .await?;
        let found: Vec<SlotUse> = sqlx::query_as(concat!(
            "SELECT s.id, s.starts_at, s.duration_minutes, s.status, ",
            live_sql!(),
            " AS live, 0 AS used,
               EXISTS (SELECT 1 FROM time_off_slots o WHERE o.slot_id = s.id) AS by_time_off
             FROM time_slots s WHERE s.doctor_id = ?1 AND s.starts_at > ?2 AND s.starts_at < ?3"
        ))
        .bind(doctor)
        .bind(lower)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        let (mut blocked, mut live) = (0, Vec::new());
        for s in found
            .iter()
            .filter(|s| slot_in(s.starts_at, s.duration_minutes, new.starts_at, new.ends_at))
        {
            if s.live {
                live.push(s.id);
            }
            if s.status != "AVAILABLE" && !s.by_time_off {
                continue;
            }
            blocked += sqlx::query(concat!(
                "UPDATE time_slots SET status = 'BLOCKED', updated_at = ",
                now_sql!(),
                " WHERE id = ?1 AND status = 'AVAILABLE'"
            ))
            .bind(s.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("INSERT INTO time_off_slots (time_off_id, slot_id) VALUES (?1, ?2)")
                .bind(id)
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((row, blocked, live))
    })
    .await?;
    let booked = slots(pool, &live).await?;
    Ok(TimeOffOutcome {
        time_off: row.into(),
        blocked,
        booked,
    })
}

pub async fn list_time_off(pool: &SqlitePool, doctor: DoctorId) -> DomainResult<Vec<TimeOff>> {
    let found: Vec<TimeOffRow> = retry(|| async move {
        Ok(
            sqlx::query_as("SELECT * FROM time_off WHERE doctor_id = ?1 ORDER BY starts_at, id")
                .bind(doctor)
                .fetch_all(pool)
                .await?,
        )
    })
    .await?;
    Ok(found.into_iter().map(Into::into).collect())
}

/// Deletes time off, unblocks the slots it alone blocked and, in the same transaction, offers
/// their free seats to the patients waiting for them.
pub async fn delete_time_off(
    pool: &SqlitePool,
    doctor: DoctorId,
    id: TimeOffId,
    terms: crate::domain::waitlist::OfferTerms,
) -> DomainResult<u64> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM time_off WHERE id = ?1 AND doctor_id = ?2")
                .bind(id)
                .bind(doctor)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Err(DomainError::NotFound("time off").into());
        }
        let now = super::tx::db_now(&mut tx).await?;
        let restored: Vec<(SlotId, i64)> = sqlx::query_as(
            "UPDATE time_slots SET status = 'AVAILABLE', updated_at = ?2
             WHERE id IN (SELECT slot_id FROM time_off_slots WHERE time_off_id = ?1)
               AND status = 'BLOCKED'
               AND NOT EXISTS (SELECT 1 FROM time_off_slots o
                               WHERE o.slot_id = time_slots.id AND o.time_off_id <> ?1)
             RETURNING id, max_capacity - current_bookings",
        )
        .bind(id)
        .bind(&now)
        .fetch_all(&mut *tx)
        .await?;
        for (slot, free) in &restored {
            let seats = usize::try_from(*free).unwrap_or(0);
            super::offers::offer_seats(&mut tx, &now, *slot, seats, terms).await?;
        }
        let restored = restored.len() as u64;
        sqlx::query("DELETE FROM time_off WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(restored)
    })
    .await
}
