//! Weekly rules, slot generation and time off on PostgreSQL. Generation is one SERIALIZABLE
//! transaction per rule whose inserts skip existing (doctor, date, time) with ON CONFLICT, so
//! several instances generating at once create each slot once: the loser of a race fails its
//! serialization check, is retried, and then sees the winner's slots.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{Postgres, Transaction};

use super::tx_pool::TxPool;
use crate::domain::schedule::{
    join_days, plan, slot_in, window, Existing, Generation, NewTimeOff, Removal, Rule, Schedule,
    TimeOff, TimeOffOutcome,
};
use crate::domain::slot::Slot;
use crate::domain::{DoctorId, DomainError, DomainResult, ScheduleId, SlotId, TimeOffId};
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, SlotRow};
use crate::store::schedule_rows::{zone, ExistingRow, ScheduleRow, SlotUse, TimeOffRow};
use crate::store::statements::{query, query_as, query_scalar};

type Tx = Transaction<'static, Postgres>;

/// Whether an appointment holds a seat on slot `s` now.
const LIVE: &str = "EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id
      AND (a.status IN ('CONFIRMED', 'COMPLETED') OR (a.status = 'PENDING' AND a.expires_at > now())))";

fn doctor_fk(e: sqlx::Error) -> TxError {
    if e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
    {
        return TxError::Domain(DomainError::NotFound("doctor"));
    }
    TxError::Db(e)
}

fn bind_rule<'q>(
    q: sqlx::query::QueryAs<'q, Postgres, ScheduleRow, sqlx::postgres::PgArguments>,
    r: &'q Rule,
) -> sqlx::query::QueryAs<'q, Postgres, ScheduleRow, sqlx::postgres::PgArguments> {
    q.bind(join_days(&r.weekdays))
        .bind(r.start_time)
        .bind(r.end_time)
        .bind(r.slot_minutes)
        .bind(r.capacity)
        .bind(r.valid_from)
        .bind(r.valid_until)
}

pub async fn create(pool: &TxPool, doctor: DoctorId, rule: Rule) -> DomainResult<Schedule> {
    let (id, rule) = (ScheduleId::random(), &rule);
    let row: ScheduleRow = retry(|| async move {
        bind_rule(
            query_as(
                "INSERT INTO schedules (id, doctor_id, weekdays, start_time, end_time, slot_minutes,
                                        capacity, valid_from, valid_until)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            )
            .bind(id)
            .bind(doctor),
            rule,
        )
        .fetch_one(pool)
        .await
        .map_err(doctor_fk)
    })
    .await?;
    row.try_into()
}

pub async fn list(pool: &TxPool, doctor: DoctorId) -> DomainResult<Vec<Schedule>> {
    let found: Vec<ScheduleRow> = retry(|| async move {
        Ok(
            query_as("SELECT * FROM schedules WHERE doctor_id = $1 ORDER BY created_at, id")
                .bind(doctor)
                .fetch_all(pool)
                .await?,
        )
    })
    .await?;
    found.into_iter().map(TryInto::try_into).collect()
}

/// Takes the rule's future slots out: those without any appointment are deleted; with `end`,
/// those with only past (cancelled, expired) appointments are blocked and detached, and those
/// with live ones detached. Returns how many were deleted and the ids of the live ones.
async fn remove_future(
    tx: &mut Tx,
    id: ScheduleId,
    end: bool,
) -> Result<(u64, Vec<SlotId>), TxError> {
    let sql = format!(
        "SELECT s.id, s.starts_at, s.duration_minutes, s.status, {LIVE} AS live,
                EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id) AS used,
                false AS by_time_off
         FROM time_slots s WHERE s.schedule_id = $1 AND s.starts_at > now() FOR UPDATE"
    );
    let found: Vec<SlotUse> = query_as(&sql).bind(id).fetch_all(&mut **tx).await?;
    let free: Vec<SlotId> = found.iter().filter(|s| !s.used).map(|s| s.id).collect();
    let live: Vec<SlotId> = found.iter().filter(|s| s.live).map(|s| s.id).collect();
    let removed = query("DELETE FROM time_slots WHERE id = ANY($1)")
        .bind(&free)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if end {
        let used: Vec<SlotId> = found.iter().filter(|s| s.used).map(|s| s.id).collect();
        query(
            "UPDATE time_slots SET schedule_id = NULL, updated_at = now(),
                    status = CASE WHEN id = ANY($2) THEN status ELSE 'BLOCKED' END
             WHERE id = ANY($1)",
        )
        .bind(&used)
        .bind(&live)
        .execute(&mut **tx)
        .await?;
    }
    Ok((removed, live))
}

pub async fn update(
    pool: &TxPool,
    doctor: DoctorId,
    id: ScheduleId,
    rule: Rule,
) -> DomainResult<(Schedule, Removal)> {
    let rule = &rule;
    let (row, removed, live): (ScheduleRow, u64, Vec<SlotId>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let row: Option<ScheduleRow> = bind_rule(
            query_as(
                "UPDATE schedules SET weekdays = $3, start_time = $4, end_time = $5,
                        slot_minutes = $6, capacity = $7, valid_from = $8, valid_until = $9,
                        updated_at = now()
                 WHERE id = $1 AND doctor_id = $2 RETURNING *",
            )
            .bind(id)
            .bind(doctor),
            rule,
        )
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

pub async fn end(pool: &TxPool, doctor: DoctorId, id: ScheduleId) -> DomainResult<Removal> {
    let (removed, live): (u64, Vec<SlotId>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let gone = query("DELETE FROM schedules WHERE id = $1 AND doctor_id = $2")
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

pub async fn current(pool: &TxPool, today: NaiveDate) -> DomainResult<Vec<ScheduleId>> {
    retry(|| async move {
        Ok(query_scalar(
            "SELECT id FROM schedules WHERE valid_until IS NULL OR valid_until >= $1 ORDER BY id",
        )
        .bind(today)
        .fetch_all(pool)
        .await?)
    })
    .await
}

pub async fn generate(
    pool: &TxPool,
    id: ScheduleId,
    horizon_days: i64,
) -> DomainResult<Generation> {
    retry(|| async move {
        let mut tx = pool.begin().await?;
        let found: Option<(String,)> = query_as(
            "SELECT d.timezone FROM schedules s JOIN doctors d ON d.id = s.doctor_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tz,)) = found else {
            return Err(DomainError::NotFound("schedule").into());
        };
        let tz = zone(&tz)?;
        let row: ScheduleRow = query_as("SELECT * FROM schedules WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let schedule: Schedule = row.try_into()?;
        let now = Utc::now();
        let Some(w) = window(&schedule.rule, tz, now, horizon_days) else {
            return Ok(Generation::default());
        };
        let (lo, hi) = w.instants();
        let existing: Vec<ExistingRow> = query_as(
            "SELECT schedule_id, slot_date, slot_time, starts_at, duration_minutes FROM time_slots
             WHERE doctor_id = $1 AND starts_at BETWEEN $2 AND $3",
        )
        .bind(schedule.doctor_id)
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *tx)
        .await?;
        let existing: Vec<Existing> = existing.into_iter().map(Into::into).collect();
        let off: Vec<(DateTime<Utc>, DateTime<Utc>)> = query_as(
            "SELECT starts_at, ends_at FROM time_off WHERE doctor_id = $1 AND starts_at < $3 AND ends_at > $2",
        )
        .bind(schedule.doctor_id)
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *tx)
        .await?;
        let (planned, skipped) = plan(id, &schedule.rule, (tz, now), w, &existing, &off);
        let ids: Vec<SlotId> = planned.iter().map(|_| SlotId::random()).collect();
        let dates: Vec<_> = planned.iter().map(|p| p.slot_date).collect();
        let times: Vec<_> = planned.iter().map(|p| p.slot_time).collect();
        let starts: Vec<_> = planned.iter().map(|p| p.starts_at).collect();
        let created = query(
            "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes,
                                     max_capacity, schedule_id)
             SELECT u.id, $2, u.d, u.t, u.s, $6, $7, $8
             FROM unnest($1::uuid[], $3::date[], $4::time[], $5::timestamptz[]) AS u(id, d, t, s)
             ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING",
        )
        .bind(&ids)
        .bind(schedule.doctor_id)
        .bind(&dates)
        .bind(&times)
        .bind(&starts)
        .bind(schedule.rule.slot_minutes)
        .bind(schedule.rule.capacity)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Generation { created, skipped })
    })
    .await
}

/// Effective slots by id, by start.
async fn slots(pool: &TxPool, ids: &[SlotId]) -> DomainResult<Vec<Slot>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<SlotRow> = retry(|| async move {
        Ok(query_as(
            "SELECT s.id, s.doctor_id, s.slot_date, s.slot_time, s.duration_minutes, s.max_capacity,
                    s.current_bookings - l.lapsed AS current_bookings,
                    s.max_capacity - s.current_bookings + l.lapsed AS available_capacity,
                    CASE WHEN s.status = 'BLOCKED' THEN 'BLOCKED'
                         WHEN s.current_bookings - l.lapsed >= s.max_capacity THEN 'BOOKED'
                         ELSE 'AVAILABLE' END AS status,
                    s.starts_at, s.created_at, s.updated_at
             FROM time_slots s
             CROSS JOIN LATERAL (
                 SELECT count(*)::int AS lapsed FROM appointments a
                 WHERE s.current_bookings > 0 AND a.time_slot_id = s.id
                   AND a.status = 'PENDING' AND a.expires_at <= now()
             ) l
             WHERE s.id = ANY($1) ORDER BY s.starts_at, s.id",
        )
        .bind(ids)
        .fetch_all(pool)
        .await?)
    })
    .await?;
    rows::all(found)
}

pub async fn create_time_off(
    pool: &TxPool,
    doctor: DoctorId,
    new: NewTimeOff,
) -> DomainResult<TimeOffOutcome> {
    let (id, new) = (TimeOffId::random(), &new);
    let (row, blocked, live): (TimeOffRow, u64, Vec<SlotId>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let row: TimeOffRow = query_as(
            "INSERT INTO time_off (id, doctor_id, starts_at, ends_at, reason)
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(id)
        .bind(doctor)
        .bind(new.starts_at)
        .bind(new.ends_at)
        .bind(&new.reason)
        .fetch_one(&mut *tx)
        .await
        .map_err(doctor_fk)?;
        let sql = format!(
            "SELECT s.id, s.starts_at, s.duration_minutes, s.status, {LIVE} AS live, false AS used,
                    EXISTS (SELECT 1 FROM time_off_slots o WHERE o.slot_id = s.id) AS by_time_off
             FROM time_slots s WHERE s.doctor_id = $1 AND s.starts_at > $2 AND s.starts_at < $3
             FOR UPDATE"
        );
        let found: Vec<SlotUse> = query_as(&sql)
            .bind(doctor)
            .bind(new.starts_at - Duration::minutes(480))
            .bind(new.ends_at)
            .fetch_all(&mut *tx)
            .await?;
        let inside: Vec<&SlotUse> = found
            .iter()
            .filter(|s| slot_in(s.starts_at, s.duration_minutes, new.starts_at, new.ends_at))
            .collect();
        let take: Vec<SlotId> = inside
            .iter()
            .filter(|s| s.status == "AVAILABLE" || s.by_time_off)
            .map(|s| s.id)
            .collect();
        let blocked = query(
            "UPDATE time_slots SET status = 'BLOCKED', updated_at = now()
             WHERE id = ANY($1) AND status = 'AVAILABLE'",
        )
        .bind(&take)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        query("INSERT INTO time_off_slots (time_off_id, slot_id) SELECT $1, unnest($2::uuid[])")
            .bind(id)
            .bind(&take)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let live = inside.iter().filter(|s| s.live).map(|s| s.id).collect();
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

pub async fn list_time_off(pool: &TxPool, doctor: DoctorId) -> DomainResult<Vec<TimeOff>> {
    let found: Vec<TimeOffRow> = retry(|| async move {
        Ok(
            query_as("SELECT * FROM time_off WHERE doctor_id = $1 ORDER BY starts_at, id")
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
    pool: &TxPool,
    doctor: DoctorId,
    id: TimeOffId,
    terms: crate::domain::waitlist::OfferTerms,
) -> DomainResult<u64> {
    use super::waitlist::{anyone_waiting, lock_line, offer_seats, two_pass, Pass};
    retry(|| {
        two_pass(|locked| async move {
            let mut tx = pool.begin().await?;
            if locked {
                lock_line(&mut tx).await?;
            }
            let found: Option<i32> =
                query_scalar("SELECT 1 FROM time_off WHERE id = $1 AND doctor_id = $2 FOR UPDATE")
                    .bind(id)
                    .bind(doctor)
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Err(DomainError::NotFound("time off").into());
            }
            let restored: Vec<(SlotId, i32)> = query_as(
                "UPDATE time_slots SET status = 'AVAILABLE', updated_at = now()
             WHERE id IN (SELECT slot_id FROM time_off_slots WHERE time_off_id = $1)
               AND status = 'BLOCKED'
               AND NOT EXISTS (SELECT 1 FROM time_off_slots o
                               WHERE o.slot_id = time_slots.id AND o.time_off_id <> $1)
             RETURNING id, max_capacity - current_bookings",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let slots: Vec<SlotId> = restored.iter().map(|(s, _)| *s).collect();
            if !locked && anyone_waiting(&mut tx, &slots).await? {
                // Rolled back before the locked pass, whose statements would wait on (or
                // skip) this transaction's row locks otherwise.
                tx.rollback().await?;
                return Ok(Pass::NeedsLock);
            }
            for (slot, free) in restored.iter().filter(|_| locked) {
                let seats = usize::try_from(*free).unwrap_or(0);
                offer_seats(&mut tx, *slot, seats, terms).await?;
            }
            let restored = restored.len() as u64;
            query("DELETE FROM time_off WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Pass::Done(restored))
        })
    })
    .await
}
