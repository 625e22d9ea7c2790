//! Appointments on SQLite. Each write runs inside a `BEGIN IMMEDIATE` transaction on the single
//! writer connection: it reads the state, decides with the shared rules ([`Action::verdict`],
//! [`booking_refusal`]) and applies the change to the appointment, the slot's seat count and the
//! audit log together. No other write can interleave, so the decision still holds when applied.
//! Bookings and transitions are [`WriteStep`]s: they run either alone in a transaction of their
//! own or, through the group commit (`group.rs`), several in one transaction, each in its own
//! savepoint.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};

use super::steps::{Opening, Step, WriteStep};
use super::tx::{db_now, in_write};
use crate::domain::appointment::{Action, AppointmentStatus, AuditAction, Verdict};
use crate::domain::reschedule::Notice;
use crate::domain::store::{Actor, Booked, IdempotencyKey};
use crate::domain::user::AccessAction;
use crate::domain::waitlist::OfferTerms;
use crate::domain::{Appointment, AppointmentId, DomainError, DomainResult, SlotId};
use crate::store::accounts::lite;
use crate::store::retry::TxError;
use crate::store::rows::{self, AppointmentRow};
use crate::store::shared::reads::appt_cols;

/// Overdue holds as of `?1`, at most `?2` (`-1` for all), oldest first, only on slot `?3` and
/// only hold `?4` when those are not NULL.
const DUE: &str = "SELECT id, time_slot_id FROM appointments
     WHERE status = 'PENDING' AND expires_at <= ?1
       AND (?3 IS NULL OR time_slot_id = ?3) AND (?4 IS NULL OR id = ?4)
     ORDER BY expires_at, id LIMIT ?2";

/// Which overdue holds to expire.
#[derive(Clone, Copy)]
enum Due {
    All(i64),
    OnSlot(SlotId),
    One(AppointmentId),
}

/// Marks the overdue holds picked by `due` EXPIRED as of `now`, gives their seats back and audits
/// each as `system`, inside the caller's write transaction. Returns how many.
async fn expire(conn: &mut SqliteConnection, now: &str, due: Due) -> Result<u64, sqlx::Error> {
    Ok(expire_freed(conn, now, due).await?.len() as u64)
}

/// [`expire`], returning the slot of each hold it expired.
async fn expire_freed(
    conn: &mut SqliteConnection,
    now: &str,
    due: Due,
) -> Result<Vec<SlotId>, sqlx::Error> {
    let (limit, slot, one) = match due {
        Due::All(batch) => (batch, None, None),
        Due::OnSlot(slot) => (-1, Some(slot), None),
        Due::One(id) => (-1, None, Some(id)),
    };
    let rows: Vec<(AppointmentId, SlotId)> = sqlx::query_as(DUE)
        .bind(now)
        .bind(limit)
        .bind(slot)
        .bind(one)
        .fetch_all(&mut *conn)
        .await?;
    let mut seats: BTreeMap<uuid::Uuid, i64> = BTreeMap::new();
    for (id, slot) in &rows {
        sqlx::query("UPDATE appointments SET status = 'EXPIRED', updated_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor)
             VALUES (?1, 'EXPIRE', 'PENDING', 'EXPIRED', 'hold not confirmed in time', 'system')",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
        *seats.entry(slot.0).or_default() += 1;
    }
    for (slot, n) in seats {
        sqlx::query(
            "UPDATE time_slots SET current_bookings = current_bookings - ?2, updated_at = ?3 WHERE id = ?1",
        )
        .bind(slot)
        .bind(n)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(rows.into_iter().map(|(_, slot)| slot).collect())
}

/// The appointment with its effective status as of `now`, inside a write transaction.
async fn load(
    conn: &mut SqliteConnection,
    id: AppointmentId,
    now: &str,
) -> Result<Appointment, TxError> {
    let found: Option<AppointmentRow> = sqlx::query_as(concat!(
        "SELECT ",
        appt_cols!("?2"),
        "FROM appointments a WHERE a.id = ?1"
    ))
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(rows::one(found)?.ok_or(DomainError::NotFound("appointment"))?)
}

/// The earlier answer for an idempotency key, if the key was used before.
async fn replay(
    conn: &mut SqliteConnection,
    key: &IdempotencyKey,
    now: &str,
) -> Result<Option<Booked>, TxError> {
    let found: Option<(String, AppointmentId)> =
        sqlx::query_as("SELECT fingerprint, appointment_id FROM idempotency_keys WHERE key = ?1")
            .bind(&key.key)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((fingerprint, id)) = found else {
        return Ok(None);
    };
    if fingerprint != key.fingerprint {
        return Err(DomainError::IdempotencyKeyReused.into());
    }
    let appointment = load(conn, id, now).await?;
    Ok(Some(Booked {
        appointment,
        replayed: true,
    }))
}

/// Appends one entry to the appointment's audit trail; for a person, the entry keeps the
/// access record of the patient whose appointment it is (migration 0013).
async fn audit(
    conn: &mut SqliteConnection,
    id: AppointmentId,
    action: AuditAction,
    old: Option<AppointmentStatus>,
    new: AppointmentStatus,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let access = actor.access.as_ref();
    sqlx::query(
        "INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor,
                                            actor_role, actor_id, route, request_id, break_glass_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .bind(id)
    .bind(action.as_str())
    .bind(old.map(AppointmentStatus::as_str))
    .bind(new.as_str())
    .bind(reason)
    .bind(&actor.id)
    .bind(actor.role)
    .bind(access.map(|a| a.user_id))
    .bind(access.map(|a| &a.route))
    .bind(access.map(|a| &a.request_id))
    .bind(access.and_then(|a| a.break_glass.as_ref()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies an action that [`Action::verdict`] allowed on `current` (effective status PENDING
/// and not overdue, or CONFIRMED), as of `now`.
async fn apply(
    conn: &mut SqliteConnection,
    current: &Appointment,
    action: Action,
    reason: Option<&str>,
    actor: &Actor,
    now: &str,
) -> Result<(), TxError> {
    let (id, from) = (current.id, current.status.as_str());
    let changed = match action {
        Action::Confirm => sqlx::query(
            "UPDATE appointments SET status = 'CONFIRMED', confirmed_at = ?3, updated_at = ?3
             WHERE id = ?1 AND status = ?2",
        ),
        Action::Cancel => sqlx::query(
            "UPDATE appointments SET status = 'CANCELLED', cancelled_at = ?3, cancellation_reason = ?4,
                    updated_at = ?3
             WHERE id = ?1 AND status = ?2",
        ),
        Action::Complete => sqlx::query(
            "UPDATE appointments SET status = 'COMPLETED', completed_at = ?3, updated_at = ?3
             WHERE id = ?1 AND status = ?2",
        ),
    };
    let changed = match action {
        Action::Cancel => changed.bind(id).bind(from).bind(now).bind(reason),
        _ => changed.bind(id).bind(from).bind(now),
    };
    if changed.execute(&mut *conn).await?.rows_affected() != 1 {
        // Cannot happen while writes are serialized; refuse rather than write a false audit row.
        return Err(
            DomainError::Internal("appointment changed under its write lock".into()).into(),
        );
    }
    if action == Action::Cancel {
        // Give the seat back; the slot's AVAILABLE/BLOCKED setting is the administrator's and
        // stays as it is.
        sqlx::query(
            "UPDATE time_slots SET current_bookings = current_bookings - 1, updated_at = ?2 WHERE id = ?1",
        )
        .bind(current.time_slot_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    audit(
        conn,
        id,
        action.audit(),
        Some(current.status),
        action.target(),
        reason,
        actor,
    )
    .await?;
    Ok(())
}

/// Seconds from `now` until slot `slot` starts (negative once started); `None`: no such slot.
async fn starts_in(
    conn: &mut SqliteConnection,
    slot: SlotId,
    now: &str,
) -> Result<Option<f64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (julianday(starts_at) - julianday(?2)) * 86400.0 FROM time_slots WHERE id = ?1",
    )
    .bind(slot)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// A transition request, owned so it can wait in the group commit queue.
#[derive(Debug, Clone)]
pub(super) struct TransitionRequest {
    pub id: AppointmentId,
    pub action: Action,
    pub reason: Option<String>,
    pub actor: Actor,
    pub terms: Option<OfferTerms>,
    /// The notice windows (a cancel's binds patients).
    pub notice: Notice,
}

/// Confirms, cancels or completes inside the caller's write transaction as of `now` (see
/// [`Step`]). With `terms`, a cancel offers the freed seat to the first patient waiting for it
/// in the same transaction, and so does an overdue hold expired on the spot (a late confirm of
/// a lapsed offer passes the seat on).
async fn transition_in(
    conn: &mut SqliteConnection,
    now: &str,
    req: &TransitionRequest,
) -> Step<Appointment> {
    let (id, action, actor) = (req.id, req.action, &req.actor);
    let current = load(conn, id, now).await?;
    // Out of reach: refused before anything is decided, as if it did not exist.
    if let Err(e) = actor.reach.check(current.patient_id, current.doctor_id) {
        return Err(e.into());
    }
    let status = current.status;
    match action.verdict(status) {
        // Nothing changes; the request still touched the patient's appointment.
        Verdict::AlreadyDone => {
            let (by, patient) = (actor.access.as_ref(), current.patient_id);
            lite::record_write(conn, by, patient, AccessAction::Update).await?;
            Ok(Ok(current))
        }
        Verdict::Refuse(refusal) => {
            let refusal = refusal.into_error(action);
            if status != AppointmentStatus::Expired {
                return Err(refusal.into());
            }
            // Overdue but maybe not yet swept: mark it now so its seat comes back, and commit
            // that although the request itself is refused. With `terms`, the seat goes to the
            // next patient waiting for it.
            let freed = expire_freed(conn, now, Due::One(id)).await?;
            if let Some(terms) = req.terms {
                for slot in freed {
                    super::offers::offer_seats(conn, now, slot, 1, terms).await?;
                }
            }
            Ok(Err(refusal))
        }
        Verdict::Proceed => {
            if action == Action::Cancel && req.notice.cancel_window(actor.role).is_some() {
                // Decided once the cancel would go ahead: a replay answered as before above.
                let until = starts_in(conn, current.time_slot_id, now).await?;
                let late = until.and_then(|u| req.notice.change_refusal(actor.role, u));
                if let Some(e) = late {
                    return Err(e.into());
                }
            }
            apply(conn, &current, action, req.reason.as_deref(), actor, now).await?;
            if let Some(terms) = req.terms.filter(|_| action == Action::Cancel) {
                let slot = current.time_slot_id;
                super::offers::offer_seats(conn, now, slot, 1, terms).await?;
            }
            Ok(Ok(load(conn, id, now).await?))
        }
    }
}

#[async_trait]
impl WriteStep for TransitionRequest {
    type Out = Appointment;
    async fn step(
        &self,
        conn: &mut SqliteConnection,
        now: &str,
        opening: Opening,
    ) -> Step<Appointment> {
        opening.run(conn).await?;
        transition_in(conn, now, self).await
    }
}

/// Overdue holds expired per write transaction by the sweeper. Small, so a sweep of thousands
/// holds the single writer for a few milliseconds at a time and bookings queued behind it run
/// between its transactions instead of waiting for the whole sweep.
const SWEEP_CHUNK: i64 = 50;

/// Expires up to `batch` overdue holds, in transactions of at most [`SWEEP_CHUNK`]; each
/// transaction offers the seats it freed to the next patients waiting for them (a lapsed
/// offer's entry stays done). Stops early when a transaction finds fewer than it asked for.
pub async fn expire_due(pool: &SqlitePool, batch: i64, terms: OfferTerms) -> DomainResult<u64> {
    // A negative LIMIT means "no limit" to SQLite; a batch is never that.
    let mut left = batch.max(0);
    let mut total = 0;
    while left > 0 {
        let chunk = left.min(SWEEP_CHUNK);
        let n = expire_chunk(pool, chunk, terms).await?;
        total += n;
        left -= chunk;
        if n < u64::try_from(chunk).unwrap_or(0) {
            break;
        }
    }
    Ok(total)
}

/// One transaction of [`expire_due`]: at most `chunk` holds.
async fn expire_chunk(pool: &SqlitePool, chunk: i64, terms: OfferTerms) -> DomainResult<u64> {
    in_write(pool, |mut tx| async move {
        let now = db_now(&mut tx).await?;
        let freed = expire_freed(&mut tx, &now, Due::All(chunk)).await?;
        let mut seats: BTreeMap<SlotId, usize> = BTreeMap::new();
        for slot in &freed {
            *seats.entry(*slot).or_default() += 1;
        }
        for (slot, n) in seats {
            super::offers::offer_seats(&mut tx, &now, slot, n, terms).await?;
        }
        Ok((freed.len() as u64, tx))
    })
    .await
}

pub async fn purge_keys(pool: &SqlitePool, max_age_secs: i64) -> DomainResult<u64> {
    let age = &format!("{:+} seconds", -max_age_secs);
    in_write(pool, |mut tx| async move {
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
        )
        .bind(age)
        .execute(&mut *tx)
        .await?;
        Ok((done.rows_affected(), tx))
    })
    .await
}

pub(super) mod booking;
pub(super) mod moves;
pub(super) mod reads;
