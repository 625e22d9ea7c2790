//! Appointments on PostgreSQL: each write is one statement (a data-modifying CTE) that changes
//! the appointment, the slot's seat count and the audit log together, or nothing at all.

use super::TxPool;

use super::waitlist::{anyone_waiting, lock_line, offer_seats, two_pass, Pass};
use crate::domain::appointment::{Action, AppointmentStatus, AuditEntry, NewAppointment, Verdict};
use crate::domain::booking::{booking_refusal, SlotFacts};
use crate::domain::page::{Page, Paged};
use crate::domain::store::{Actor, AppointmentFilter, Booked, IdempotencyKey};
use crate::domain::user::{AccessAction, NewAccess};
use crate::domain::waitlist::OfferTerms;
use crate::domain::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, DomainResult, PatientId,
    SlotId,
};
use crate::store::accounts;
use crate::store::gate::SlotGate;
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, AppointmentRow, AuditRow, DetailRow, ListedRow};
use crate::store::ListSql;

/// Columns of [`Appointment`] from alias `a`, with the effective status.
macro_rules! appt_cols {
    () => {
        "a.id, a.patient_id, a.doctor_id, a.time_slot_id, a.appointment_date, a.appointment_time,
         CASE WHEN a.status = 'PENDING' AND a.expires_at <= now() THEN 'EXPIRED' ELSE a.status END AS status,
         a.consultation_type, a.reason_for_visit, a.expires_at, a.confirmed_at, a.cancelled_at,
         a.cancellation_reason, a.completed_at, a.created_at, a.updated_at "
    };
}

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
            appt_cols!(),
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
        WHERE id = $1 AND status = 'PENDING' AND expires_at > now() RETURNING *),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, ",
    access_cols!(),
    ")
        SELECT id, 'CONFIRM', 'PENDING', 'CONFIRMED', $2, $4, $5, $6, $7, $8 FROM upd)
     SELECT ",
    appt_cols!(),
    "FROM upd a"
);

const CANCEL: &str = concat!(
    "WITH prev AS (
        SELECT id, status, time_slot_id FROM appointments
        WHERE id = $1 AND (status = 'CONFIRMED' OR (status = 'PENDING' AND expires_at > now())) FOR UPDATE),
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
    appt_cols!(),
    "FROM upd a"
);

const COMPLETE: &str = concat!(
    "WITH upd AS (
        UPDATE appointments SET status = 'COMPLETED', completed_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'CONFIRMED' RETURNING *),
     audit AS (
        INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, ",
    access_cols!(),
    ")
        SELECT id, 'COMPLETE', 'CONFIRMED', 'COMPLETED', $2, $4, $5, $6, $7, $8 FROM upd)
     SELECT ",
    appt_cols!(),
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

/// Books. Only the booking statement itself runs in the slot's queue (`gate`): a refusal's
/// diagnosis afterwards changes no seat and need not hold up the requests behind it.
pub async fn book(
    pool: &TxPool,
    gate: &SlotGate<SlotId>,
    new: &NewAppointment,
    hold_secs: i64,
    max_holds: Option<i64>,
    key: Option<&IdempotencyKey>,
    actor: &Actor,
) -> DomainResult<Booked> {
    if let Some(k) = key {
        if let Some(b) = replay(pool, k).await? {
            return Ok(b);
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
            appt_cols!(),
            "FROM appointments a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?)
    })
    .await?;
    rows::one(found)?.ok_or(DomainError::NotFound("appointment"))
}

/// A transition statement with its parameters bound (see `access_cols!`).
fn bound<'q>(
    sql: &'q str,
    id: AppointmentId,
    reason: Option<&'q str>,
    actor: &'q Actor,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, AppointmentRow, sqlx::postgres::PgArguments> {
    let access = actor.access.as_ref();
    crate::store::statements::query_as(sql)
        .bind(id)
        .bind(&actor.id)
        .bind(reason)
        .bind(actor.role)
        .bind(access.map(|a| a.user_id))
        .bind(access.map(|a| &a.route))
        .bind(access.map(|a| &a.request_id))
        .bind(access.and_then(|a| a.break_glass.as_ref()))
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

/// Cancels and, in the same transaction, offers the freed seat to the first patient waiting
/// for it. `None`: the cancel changed nothing.
async fn cancel_offering(
    pool: &TxPool,
    id: AppointmentId,
    reason: Option<&str>,
    actor: &Actor,
    terms: OfferTerms,
) -> DomainResult<Option<Appointment>> {
    retry(|| {
        two_pass(|locked| async move {
            let mut tx = pool.begin().await?;
            if locked {
                lock_line(&mut tx).await?;
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

/// Confirms, cancels or completes. With `terms`, a cancel offers the freed seat to the
/// waitlist in its own transaction, and so does an overdue hold expired on the spot (a late
/// confirm of a lapsed offer passes the seat on).
pub async fn transition(
    pool: &TxPool,
    id: AppointmentId,
    action: Action,
    reason: Option<&str>,
    actor: &Actor,
    terms: Option<OfferTerms>,
    queue: Option<(&SlotGate<SlotId>, &[SlotId])>,
) -> DomainResult<Appointment> {
    for _ in 0..4 {
        // Only the write waits its turn on the slot; the diagnosis after it need not.
        let turn = match queue {
            Some((gate, slots)) => Some(gate.enter(slots).await?),
            None => None,
        };
        if let Some(terms) = terms.filter(|_| action == Action::Cancel) {
            if let Some(done) = cancel_offering(pool, id, reason, actor, terms).await? {
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

pub async fn detail(pool: &TxPool, id: AppointmentId) -> DomainResult<AppointmentDetail> {
    let row: Option<DetailRow> = retry(|| async move {
        Ok(crate::store::statements::query_as(concat!(
            "SELECT ",
            appt_cols!(),
            ", d.name AS doctor_name, d.specialization AS doctor_specialization, d.clinic_name AS doctor_clinic_name,
               s.slot_date, s.slot_time, s.duration_minutes, s.starts_at AS slot_starts_at, p.name AS patient_name
             FROM appointments a
             JOIN doctors d ON d.id = a.doctor_id
             JOIN time_slots s ON s.id = a.time_slot_id
             JOIN patients p ON p.id = a.patient_id
             WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?)
    })
    .await?;
    rows::one(row)?.ok_or(DomainError::NotFound("appointment"))
}

pub async fn history(pool: &TxPool, id: AppointmentId) -> DomainResult<Vec<AuditEntry>> {
    let entries: Vec<AuditRow> = retry(|| async move {
        Ok(crate::store::statements::query_as(
            "SELECT action, old_status, new_status, reason, at, actor, actor_role FROM appointment_audit_log
             WHERE appointment_id = $1 ORDER BY id",
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

/// `a` filtered by effective status `$2` (NULL: any).
macro_rules! status_filter {
    () => {
        "(CASE WHEN a.status = 'PENDING' AND a.expires_at <= now() THEN 'EXPIRED' ELSE a.status END
          = $2 OR ($2::text IS NULL AND NOT ($4::bool AND (a.status = 'CANCELLED'
             OR (a.status = 'PENDING' AND a.expires_at <= now()) OR a.status = 'EXPIRED'))))"
    };
}

/// `a` of one patient or doctor (`$col` = `$1`), on date `$3` (NULL: any), with effective
/// status `$2` (NULL: any, but CANCELLED and EXPIRED when `$4`).
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
            " = $1 AND ($3::date IS NULL OR a.appointment_date = $3) AND ",
            status_filter!()
        )
    };
}

const PATIENT_LIST: ListSql = ListSql {
    owner: "patient",
    exists: "SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)",
    count: concat!("SELECT count(*) ", owned_by!("patient_id")),
    page: concat!(
        "SELECT ",
        appt_cols!(),
        ", ",
        names!(),
        owned_by!("patient_id"),
        " ORDER BY a.starts_at, a.id LIMIT $5 OFFSET $6"
    ),
};

const DOCTOR_LIST: ListSql = ListSql {
    owner: "doctor",
    exists: "SELECT EXISTS (SELECT 1 FROM doctors WHERE id = $1)",
    count: concat!("SELECT count(*) ", owned_by!("doctor_id")),
    page: concat!(
        "SELECT ",
        appt_cols!(),
        ", ",
        names!(),
        owned_by!("doctor_id"),
        " ORDER BY a.starts_at, a.id LIMIT $5 OFFSET $6"
    ),
};

/// One page of an owner's appointments by slot start; `NotFound(owner)` when they do not exist.
async fn list(
    pool: &TxPool,
    sql: &ListSql,
    owner: uuid::Uuid,
    filter: AppointmentFilter,
    page: Page,
) -> DomainResult<Paged<Appointment>> {
    let status = filter.status.map(AppointmentStatus::as_str);
    let (total, items): (i64, Vec<ListedRow>) = super::snapshot(pool, |mut tx| async move {
        let exists: bool = crate::store::statements::query_scalar(sql.exists)
            .bind(owner)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(DomainError::NotFound(sql.owner).into());
        }
        let total = crate::store::statements::query_scalar(sql.count)
            .bind(owner)
            .bind(status)
            .bind(filter.date)
            .bind(filter.live_only)
            .fetch_one(&mut *tx)
            .await?;
        let items = crate::store::statements::query_as(sql.page)
            .bind(owner)
            .bind(status)
            .bind(filter.date)
            .bind(filter.live_only)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *tx)
            .await?;
        Ok(((total, items), tx))
    })
    .await?;
    rows::paged(total, items)
}

pub async fn for_patient(
    pool: &TxPool,
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
    pool: &TxPool,
    doctor: DoctorId,
    filter: AppointmentFilter,
    page: Page,
) -> DomainResult<Paged<Appointment>> {
    list(pool, &DOCTOR_LIST, doctor.0, filter, page).await
}

/// Expires up to `batch` overdue holds and, in the same transaction, offers each seat freed on a
/// slot someone waits for to the next in line (a lapsed offer's entry stays done).
pub async fn expire_due(pool: &TxPool, batch: i64, terms: OfferTerms) -> DomainResult<u64> {
    retry(|| {
        two_pass(|locked| async move {
            // Planned at each sweep: the sweeper's first runs see an empty table.
            let mut tx = pool.begin_replanned().await?;
            if locked {
                lock_line(&mut tx).await?;
            }
            let freed: Vec<(crate::domain::SlotId, bool)> =
                crate::store::statements::query_as(EXPIRE_DUE_FREED)
                    .bind(batch)
                    .fetch_all(&mut *tx)
                    .await?;
            let mut waited: std::collections::BTreeMap<crate::domain::SlotId, usize> =
                std::collections::BTreeMap::new();
            for (slot, _) in freed.iter().filter(|(_, waiting)| *waiting) {
                *waited.entry(*slot).or_default() += 1;
            }
            if !locked && !waited.is_empty() {
                // Rolled back before the locked pass, whose statements would wait on (or
                // skip) this transaction's row locks otherwise.
                tx.rollback().await?;
                return Ok(Pass::NeedsLock);
            }
            for (slot, seats) in waited {
                offer_seats(&mut tx, slot, seats, terms).await?;
            }
            tx.commit().await?;
            Ok(Pass::Done(freed.len() as u64))
        })
    })
    .await
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

mod moves;
pub use moves::{no_show, reschedule, slot_starts_in};
