//! Booking on SQLite: the facts the shared rules decide on, read in one statement, then the
//! seat, the hold, its audit row and its idempotency key written together.

use async_trait::async_trait;
use sqlx::SqliteConnection;

use super::{expire, replay, Due};
use crate::domain::appointment::NewAppointment;
use crate::domain::booking::{booking_refusal, SlotFacts};
use crate::domain::reschedule::{too_late_to_book, Notice};
use crate::domain::store::{Actor, Booked, IdempotencyKey};
use crate::domain::{AppointmentId, DoctorId, DomainError};
use crate::store::retry::TxError;
use crate::store::rows::AppointmentRow;
use crate::store::sqlite::steps::{Opening, Step, WriteStep};

/// The facts of a booking (see [`facts`]): patient `?1`, doctor `?2`, slot `?3`, as of `?4`,
/// the patient's live holds counted only when there is a cap `?5`. Every number is used, so
/// statements without parameters may run before it in the same query.
macro_rules! facts_sql {
    () => {
        "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1),
                EXISTS (SELECT 1 FROM doctors WHERE id = ?2),
                coalesce(s.doctor_id = ?2 AND NOT s.doctor_active, 0),
                s.doctor_id, s.slot_date, s.slot_time, s.status, s.starts_at > ?4,
                s.current_bookings >= s.max_capacity,
                EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id AND a.patient_id = ?1
                        AND a.status IN ('PENDING', 'CONFIRMED')),
                EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = ?3
                        AND a.status = 'PENDING' AND a.expires_at <= ?4),
                CASE WHEN ?5 IS NULL THEN 0
                     ELSE (SELECT count(*) FROM appointments a WHERE a.patient_id = ?1
                           AND a.status = 'PENDING' AND a.expires_at > ?4) END
         FROM (SELECT 1) one LEFT JOIN time_slots s ON s.id = ?3"
    };
}

const FACTS: &str = facts_sql!();

/// What the booking needs to know: the shared rules' [`SlotFacts`], whether the slot has
/// overdue holds not yet expired, and the patient's live holds (0 when there is no cap).
struct BookFacts {
    slot: SlotFacts,
    overdue: bool,
    holds: i64,
}

/// [`BookFacts`] in one statement. While `overdue` is true the seat count and the patient's
/// live holds still count the overdue holds: the caller expires them and asks again.
async fn facts(
    conn: &mut SqliteConnection,
    new: &NewAppointment,
    now: &str,
    max_holds: Option<i64>,
    opening: Opening,
) -> Result<BookFacts, sqlx::Error> {
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
        bool,
        bool,
        i64,
    );
    let sql = match opening {
        Opening::None => FACTS,
        Opening::First => concat!("SAVEPOINT job; ", facts_sql!()),
        Opening::Next => concat!("RELEASE job; SAVEPOINT job; ", facts_sql!()),
        Opening::UndoThenNext => concat!(
            "ROLLBACK TO job; RELEASE job; SAVEPOINT job; ",
            facts_sql!()
        ),
    };
    let (patient, doctor, inactive, owner, date, time, status, future, full, held, overdue, holds): Row =
        sqlx::query_as(sql)
            .bind(new.patient_id)
            .bind(new.doctor_id)
            .bind(new.time_slot_id)
            .bind(now)
            .bind(max_holds)
            .fetch_one(conn)
            .await?;
    Ok(BookFacts {
        slot: SlotFacts {
            patient_exists: patient,
            doctor_exists: doctor,
            doctor_inactive: inactive,
            owner,
            date,
            time,
            blocked: status.as_deref() == Some("BLOCKED"),
            future: future.unwrap_or(false),
            full: full.unwrap_or(false),
            already_held: held,
        },
        overdue,
        holds,
    })
}

/// The refusal for a constraint that fired although the checks passed (they cannot race, so
/// this is a backstop): the live-hold index, the seat CHECK, or a patient deleted meanwhile.
pub(super) fn book_backstop(e: sqlx::Error) -> TxError {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => DomainError::AlreadyBooked.into(),
        Some(db) if db.is_check_violation() => {
            DomainError::SlotUnavailable("This time slot is fully booked").into()
        }
        Some(db) if db.is_foreign_key_violation() => DomainError::NotFound("patient").into(),
        _ => e.into(),
    }
}

/// A booking request with everything [`book_in`] needs, owned so it can wait in the group
/// commit queue.
#[derive(Debug, Clone)]
pub struct BookRequest {
    /// Chosen once, so a retried attempt writes the same appointment.
    pub id: AppointmentId,
    pub new: NewAppointment,
    pub hold_secs: i64,
    pub max_holds: Option<i64>,
    /// The booking window that binds the actor, in seconds (`MIN_NOTICE_MINUTES`).
    pub notice: Option<i64>,
    pub key: Option<IdempotencyKey>,
    pub actor: Actor,
}

impl BookRequest {
    pub fn new(
        new: NewAppointment,
        hold_secs: i64,
        max_holds: Option<i64>,
        notice: Option<i64>,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> Self {
        Self {
            id: AppointmentId::time_ordered(),
            new,
            hold_secs,
            max_holds,
            notice,
            key,
            actor,
        }
    }
}

#[async_trait]
impl WriteStep for BookRequest {
    type Out = Booked;
    async fn step(&self, conn: &mut SqliteConnection, now: &str, opening: Opening) -> Step<Booked> {
        book_in(conn, now, self, opening).await
    }
}

/// The booking inside the caller's write transaction as of `now` (see [`Step`]).
async fn book_in(
    conn: &mut SqliteConnection,
    now: &str,
    req: &BookRequest,
    mut opening: Opening,
) -> Step<Booked> {
    let (id, new) = (req.id, &req.new);
    if let Some(k) = &req.key {
        opening = opening.run(conn).await?;
        if let Some(b) = replay(conn, k, now).await? {
            return Ok(Ok(b));
        }
    }
    // After the replay, which answers what it answered the first time.
    if let Some(secs) = req.notice {
        opening = opening.run(conn).await?;
        let until = super::starts_in(conn, new.time_slot_id, now).await?;
        if until.is_some_and(|u| Notice::too_soon_to_book(u, secs)) {
            return Err(too_late_to_book(secs).into());
        }
    }
    let mut known = facts(conn, new, now, req.max_holds, opening).await?;
    if known.overdue {
        // Overdue holds still count in the stored seat count until expired: expire this
        // slot's now, so the seat count and the patient's live holds are the effective ones.
        // This is committed even when the booking is refused, as on PostgreSQL.
        expire(conn, now, Due::OnSlot(new.time_slot_id)).await?;
        known = facts(conn, new, now, req.max_holds, Opening::None).await?;
    }
    if let Some(refusal) = booking_refusal(new, known.slot) {
        return Ok(Err(refusal));
    }
    if let Some(max) = req.max_holds {
        // Writes are serialized, so the count cannot change before the insert.
        if known.holds >= max {
            return Ok(Err(DomainError::HoldLimit(max)));
        }
    }
    // The seat, the appointment, its BOOK entry (with the access record) and the key, in one round
    // trip to SQLite's worker thread: on the single writer those round trips, not SQLite's
    // work, are what a booking costs.
    let access = req.actor.access.as_ref();
    let sql = if req.key.is_some() {
        BOOK_WRITES_KEY
    } else {
        BOOK_WRITES
    };
    let hold = format!("{:+} seconds", req.hold_secs);
    let (slot, patient) = (new.time_slot_id, new.patient_id);
    // sqlx numbers the anonymous parameters of several statements in one run, so the values
    // are bound in the order the statements name them (see `book_writes!`).
    let writes = sqlx::query_as(sql)
        .bind(now)
        .bind(slot)
        .bind(id)
        .bind(patient)
        .bind(new.consultation_type.as_str())
        .bind(&new.reason_for_visit)
        .bind(now)
        .bind(&hold)
        .bind(now)
        .bind(now)
        .bind(slot)
        .bind(now)
        .bind(id)
        .bind(&req.actor.id)
        .bind(req.actor.role)
        .bind(access.map(|a| a.user_id))
        .bind(access.map(|a| &a.route))
        .bind(access.map(|a| &a.request_id))
        .bind(access.and_then(|a| a.break_glass.as_ref()));
    let writes = match &req.key {
        Some(k) => writes.bind(&k.key).bind(&k.fingerprint).bind(id).bind(now),
        None => writes,
    };
    let rows: Vec<AppointmentRow> = writes
        .fetch_all(&mut *conn)
        .await
        .map_err(book_writes_backstop)?;
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::Internal("the booked appointment was not returned".into()))?;
    Ok(Ok(Booked {
        appointment: row.try_into()?,
        replayed: false,
    }))
}

/// [`book_backstop`] for the statements of [`BOOK_WRITES`]; a clash on the idempotency key
/// (impossible: the key was looked up in the same transaction) stays a database error.
fn book_writes_backstop(e: sqlx::Error) -> TxError {
    match e.as_database_error() {
        Some(db) if db.message().contains("idempotency_keys") => TxError::Db(e),
        _ => book_backstop(e),
    }
}

/// The writes of a booking after its checks, as of `now`: the seat of the slot, the
/// appointment returned with its effective status, and its BOOK entry (for a person, with the
/// access record in it; migration 0013). Then `$key` (the idempotency key, or nothing).
///
/// The parameters are anonymous: when one query holds several statements, sqlx 0.8 binds
/// numbered parameters wrongly as soon as a statement skips a number, while anonymous ones
/// take the bound values in order across the statements. The order: now, slot; id, patient,
/// consultation type, reason, now, hold length, now, now, slot, now; id, actor, actor role,
/// user id, route, request id, break-glass reason (the last four NULL for the system); then the
/// key's values.
macro_rules! book_writes {
    ($key:expr) => {
        concat!(
            "UPDATE time_slots SET current_bookings = current_bookings + 1, updated_at = ? WHERE id = ?;
             INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date,
                                       appointment_time, starts_at, consultation_type, reason_for_visit,
                                       expires_at, created_at, updated_at)
             SELECT ?, ?, s.doctor_id, s.id, s.slot_date, s.slot_time, s.starts_at, ?, ?,
                    strftime('%Y-%m-%dT%H:%M:%fZ', ?, ?), ?, ?
             FROM time_slots s WHERE s.id = ?
             RETURNING id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                       CASE WHEN status = 'PENDING' AND expires_at <= ? THEN 'EXPIRED' ELSE status END
                           AS status,
                       consultation_type, reason_for_visit, expires_at, confirmed_at, cancelled_at,
                       cancellation_reason, completed_at, created_at, updated_at;
             INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason,
                                                actor, actor_role, actor_id, route, request_id,
                                                break_glass_reason)
             VALUES (?, 'BOOK', NULL, 'PENDING', NULL, ?, ?, ?, ?, ?, ?);",
            $key
        )
    };
}

/// The idempotency key: key, fingerprint, appointment id, now.
macro_rules! book_key {
    () => {
        "INSERT INTO idempotency_keys (key, fingerprint, appointment_id, created_at)
         VALUES (?, ?, ?, ?);"
    };
}

const BOOK_WRITES: &str = book_writes!("");
const BOOK_WRITES_KEY: &str = book_writes!(book_key!());
