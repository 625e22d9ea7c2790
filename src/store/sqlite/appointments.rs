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

use super::{begin_write, db_now};
use crate::domain::appointment::{
    Action, AppointmentStatus, AuditAction, AuditEntry, NewAppointment, Verdict,
};
use crate::domain::booking::{booking_refusal, SlotFacts};
use crate::domain::page::{Page, Paged};
use crate::domain::store::{Actor, AppointmentFilter, Booked, IdempotencyKey};
use crate::domain::user::AccessAction;
use crate::domain::waitlist::OfferTerms;
use crate::domain::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, DomainResult, PatientId,
    SlotId,
};
use crate::store::accounts::lite;
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, AppointmentRow, AuditRow, DetailRow, ListedRow};
use crate::store::ListSql;

/// Columns of [`Appointment`] from alias `a`, with the effective status as of the SQL given for
/// "now" (`now_sql!()` in reads, a bound transaction instant in writes).
macro_rules! appt_cols {
    ($($now:tt)+) => {
        concat!(
            "a.id, a.patient_id, a.doctor_id, a.time_slot_id, a.appointment_date, a.appointment_time,
             CASE WHEN a.status = 'PENDING' AND a.expires_at <= ",
            $($now)+,
            " THEN 'EXPIRED' ELSE a.status END AS status,
             a.consultation_type, a.reason_for_visit, a.expires_at, a.confirmed_at, a.cancelled_at,
             a.cancellation_reason, a.completed_at, a.created_at, a.updated_at "
        )
    };
}

/// `a` filtered by effective status `?2` (NULL: any).
macro_rules! status_filter {
    () => {
        concat!(
            "(CASE WHEN a.status = 'PENDING' AND a.expires_at <= ",
            now_sql!(),
            " THEN 'EXPIRED' ELSE a.status END = ?2 OR (?2 IS NULL AND NOT (?4 AND (a.status = 'CANCELLED'
               OR a.status = 'EXPIRED' OR (a.status = 'PENDING' AND a.expires_at <= ",
            now_sql!(),
            ")))))"
        )
    };
}

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

/// The savepoint statements a group runs before a request's first statement (see `group.rs`),
/// folded into that statement's round trip where the request can: SQLite's round trips, not its
/// work, are what the single writer spends most on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opening {
    /// Alone, or the savepoint is already open.
    None,
    /// Opens the group's first savepoint.
    First,
    /// Keeps the previous request's writes and opens this one's savepoint.
    Next,
    /// Undoes the previous request's writes and opens this one's savepoint.
    UndoThenNext,
}

impl Opening {
    /// The statements on their own, for a request that cannot fold them into its first one.
    pub fn sql(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::First => Some("SAVEPOINT job"),
            Self::Next => Some("RELEASE job; SAVEPOINT job"),
            Self::UndoThenNext => Some("ROLLBACK TO job; RELEASE job; SAVEPOINT job"),
        }
    }

    /// Runs the statements on their own; afterwards there is nothing left to open.
    pub async fn run(self, conn: &mut SqliteConnection) -> Result<Opening, sqlx::Error> {
        if let Some(sql) = self.sql() {
            sqlx::query(sql).execute(conn).await?;
        }
        Ok(Self::None)
    }
}

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
fn book_backstop(e: sqlx::Error) -> TxError {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => DomainError::AlreadyBooked.into(),
        Some(db) if db.is_check_violation() => {
            DomainError::SlotUnavailable("This time slot is fully booked").into()
        }
        Some(db) if db.is_foreign_key_violation() => DomainError::NotFound("patient").into(),
        _ => e.into(),
    }
}

/// What a write use case run inside a larger transaction decided.
///
/// `Ok(Ok(v))`: done, keep its writes. `Ok(Err(refusal))`: refused, but keep its writes (an
/// overdue hold expired on the way is committed even when the request is refused, as on
/// PostgreSQL). `Err(TxError::Domain(e))`: refused, undo its writes. `Err(TxError::Db(e))`: the
/// database failed; the enclosing transaction must not be committed.
pub(super) type Step<T> = Result<Result<T, DomainError>, TxError>;

/// A write use case that can run inside a transaction it does not own: alone, or in a group
/// that shares one transaction and one commit (see `group.rs`).
#[async_trait]
pub(super) trait WriteStep: Sync {
    /// What the use case answers.
    type Out: Send;
    /// Runs the use case on `conn`, inside a write transaction, as of `now`, after the
    /// savepoint statements `opening` (which it may fold into its first statement).
    async fn step(
        &self,
        conn: &mut SqliteConnection,
        now: &str,
        opening: Opening,
    ) -> Step<Self::Out>;
}

/// Runs `step` alone in its own write transaction, retried as a whole on a busy database: the
/// path of a write that is not group-committed, and the fallback when a group fails.
pub(super) async fn alone<S: WriteStep>(pool: &SqlitePool, step: &S) -> DomainResult<S::Out> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let decided = step.step(&mut tx, &now, Opening::None).await?;
        tx.commit().await?;
        decided.map_err(TxError::Domain)
    })
    .await
}

/// A booking request with everything [`book_in`] needs, owned so it can wait in the group
/// commit queue.
#[derive(Debug, Clone)]
pub(super) struct BookRequest {
    /// Chosen once, so a retried attempt writes the same appointment.
    pub id: AppointmentId,
    pub new: NewAppointment,
    pub hold_secs: i64,
    pub max_holds: Option<i64>,
    pub key: Option<IdempotencyKey>,
    pub actor: Actor,
}

impl BookRequest {
    pub fn new(
        new: NewAppointment,
        hold_secs: i64,
        max_holds: Option<i64>,
        key: Option<IdempotencyKey>,
        actor: Actor,
    ) -> Self {
        Self {
            id: AppointmentId::time_ordered(),
            new,
            hold_secs,
            max_holds,
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

/// A transition request, owned so it can wait in the group commit queue.
#[derive(Debug, Clone)]
pub(super) struct TransitionRequest {
    pub id: AppointmentId,
    pub action: Action,
    pub reason: Option<String>,
    pub actor: Actor,
    pub terms: Option<OfferTerms>,
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
                    super::waitlist::offer_seats(conn, now, slot, 1, terms).await?;
                }
            }
            Ok(Err(refusal))
        }
        Verdict::Proceed => {
            apply(conn, &current, action, req.reason.as_deref(), actor, now).await?;
            if let Some(terms) = req.terms.filter(|_| action == Action::Cancel) {
                let slot = current.time_slot_id;
                super::waitlist::offer_seats(conn, now, slot, 1, terms).await?;
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

pub async fn detail(pool: &SqlitePool, id: AppointmentId) -> DomainResult<AppointmentDetail> {
    let row: Option<DetailRow> = retry(|| async move {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            appt_cols!(now_sql!()),
            ", d.name AS doctor_name, d.specialization AS doctor_specialization, d.clinic_name AS doctor_clinic_name,
               s.slot_date, s.slot_time, s.duration_minutes, s.starts_at AS slot_starts_at, p.name AS patient_name
             FROM appointments a
             JOIN doctors d ON d.id = a.doctor_id
             JOIN time_slots s ON s.id = a.time_slot_id
             JOIN patients p ON p.id = a.patient_id
             WHERE a.id = ?1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?)
    })
    .await?;
    rows::one(row)?.ok_or(DomainError::NotFound("appointment"))
}

pub async fn history(pool: &SqlitePool, id: AppointmentId) -> DomainResult<Vec<AuditEntry>> {
    let entries: Vec<AuditRow> = retry(|| async move {
        Ok(sqlx::query_as(
            "SELECT action, old_status, new_status, reason, at, actor, actor_role FROM appointment_audit_log
             WHERE appointment_id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?)
    })
    .await?;
    // Every appointment has its BOOK entry, so none means no such appointment.
    if entries.is_empty() {
        return Err(DomainError::NotFound("appointment"));
    }
    rows::all(entries)
}

/// `a` of one patient or doctor (`$col` = `?1`), on date `?3` (NULL: any), with effective
/// status `?2` (NULL: any).
/// The patient's and the doctor's names beside a listed appointment.
macro_rules! names {
    () => {
        "(SELECT p.name FROM patients p WHERE p.id = a.patient_id) AS patient_name,
         (SELECT d.name FROM doctors d WHERE d.id = a.doctor_id) AS doctor_name "
    };
}

macro_rules! owned_by {
    ($col:literal) => {
        concat!(
            "FROM appointments a WHERE a.",
            $col,
            " = ?1 AND (?3 IS NULL OR a.appointment_date = ?3) AND ",
            status_filter!()
        )
    };
}

const PATIENT_LIST: ListSql = ListSql {
    owner: "patient",
    exists: "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
    count: concat!("SELECT count(*) ", owned_by!("patient_id")),
    page: concat!(
        "SELECT ",
        appt_cols!(now_sql!()),
        ", ",
        names!(),
        owned_by!("patient_id"),
        " ORDER BY a.starts_at, a.id LIMIT ?5 OFFSET ?6"
    ),
};

const DOCTOR_LIST: ListSql = ListSql {
    owner: "doctor",
    exists: "SELECT EXISTS (SELECT 1 FROM doctors WHERE id = ?1)",
    count: concat!("SELECT count(*) ", owned_by!("doctor_id")),
    page: concat!(
        "SELECT ",
        appt_cols!(now_sql!()),
        ", ",
        names!(),
        owned_by!("doctor_id"),
        " ORDER BY a.starts_at, a.id LIMIT ?5 OFFSET ?6"
    ),
};

/// One page of an owner's appointments by slot start, read in one transaction so the
/// existence check, the total and the page share a snapshot; `NotFound(owner)` when the owner
/// does not exist.
async fn list(
    pool: &SqlitePool,
    sql: &ListSql,
    owner: uuid::Uuid,
    filter: AppointmentFilter,
    page: Page,
) -> DomainResult<Paged<Appointment>> {
    let status = filter.status.map(AppointmentStatus::as_str);
    let (total, items): (i64, Vec<ListedRow>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let exists: bool = sqlx::query_scalar(sql.exists)
            .bind(owner)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(DomainError::NotFound(sql.owner).into());
        }
        let total = sqlx::query_scalar(sql.count)
            .bind(owner)
            .bind(status)
            .bind(filter.date)
            .bind(filter.live_only)
            .fetch_one(&mut *tx)
            .await?;
        let items = sqlx::query_as(sql.page)
            .bind(owner)
            .bind(status)
            .bind(filter.date)
            .bind(filter.live_only)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((total, items))
    })
    .await?;
    rows::paged(total, items)
}

pub async fn for_patient(
    pool: &SqlitePool,
    patient: PatientId,
    status: Option<AppointmentStatus>,
    page: Page,
) -> DomainResult<Paged<Appointment>> {
    let filter = AppointmentFilter {
        date: None,
        status,
        live_only: false,
    };
    list(pool, &PATIENT_LIST, patient.0, filter, page).await
}

pub async fn for_doctor(
    pool: &SqlitePool,
    doctor: DoctorId,
    filter: AppointmentFilter,
    page: Page,
) -> DomainResult<Paged<Appointment>> {
    list(pool, &DOCTOR_LIST, doctor.0, filter, page).await
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
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let freed = expire_freed(&mut tx, &now, Due::All(chunk)).await?;
        let mut seats: BTreeMap<SlotId, usize> = BTreeMap::new();
        for slot in &freed {
            *seats.entry(*slot).or_default() += 1;
        }
        for (slot, n) in seats {
            super::waitlist::offer_seats(&mut tx, &now, slot, n, terms).await?;
        }
        tx.commit().await?;
        Ok(freed.len() as u64)
    })
    .await
}

pub async fn purge_keys(pool: &SqlitePool, max_age_secs: i64) -> DomainResult<u64> {
    let age = &format!("{:+} seconds", -max_age_secs);
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
        )
        .bind(age)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    })
    .await
}

mod moves;
pub use moves::{no_show, reschedule, slot_starts_in};
