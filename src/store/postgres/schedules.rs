//! Weekly rules, slot generation and time off on PostgreSQL: the shared functions
//! (`crate::store::shared::schedules`), the batch writes as array statements, and the lifting
//! of time off, which offers freed seats in the waitlist's two passes.

crate::store::shared::schedules::schedule_queries!();
use super::tx::WriteTx;
use crate::domain::schedule::Planned;

/// Takes the rule's future slots `found` (locked) out: those without any appointment are
/// deleted; with `end`, those with only past (cancelled, expired) appointments are blocked and
/// detached, and those with live ones detached. How many were deleted and the live ones.
async fn remove_future(
    tx: &mut WriteTx,
    found: &[SlotUse],
    end: bool,
) -> Result<(u64, Vec<SlotId>), TxError> {
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

/// Inserts the planned slots of `schedule` in one statement, skipping any that exist; how many
/// it created.
async fn insert_planned(
    tx: &mut WriteTx,
    schedule: &Schedule,
    planned: &[Planned],
) -> Result<u64, TxError> {
    let ids: Vec<SlotId> = planned.iter().map(|_| SlotId::random()).collect();
    let dates: Vec<_> = planned.iter().map(|p| p.slot_date).collect();
    let times: Vec<_> = planned.iter().map(|p| p.slot_time).collect();
    let starts: Vec<_> = planned.iter().map(|p| p.starts_at).collect();
    Ok(query(
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
    .bind(schedule.id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Deletes time off, unblocks the slots it alone blocked and, in the same transaction, offers
/// their free seats to the patients waiting for them.
pub async fn delete_time_off(
    pool: &Pool,
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
