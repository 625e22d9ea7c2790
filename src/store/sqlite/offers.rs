//! The offer every releasing use case (cancel, expiry, reschedule, time off lifted) runs inside
//! its own write transaction. Writes are serialized, so the first in line read here is still
//! first when the hold is written.

use sqlx::SqliteConnection;

use crate::domain::waitlist::OfferTerms;
use crate::domain::{AppointmentId, PatientId, SlotId};

/// The first entry in line for a free seat of slot `?1` as of `?2` (AVAILABLE, a seat left, not
/// started): same doctor, the slot's local date within the entry's dates, a patient with no
/// appointment on the slot at all (held, cancelled or expired) and under the hold cap `?3`
/// (NULL: none), FIFO by join time.
const FIRST_IN_LINE: &str = "SELECT w.id, w.patient_id FROM time_slots s
     JOIN waitlist_entries w ON w.doctor_id = s.doctor_id AND w.status = 'WAITING'
          AND s.slot_date BETWEEN w.from_date AND w.to_date
     WHERE s.id = ?1 AND s.status = 'AVAILABLE' AND s.current_bookings < s.max_capacity
       AND s.starts_at > ?2
       AND NOT EXISTS (SELECT 1 FROM appointments a
                       WHERE a.time_slot_id = s.id AND a.patient_id = w.patient_id)
       AND (?3 IS NULL OR (SELECT count(*) FROM appointments a WHERE a.patient_id = w.patient_id
                           AND a.status = 'PENDING' AND a.expires_at > ?2) < ?3)
     ORDER BY w.created_at, w.id LIMIT 1";

/// Gives one free seat of `slot` to the first in line: the hold, its seat, the entry marked
/// OFFERED and the `OFFERED_FROM_WAITLIST` audit row by `system`. `false` when nobody fits.
async fn offer_one(
    conn: &mut SqliteConnection,
    now: &str,
    slot: SlotId,
    terms: OfferTerms,
) -> Result<bool, sqlx::Error> {
    let pick: Option<(uuid::Uuid, PatientId)> = sqlx::query_as(FIRST_IN_LINE)
        .bind(slot)
        .bind(now)
        .bind(terms.max_holds)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((entry, patient)) = pick else {
        return Ok(false);
    };
    let id = AppointmentId::time_ordered();
    sqlx::query(
        "UPDATE time_slots SET current_bookings = current_bookings + 1, updated_at = ?2 WHERE id = ?1",
    )
    .bind(slot)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                                   starts_at, consultation_type, reason_for_visit, expires_at,
                                   created_at, updated_at)
         SELECT ?1, ?2, s.doctor_id, s.id, s.slot_date, s.slot_time, s.starts_at, 'in-person', NULL,
                strftime('%Y-%m-%dT%H:%M:%fZ', ?4, ?5), ?4, ?4
         FROM time_slots s WHERE s.id = ?3",
    )
    .bind(id)
    .bind(patient)
    .bind(slot)
    .bind(now)
    .bind(format!("{:+} seconds", terms.hold_secs))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE waitlist_entries SET status = 'OFFERED', appointment_id = ?2, offered_at = ?3
         WHERE id = ?1",
    )
    .bind(entry)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor, actor_role)
         VALUES (?1, 'OFFERED_FROM_WAITLIST', NULL, 'PENDING', ?2, 'system', 'system')",
    )
    .bind(id)
    .bind(format!("offered from waitlist entry {entry}"))
    .execute(&mut *conn)
    .await?;
    tracing::info!(appointment_id = %id, slot_id = %slot, "seat offered from the waitlist");
    Ok(true)
}

/// Offers up to `seats` freed seats of `slot` to the first patients in line, inside the
/// caller's write transaction. Returns how many were offered.
pub(super) async fn offer_seats(
    conn: &mut SqliteConnection,
    now: &str,
    slot: SlotId,
    seats: usize,
    terms: OfferTerms,
) -> Result<u64, sqlx::Error> {
    let mut offered = 0;
    for _ in 0..seats {
        if !offer_one(conn, now, slot, terms).await? {
            break;
        }
        offered += 1;
    }
    Ok(offered)
}
