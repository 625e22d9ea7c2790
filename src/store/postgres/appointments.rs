//! Appointments on PostgreSQL: each write is one statement (a data-modifying CTE) that changes
//! the appointment, the slot's seat count and the audit log together, or nothing at all.

use super::tx_pool::TxPool;

use super::waitlist::{anyone_waiting, lock_line, offer_seats, two_pass, Pass};
use crate::domain::appointment::{Action, AppointmentStatus, Verdict};
use crate::domain::reschedule::Notice;
use crate::domain::store::Actor;
use crate::domain::user::{AccessAction, NewAccess};
use crate::domain::waitlist::OfferTerms;
use crate::domain::{Appointment, AppointmentId, DomainError, DomainResult, SlotId};
use crate::store::accounts;
use crate::store::gate::SlotGate;
use crate::store::retry::retry;
use crate::store::rows::{self, AppointmentRow};
use crate::store::shared::reads::appt_cols;

/// The columns of a person's access record, kept in the audit row the transition writes
/// (migration 0018; NULL for the system), and their values: `$5` user id, `$6` route, `$7`
/// request id, `$8` break-glass reason. `$4` is the role.
macro_rules! access_cols {
    () => {
        "actor, actor_role, actor_id, route, request_id, break_glass_reason"
    };
}

const CONFIRM: &str = concat!(
    "WITH upd AS (
        UPDATE appointments SET status = 'CONFIRMED', confirmed_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'PENDING' AND expires_at > now() AND ($9::uuid IS NULL OR patient_id = $9) AND ($10::uuid IS NULL OR doctor_id = $10)
        RETURNING *),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, ",
    access_cols!(),
    ")
        SELECT id, 'CONFIRM', 'PENDING', 'CONFIRMED', $2, $4, $5, $6, $7, $8 FROM upd)
     SELECT ",
    appt_cols!(now_sql!()),
    "FROM upd a"
);

const CANCEL: &str = concat!(
    "WITH prev AS (
        SELECT id, status, time_slot_id FROM appointments
        WHERE id = $1 AND (status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now())) AND ($9::uuid IS NULL OR patient_id = $9) AND ($10::uuid IS NULL OR doctor_id = $10)
        FOR UPDATE),
     upd AS (
        UPDATE appointments a SET status = 'CANCELLED', cancelled_at = now(), cancellation_reason = $3,
               updated_at = now()
        FROM prev WHERE a.id = prev.id RETURNING a.*),
     seat AS (
        UPDATE time_slots s SET current_bookings = s.current_bookings - 1, updated_at = now()
        FROM prev WHERE s.id = prev.time_slot_id),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, ",
    access_cols!(),
    ")
        SELECT id, 'CANCEL', status, 'CANCELLED', $3, $2, $4, $5, $6, $7, $8 FROM prev)
     SELECT ",
    appt_cols!(now_sql!()),
    "FROM upd a"
);

const COMPLETE: &str = concat!(
    "WITH upd AS (
        UPDATE appointments SET status = 'COMPLETED', completed_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'CONFIRMED' AND ($9::uuid IS NULL OR patient_id = $9) AND ($10::uuid IS NULL OR doctor_id = $10) RETURNING *),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, ",
    access_cols!(),
    ")
        SELECT id, 'COMPLETE', 'CONFIRMED', 'COMPLETED', $2, $4, $5, $6, $7, $8 FROM upd)
     SELECT ",
    appt_cols!(now_sql!()),
    "FROM upd a"
);

/// Expires overdue holds (at most `$1`, narrowed by `$filter`), gives their seats back and
/// audits each as `system`. SKIP LOCKED lets several sweepers share the work.
macro_rules! expire_sql {
    ($filter:literal) => {
        expire_sql!($filter, "SELECT count(*) FROM upd")
    };
    ($filter:literal, $select:literal) => {
        concat!(
            "WITH due AS (
                SELECT id FROM appointments
                WHERE status = 'PENDING' AND expires_at <= now() ",
            $filter,
            " ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),
             upd AS (
                UPDATE appointments a SET status = 'EXPIRED', updated_at = now()
                FROM due WHERE a.id = due.id RETURNING a.id, a.time_slot_id),
             seats AS (
                UPDATE time_slots s SET current_bookings = s.current_bookings - c.n, updated_at = now()
                FROM (SELECT time_slot_id, count(*)::int AS n FROM upd GROUP BY time_slot_id) c
                WHERE s.id = c.time_slot_id),
             audit AS (
                INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor)
                SELECT id, 'EXPIRE', 'PENDING', 'EXPIRED', 'hold not confirmed in time', 'system' FROM upd)
             ",
            $select
        )
    };
}
/// [`expire_sql`] for the sweeper: one row per expired hold, its slot and whether a waiting
/// entry matches that slot (same doctor, its date within the entry's dates).
const EXPIRE_DUE_FREED: &str = expire_sql!(
    "",
    "SELECT u.time_slot_id, EXISTS (SELECT 1 FROM time_slots s JOIN waitlist_entries w
         ON w.doctor_id = s.doctor_id AND w.status = 'WAITING'
        AND s.slot_date BETWEEN w.from_date AND w.to_date
      WHERE s.id = u.time_slot_id) FROM upd u"
);
const EXPIRE_SLOT: &str = expire_sql!("AND time_slot_id = $2");
const EXPIRE_PATIENT: &str = expire_sql!("AND patient_id = $2");
const EXPIRE_ONE: &str = expire_sql!("AND id = $2");
/// [`EXPIRE_ONE`] returning the slot it freed.
const EXPIRE_ONE_FREED: &str = expire_sql!("AND id = $2", "SELECT u.time_slot_id FROM upd u");

async fn expire(pool: &TxPool, sql: &'static str, scope: uuid::Uuid) -> DomainResult<i64> {
    retry(|| async move {
        Ok(crate::store::statements::query_scalar(sql)
            .bind(1000_i64)
            .bind(scope)
            .fetch_one(pool)
            .await?)
    })
    .await
}

async fn load(pool: &TxPool, id: AppointmentId) -> DomainResult<Appointment> {
    let found: Option<AppointmentRow> = retry(|| async move {
        Ok(crate::store::statements::query_as(concat!(
            "SELECT ",
            appt_cols!(now_sql!()),
            "FROM appointments a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?)
    })
    .await?;
    rows::one(found)?.ok_or(DomainError::NotFound("appointment"))
}

/// A transition statement with its parameters bound (see `access_cols!`), `$9`/`$10` the
/// actor's reach (the only patient or doctor whose appointments it may change; NULL: any).
/// `$3` is the statement's own: a cancel's reason, a move's target slot.
pub(super) fn bound<'q, T>(
    sql: &'q str,
    id: AppointmentId,
    third: T,
    actor: &'q Actor,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, AppointmentRow, sqlx::postgres::PgArguments>
where
    T: 'q + Send + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let access = actor.access.as_ref();
    crate::store::statements::query_as(sql)
        .bind(id)
        .bind(&actor.id)
        .bind(third)
        .bind(actor.role)
        .bind(access.map(|a| a.user_id))
        .bind(access.map(|a| &a.route))
        .bind(access.map(|a| &a.request_id))
        .bind(access.and_then(|a| a.break_glass.as_ref()))
        .bind(actor.reach.patient())
        .bind(actor.reach.doctor())
}

/// The slot an appointment holds now (none for an unknown id), to queue its write behind the
/// others on that slot. Read at READ COMMITTED: a reschedule racing this read only makes the
/// queueing less useful, never the write less correct.
pub async fn slot_of(pool: &TxPool, id: AppointmentId) -> DomainResult<Vec<SlotId>> {
    crate::store::statements::query_scalar("SELECT time_slot_id FROM appointments WHERE id = $1")
        .bind(id.0)
        .fetch_all(pool)
        .await
        .map_err(crate::store::retry::unmapped)
}

/// Seconds until live appointment `$1`'s slot starts (negative once started); no row for an
/// appointment that is not live or not within the reach `$2`/`$3` (which the cancel refuses).
const STARTS_IN: &str = "SELECT extract(epoch FROM s.starts_at - now())::float8
     FROM appointments a JOIN time_slots s ON s.id = a.time_slot_id
     WHERE a.id = $1 AND (a.status = 'CONFIRMED' OR (a.status = 'PENDING' AND a.expires_at > now()))
       AND ($2::uuid IS NULL OR a.patient_id = $2) AND ($3::uuid IS NULL OR a.doctor_id = $3)";

/// Cancels and, in the same transaction, offers the freed seat to the first patient waiting
/// for it. `None`: the cancel changed nothing.
async fn cancel_offering(
    pool: &TxPool,
    id: AppointmentId,
    reason: Option<&str>,
    actor: &Actor,
    terms: OfferTerms,
    notice: Notice,
) -> DomainResult<Option<Appointment>> {
    retry(|| {
        two_pass(|locked| async move {
            let mut tx = pool.begin().await?;
            if locked {
                lock_line(&mut tx).await?;
            }
            if notice.cancel_window(actor.role).is_some() {
                // The cancel window, decided in this transaction for a live appointment only:
                // a replay of a cancel already made answers as before.
                let until: Option<f64> = crate::store::statements::query_scalar(STARTS_IN)
                    .bind(id)
                    .bind(actor.reach.patient())
                    .bind(actor.reach.doctor())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(e) = until.and_then(|u| notice.change_refusal(actor.role, u)) {
                    tx.rollback().await?;
                    return Err(e.into());
                }
            }
            let Some(row) = bound(CANCEL, id, reason, actor)
                .fetch_optional(&mut *tx)
                .await?
            else {
                tx.commit().await?;
                return Ok(Pass::Done(None));
            };
            let cancelled: Appointment = row.try_into()?;
            let slot = cancelled.time_slot_id;
            if !locked && anyone_waiting(&mut tx, &[slot]).await? {
                // Rolled back before the locked pass, whose statements would wait on (or
                // skip) this transaction's row locks otherwise.
                tx.rollback().await?;
                return Ok(Pass::NeedsLock);
            }
            if locked {
                offer_seats(&mut tx, slot, 1, terms).await?;
            }
            tx.commit().await?;
            Ok(Pass::Done(Some(cancelled)))
        })
    })
    .await
}

/// Expires one overdue hold and, in the same transaction, offers its seat to the next patient
/// waiting for it (a late confirm of a lapsed waitlist offer passes the seat on, as the sweeper
/// would).
async fn expire_one_offering(
    pool: &TxPool,
    id: AppointmentId,
    terms: OfferTerms,
) -> DomainResult<()> {
    retry(|| {
        two_pass(|locked| async move {
            let mut tx = pool.begin().await?;
            if locked {
                lock_line(&mut tx).await?;
            }
            let freed: Vec<crate::domain::SlotId> =
                crate::store::statements::query_scalar(EXPIRE_ONE_FREED)
                    .bind(1_i64)
                    .bind(id.0)
                    .fetch_all(&mut *tx)
                    .await?;
            if !locked && anyone_waiting(&mut tx, &freed).await? {
                tx.rollback().await?;
                return Ok(Pass::NeedsLock);
            }
            for slot in freed.iter().filter(|_| locked) {
                offer_seats(&mut tx, *slot, 1, terms).await?;
            }
            tx.commit().await?;
            Ok(Pass::Done(()))
        })
    })
    .await
}

/// What a transition runs on besides its request.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    /// How freed seats are offered to the waitlist; `None`: they are not.
    pub offers: Option<OfferTerms>,
    /// The notice windows (a cancel's binds patients).
    pub notice: Notice,
}

/// Confirms, cancels or completes. With `terms`, a cancel offers the freed seat to the
/// waitlist in its own transaction, and so does an overdue hold expired on the spot (a late
/// confirm of a lapsed offer passes the seat on).
pub async fn transition(
    pool: &TxPool,
    id: AppointmentId,
    action: Action,
    reason: Option<&str>,
    actor: &Actor,
    terms: Terms,
    queue: Option<(&SlotGate<SlotId>, &[SlotId])>,
) -> DomainResult<Appointment> {
    let Terms {
        offers: terms,
        notice,
    } = terms;
    for _ in 0..4 {
        // Only the write waits its turn on the slot; the diagnosis after it need not.
        let turn = match queue {
            Some((gate, slots)) => Some(gate.enter(slots).await?),
            None => None,
        };
        if let Some(terms) = terms.filter(|_| action == Action::Cancel) {
            if let Some(done) = cancel_offering(pool, id, reason, actor, terms, notice).await? {
                return Ok(done);
            }
        } else {
            let done: Option<AppointmentRow> = retry(|| async move {
                let sql = match action {
                    Action::Confirm => CONFIRM,
                    Action::Cancel => CANCEL,
                    Action::Complete => COMPLETE,
                };
                Ok(bound(sql, id, reason, actor).fetch_optional(pool).await?)
            })
            .await?;
            if let Some(row) = done {
                return row.try_into();
            }
        }
        drop(turn);
        let current = load(pool, id).await?;
        // Out of reach: the statement found nothing to change, and nothing changes.
        actor.reach.check(current.patient_id, current.doctor_id)?;
        let status = current.status;
        match action.verdict(status) {
            Verdict::AlreadyDone => {
                // Nothing changes; the request still touched the patient's appointment.
                if let Some(by) = &actor.access {
                    let record = NewAccess {
                        patient_id: current.patient_id,
                        action: AccessAction::Update,
                        outcome: 200,
                    };
                    accounts::pg::record_access(pool, by, &[record]).await?;
                }
                return Ok(current);
            }
            Verdict::Refuse(refusal) => {
                if status == AppointmentStatus::Expired {
                    // Overdue but maybe not yet swept: mark it now so its seat comes back (to
                    // the next patient waiting for it, with `terms`).
                    match terms {
                        Some(terms) => expire_one_offering(pool, id, terms).await?,
                        None => {
                            expire(pool, EXPIRE_ONE, id.0).await?;
                        }
                    }
                }
                return Err(refusal.into_error(action));
            }
            Verdict::Proceed => continue,
        }
    }
    Err(DomainError::Unavailable(
        "appointment kept changing under the request".into(),
    ))
}

/// Expires up to `batch` overdue holds and, in the same transaction, offers each seat freed on a
/// slot someone waits for to the next in line (a lapsed offer's entry stays done).
pub async fn expire_due(pool: &TxPool, batch: i64, terms: OfferTerms) -> DomainResult<u64> {
    retry(|| {
        two_pass(|locked| async move {
            // Planned at each sweep: the sweeper's first runs see an empty table.
            let mut tx = pool.begin_replanned().await?;
            match expire_batch(&mut tx, locked, batch, terms).await {
                Ok(Some(n)) => {
                    tx.commit().await?;
                    Ok(Pass::Done(n))
                }
                // Rolled back before the locked pass, whose statements would wait on (or
                // skip) this transaction's row locks otherwise.
                Ok(None) => {
                    tx.rollback().await?;
                    Ok(Pass::NeedsLock)
                }
                Err(e) => Err(super::tx::roll_back(tx, e).await.into()),
            }
        })
    })
    .await
}

/// One sweep transaction's statements: how many holds it expired, or `None` when a freed seat
/// has someone waiting and the pass holds no waitlist lock.
async fn expire_batch(
    conn: &mut sqlx::PgConnection,
    locked: bool,
    batch: i64,
    terms: OfferTerms,
) -> Result<Option<u64>, sqlx::Error> {
    if locked {
        lock_line(conn).await?;
    }
    let freed: Vec<(SlotId, bool)> = crate::store::statements::query_as(EXPIRE_DUE_FREED)
        .bind(batch)
        .fetch_all(&mut *conn)
        .await?;
    let mut waited: std::collections::BTreeMap<SlotId, usize> = std::collections::BTreeMap::new();
    for (slot, _) in freed.iter().filter(|(_, waiting)| *waiting) {
        *waited.entry(*slot).or_default() += 1;
    }
    if !locked && !waited.is_empty() {
        return Ok(None);
    }
    for (slot, seats) in waited {
        offer_seats(conn, slot, seats, terms).await?;
    }
    Ok(Some(freed.len() as u64))
}

pub async fn purge_keys(pool: &TxPool, max_age_secs: i64) -> DomainResult<u64> {
    retry(|| async move {
        let done = crate::store::statements::query(
            "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
        )
        .bind(max_age_secs as f64)
        .execute(pool)
        .await?;
        Ok(done.rows_affected())
    })
    .await
}

pub(super) mod booking;
pub(super) mod moves;
pub(super) mod reads;
