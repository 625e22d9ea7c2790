//! Weekly rules, slot generation and time off, for both adapters. Every write is one write
//! transaction (SERIALIZABLE, or holding SQLite's write lock), so read-decide-write cannot
//! race: generation skips slots that exist with `ON CONFLICT`, and the loser of two instances
//! generating at once is retried and then sees the winner's slots.
//!
//! The expansion site supplies, besides the seam of [`super`], the two batch writes whose best
//! spelling differs: `remove_future` (a rule's future slots taken out: arrays on PostgreSQL,
//! a loop on SQLite) and `insert_planned` (generated slots in: one `unnest` insert, or a loop),
//! and `delete_time_off`, which offers freed seats the adapter's own way.

/// The rule's columns `$3`…`$9` after `$1`, `$2`.
macro_rules! bind_rule {
    ($q:expr, $r:expr) => {
        $q.bind(crate::domain::schedule::join_days(&$r.weekdays))
            .bind($r.start_time)
            .bind($r.end_time)
            .bind($r.slot_minutes)
            .bind($r.capacity)
            .bind($r.valid_from)
            .bind($r.valid_until)
    };
}
pub(crate) use bind_rule;

/// The schedule functions, expanded in an adapter's `schedules` module.
macro_rules! schedule_queries {
    () => {
        use chrono::{DateTime, Duration, NaiveDate, Utc};

        use super::slots::require_doctor;
        use super::tx::{begin_write, in_write, instant, Instant, Pool};
        use crate::domain::schedule::{
            plan, slot_in, window, Existing, Generation, NewTimeOff, Removal, Rule,
            Schedule, TimeOff, TimeOffOutcome,
        };
        use crate::domain::slot::Slot;
        use crate::domain::{DoctorId, DomainError, DomainResult, ScheduleId, SlotId, TimeOffId};
        use crate::store::retry::{retry, TxError};
        use crate::store::rows::{self, SlotRow};
        use crate::store::schedule_rows::{zone, ExistingRow, ScheduleRow, SlotUse, TimeOffRow};
        use crate::store::shared::schedules::bind_rule;
        use crate::store::shared::slots::slot_select;
        use crate::store::statements::{query, query_as, query_scalar};

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

        /// An instant as stored; one the adapter cannot store is refused as input.
        fn stored(t: DateTime<Utc>, field: &str) -> Result<Instant, DomainError> {
            instant(t).ok_or_else(|| {
                DomainError::field(field, "must be between the years 0000 and 9999")
            })
        }

        pub async fn create(pool: &Pool, doctor: DoctorId, rule: Rule) -> DomainResult<Schedule> {
            let (id, rule) = (ScheduleId::random(), &rule);
            let row: ScheduleRow = in_write(pool, |mut tx| async move {
                require_doctor(&mut tx, doctor).await?;
                let row: ScheduleRow = bind_rule!(
                    query_as(
                        "INSERT INTO schedules (id, doctor_id, weekdays, start_time, end_time,
                                                slot_minutes, capacity, valid_from, valid_until)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                    )
                    .bind(id)
                    .bind(doctor),
                    rule
                )
                .fetch_one(&mut *tx)
                .await?;
                Ok((row, tx))
            })
            .await?;
            row.try_into()
        }

        pub async fn list(pool: &Pool, doctor: DoctorId) -> DomainResult<Vec<Schedule>> {
            let sql = concat!(
                "SELECT * FROM schedules WHERE doctor_id = $1 ORDER BY created_at, ",
                seq_sql!()
            );
            let found: Vec<ScheduleRow> =
                retry(|| async move { Ok(query_as(sql).bind(doctor).fetch_all(pool).await?) })
                    .await?;
            found.into_iter().map(TryInto::try_into).collect()
        }

        /// The rule's future slots, locked: whether each holds a live seat or any appointment.
        const FUTURE: &str = concat!(
            "SELECT s.id, s.starts_at, s.duration_minutes, s.status, ",
            live_sql!(),
            " AS live, EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id) AS used,
               false AS by_time_off
             FROM time_slots s WHERE s.schedule_id = $1 AND s.starts_at > ",
            now_sql!(),
            lock_sql!()
        );

        pub async fn update(
            pool: &Pool,
            doctor: DoctorId,
            id: ScheduleId,
            rule: Rule,
        ) -> DomainResult<(Schedule, Removal)> {
            let rule = &rule;
            let (row, removed, live): (ScheduleRow, u64, Vec<SlotId>) = in_write(pool, |mut tx| async move {
                let row: Option<ScheduleRow> = bind_rule!(
                    query_as(concat!(
                        "UPDATE schedules SET weekdays = $3, start_time = $4, end_time = $5,
                                slot_minutes = $6, capacity = $7, valid_from = $8,
                                valid_until = $9, updated_at = ",
                        now_sql!(),
                        " WHERE id = $1 AND doctor_id = $2 RETURNING *"
                    ))
                    .bind(id)
                    .bind(doctor),
                    rule
                )
                .fetch_optional(&mut *tx)
                .await?;
                let row = row.ok_or(TxError::Domain(DomainError::NotFound("schedule")))?;
                let found: Vec<SlotUse> = query_as(FUTURE).bind(id).fetch_all(&mut *tx).await?;
                let (removed, live) = remove_future(&mut tx, &found, false).await?;
                Ok(((row, removed, live), tx))
            })
            .await?;
            let booked = slots(pool, &live).await?;
            Ok((row.try_into()?, Removal { removed, booked }))
        }

        pub async fn end(pool: &Pool, doctor: DoctorId, id: ScheduleId) -> DomainResult<Removal> {
            let (removed, live): (u64, Vec<SlotId>) = in_write(pool, |mut tx| async move {
                let gone = query("DELETE FROM schedules WHERE id = $1 AND doctor_id = $2")
                    .bind(id)
                    .bind(doctor)
                    .execute(&mut *tx)
                    .await?;
                if gone.rows_affected() == 0 {
                    return Err(TxError::Domain(DomainError::NotFound("schedule")));
                }
                let found: Vec<SlotUse> = query_as(FUTURE).bind(id).fetch_all(&mut *tx).await?;
                let out = remove_future(&mut tx, &found, true).await?;
                Ok((out, tx))
            })
            .await?;
            let booked = slots(pool, &live).await?;
            Ok(Removal { removed, booked })
        }

        pub async fn current(pool: &Pool, today: NaiveDate) -> DomainResult<Vec<ScheduleId>> {
            let sql = "SELECT id FROM schedules
                       WHERE valid_until IS NULL OR valid_until >= $1 ORDER BY id";
            retry(|| async move { Ok(query_scalar(sql).bind(today).fetch_all(pool).await?) }).await
        }

        pub async fn generate(
            pool: &Pool,
            id: ScheduleId,
            horizon_days: i64,
        ) -> DomainResult<Generation> {
            retry(|| async move {
                let mut tx = begin_write(pool).await?;
                let found: Option<(String,)> = query_as(
                    "SELECT d.timezone FROM schedules s JOIN doctors d ON d.id = s.doctor_id
                     WHERE s.id = $1",
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
                let (lo, hi) = (stored(lo, "valid_from")?, stored(hi, "valid_until")?);
                let existing: Vec<ExistingRow> = query_as(
                    "SELECT schedule_id, slot_date, slot_time, starts_at, duration_minutes
                     FROM time_slots WHERE doctor_id = $1 AND starts_at BETWEEN $2 AND $3",
                )
                .bind(schedule.doctor_id)
                .bind(&lo)
                .bind(&hi)
                .fetch_all(&mut *tx)
                .await?;
                let existing: Vec<Existing> = existing.into_iter().map(Into::into).collect();
                let off: Vec<(DateTime<Utc>, DateTime<Utc>)> = query_as(
                    "SELECT starts_at, ends_at FROM time_off
                     WHERE doctor_id = $1 AND starts_at < $3 AND ends_at > $2",
                )
                .bind(schedule.doctor_id)
                .bind(&lo)
                .bind(&hi)
                .fetch_all(&mut *tx)
                .await?;
                let (planned, skipped) = plan(id, &schedule.rule, (tz, now), w, &existing, &off);
                let created = insert_planned(&mut tx, &schedule, &planned).await?;
                tx.commit().await?;
                Ok(Generation { created, skipped })
            })
            .await
        }

        /// Effective slots by id, by start.
        async fn slots(pool: &Pool, ids: &[SlotId]) -> DomainResult<Vec<Slot>> {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let sql = slot_select!("WHERE s.id = $1");
                let row: Option<SlotRow> =
                    retry(|| async move { Ok(query_as(sql).bind(id).fetch_optional(pool).await?) })
                        .await?;
                out.extend(row);
            }
            let mut slots: Vec<Slot> = rows::all(out)?;
            slots.sort_by_key(|s| (s.starts_at, s.id.0));
            Ok(slots)
        }

        pub async fn create_time_off(
            pool: &Pool,
            doctor: DoctorId,
            new: NewTimeOff,
        ) -> DomainResult<TimeOffOutcome> {
            let from = stored(new.starts_at, "from")?;
            let to = stored(new.ends_at, "to")?;
            let lower = stored(new.starts_at - Duration::minutes(480), "from")?;
            let (id, new, from, to, lower) = (TimeOffId::random(), &new, &from, &to, &lower);
            let (row, blocked, live): (TimeOffRow, u64, Vec<SlotId>) = in_write(pool, |mut tx| async move {
                require_doctor(&mut tx, doctor).await?;
                let row: TimeOffRow = query_as(
                    "INSERT INTO time_off (id, doctor_id, starts_at, ends_at, reason)
                     VALUES ($1, $2, $3, $4, $5) RETURNING *",
                )
                .bind(id)
                .bind(doctor)
                .bind(from)
                .bind(to)
                .bind(&new.reason)
                .fetch_one(&mut *tx)
                .await?;
                let found: Vec<SlotUse> = query_as(concat!(
                    "SELECT s.id, s.starts_at, s.duration_minutes, s.status, ",
                    live_sql!(),
                    " AS live, false AS used,
                       EXISTS (SELECT 1 FROM time_off_slots o WHERE o.slot_id = s.id) AS by_time_off
                     FROM time_slots s
                     WHERE s.doctor_id = $1 AND s.starts_at > $2 AND s.starts_at < $3",
                    lock_sql!()
                ))
                .bind(doctor)
                .bind(lower)
                .bind(to)
                .fetch_all(&mut *tx)
                .await?;
                let (mut blocked, mut live) = (0, Vec::new());
                let inside = |s: &&SlotUse| {
                    slot_in(s.starts_at, s.duration_minutes, new.starts_at, new.ends_at)
                };
                for s in found.iter().filter(inside) {
                    if s.live {
                        live.push(s.id);
                    }
                    if s.status != "AVAILABLE" && !s.by_time_off {
                        continue;
                    }
                    blocked += query(concat!(
                        "UPDATE time_slots SET status = 'BLOCKED', updated_at = ",
                        now_sql!(),
                        " WHERE id = $1 AND status = 'AVAILABLE'"
                    ))
                    .bind(s.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    query("INSERT INTO time_off_slots (time_off_id, slot_id) VALUES ($1, $2)")
                        .bind(id)
                        .bind(s.id)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(((row, blocked, live), tx))
            })
            .await?;
            let booked = slots(pool, &live).await?;
            Ok(TimeOffOutcome {
                time_off: row.into(),
                blocked,
                booked,
            })
        }

        pub async fn list_time_off(pool: &Pool, doctor: DoctorId) -> DomainResult<Vec<TimeOff>> {
            let sql = "SELECT * FROM time_off WHERE doctor_id = $1 ORDER BY starts_at, id";
            let found: Vec<TimeOffRow> =
                retry(|| async move { Ok(query_as(sql).bind(doctor).fetch_all(pool).await?) })
                    .await?;
            Ok(found.into_iter().map(Into::into).collect())
        }
    };
}
pub(crate) use schedule_queries;
