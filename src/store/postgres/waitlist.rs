//! The waitlist on PostgreSQL: the offer every releasing use case (cancel, expiry, reschedule,
//! time off lifted) runs inside its own transaction, and the routes' shared use cases
//! (`crate::store::shared::waitlist`).

use sqlx::PgConnection;

use super::adapter::PgStore;
use crate::domain::waitlist::OfferTerms;
use crate::domain::{AppointmentId, SlotId};
use crate::store::retry::TxError;
use crate::store::statements::query;

/// Gives one free seat of slot `$1` (AVAILABLE, a seat left, not started) to the first entry in
/// line for it: same doctor, the slot's local date within the entry's dates, a patient with no
/// appointment on the slot at all (held, cancelled or expired) and under the hold cap `$3`
/// (NULL: none) — FIFO by join time. One statement: the hold `$4` (lasting `$2` seconds), its
/// seat, the entry marked OFFERED and the `OFFERED_FROM_WAITLIST` audit row by `system`, or
/// nothing. `ON CONFLICT` leaves a racing live booking of the same patient alone (and then
/// takes no seat, which is counted from the inserted row).
const OFFER: &str = "WITH slot AS (
        SELECT id, doctor_id, slot_date, slot_time, starts_at FROM time_slots
        WHERE id = $1 AND status = 'AVAILABLE' AND current_bookings < max_capacity AND starts_at > now()),
     pick AS (
        SELECT w.id, w.patient_id FROM slot
        JOIN waitlist_entries w ON w.doctor_id = slot.doctor_id AND w.status = 'WAITING'
             AND slot.slot_date BETWEEN w.from_date AND w.to_date
        WHERE NOT EXISTS (SELECT 1 FROM appointments a
                          WHERE a.time_slot_id = slot.id AND a.patient_id = w.patient_id)
          AND ($3::bigint IS NULL
               OR (SELECT p.pending_holds FROM patients p WHERE p.id = w.patient_id) < $3)
        ORDER BY w.created_at, w.id LIMIT 1),
     ins AS (
        INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date,
                                  appointment_time, starts_at, consultation_type, expires_at)
        SELECT $4, pick.patient_id, slot.doctor_id, slot.id, slot.slot_date, slot.slot_time,
               slot.starts_at, 'in-person', now() + make_interval(secs => $2)
        FROM slot, pick
        ON CONFLICT (time_slot_id, patient_id) WHERE status IN ('PENDING', 'CONFIRMED') DO NOTHING
        RETURNING id, time_slot_id),
     seat AS (
        UPDATE time_slots s SET current_bookings = s.current_bookings + 1, updated_at = now()
        FROM ins WHERE s.id = ins.time_slot_id),
     mark AS (
        UPDATE waitlist_entries w SET status = 'OFFERED', appointment_id = ins.id, offered_at = now()
        FROM pick, ins WHERE w.id = pick.id),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor, actor_role)
        SELECT ins.id, 'OFFERED_FROM_WAITLIST', NULL, 'PENDING',
               'offered from waitlist entry ' || pick.id::text, 'system', 'system'
        FROM ins, pick)
     SELECT id FROM ins";

/// One pass of a releasing transaction (see [`two_pass`]).
pub(super) enum Pass<T> {
    /// Committed (or nothing to do): the answer.
    Done(T),
    /// A freed seat has someone waiting: run again holding the waitlist lock.
    NeedsLock,
}

/// Runs a releasing transaction: first without the waitlist lock; when it frees a seat someone
/// waits for, it rolls back and runs again (`locked`) with the lock taken before anything
/// else, offering the seats.
///
/// Why: two offers for one doctor both read the line and both want its first entry. Under
/// SERIALIZABLE one of them fails, and with twenty cancels at once the chain of failures
/// outlasts the retries. `LOCK TABLE` takes no snapshot, so taken first it queues offer-making
/// releases one after the other, each seeing the offers committed before it; releases with no
/// one waiting (and bookings, which never touch the waitlist) never take it.
pub(super) async fn two_pass<T, F, Fut>(pass: F) -> Result<T, TxError>
where
    F: Fn(bool) -> Fut,
    Fut: std::future::Future<Output = Result<Pass<T>, TxError>>,
{
    if let Pass::Done(v) = pass(false).await? {
        return Ok(v);
    }
    match pass(true).await? {
        Pass::Done(v) => Ok(v),
        Pass::NeedsLock => {
            Err(DomainError::Internal("a locked pass asked for the lock".into()).into())
        }
    }
}

/// Takes the waitlist lock until the transaction ends. Must be the transaction's first
/// statement, before its snapshot. Waiting for it is bounded by `lock_timeout`.
pub(super) async fn lock_line(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    query("LOCK TABLE waitlist_entries IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await
        .map(drop)
}

/// Whether anyone waits for a seat of one of `slots` (same doctor, its date in their dates).
pub(super) async fn anyone_waiting(
    conn: &mut PgConnection,
    slots: &[SlotId],
) -> Result<bool, sqlx::Error> {
    if slots.is_empty() {
        return Ok(false);
    }
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM time_slots s JOIN waitlist_entries w
             ON w.doctor_id = s.doctor_id AND w.status = 'WAITING'
            AND s.slot_date BETWEEN w.from_date AND w.to_date
          WHERE s.id = ANY($1))",
    )
    .bind(slots)
    .fetch_one(conn)
    .await
}

/// Offers up to `seats` freed seats of `slot` to the first patients in line, one after the
/// other, inside the caller's transaction. Returns how many were offered.
pub(super) async fn offer_seats(
    conn: &mut PgConnection,
    slot: SlotId,
    seats: usize,
    terms: OfferTerms,
) -> Result<u64, sqlx::Error> {
    let mut offered = 0;
    for _ in 0..seats {
        let hold: Option<AppointmentId> = query_scalar(OFFER)
            .bind(slot)
            .bind(terms.hold_secs as f64)
            .bind(terms.max_holds)
            .bind(AppointmentId::random())
            .fetch_optional(&mut *conn)
            .await?;
        match hold {
            Some(id) => {
                tracing::info!(appointment_id = %id, slot_id = %slot, "seat offered from the waitlist");
                offered += 1;
            }
            None => break,
        }
    }
    Ok(offered)
}

crate::store::shared::waitlist::waitlist_queries!(PgStore);
