//! Time slots on PostgreSQL. Reads report effective seats: overdue PENDING holds do not count.

use chrono::NaiveDate;

use super::tx_pool::TxPool;

use super::tx::on_unique;
use crate::domain::slot::{
    dedupe, BulkOutcome, NewSlot, SkippedSlot, Slot, SlotAdminStatus, SLOT_EXISTS,
};
use crate::domain::{DoctorId, DomainError, DomainResult, SlotId};
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, SlotRow};

/// Columns of [`SlotRow`] from the slots `s`, with the effective seat count; `$source` is
/// what `s` is (the table, or a CTE of rows just written).
macro_rules! slot_select {
    ($source:literal) => {
        concat!(
            "SELECT s.id, s.doctor_id, s.slot_date, s.slot_time, s.duration_minutes, s.max_capacity,
                s.current_bookings - l.lapsed AS current_bookings,
                s.max_capacity - s.current_bookings + l.lapsed AS available_capacity,
                CASE WHEN s.status = 'BLOCKED' THEN 'BLOCKED'
                     WHEN s.current_bookings - l.lapsed >= s.max_capacity THEN 'BOOKED'
                     ELSE 'AVAILABLE' END AS status,
                s.starts_at, s.created_at, s.updated_at
         FROM ",
            $source,
            " s
         CROSS JOIN LATERAL (
             SELECT count(*)::int AS lapsed FROM appointments a
             WHERE s.current_bookings > 0 AND a.time_slot_id = s.id
               AND a.status = 'PENDING' AND a.expires_at <= now()
         ) l "
        )
    };
}

const SLOT_DUPES: &[(&str, &str)] = &[(
    "time_slots_doctor_date_time_key",
    "This doctor already has a slot at that date and time",
)];

fn doctor_fk(e: sqlx::Error) -> TxError {
    if e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
    {
        return TxError::Domain(DomainError::NotFound("doctor"));
    }
    on_unique(e, SLOT_DUPES)
}

/// Inserts one slot and reads it back in the same statement, so a retry never re-runs an
/// INSERT that already committed.
const CREATE: &str = concat!(
    "WITH ins AS (
        INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity)
        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *) ",
    slot_select!("ins")
);

pub async fn create_slot(pool: &TxPool, doctor: DoctorId, s: NewSlot) -> DomainResult<Slot> {
    let (id, s) = (SlotId::random(), &s);
    let row: SlotRow = retry(|| async move {
        crate::store::statements::query_as(CREATE)
            .bind(id)
            .bind(doctor)
            .bind(s.slot_date)
            .bind(s.slot_time)
            .bind(s.starts_at)
            .bind(s.duration_minutes)
            .bind(s.max_capacity)
            .fetch_one(pool)
            .await
            .map_err(doctor_fk)
    })
    .await?;
    row.try_into()
}

/// Inserts a batch in one statement and reads back what it created; ON CONFLICT skips slots
/// that exist without aborting the rest.
const CREATE_MANY: &str = concat!(
    "WITH ins AS (
        INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity)
        SELECT u.id, $2, u.d, u.t, u.s, u.m, u.c
        FROM unnest($1::uuid[], $3::date[], $4::time[], $5::timestamptz[], $6::int[], $7::int[])
             AS u(id, d, t, s, m, c)
        ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING
        RETURNING *) ",
    slot_select!("ins"),
    "ORDER BY s.starts_at, s.id"
);

pub async fn create_slots(
    pool: &TxPool,
    doctor: DoctorId,
    new: Vec<NewSlot>,
) -> DomainResult<BulkOutcome> {
    let (fresh, mut skipped) = dedupe(new);
    let ids: Vec<SlotId> = fresh.iter().map(|_| SlotId::random()).collect();
    let dates: Vec<_> = fresh.iter().map(|(_, s)| s.slot_date).collect();
    let times: Vec<_> = fresh.iter().map(|(_, s)| s.slot_time).collect();
    let starts: Vec<_> = fresh.iter().map(|(_, s)| s.starts_at).collect();
    let durations: Vec<i32> = fresh.iter().map(|(_, s)| s.duration_minutes).collect();
    let capacities: Vec<i32> = fresh.iter().map(|(_, s)| s.max_capacity).collect();
    let (ids_ref, dates, times, starts, durations, capacities) =
        (&ids, &dates, &times, &starts, &durations, &capacities);
    let created: Vec<SlotRow> = retry(|| async move {
        crate::store::statements::query_as(CREATE_MANY)
            .bind(ids_ref)
            .bind(doctor)
            .bind(dates)
            .bind(times)
            .bind(starts)
            .bind(durations)
            .bind(capacities)
            .fetch_all(pool)
            .await
            .map_err(doctor_fk)
    })
    .await?;
    let created: Vec<Slot> = rows::all(created)?;
    let made: std::collections::HashSet<SlotId> = created.iter().map(|s| s.id).collect();
    for ((index, s), id) in fresh.iter().zip(&ids) {
        if !made.contains(id) {
            skipped.push(SkippedSlot {
                index: *index,
                slot_date: s.slot_date,
                slot_time: s.slot_time,
                reason: SLOT_EXISTS.into(),
            });
        }
    }
    skipped.sort_by_key(|s| s.index);
    Ok(BulkOutcome { created, skipped })
}

pub async fn list_slots(
    pool: &TxPool,
    doctor: DoctorId,
    from: NaiveDate,
    to: NaiveDate,
    available_only: bool,
) -> DomainResult<Vec<Slot>> {
    let found: Vec<SlotRow> = retry(|| async move {
        let sql = if available_only {
            concat!(
                "SELECT * FROM (",
                slot_select!("time_slots"),
                "WHERE s.doctor_id = $1 AND s.slot_date BETWEEN $2 AND $3
                   AND s.status = 'AVAILABLE' AND s.starts_at > now()) v
                 WHERE v.available_capacity > 0 ORDER BY v.starts_at, v.id"
            )
        } else {
            concat!(
                slot_select!("time_slots"),
                "WHERE s.doctor_id = $1 AND s.slot_date BETWEEN $2 AND $3 ORDER BY s.starts_at, s.id"
            )
        };
        Ok(crate::store::statements::query_as(sql)
            .bind(doctor)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?)
    })
    .await?;
    rows::all(found)
}

/// Sets a slot's administrative status and reads it back in the same statement.
const SET_STATUS: &str = concat!(
    "WITH upd AS (
        UPDATE time_slots SET status = $3, updated_at = now() WHERE id = $1 AND doctor_id = $2
        RETURNING *) ",
    slot_select!("upd")
);

pub async fn set_slot_status(
    pool: &TxPool,
    doctor: DoctorId,
    slot: SlotId,
    status: SlotAdminStatus,
) -> DomainResult<Slot> {
    let row: Option<SlotRow> = retry(|| async move {
        Ok(crate::store::statements::query_as(SET_STATUS)
            .bind(slot)
            .bind(doctor)
            .bind(status.as_str())
            .fetch_optional(pool)
            .await?)
    })
    .await?;
    rows::one(row)?.ok_or(DomainError::NotFound("time slot"))
}
