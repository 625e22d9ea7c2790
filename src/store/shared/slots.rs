//! Time slots, for both adapters. Reads report effective seats: overdue PENDING holds do not
//! count. Each write is one write transaction: the checks, the write, and the slot read back.

/// [`Slot`] rows with the effective seat count, from the slots `time_slots s` picked
/// by the pieces of SQL given (a `WHERE` clause). The inner query renames the stored
/// count and status (`held`, `admin_status`) so the outer one can compute the reported
/// ones under their own names; callers may add an outer `WHERE` on the inner columns
/// and an `ORDER BY`. The lapsed holds are counted only on a slot with seats taken.
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
                              CAST((SELECT count(*) FROM appointments a
                                    WHERE a.time_slot_id = s.id AND a.status = 'PENDING'
                                      AND a.expires_at <= ",
            now_sql!(),
            ") AS INTEGER) ELSE 0 END AS lapsed
                   FROM time_slots s ",
            $($where)*,
            ") v "
        )
    };
}
pub(crate) use slot_select;

/// `RETURNING` the [`Slot`] columns of a slot just inserted: no seat is taken yet, so its
/// effective seats are its stored ones, read back without a second statement (whose reads
/// would add predicate locks to a SERIALIZABLE batch).
macro_rules! new_slot_returning {
    () => {
        "RETURNING id, doctor_id, slot_date, slot_time, duration_minutes, max_capacity,
                   current_bookings, max_capacity - current_bookings AS available_capacity,
                   status, starts_at, created_at, updated_at"
    };
}
pub(crate) use new_slot_returning;

/// [`slot_select`] of doctor `$1`'s slots between dates `$2` and `$3` that can be booked now:
/// AVAILABLE, not started, a seat left. Expanded where `now_sql!()` is in scope; what
/// `available_slots` lists and what a month's free days count are the same slots.
macro_rules! available_slots {
    () => {
        concat!(
            slot_select!(
                "WHERE s.doctor_id = $1 AND s.slot_date BETWEEN $2 AND $3
                   AND s.status = 'AVAILABLE' AND s.starts_at > ",
                now_sql!()
            ),
            "WHERE max_capacity - held + lapsed > 0 "
        )
    };
}
pub(crate) use available_slots;

/// The slot functions, expanded in an adapter's `slots` module (see [`super`] for what the
/// expansion site supplies, and `super::tx::{instant, slot_id}`: an instant as the adapter
/// stores it, `None` when it cannot; a new slot's id).
macro_rules! slot_queries {
    () => {
        use chrono::NaiveDate;

        use super::tx::{in_write, instant, slot_id, WriteTx};
        use crate::domain::slot::{
            dedupe, BulkOutcome, NewSlot, SkippedSlot, Slot, SlotAdminStatus, SLOT_EXISTS,
        };
        use crate::domain::{DoctorId, DomainError, DomainResult, FieldError, SlotId};
        use crate::store::retry::{retry, TxError};
        use crate::store::rows::{self, SlotRow};
        use crate::store::shared::on_unique;
        use crate::store::shared::slots::{available_slots, new_slot_returning, slot_select};
        use crate::store::statements::{query, query_as, query_scalar};

        /// New slots with their ids and stored starts, for the adapter's `insert_many`.
        type Batch<'a> = [(SlotId, &'a NewSlot, super::tx::Instant)];
        /// The rows `insert_many` created.
        type Inserted = Result<Vec<SlotRow>, TxError>;

        const SLOT_TAKEN: &str = "This doctor already has a slot at that date and time";
        const SLOT_DUPES: &[(&str, &str)] = &[("time_slots.doctor_id", SLOT_TAKEN)];

        /// The slot's start as stored. SQLite's fixed-width text cannot hold an instant past
        /// the year 9999 (a late slot on 9999-12-31 west of UTC), so it is refused as invalid
        /// input rather than failing the CHECK on the column.
        fn start_of(s: &NewSlot, field: String) -> Result<super::tx::Instant, FieldError> {
            instant(s.starts_at).ok_or_else(|| {
                FieldError::new(field, "the slot must start before the year 10000 (UTC)")
            })
        }

        /// A missing doctor (a twin request deleted it past the check) or a taken time.
        fn doctor_fk(e: sqlx::Error) -> TxError {
            if e.as_database_error()
                .is_some_and(|d| d.is_foreign_key_violation())
            {
                return TxError::Domain(DomainError::NotFound("doctor"));
            }
            on_unique(e, SLOT_DUPES)
        }

        pub(super) async fn require_doctor(
            tx: &mut WriteTx,
            doctor: DoctorId,
        ) -> Result<(), TxError> {
            let n: i64 = query_scalar("SELECT count(*) FROM doctors WHERE id = $1")
                .bind(doctor)
                .fetch_one(&mut **tx)
                .await?;
            if n > 0 {
                Ok(())
            } else {
                Err(DomainError::NotFound("doctor").into())
            }
        }

        async fn load(tx: &mut WriteTx, id: SlotId) -> Result<Slot, TxError> {
            let row: SlotRow = query_as(slot_select!("WHERE s.id = $1"))
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
            Ok(row.try_into()?)
        }

        /// Inserts one new slot unless the doctor has one at that date and time; the new row.
        async fn insert(
            tx: &mut WriteTx,
            id: SlotId,
            doctor: DoctorId,
            s: &NewSlot,
            start: &super::tx::Instant,
        ) -> Result<Option<SlotRow>, TxError> {
            query_as(concat!(
                "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at,
                                         duration_minutes, max_capacity)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING ",
                new_slot_returning!()
            ))
            .bind(id)
            .bind(doctor)
            .bind(s.slot_date)
            .bind(s.slot_time)
            .bind(start)
            .bind(s.duration_minutes)
            .bind(s.max_capacity)
            .fetch_optional(&mut **tx)
            .await
            .map_err(doctor_fk)
        }

        pub async fn create_slot(
            pool: &super::tx::Pool,
            doctor: DoctorId,
            s: NewSlot,
        ) -> DomainResult<Slot> {
            let start =
                &start_of(&s, "slot_date".into()).map_err(|e| DomainError::Validation(vec![e]))?;
            let (id, s) = (slot_id(), &s);
            in_write(pool, |mut tx| async move {
                require_doctor(&mut tx, doctor).await?;
                let Some(row) = insert(&mut tx, id, doctor, s, start).await? else {
                    return Err(DomainError::Duplicate(SLOT_TAKEN.to_owned()).into());
                };
                Ok((row, tx))
            })
            .await?
            .try_into()
        }

        pub async fn create_slots(
            pool: &super::tx::Pool,
            doctor: DoctorId,
            new: Vec<NewSlot>,
        ) -> DomainResult<BulkOutcome> {
            let (fresh, mut skipped) = dedupe(new);
            // Like any invalid item, one that cannot be stored fails the whole batch.
            let (mut starts, mut errors) = (Vec::with_capacity(fresh.len()), Vec::new());
            for (index, s) in &fresh {
                match start_of(s, format!("slots[{index}].slot_date")) {
                    Ok(t) => starts.push(t),
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(DomainError::Validation(errors));
            }
            let batch: Vec<(SlotId, &NewSlot, super::tx::Instant)> = fresh
                .iter()
                .zip(starts)
                .map(|((_, s), start)| (slot_id(), s, start))
                .collect();
            let batch = &batch;
            // One transaction: every new slot is created, or none; one that exists already is
            // skipped without failing the rest.
            let rows: Vec<SlotRow> = in_write(pool, |mut tx| async move {
                require_doctor(&mut tx, doctor).await?;
                let rows = insert_many(&mut tx, doctor, batch).await?;
                Ok((rows, tx))
            })
            .await?;
            let mut created: Vec<Slot> = rows::all(rows)?;
            let made: std::collections::HashSet<SlotId> = created.iter().map(|s| s.id).collect();
            let existing = fresh
                .iter()
                .zip(batch)
                .filter(|(_, (id, ..))| !made.contains(id));
            let existing = existing.map(|((index, s), _)| SkippedSlot {
                index: *index,
                slot_date: s.slot_date,
                slot_time: s.slot_time,
                reason: SLOT_EXISTS.into(),
            });
            skipped.extend(existing);
            skipped.sort_by_key(|s| s.index);
            // By start, then id as PostgreSQL orders a uuid (by its bytes).
            created.sort_by_key(|a| (a.starts_at, a.id.0));
            Ok(BulkOutcome { created, skipped })
        }

        pub async fn list_slots(
            pool: &super::tx::Pool,
            doctor: DoctorId,
            from: NaiveDate,
            to: NaiveDate,
            available_only: bool,
        ) -> DomainResult<Vec<Slot>> {
            let found: Vec<SlotRow> = retry(|| async move {
                let sql = if available_only {
                    concat!(available_slots!(), "ORDER BY starts_at, id")
                } else {
                    concat!(
                        slot_select!("WHERE s.doctor_id = $1 AND s.slot_date BETWEEN $2 AND $3"),
                        "ORDER BY starts_at, id"
                    )
                };
                Ok(query_as(sql)
                    .bind(doctor)
                    .bind(from)
                    .bind(to)
                    .fetch_all(pool)
                    .await?)
            })
            .await?;
            rows::all(found)
        }

        pub async fn get_slot(pool: &super::tx::Pool, slot: SlotId) -> DomainResult<Slot> {
            let found: Option<SlotRow> = retry(|| async move {
                Ok(query_as(slot_select!("WHERE s.id = $1"))
                    .bind(slot)
                    .fetch_optional(pool)
                    .await?)
            })
            .await?;
            found.ok_or(DomainError::NotFound("time slot"))?.try_into()
        }

        pub async fn free_days(
            pool: &super::tx::Pool,
            doctor: DoctorId,
            from: NaiveDate,
            to: NaiveDate,
        ) -> DomainResult<Vec<(NaiveDate, i64)>> {
            retry(|| async move {
                Ok(query_as(concat!(
                    "SELECT slot_date, count(*) AS free FROM (",
                    available_slots!(),
                    ") f GROUP BY slot_date ORDER BY slot_date"
                ))
                .bind(doctor)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?)
            })
            .await
        }

        pub async fn set_slot_status(
            pool: &super::tx::Pool,
            doctor: DoctorId,
            slot: SlotId,
            status: SlotAdminStatus,
        ) -> DomainResult<Slot> {
            in_write(pool, |mut tx| async move {
                let updated = query(concat!(
                    "UPDATE time_slots SET status = $3, updated_at = ",
                    now_sql!(),
                    " WHERE id = $1 AND doctor_id = $2"
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
                Ok((s, tx))
            })
            .await
        }
    };
}
pub(crate) use slot_queries;
