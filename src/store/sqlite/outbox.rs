//! The outbox on SQLite: claims and settles run on the single writer like every write, so two
//! workers (or two instances on one file) never claim one row; the lease covers a worker that
//! dies between claim and settle.

use sqlx::SqlitePool;
use uuid::Uuid;

use super::tx::{begin_write, db_now};
use crate::domain::outbox::{Claimed, Settlement};
use crate::domain::DomainResult;
use crate::store::outbox_rows::{settlement_columns, ClaimRow};
use crate::store::retry::retry;

/// Leases the due rows: the earliest pending row of each appointment, channel and webhook.
pub(super) const LEASE: &str = "
UPDATE outbox SET lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || ?2 || ' seconds'),
                  lease_token = ?3, attempts = attempts + 1
WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.status = 'pending' AND o.next_attempt_at <= ?1
      AND (o.lease_until IS NULL OR o.lease_until < ?1)
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.status = 'pending' AND e.appointment_id = o.appointment_id
            AND e.channel = o.channel AND e.webhook_id IS o.webhook_id AND e.id < o.id)
    ORDER BY o.next_attempt_at, o.id
    LIMIT ?4)
RETURNING id";

/// What the leased rows' messages need: `?1` the lease, `?2` the leased ids as a JSON array.
/// An event's status and slot are those the appointment had at the event: the status its
/// audit row set, the slot from its RESCHEDULED entries (the one it was moved to by the last
/// move up to the event, else the one the first later move took it from, else its own). A
/// reminder's are those it has now. Read here, not written with each change: the booking path
/// stays as it was.
/// The rows are found by id, not by the lease token, which has no index: by token, each claim
/// read the whole outbox, delivered history included, while holding the single writer.
pub(super) const CLAIMED: &str = "
SELECT o.id, o.event, o.appointment_id, o.channel, o.webhook_id, o.status, o.attempts,
       o.next_attempt_at, o.last_error, o.created_at, o.delivered_at, o.reminder_hours,
       COALESCE(l.new_status, a.status) AS status_now, a.patient_id, a.doctor_id,
       s.id AS slot_id,
       p.name AS patient_name, p.email AS patient_email,
       d.name AS doctor_name, d.timezone AS doctor_timezone,
       s.starts_at, s.duration_minutes,
       a.expires_at, a.consultation_type,
       (SELECT count(*) FROM appointment_audit_log l
         WHERE l.appointment_id = o.appointment_id
           AND (o.audit_id IS NULL OR l.id <= o.audit_id)) AS sequence,
       w.id AS hook_id, w.url AS hook_url, w.secret AS hook_secret
FROM outbox o
LEFT JOIN appointments a ON a.id = o.appointment_id
LEFT JOIN patients p ON p.id = a.patient_id
LEFT JOIN doctors d ON d.id = a.doctor_id
LEFT JOIN time_slots s ON s.id = COALESCE(
    (SELECT unhex(replace(substr(r.reason, 56, 36), '-', '')) FROM appointment_audit_log r
      WHERE r.appointment_id = o.appointment_id AND r.action = 'RESCHEDULED' AND r.id <= o.audit_id
        AND r.reason LIKE 'from slot % to slot %'
      ORDER BY r.id DESC LIMIT 1),
    (SELECT unhex(replace(substr(r.reason, 11, 36), '-', '')) FROM appointment_audit_log r
      WHERE r.appointment_id = o.appointment_id AND r.action = 'RESCHEDULED' AND r.id > o.audit_id
        AND r.reason LIKE 'from slot % to slot %'
      ORDER BY r.id LIMIT 1),
    a.time_slot_id)
LEFT JOIN appointment_audit_log l ON l.id = o.audit_id
LEFT JOIN webhooks w ON w.id = o.webhook_id
WHERE o.id IN (SELECT value FROM json_each(?2)) AND o.lease_token = ?1
ORDER BY o.id";

pub async fn claim(pool: &SqlitePool, limit: i64, lease_secs: i64) -> DomainResult<Vec<Claimed>> {
    let lease = Uuid::new_v4();
    let rows: Vec<ClaimRow> = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let ids: Vec<i64> = sqlx::query_scalar(LEASE)
            .bind(&now)
            .bind(lease_secs)
            .bind(lease)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            // Nothing due: the idle poll ends here.
            return Ok(Vec::new());
        }
        let ids = serde_json::Value::from(ids).to_string();
        let rows = sqlx::query_as(CLAIMED)
            .bind(lease)
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    })
    .await?;
    rows.into_iter().map(|r| r.into_claimed(lease)).collect()
}

/// Settles a step's rows in one statement: `?1` the lease, `?2` a JSON array of
/// `[id, status, error, seconds until the retry]`. One statement, not one per row: on the single
/// writer each statement is a round trip to SQLite's thread that every booking waits behind.
pub(super) const SETTLE: &str = "
UPDATE outbox SET
    status = s.status,
    last_error = s.error,
    next_attempt_at = CASE WHEN s.status = 'pending'
        THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || s.after || ' seconds')
        ELSE outbox.next_attempt_at END,
    delivered_at = CASE WHEN s.status = 'delivered' THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
    lease_until = NULL, lease_token = NULL
FROM (SELECT value ->> 0 AS id, value ->> 1 AS status, value ->> 2 AS error, value ->> 3 AS after
      FROM json_each(?2)) AS s
WHERE outbox.id = s.id AND outbox.lease_token = ?1";

pub async fn settle(
    pool: &SqlitePool,
    lease: Uuid,
    settled: &[(i64, Settlement)],
) -> DomainResult<u64> {
    let rows: Vec<_> = settled
        .iter()
        .map(|(id, s)| {
            let (status, error, after) = settlement_columns(s);
            serde_json::json!([id, status, error, after as i64])
        })
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    write(pool, || sqlx::query(SETTLE).bind(lease).bind(&rows)).await
}

/// Extends a live step's lease: `?1` the lease, `?2` its row ids as a JSON array, `?3` seconds
/// from now. By id, like the claim: `lease_token` has no index.
const RENEW: &str = "
UPDATE outbox SET lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || ?3 || ' seconds')
WHERE id IN (SELECT value FROM json_each(?2)) AND lease_token = ?1 AND status = 'pending'";

pub async fn renew(
    pool: &SqlitePool,
    lease: Uuid,
    ids: &[i64],
    lease_secs: i64,
) -> DomainResult<u64> {
    let ids = serde_json::Value::from(ids.to_vec()).to_string();
    write(pool, || {
        sqlx::query(RENEW).bind(lease).bind(&ids).bind(lease_secs)
    })
    .await
}

/// Queues reminders for appointments starting within ?1 hours but after ?2 hours.
const REMIND: &str = "
INSERT INTO outbox (event, appointment_id, channel, dedupe_key, reminder_hours)
SELECT 'appointment.reminder', a.id, 'email',
       'reminder:' || lower(hex(a.id)) || ':' || ?1 || ':' || a.starts_at, ?1
FROM appointments a
WHERE a.status = 'CONFIRMED'
  AND a.starts_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || ?2 || ' hours')
  AND a.starts_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || ?1 || ' hours')
ON CONFLICT (dedupe_key) DO NOTHING";

crate::store::shared::outbox::outbox_queries!();
