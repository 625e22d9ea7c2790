//! Reschedule and no-show on SQLite: one `BEGIN IMMEDIATE` transaction each, deciding with the
//! shared rules and applying the appointment, both seat counts and the audit row together.

use sqlx::{SqliteConnection, SqlitePool};

use super::booking::book_backstop;
use super::{audit, expire, load, Due};
use crate::domain::appointment::{AppointmentStatus, AuditAction, Verdict};
use crate::domain::booking::SlotFacts;
use crate::domain::reschedule::{
    moved_reason, no_show_verdict, reschedule_refusal, reschedule_verdict, Notice, NO_SHOW,
    RESCHEDULE,
};
use crate::domain::store::Actor;
use crate::domain::user::AccessAction;
use crate::domain::waitlist::OfferTerms;
use crate::domain::{
    Appointment, AppointmentId, DoctorId, DomainError, DomainResult, PatientId, SlotId,
};
use crate::store::accounts::lite;
use crate::store::retry::{retry, TxError};
use crate::store::sqlite::tx::{begin_write, db_now};

/// The target slot as a reschedule of `patient`'s appointment sees it, as of `now` (its overdue
/// holds expired just before, so the stored seat count is the effective one).
async fn slot_facts(
    conn: &mut SqliteConnection,
    slot: SlotId,
    patient: PatientId,
    now: &str,
) -> Result<SlotFacts, sqlx::Error> {
    type Row = (
        Option<DoctorId>,
        Option<String>,
        Option<bool>,
        Option<bool>,
        bool,
    );
    let (owner, status, future, full, held): Row = sqlx::query_as(
        "SELECT s.doctor_id, s.status, s.starts_at > ?3, s.current_bookings >= s.max_capacity,
                EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id AND a.patient_id = ?2
                        AND a.status IN ('PENDING', 'CONFIRMED'))
         FROM (SELECT 1) one LEFT JOIN time_slots s ON s.id = ?1",
    )
    .bind(slot)
    .bind(patient)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(SlotFacts {
        owner,
        blocked: status.as_deref() == Some("BLOCKED"),
        future: future.unwrap_or(false),
        full: full.unwrap_or(false),
        already_held: held,
        ..SlotFacts::default()
    })
}

/// Moves `current` to `slot` (checked bookable) as of `now`: takes the new seat, gives the old
/// one back, copies the slot's date, time and start, and audits both slots.
async fn apply_move(
    conn: &mut SqliteConnection,
    current: &Appointment,
    slot: SlotId,
    actor: &Actor,
    now: &str,
) -> Result<(), TxError> {
    let seat = "UPDATE time_slots SET current_bookings = current_bookings + ?2, updated_at = ?3 WHERE id = ?1";
    sqlx::query(seat)
        .bind(slot)
        .bind(1_i64)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(book_backstop)?;
    sqlx::query(seat)
        .bind(current.time_slot_id)
        .bind(-1_i64)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let moved = sqlx::query(
        "UPDATE appointments
         SET (time_slot_id, appointment_date, appointment_time, starts_at) =
             (SELECT id, slot_date, slot_time, starts_at FROM time_slots WHERE id = ?2),
             updated_at = ?3
         WHERE id = ?1 AND time_slot_id = ?4",
    )
    .bind(current.id)
    .bind(slot)
    .bind(now)
    .bind(current.time_slot_id)
    .execute(&mut *conn)
    .await
    .map_err(book_backstop)?;
    if moved.rows_affected() != 1 {
        // Cannot happen while writes are serialized; refuse rather than write a false audit row.
        return Err(
            DomainError::Internal("appointment changed under its write lock".into()).into(),
        );
    }
    let reason = moved_reason(current.time_slot_id, slot);
    let status = current.status;
    let id = current.id;
    let action = AuditAction::Reschedule;
    audit(
        conn,
        id,
        action,
        Some(status),
        status,
        Some(reason.as_str()),
        actor,
    )
    .await?;
    Ok(())
}

/// Moves the appointment and, in the same transaction, offers the seat it left to the first
/// patient waiting for it.
pub async fn reschedule(
    pool: &SqlitePool,
    id: AppointmentId,
    slot: SlotId,
    actor: &Actor,
    terms: OfferTerms,
    notice: Notice,
) -> DomainResult<Appointment> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = &db_now(&mut tx).await?;
        let current = load(&mut tx, id, now).await?;
        actor.reach.check(current.patient_id, current.doctor_id)?;
        match reschedule_verdict(current.status, current.time_slot_id == slot) {
            Verdict::AlreadyDone => {
                let (by, patient) = (actor.access.as_ref(), current.patient_id);
                lite::record_write(&mut tx, by, patient, AccessAction::Update).await?;
                tx.commit().await?;
                Ok(current)
            }
            Verdict::Refuse(refusal) => {
                if current.status == AppointmentStatus::Expired {
                    // Overdue but maybe not yet swept: mark it now so its seat comes back.
                    expire(&mut tx, now, Due::One(id)).await?;
                    tx.commit().await?;
                }
                Err(refusal.error(RESCHEDULE).into())
            }
            Verdict::Proceed => {
                // The notice windows, decided once the move would go ahead: a replay of a move
                // already made found it on `slot` above and answered as before.
                let (role, from) = (actor.role, current.time_slot_id);
                let until_from = super::starts_in(&mut tx, from, now).await?.unwrap_or(0.0);
                let until_to = super::starts_in(&mut tx, slot, now).await?;
                let late = notice.change_refusal(role, until_from);
                if let Some(e) = late.or_else(|| notice.move_refusal(role, until_to)) {
                    return Err(e.into());
                }
                // Overdue holds still count in the target's stored seat count until expired;
                // committed even when the move is refused, as on PostgreSQL.
                expire(&mut tx, now, Due::OnSlot(slot)).await?;
                let facts = slot_facts(&mut tx, slot, current.patient_id, now).await?;
                if let Some(refusal) = reschedule_refusal(current.doctor_id, &facts) {
                    tx.commit().await?;
                    return Err(refusal.into());
                }
                apply_move(&mut tx, &current, slot, actor, now).await?;
                let left = current.time_slot_id;
                super::super::offers::offer_seats(&mut tx, now, left, 1, terms).await?;
                let moved = load(&mut tx, id, now).await?;
                tx.commit().await?;
                Ok(moved)
            }
        }
    })
    .await
}

pub async fn no_show(
    pool: &SqlitePool,
    id: AppointmentId,
    actor: &Actor,
) -> DomainResult<Appointment> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = &db_now(&mut tx).await?;
        let current = load(&mut tx, id, now).await?;
        actor.reach.check(current.patient_id, current.doctor_id)?;
        let started: Option<bool> =
            sqlx::query_scalar("SELECT starts_at <= ?2 FROM time_slots WHERE id = ?1")
                .bind(current.time_slot_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
        match no_show_verdict(current.status, started.unwrap_or(false)) {
            Verdict::AlreadyDone => {
                let (by, patient) = (actor.access.as_ref(), current.patient_id);
                lite::record_write(&mut tx, by, patient, AccessAction::Update).await?;
                tx.commit().await?;
                Ok(current)
            }
            Verdict::Refuse(refusal) => {
                if current.status == AppointmentStatus::Expired {
                    expire(&mut tx, now, Due::One(id)).await?;
                    tx.commit().await?;
                }
                Err(refusal.error(NO_SHOW).into())
            }
            Verdict::Proceed => {
                let changed = sqlx::query(
                    "UPDATE appointments SET status = 'NO_SHOW', updated_at = ?2
                     WHERE id = ?1 AND status = 'CONFIRMED'",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if changed.rows_affected() != 1 {
                    return Err(DomainError::Internal(
                        "appointment changed under its write lock".into(),
                    )
                    .into());
                }
                let confirmed = AppointmentStatus::Confirmed;
                let (action, to) = (AuditAction::NoShow, AppointmentStatus::NoShow);
                audit(&mut tx, id, action, Some(confirmed), to, None, actor).await?;
                let updated = load(&mut tx, id, now).await?;
                tx.commit().await?;
                Ok(updated)
            }
        }
    })
    .await
}
