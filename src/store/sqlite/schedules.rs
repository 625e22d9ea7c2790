//! Weekly rules, slot generation and time off on SQLite: the shared functions
//! (`crate::store::shared::schedules`), the batch writes as loops (writes are serialized, and
//! each statement is a cheap local call), and the lifting of time off, which offers freed
//! seats in the same transaction.

crate::store::shared::schedules::schedule_queries!();
use super::tx::WriteTx;
use crate::domain::schedule::Planned;

/// Takes the rule's future slots `found` out: those without any appointment are deleted; with
/// `end`, those with only past (cancelled, expired) appointments are blocked and detached, and
/// those with live ones detached. How many were deleted and the live ones.
async fn remove_future(
    tx: &mut WriteTx,
    found: &[SlotUse],
    end: bool,
) -> Result<(u64, Vec<SlotId>), TxError> {
    let mut removed = 0;
    for s in found {
        if !s.used {
            removed += query("DELETE FROM time_slots WHERE id = $1")
                .bind(s.id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        } else if end {
            let status = if s.live { s.status.as_str() } else { "BLOCKED" };
            query(concat!(
                "UPDATE time_slots SET schedule_id = NULL, status = $2, updated_at = ",
                now_sql!(),
                " WHERE id = $1"
            ))
            .bind(s.id)
            .bind(status)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok((
        removed,
        found.iter().filter(|s| s.live).map(|s| s.id).collect(),
    ))
}

/// Inserts the planned slots of `schedule`, skipping any that exist; how many it created.
async fn insert_planned(
    tx: &mut WriteTx,
    schedule: &Schedule,
    planned: &[Planned],
) -> Result<u64, TxError> {
    let mut created = 0;
    for p in planned {
        created += query(
            "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at,
                                     duration_minutes, max_capacity, schedule_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING",
        )
        .bind(SlotId::time_ordered())
        .bind(schedule.doctor_id)
        .bind(p.slot_date)
        .bind(p.slot_time)
        .bind(stored(p.starts_at, "valid_until")?)
        .bind(p.duration_minutes)
        .bind(p.max_capacity)
        .bind(schedule.id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(created)
}

/// Deletes time off, unblocks the slots it alone blocked and, in the same transaction, offers
/// their free seats to the patients waiting for them.
pub async fn delete_time_off(
    pool: &Pool,
    doctor: DoctorId,
    id: TimeOffId,
    terms: crate::domain::waitlist::OfferTerms,
) -> DomainResult<u64> {
    in_write(pool, |mut tx| async move {
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
        Ok((restored, tx))
    })
    .await
}
