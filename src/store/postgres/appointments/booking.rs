//! Booking on PostgreSQL: the seat, the hold, its audit row and its idempotency key in one
//! statement, and when it finds no seat, the answer a client should hear.

use super::{expire, load, EXPIRE_PATIENT, EXPIRE_SLOT};
use crate::domain::appointment::NewAppointment;
use crate::domain::booking::{booking_refusal, SlotFacts};
use crate::domain::reschedule::{too_late_to_book, Notice};
use crate::domain::store::{Actor, Booked, IdempotencyKey};
use crate::domain::waitlist::OfferTerms;
use crate::domain::{AppointmentId, DoctorId, DomainError, DomainResult, SlotId};
use crate::store::gate::SlotGate;
use crate::store::postgres::tx_pool::TxPool;
use crate::store::retry::{retry, TxError};
use crate::store::rows::AppointmentRow;
use crate::store::shared::reads::appt_cols;

/// Takes a seat and inserts the hold, its audit row and its idempotency key in one statement.
/// No row back means the slot had no seat for us (or is not the doctor's, or has another time).
macro_rules! book_sql {
    ($hold_cap:literal) => {
        concat!(
            "WITH slot AS (
        UPDATE time_slots SET current_bookings = current_bookings + 1, updated_at = now()
        WHERE id = $3 AND doctor_id = $2 AND status = 'AVAILABLE' AND current_bookings < max_capacity
          AND starts_at > now() AND ($4::date IS NULL OR slot_date = $4) AND ($5::time IS NULL OR slot_time = $5)
          AND doctor_active
          AND ",
            $hold_cap,
            "
        RETURNING id, slot_date, slot_time, starts_at),
     ins AS (
        INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                                  starts_at, consultation_type, reason_for_visit, expires_at)
        SELECT $6, $1, $2, slot.id, slot.slot_date, slot.slot_time, slot.starts_at, $7, $8,
               now() + make_interval(secs => $9)
        FROM slot RETURNING *),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, actor, actor_role,
                                           actor_id, route, request_id, break_glass_reason)
        SELECT id, 'BOOK', NULL, 'PENDING', $10, $13, $14, $15, $16, $17 FROM ins),
     idem AS (
        INSERT INTO idempotency_keys (key, fingerprint, appointment_id)
        SELECT $11, $12, id FROM ins WHERE $11::text IS NOT NULL)
     SELECT ",
            appt_cols!(now_sql!()),
            "FROM ins a"
        )
    };
}

/// [`book_sql`] with no hold cap (`$18` is NULL).
///
/// Two statements rather than one `($18 IS NULL OR (SELECT count(*) …) < $18)`: in that form
/// the generic plan carries the count's cost while every custom plan folds it away, so
/// PostgreSQL never settles on the generic plan and plans the statement again on every
/// booking (measured: 12 of 12 executions re-planned; about 10 % of booking throughput).
const BOOK: &str = book_sql!("$18::bigint IS NULL");

/// [`book_sql`] refusing a patient who already holds `$18` PENDING appointments.
///
/// The count is the patient row's `pending_holds`, kept by a trigger (migration 0005), not a
/// count over an appointments index: under SERIALIZABLE that range read took a predicate lock
/// on a leaf page every concurrent booking inserted into, and bookings of different patients
/// failed each other. Overdue holds not yet swept still count here; `book` expires them and
/// tries again before answering `HoldLimit`.
const BOOK_CAPPED: &str = book_sql!("(SELECT pending_holds FROM patients WHERE id = $1) < $18");

/// What one booking attempt found.
enum Attempt {
    Booked(Box<AppointmentRow>),
    NoSeat,
    AlreadyHeld,
    KeyTaken,
}

fn classify_book_error(e: sqlx::Error) -> Result<Attempt, TxError> {
    if let Some(db) = e.as_database_error() {
        match db.constraint() {
            Some("appointments_live_slot_patient_key") => return Ok(Attempt::AlreadyHeld),
            Some("idempotency_keys_pkey") => return Ok(Attempt::KeyTaken),
            Some("appointments_patient_id_fkey") => {
                return Err(DomainError::NotFound("patient").into())
            }
            _ => {}
        }
    }
    Err(e.into())
}

/// Books on the `terms` (hold length and cap), inside the booking window `notice` (seconds)
/// when one binds the actor. Only the booking statement itself runs in the slot's queue
/// (`gate`): a refusal's diagnosis afterwards changes no seat and need not hold up the requests
/// behind it.
pub async fn book(
    pool: &TxPool,
    gate: &SlotGate<SlotId>,
    new: &NewAppointment,
    terms: OfferTerms,
    notice: Option<i64>,
    key: Option<&IdempotencyKey>,
    actor: &Actor,
) -> DomainResult<Booked> {
    let OfferTerms {
        hold_secs,
        max_holds,
    } = terms;
    if let Some(k) = key {
        if let Some(b) = replay(pool, k).await? {
            return Ok(b);
        }
    }
    // After the replay, which answers what it answered the first time. A slot's start never
    // changes, so this read needs no place in the booking's statement.
    if let Some(secs) = notice {
        let until = super::moves::slot_starts_in(pool, new.time_slot_id).await?;
        if until.is_some_and(|u| Notice::too_soon_to_book(u, secs)) {
            return Err(too_late_to_book(secs));
        }
    }
    let id = AppointmentId::random();
    for _ in 0..4 {
        let turn = gate.enter(&[new.time_slot_id]).await?;
        let attempt = retry(|| async move {
            let sql = if max_holds.is_some() {
                BOOK_CAPPED
            } else {
                BOOK
            };
            let row = crate::store::statements::query_as(sql)
                .bind(new.patient_id)
                .bind(new.doctor_id)
                .bind(new.time_slot_id)
                .bind(new.appointment_date)
                .bind(new.appointment_time)
                .bind(id)
                .bind(new.consultation_type.as_str())
                .bind(&new.reason_for_visit)
                .bind(hold_secs as f64)
                .bind(&actor.id)
                .bind(key.map(|k| &k.key))
                .bind(key.map(|k| &k.fingerprint))
                .bind(actor.role)
                .bind(actor.access.as_ref().map(|a| a.user_id))
                .bind(actor.access.as_ref().map(|a| &a.route))
                .bind(actor.access.as_ref().map(|a| &a.request_id))
                .bind(actor.access.as_ref().and_then(|a| a.break_glass.as_ref()))
                .bind(max_holds)
                .fetch_optional(pool)
                .await;
            match row {
                Ok(Some(a)) => Ok(Attempt::Booked(Box::new(a))),
                Ok(None) => Ok(Attempt::NoSeat),
                Err(e) => classify_book_error(e),
            }
        })
        .await?;
        drop(turn);
        match attempt {
            Attempt::Booked(row) => {
                return Ok(Booked {
                    appointment: (*row).try_into()?,
                    replayed: false,
                })
            }
            refused => {
                // A concurrent request with the same key may have won (it then shows up as a
                // taken key, or as this patient's live booking): answer as it did.
                if let Some(k) = key {
                    if let Some(b) = replay(pool, k).await? {
                        return Ok(b);
                    }
                }
                if matches!(refused, Attempt::KeyTaken) {
                    continue;
                }
                // Overdue holds still count in the stored seat count until expired: expire them
                // on this slot now, and try again if that freed anything.
                if expire(pool, EXPIRE_SLOT, new.time_slot_id.0).await? > 0 {
                    continue;
                }
                // Likewise the patient's overdue holds in the hold count.
                if max_holds.is_some() && expire(pool, EXPIRE_PATIENT, new.patient_id.0).await? > 0
                {
                    continue;
                }
                if let Some(refusal) = diagnose(pool, new, max_holds).await? {
                    return Err(refusal);
                }
            }
        }
    }
    Err(DomainError::SlotUnavailable(
        "This time slot is no longer available",
    ))
}

/// The earlier answer for an idempotency key, if the key was used before.
async fn replay(pool: &TxPool, key: &IdempotencyKey) -> DomainResult<Option<Booked>> {
    let found: Option<(String, AppointmentId)> = retry(|| async move {
        Ok(crate::store::statements::query_as(
            "SELECT fingerprint, appointment_id FROM idempotency_keys WHERE key = $1",
        )
        .bind(&key.key)
        .fetch_optional(pool)
        .await?)
    })
    .await?;
    let Some((fingerprint, id)) = found else {
        return Ok(None);
    };
    if fingerprint != key.fingerprint {
        return Err(DomainError::IdempotencyKeyReused);
    }
    let appointment = load(pool, id).await?;
    Ok(Some(Booked {
        appointment,
        replayed: true,
    }))
}

/// Why a booking found no seat, in the order a client should hear it; `None` if the slot looks
/// bookable after all (the state changed under us: try again).
async fn diagnose(
    pool: &TxPool,
    new: &NewAppointment,
    max_holds: Option<i64>,
) -> DomainResult<Option<DomainError>> {
    type Row = (
        bool,
        bool,
        bool,
        Option<DoctorId>,
        Option<chrono::NaiveDate>,
        Option<chrono::NaiveTime>,
        Option<String>,
        Option<bool>,
        Option<bool>,
        Option<bool>,
        i64,
    );
    let row: Row = retry(|| async move {
        Ok(crate::store::statements::query_as(
            "SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1),
                    EXISTS (SELECT 1 FROM doctors WHERE id = $2),
                    EXISTS (SELECT 1 FROM doctors WHERE id = $2 AND NOT is_active),
                    s.doctor_id, s.slot_date, s.slot_time, s.status, s.starts_at > now(),
                    s.current_bookings - (SELECT count(*) FROM appointments a WHERE a.time_slot_id = s.id
                         AND a.status = 'PENDING' AND a.expires_at <= now()) >= s.max_capacity,
                    EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id AND a.patient_id = $1
                         AND (a.status = 'CONFIRMED' OR (a.status = 'PENDING' AND a.expires_at > now()))),
                    -- Only with a cap: under SERIALIZABLE this read would otherwise conflict
                    -- with every concurrent booking of the patient for nothing.
                    CASE WHEN $4::bigint IS NULL THEN 0 ELSE
                        (SELECT count(*) FROM appointments a WHERE a.patient_id = $1 AND a.status = 'PENDING'
                         AND a.expires_at > now()) END
             FROM (SELECT 1) one LEFT JOIN time_slots s ON s.id = $3",
        )
        .bind(new.patient_id)
        .bind(new.doctor_id)
        .bind(new.time_slot_id)
        .bind(max_holds)
        .fetch_one(pool)
        .await?)
    })
    .await?;
    let (patient, doctor, inactive, owner, date, time, status, future, full, held, holds) = row;
    let refusal = booking_refusal(
        new,
        SlotFacts {
            patient_exists: patient,
            doctor_exists: doctor,
            doctor_inactive: inactive,
            owner,
            date,
            time,
            blocked: status.as_deref() == Some("BLOCKED"),
            future: future.unwrap_or(false),
            full: full.unwrap_or(false),
            already_held: held.unwrap_or(false),
        },
    );
    Ok(refusal.or_else(|| {
        max_holds
            .filter(|max| holds >= *max)
            .map(DomainError::HoldLimit)
    }))
}
