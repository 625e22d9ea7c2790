//! Reschedule and no-show on PostgreSQL, each one data-modifying statement like the other
//! transitions: the appointment, both seat counts and the audit row change together or not at
//! all. When the statement changes nothing, a second look decides what the client hears.

use super::{bound, expire, load, TxPool, EXPIRE_ONE, EXPIRE_SLOT};
use crate::domain::appointment::{AppointmentStatus, Verdict};
use crate::domain::booking::SlotFacts;
use crate::domain::reschedule::{
    no_show_verdict, reschedule_refusal, reschedule_verdict, Notice, NO_SHOW, RESCHEDULE,
};
use crate::domain::store::Actor;
use crate::domain::user::{AccessAction, NewAccess};
use crate::domain::waitlist::OfferTerms;
use crate::domain::{Appointment, AppointmentId, DomainError, DomainResult, PatientId, SlotId};
use crate::store::accounts;
use crate::store::gate::SlotGate;
use crate::store::postgres::waitlist::{anyone_waiting, lock_line, offer_seats, two_pass, Pass};
use crate::store::retry::{retry, TxError};
use crate::store::rows::AppointmentRow;
use crate::store::shared::reads::appt_cols;

/// Moves appointment `$1` to slot `$3`: takes a seat there (same doctor, AVAILABLE, a seat
/// left, not started), gives the old seat back and audits both slots. No row back: nothing
/// changed. Parameters `$2`, `$4`… as in the other transitions (see `access_cols!`).
const RESCHEDULE_SQL: &str = concat!(
    "WITH cur AS (
        SELECT id, status, time_slot_id, doctor_id FROM appointments
        WHERE id = $1 AND time_slot_id <> $3
          AND (status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now())) AND ($9::uuid IS NULL OR patient_id = $9) AND ($10::uuid IS NULL OR doctor_id = $10) FOR UPDATE),
     seat AS (
        UPDATE time_slots s SET current_bookings = s.current_bookings + 1, updated_at = now()
        FROM cur WHERE s.id = $3 AND s.doctor_id = cur.doctor_id AND s.status = 'AVAILABLE'
          AND s.current_bookings < s.max_capacity AND s.starts_at > now()
        RETURNING s.id, s.slot_date, s.slot_time, s.starts_at),
     upd AS (
        UPDATE appointments a SET time_slot_id = seat.id, appointment_date = seat.slot_date,
               appointment_time = seat.slot_time, starts_at = seat.starts_at, updated_at = now()
        FROM seat WHERE a.id = $1 RETURNING a.*),
     freed AS (
        UPDATE time_slots s SET current_bookings = s.current_bookings - 1, updated_at = now()
        FROM cur, seat WHERE s.id = cur.time_slot_id),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, ",
    access_cols!(),
    ")
        SELECT cur.id, 'RESCHEDULED', cur.status, cur.status,
               'from slot ' || cur.time_slot_id::text || ' to slot ' || seat.id::text, $2, $4, $5, $6, $7, $8
        FROM cur, seat)
     SELECT ",
    appt_cols!(now_sql!()),
    "FROM upd a"
);

/// CONFIRMED → NO_SHOW once the slot (`time_slots.starts_at`) has started; the seat stays.
const NO_SHOW_SQL: &str = concat!(
    "WITH upd AS (
        UPDATE appointments a SET status = 'NO_SHOW', updated_at = now()
        WHERE a.id = $1 AND a.status = 'CONFIRMED' AND ($9::uuid IS NULL OR a.patient_id = $9) AND ($10::uuid IS NULL OR a.doctor_id = $10)
          AND EXISTS (SELECT 1 FROM time_slots s WHERE s.id = a.time_slot_id AND s.starts_at <= now())
        RETURNING a.*),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, ",
    access_cols!(),
    ")
        SELECT id, 'NO_SHOW', 'CONFIRMED', 'NO_SHOW', NULL, $2, $4, $5, $6, $7, $8 FROM upd)
     SELECT ",
    appt_cols!(now_sql!()),
    "FROM upd a"
);

/// Appointment `$1`'s slot, whether it is live and within the reach `$3`/`$4`, and the seconds
/// until its slot and slot `$2` start (negative once started; `NULL` for an unknown slot).
const WHENCE: &str = "SELECT a.time_slot_id,
        (a.status = 'CONFIRMED' OR (a.status = 'PENDING' AND a.expires_at > now()))
          AND ($3::uuid IS NULL OR a.patient_id = $3) AND ($4::uuid IS NULL OR a.doctor_id = $4),
        extract(epoch FROM s.starts_at - now())::float8,
        (SELECT extract(epoch FROM t.starts_at - now())::float8 FROM time_slots t WHERE t.id = $2)
     FROM appointments a JOIN time_slots s ON s.id = a.time_slot_id WHERE a.id = $1";
type Whence = (SlotId, bool, f64, Option<f64>);

/// What one attempt of a write found.
enum Outcome {
    Done(Box<AppointmentRow>),
    /// Nothing changed: look again.
    Nothing,
}

/// What a transition statement's execution means: a changed row, or nothing changed (also when
/// the patient holds the target slot already: the refusal is worked out afterwards).
fn outcome(row: Result<Option<AppointmentRow>, sqlx::Error>) -> Result<Outcome, TxError> {
    match row {
        Ok(Some(a)) => Ok(Outcome::Done(Box::new(a))),
        Ok(None) => Ok(Outcome::Nothing),
        Err(e)
            if e.as_database_error().and_then(|d| d.constraint())
                == Some("appointments_live_slot_patient_key") =>
        {
            Ok(Outcome::Nothing)
        }
        Err(e) => Err(TxError::from(e)),
    }
}

/// Moves the appointment (the reschedule statement) and, when it moved, offers the seat it left
/// to the first patient waiting for it, in one transaction.
async fn move_offering(
    pool: &TxPool,
    id: AppointmentId,
    slot: SlotId,
    actor: &Actor,
    terms: OfferTerms,
    notice: Notice,
) -> DomainResult<Outcome> {
    retry(|| {
        two_pass(|locked| async move {
            let mut tx = pool.begin().await?;
            if locked {
                lock_line(&mut tx).await?;
            }
            let role = actor.role;
            let bound_by_notice =
                notice.cancel_window(role).is_some() || notice.book_window(role).is_some();
            let from: Option<SlotId> = if bound_by_notice {
                // The slots' starts are read only when a window binds the actor: the read of
                // the target slot would make every concurrent move to it a serialization
                // conflict.
                let found: Option<Whence> = crate::store::statements::query_as(WHENCE)
                    .bind(id)
                    .bind(slot)
                    .bind(actor.reach.patient())
                    .bind(actor.reach.doctor())
                    .fetch_optional(&mut *tx)
                    .await?;
                // Decided once the move would go ahead: a replay of a move already made finds
                // it on `slot` and answers as before.
                if let Some((_, true, until_from, until_to)) = found.filter(|w| w.0 != slot) {
                    let late = notice.change_refusal(role, until_from);
                    if let Some(e) = late.or_else(|| notice.move_refusal(role, until_to)) {
                        tx.rollback().await?;
                        return Err(e.into());
                    }
                }
                found.map(|w| w.0)
            } else {
                crate::store::statements::query_scalar(
                    "SELECT time_slot_id FROM appointments WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            };
            let row = bound(RESCHEDULE_SQL, id, slot, actor)
                .fetch_optional(&mut *tx)
                .await;
            // Nothing changed (or the statement failed and the transaction with it): roll back.
            let Outcome::Done(row) = outcome(row)? else {
                tx.rollback().await?;
                return Ok(Pass::Done(Outcome::Nothing));
            };
            let left: Vec<SlotId> = from.into_iter().filter(|f| *f != slot).collect();
            if !locked && anyone_waiting(&mut tx, &left).await? {
                // Rolled back before the locked pass, whose statements would wait on (or
                // skip) this transaction's row locks otherwise.
                tx.rollback().await?;
                return Ok(Pass::NeedsLock);
            }
            if let Some(from) = left.first().filter(|_| locked) {
                offer_seats(&mut tx, *from, 1, terms).await?;
            }
            tx.commit().await?;
            Ok(Pass::Done(Outcome::Done(row)))
        })
    })
    .await
}

/// Runs one transition statement for appointment `id` with the usual parameters.
async fn run(
    pool: &TxPool,
    sql: &'static str,
    id: AppointmentId,
    third: Option<uuid::Uuid>,
    actor: &Actor,
) -> DomainResult<Outcome> {
    retry(|| async move { outcome(bound(sql, id, third, actor).fetch_optional(pool).await) }).await
}

/// Records that the request touched the patient's appointment although nothing changed.
async fn record_unchanged(pool: &TxPool, actor: &Actor, patient: PatientId) -> DomainResult<()> {
    if let Some(by) = &actor.access {
        let record = NewAccess {
            patient_id: patient,
            action: AccessAction::Update,
            outcome: 200,
        };
        accounts::pg::record_access(pool, by, &[record]).await?;
    }
    Ok(())
}

/// The target slot as a reschedule of `patient`'s appointment sees it.
async fn slot_facts(pool: &TxPool, slot: SlotId, patient: PatientId) -> DomainResult<SlotFacts> {
    type Row = (
        Option<crate::domain::DoctorId>,
        Option<String>,
        Option<bool>,
        Option<bool>,
        Option<bool>,
    );
    let (owner, status, future, full, held): Row = retry(|| async move {
        Ok(crate::store::statements::query_as(
            "SELECT s.doctor_id, s.status, s.starts_at > now(),
                    s.current_bookings - (SELECT count(*) FROM appointments a WHERE a.time_slot_id = s.id
                         AND a.status = 'PENDING' AND a.expires_at <= now()) >= s.max_capacity,
                    EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id AND a.patient_id = $2
                         AND (a.status = 'CONFIRMED' OR (a.status = 'PENDING' AND a.expires_at > now())))
             FROM (SELECT 1) one LEFT JOIN time_slots s ON s.id = $1",
        )
        .bind(slot)
        .bind(patient)
        .fetch_one(pool)
        .await?)
    })
    .await?;
    Ok(SlotFacts {
        owner,
        blocked: status.as_deref() == Some("BLOCKED"),
        future: future.unwrap_or(false),
        full: full.unwrap_or(false),
        already_held: held.unwrap_or(false),
        ..SlotFacts::default()
    })
}

pub async fn reschedule(
    pool: &TxPool,
    id: AppointmentId,
    slot: SlotId,
    actor: &Actor,
    terms: OfferTerms,
    notice: Notice,
    queue: (&SlotGate<SlotId>, &[SlotId]),
) -> DomainResult<Appointment> {
    for _ in 0..4 {
        // Only the move waits its turn on the two slots; the diagnosis after it need not.
        let turn = queue.0.enter(queue.1).await?;
        if let Outcome::Done(row) = move_offering(pool, id, slot, actor, terms, notice).await? {
            return (*row).try_into();
        }
        drop(turn);
        let current = load(pool, id).await?;
        actor.reach.check(current.patient_id, current.doctor_id)?;
        match reschedule_verdict(current.status, current.time_slot_id == slot) {
            Verdict::AlreadyDone => {
                record_unchanged(pool, actor, current.patient_id).await?;
                return Ok(current);
            }
            Verdict::Refuse(refusal) => {
                if current.status == AppointmentStatus::Expired {
                    // Overdue but maybe not yet swept: mark it now so its seat comes back.
                    expire(pool, EXPIRE_ONE, id.0).await?;
                }
                return Err(refusal.error(RESCHEDULE));
            }
            Verdict::Proceed => {
                // Overdue holds still count in the target's stored seat count until expired.
                if expire(pool, EXPIRE_SLOT, slot.0).await? > 0 {
                    continue;
                }
                let facts = slot_facts(pool, slot, current.patient_id).await?;
                if let Some(refusal) = reschedule_refusal(current.doctor_id, &facts) {
                    return Err(refusal);
                }
            }
        }
    }
    Err(DomainError::SlotUnavailable(
        "This time slot is no longer available",
    ))
}

pub async fn no_show(pool: &TxPool, id: AppointmentId, actor: &Actor) -> DomainResult<Appointment> {
    for _ in 0..4 {
        if let Outcome::Done(row) = run(pool, NO_SHOW_SQL, id, None, actor).await? {
            return (*row).try_into();
        }
        let current = load(pool, id).await?;
        actor.reach.check(current.patient_id, current.doctor_id)?;
        let on = current.time_slot_id;
        let started: Option<bool> = retry(|| async move {
            Ok(crate::store::statements::query_scalar(
                "SELECT starts_at <= now() FROM time_slots WHERE id = $1",
            )
            .bind(on)
            .fetch_optional(pool)
            .await?)
        })
        .await?;
        match no_show_verdict(current.status, started.unwrap_or(false)) {
            Verdict::AlreadyDone => {
                record_unchanged(pool, actor, current.patient_id).await?;
                return Ok(current);
            }
            Verdict::Refuse(refusal) => {
                if current.status == AppointmentStatus::Expired {
                    expire(pool, EXPIRE_ONE, id.0).await?;
                }
                return Err(refusal.error(NO_SHOW));
            }
            Verdict::Proceed => continue,
        }
    }
    Err(DomainError::Unavailable(
        "appointment kept changing under the request".into(),
    ))
}

pub async fn slot_starts_in(pool: &TxPool, slot: SlotId) -> DomainResult<Option<f64>> {
    retry(|| async move {
        Ok(crate::store::statements::query_scalar(
            "SELECT extract(epoch FROM starts_at - now())::float8 FROM time_slots WHERE id = $1",
        )
        .bind(slot)
        .fetch_optional(pool)
        .await?)
    })
    .await
}
