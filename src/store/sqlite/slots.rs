//! Time slots on SQLite. Reads report effective seats: overdue PENDING holds do not count.

use chrono::NaiveDate;
use sqlx::{SqliteConnection, SqlitePool};

use super::tx::{begin_write, exists, instant, on_unique};
use crate::domain::slot::{
    dedupe, BulkOutcome, NewSlot, SkippedSlot, Slot, SlotAdminStatus, SLOT_EXISTS,
};
use crate::domain::{DoctorId, DomainError, DomainResult, FieldError, SlotId};
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, SlotRow};

/// [`Slot`] rows with the effective seat count, from the slots `time_slots s` picked by the
/// pieces of SQL given (a `WHERE` clause). The inner query renames the stored count and
/// status (`held`, `admin_status`) so the outer one can compute the reported ones under their
/// own names; callers may add an outer `WHERE` on the inner columns and an `ORDER BY`.
macro_rules! slot_select {
    ($($where:tt)*) => {
        concat!(
            "SELECT id, doctor_id, slot_date, slot_time, duration_minutes, max_capacity,
                    held - lapsed AS current_bookings,
                    max_capacity - held + lapsed AS available_capacity,
                    CASE WHEN admin_status = 'BLOCKED' THEN 'BLOCKED'
                         WHEN held - lapsed >= max_capacity THEN 'BOOKED'
                         ELSE 'AVAILABLE' END AS status,
                    starts_at, created_at, updated_at
             FROM (SELECT s.id, s.doctor_id, s.slot_date, s.slot_time, s.duration_minutes,
                          s.max_capacity, s.current_bookings AS held, s.status AS admin_status,
                          s.starts_at, s.created_at, s.updated_at,
                          CASE WHEN s.current_bookings > 0 THEN
                              (SELECT count(*) FROM appointments a
                               WHERE a.time_slot_id = s.id AND a.status = 'PENDING'
                                 AND a.expires_at <= ",
            now_sql!(),
            ") ELSE 0 END AS lapsed
                   FROM time_slots s ",
            $($where)*,
            ") "
        )
    };
}

const SLOT_TAKEN: &str = "This doctor already has a slot at that date and time";
const SLOT_DUPES: &[(&str, &str)] = &[("time_slots.doctor_id", SLOT_TAKEN)];

/// The slot's start in the stored format. An instant past the year 9999 (a late slot on
/// 9999-12-31 west of UTC) does not fit the fixed-width text that keeps instants comparable,
/// so it is refused as invalid input rather than failing the CHECK on the column.
fn start_text(s: &NewSlot, field: String) -> Result<String, FieldError> {
    instant(s.starts_at)
        .ok_or_else(|| FieldError::new(field, "the slot must start before the year 10000 (UTC)"))
}

fn doctor_fk(e: sqlx::Error) -> TxError {
    if e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
    {
        return TxError::Domain(DomainError::NotFound("doctor"));
    }
    on_unique(e, SLOT_DUPES)
}

async fn require_doctor(conn: &mut SqliteConnection, doctor: DoctorId) -> Result<(), TxError> {
    if exists(conn, "SELECT 1 FROM doctors WHERE id = ?1", doctor).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound("doctor").into())
    }
}

async fn load(conn: &mut SqliteConnection, id: SlotId) -> Result<Slot, TxError> {
    let row: SlotRow = sqlx::query_as(slot_select!("WHERE s.id = ?1"))
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(row.try_into()?)
}

pub async fn create_slot(pool: &SqlitePool, doctor: DoctorId, s: NewSlot) -> DomainResult<Slot> {
    let start =
        &start_text(&s, "slot_date".into()).map_err(|e| DomainError::Validation(vec![e]))?;
    let (id, s) = (SlotId::time_ordered(), &s);
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        // Writes are serialized: these checks cannot race. FK and UNIQUE back them.
        require_doctor(&mut tx, doctor).await?;
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM time_slots WHERE doctor_id = ?1 AND slot_date = ?2 AND slot_time = ?3",
        )
        .bind(doctor)
        .bind(s.slot_date)
        .bind(s.slot_time)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(DomainError::Duplicate(SLOT_TAKEN.to_owned()).into());
        }
        sqlx::query(
            "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(id)
        .bind(doctor)
        .bind(s.slot_date)
        .bind(s.slot_time)
        .bind(start)
        .bind(s.duration_minutes)
        .bind(s.max_capacity)
        .execute(&mut *tx)
        .await
        .map_err(doctor_fk)?;
        let slot = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(slot)
    })
    .await
}

pub async fn create_slots(
    pool: &SqlitePool,
    doctor: DoctorId,
    new: Vec<NewSlot>,
) -> DomainResult<BulkOutcome> {
    let (fresh, mut skipped) = dedupe(new);
    // Like any invalid item, one that cannot be stored fails the whole batch.
    let (mut starts, mut errors) = (Vec::with_capacity(fresh.len()), Vec::new());
    for (index, s) in &fresh {
        match start_text(s, format!("slots[{index}].slot_date")) {
            Ok(t) => starts.push(t),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let (fresh, starts) = (&fresh, &starts);
    // One transaction: every new slot is created, or none. ON CONFLICT skips slots that
    // already exist without failing the rest.
    let (mut created, existing): (Vec<Slot>, Vec<SkippedSlot>) = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        require_doctor(&mut tx, doctor).await?;
        let (mut created, mut existing) = (Vec::new(), Vec::new());
        for ((index, s), start) in fresh.iter().zip(starts) {
            let id = SlotId::time_ordered();
            let done = sqlx::query(
                "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING",
            )
            .bind(id)
            .bind(doctor)
            .bind(s.slot_date)
            .bind(s.slot_time)
            .bind(start)
            .bind(s.duration_minutes)
            .bind(s.max_capacity)
            .execute(&mut *tx)
            .await
            .map_err(doctor_fk)?;
            if done.rows_affected() == 1 {
                created.push(load(&mut tx, id).await?);
            } else {
                existing.push(SkippedSlot {
                    index: *index,
                    slot_date: s.slot_date,
                    slot_time: s.slot_time,
                    reason: SLOT_EXISTS.into(),
                });
            }
        }
        tx.commit().await?;
        Ok((created, existing))
    })
    .await?;
    skipped.extend(existing);
    skipped.sort_by_key(|s| s.index);
    // Same order as PostgreSQL's `ORDER BY starts_at, id` (a uuid orders by its bytes there).
    created.sort_by_key(|a| (a.starts_at, a.id.0));
    Ok(BulkOutcome { created, skipped })
}

pub async fn list_slots(
    pool: &SqlitePool,
    doctor: DoctorId,
    from: NaiveDate,
    to: NaiveDate,
    available_only: bool,
) -> DomainResult<Vec<Slot>> {
    let found: Vec<SlotRow> = retry(|| async move {
        let sql = if available_only {
            concat!(
                slot_select!(
                    "WHERE s.doctor_id = ?1 AND s.slot_date BETWEEN ?2 AND ?3
                       AND s.status = 'AVAILABLE' AND s.starts_at > ",
                    now_sql!()
                ),
                "WHERE max_capacity - held + lapsed > 0 ORDER BY starts_at, id"
            )
        } else {
            concat!(
                slot_select!("WHERE s.doctor_id = ?1 AND s.slot_date BETWEEN ?2 AND ?3"),
                "ORDER BY starts_at, id"
            )
        };
        Ok(sqlx::query_as(sql)
            .bind(doctor)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?)
    })
    .await?;
    rows::all(found)
}

pub async fn set_slot_status(
    pool: &SqlitePool,
    doctor: DoctorId,
    slot: SlotId,
    status: SlotAdminStatus,
) -> DomainResult<Slot> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let updated = sqlx::query(concat!(
            "UPDATE time_slots SET status = ?3, updated_at = ",
            now_sql!(),
            " WHERE id = ?1 AND doctor_id = ?2"
        ))
        .bind(slot)
        .bind(doctor)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(TxError::Domain(DomainError::NotFound("time slot")));
        }
        let s = load(&mut tx, slot).await?;
        tx.commit().await?;
        Ok(s)
    })
    .await
}
