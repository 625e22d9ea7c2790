//! The outbox on PostgreSQL.
//!
//! The worker's transactions run at READ COMMITTED, not SERIALIZABLE: claiming is a queue
//! operation whose safety comes from row locks (`FOR UPDATE SKIP LOCKED`) and the lease token
//! checked by every settle, not from a predicate over other rows. At SERIALIZABLE the claim's
//! scan of the due index would also take predicate locks on the page every booking's trigger
//! inserts into, and fail bookings for nothing.

use uuid::Uuid;

use super::tx_pool::TxPool;
use crate::domain::outbox::{Claimed, Settlement};
use crate::domain::DomainResult;
use crate::store::outbox_rows::{settlement_columns, ClaimRow};
use crate::store::retry::in_tx;
use crate::store::statements::{query, query_as};

/// The claim's transaction: READ COMMITTED, and a plan that walks `outbox_due_idx` in order and
/// stops after one batch, whatever the statistics say. The outbox grows by a row per booking,
/// faster than autovacuum re-analyses it; with stale statistics (measured: a backlog of 36,051
/// rows estimated at 22) the planner read every due row through a bitmap, anti-joined each and
/// sorted them to keep 50 — 93 ms a claim when idle, 1–2 s under load, and a backlog drained at
/// about 60 rows/s until an ANALYZE (then in seconds). Without bitmap scans and sorts the only
/// plan left is the ordered index scan, which is the right one at any backlog size. Disabled
/// plan types count as hugely expensive, which would make PostgreSQL compile the statement
/// with JIT (measured: 688 ms of compiling for 1 ms of work), so JIT is off too. The claim
/// opens it with `begin_replanned_with`, so the plan is also made at each claim, not kept from
/// the empty outbox of a fresh server's first polls. `SET LOCAL` ends with the transaction, so
/// nothing else sees these settings.
const CLAIM_TX: &str = "ISOLATION LEVEL READ COMMITTED; SET LOCAL enable_bitmapscan = off; \
                        SET LOCAL enable_sort = off; SET LOCAL jit = off";

/// Leases the due rows (the earliest pending row of each appointment, channel and webhook)
/// and reads what their messages need, in one statement. An event's status and slot are those
/// the appointment had at the event: the status its audit row set, the slot from its
/// RESCHEDULED entries (the one it was moved to by the last move up to the event, else the one
/// the first later move took it from, else its own); a reminder's are those it has now. Read
/// here at READ COMMITTED rather than copied by the audit trigger: the trigger's lookup of the
/// appointment took a SERIALIZABLE predicate lock on the primary-key page concurrent bookings
/// insert into (measured: 17 serialization rollbacks a second in `book-distinct`, none before).
const CLAIM: &str = "
WITH due AS (
    SELECT o.id FROM outbox o
    WHERE o.status = 'pending' AND o.next_attempt_at <= now()
      AND (o.lease_until IS NULL OR o.lease_until < now())
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.status = 'pending' AND e.appointment_id = o.appointment_id
            AND e.channel = o.channel AND e.webhook_id IS NOT DISTINCT FROM o.webhook_id
            AND e.id < o.id)
    ORDER BY o.next_attempt_at, o.id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE outbox o
       SET lease_until = now() + make_interval(secs => $2), lease_token = $3,
           attempts = o.attempts + 1
      FROM due WHERE o.id = due.id
    RETURNING o.*
)
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
FROM claimed o
LEFT JOIN appointments a ON a.id = o.appointment_id
LEFT JOIN patients p ON p.id = a.patient_id
LEFT JOIN doctors d ON d.id = a.doctor_id
LEFT JOIN time_slots s ON s.id = COALESCE(
    (SELECT substr(r.reason, 56, 36)::uuid FROM appointment_audit_log r
      WHERE r.appointment_id = o.appointment_id AND r.action = 'RESCHEDULED' AND r.id <= o.audit_id
        AND r.reason ~ '^from slot [0-9a-f-]{36} to slot [0-9a-f-]{36}$'
      ORDER BY r.id DESC LIMIT 1),
    (SELECT substr(r.reason, 11, 36)::uuid FROM appointment_audit_log r
      WHERE r.appointment_id = o.appointment_id AND r.action = 'RESCHEDULED' AND r.id > o.audit_id
        AND r.reason ~ '^from slot [0-9a-f-]{36} to slot [0-9a-f-]{36}$'
      ORDER BY r.id LIMIT 1),
    a.time_slot_id)
LEFT JOIN appointment_audit_log l ON l.id = o.audit_id
LEFT JOIN webhooks w ON w.id = o.webhook_id
ORDER BY o.id";

pub async fn claim(pool: &TxPool, limit: i64, lease_secs: i64) -> DomainResult<Vec<Claimed>> {
    let lease = Uuid::new_v4();
    let rows: Vec<ClaimRow> = in_tx(
        || pool.begin_replanned_with(CLAIM_TX),
        |mut tx| async move {
            let rows = query_as(CLAIM)
                .bind(limit)
                .bind(lease_secs as f64)
                .bind(lease)
                .fetch_all(&mut *tx)
                .await;
            match rows {
                Ok(rows) => Ok((rows, tx)),
                Err(e) => Err(super::tx::roll_back(tx, e).await.into()),
            }
        },
    )
    .await?;
    rows.into_iter().map(|r| r.into_claimed(lease)).collect()
}

/// Settles a step's rows in one statement: `$1` the lease, then one array element per row.
const SETTLE: &str = "
UPDATE outbox o SET
    status = s.status,
    last_error = s.error,
    next_attempt_at = CASE WHEN s.status = 'pending' THEN now() + make_interval(secs => s.after)
                           ELSE o.next_attempt_at END,
    delivered_at = CASE WHEN s.status = 'delivered' THEN now() END,
    lease_until = NULL, lease_token = NULL
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::float8[]) AS s(id, status, error, after)
WHERE o.id = s.id AND o.lease_token = $1";

pub async fn settle(
    pool: &TxPool,
    lease: Uuid,
    settled: &[(i64, Settlement)],
) -> DomainResult<u64> {
    let mut ids = Vec::with_capacity(settled.len());
    let mut statuses = Vec::with_capacity(settled.len());
    let mut errors = Vec::with_capacity(settled.len());
    let mut afters = Vec::with_capacity(settled.len());
    for (id, s) in settled {
        let (status, error, after) = settlement_columns(s);
        ids.push(*id);
        statuses.push(status);
        errors.push(error);
        afters.push(after);
    }
    write(pool, || {
        query(SETTLE)
            .bind(lease)
            .bind(&ids)
            .bind(&statuses)
            .bind(&errors)
            .bind(&afters)
    })
    .await
}

/// Extends a live step's lease: `$1` the lease, `$2` its rows, `$3` seconds from now.
const RENEW: &str = "
UPDATE outbox SET lease_until = now() + make_interval(secs => $3)
WHERE id = ANY($2) AND lease_token = $1 AND status = 'pending'";

pub async fn renew(pool: &TxPool, lease: Uuid, ids: &[i64], lease_secs: i64) -> DomainResult<u64> {
    write(pool, || {
        query(RENEW).bind(lease).bind(ids).bind(lease_secs as f64)
    })
    .await
}

/// Queues reminders for appointments starting within `hours` but after `floor` hours.
const REMIND: &str = "
INSERT INTO outbox (event, appointment_id, channel, dedupe_key, reminder_hours)
SELECT 'appointment.reminder', a.id, 'email',
       'reminder:' || a.id || ':' || $1 || ':' || extract(epoch FROM a.starts_at)::bigint, $1
FROM appointments a
WHERE a.status = 'CONFIRMED'
  AND a.starts_at > now() + make_interval(hours => $2)
  AND a.starts_at <= now() + make_interval(hours => $1)
ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING";

crate::store::shared::outbox::outbox_queries!();
