//! Appointments on SQLite. Each write is one `BEGIN IMMEDIATE` transaction on the single writer
//! connection that reads the state, decides with the shared rules ([`Action::verdict`],
//! [`booking_refusal`]) and applies the change to the appointment, the slot's seat count and the
//! audit log together. No other write can interleave, so the decision still holds when applied.

use std::collections::BTreeMap;

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
use crate::store::rows::{self, AppointmentRow, AuditRow, DetailRow};
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
            "(?2 IS NULL OR CASE WHEN a.status = 'PENDING' AND a.expires_at <= ",
            now_sql!(),
            " THEN 'EXPIRED' ELSE a.status END = ?2)"
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

/// What the booking needs to know about its patient, doctor and slot. Overdue holds of the slot
/// have been expired just before, so the stored seat count and statuses are the effective ones.
async fn facts(
    conn: &mut SqliteConnection,
    new: &NewAppointment,
    now: &str,
) -> Result<SlotFacts, sqlx::Error> {
    type Row = (
        bool,
        bool,
        Option<DoctorId>,
        Option<chrono::NaiveDate>,
        Option<chrono::NaiveTime>,
        Option<String>,
        Option<bool>,
        Option<bool>,
        bool,
    );
    let (patient, doctor, owner, date, time, status, future, full, held): Row = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1),
                EXISTS (SELECT 1 FROM doctors WHERE id = ?2),
                s.doctor_id, s.slot_date, s.slot_time, s.status, s.starts_at > ?4,
                s.current_bookings >= s.max_capacity,
                EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id AND a.patient_id = ?1
                        AND a.status IN ('PENDING', 'CONFIRMED'))
         FROM (SELECT 1) one LEFT JOIN time_slots s ON s.id = ?3",
    )
    .bind(new.patient_id)
    .bind(new.doctor_id)
    .bind(new.time_slot_id)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(SlotFacts {
        patient_exists: patient,
        doctor_exists: doctor,
        owner,
        date,
        time,
        blocked: status.as_deref() == Some("BLOCKED"),
        future: future.unwrap_or(false),
        full: full.unwrap_or(false),
        already_held: held,
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

pub async fn book(
    pool: &SqlitePool,
    new: &NewAppointment,
    hold_secs: i64,
    max_holds: Option<i64>,
    key: Option<&IdempotencyKey>,
    actor: &Actor,
) -> DomainResult<Booked> {
    let id = AppointmentId::random();
    let hold = &format!("{hold_secs:+} seconds");
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = &db_now(&mut tx).await?;
        if let Some(k) = key {
            if let Some(b) = replay(&mut tx, k, now).await? {
                return Ok(b);
            }
        }
        // Overdue holds still count in the stored seat count until expired: expire this slot's
        // now, so the seat count and the patient's live holds are the effective ones. This is
        // committed even when the booking is refused, as on PostgreSQL.
        expire(&mut tx, now, Due::OnSlot(new.time_slot_id)).await?;
        if let Some(refusal) = booking_refusal(new, facts(&mut tx, new, now).await?) {
            tx.commit().await?;
            return Err(refusal.into());
        }
        if let Some(max) = max_holds {
            // Writes are serialized, so the count cannot change before the insert.
            let holds: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM appointments WHERE patient_id = ?1 AND status = 'PENDING' AND expires_at > ?2",
            )
            .bind(new.patient_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            if holds >= max {
                tx.commit().await?;
                return Err(DomainError::HoldLimit(max).into());
            }
        }
        sqlx::query(
            "UPDATE time_slots SET current_bookings = current_bookings + 1, updated_at = ?2 WHERE id = ?1",
        )
        .bind(new.time_slot_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(book_backstop)?;
        sqlx::query(
            "INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                                       starts_at, consultation_type, reason_for_visit, expires_at,
                                       created_at, updated_at)
             SELECT ?1, ?2, s.doctor_id, s.id, s.slot_date, s.slot_time, s.starts_at, ?4, ?5,
                    strftime('%Y-%m-%dT%H:%M:%fZ', ?6, ?7), ?6, ?6
             FROM time_slots s WHERE s.id = ?3",
        )
        .bind(id)
        .bind(new.patient_id)
        .bind(new.time_slot_id)
        .bind(new.consultation_type.as_str())
        .bind(&new.reason_for_visit)
        .bind(now)
        .bind(hold)
        .execute(&mut *tx)
        .await
        .map_err(book_backstop)?;
        let (patient, pending) = (new.patient_id, AppointmentStatus::Pending);
        audit(&mut tx, id, patient, AuditAction::Book, None, pending, None, actor).await?;
        if let Some(k) = key {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, fingerprint, appointment_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(&k.key)
            .bind(&k.fingerprint)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let appointment = load(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(Booked {
            appointment,
            replayed: false,
        })
    })
    .await
}

/// Appends one entry to the appointment's audit trail and, for a person, the access record of
/// the patient whose appointment it is.
#[allow(clippy::too_many_arguments)]
async fn audit(
    conn: &mut SqliteConnection,
    id: AppointmentId,
    patient: PatientId,
    action: AuditAction,
    old: Option<AppointmentStatus>,
    new: AppointmentStatus,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor, actor_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(id)
    .bind(action.as_str())
    .bind(old.map(AppointmentStatus::as_str))
    .bind(new.as_str())
    .bind(reason)
    .bind(&actor.id)
    .bind(actor.role)
    .execute(&mut *conn)
    .await?;
    let access = match action {
        AuditAction::Book => AccessAction::Create,
        _ => AccessAction::Update,
    };
    lite::record_write(conn, actor.access.as_ref(), patient, access).await
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
        current.patient_id,
        action.audit(),
        Some(current.status),
        action.target(),
        reason,
        actor,
    )
    .await?;
    Ok(())
}

/// Confirms, cancels or completes. With `terms`, a cancel offers the freed seat to the first
/// patient waiting for it in the same transaction, and so does an overdue hold expired on the
/// spot (a late confirm of a lapsed offer passes the seat on).
pub async fn transition(
    pool: &SqlitePool,
    id: AppointmentId,
    action: Action,
    reason: Option<&str>,
    actor: &Actor,
    terms: Option<OfferTerms>,
) -> DomainResult<Appointment> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = &db_now(&mut tx).await?;
        let current = load(&mut tx, id, now).await?;
        let status = current.status;
        match action.verdict(status) {
            // Nothing changes; the request still touched the patient's appointment.
            Verdict::AlreadyDone => {
                let (by, patient) = (actor.access.as_ref(), current.patient_id);
                lite::record_write(&mut tx, by, patient, AccessAction::Update).await?;
                tx.commit().await?;
                Ok(current)
            }
            Verdict::Refuse(refusal) => {
                if status == AppointmentStatus::Expired {
                    // Overdue but maybe not yet swept: mark it now so its seat comes back, and
                    // commit that although the request itself is refused.
                    // With `terms`, the seat goes to the next patient waiting for it.
                    let freed = expire_freed(&mut tx, now, Due::One(id)).await?;
                    if let Some(terms) = terms {
                        for slot in freed {
                            super::waitlist::offer_seats(&mut tx, now, slot, 1, terms).await?;
                        }
                    }
                    tx.commit().await?;
                }
                Err(refusal.into_error(action).into())
            }
            Verdict::Proceed => {
                apply(&mut tx, &current, action, reason, actor, now).await?;
                if let Some(terms) = terms.filter(|_| action == Action::Cancel) {
                    let slot = current.time_slot_id;
                    super::waitlist::offer_seats(&mut tx, now, slot, 1, terms).await?;
                }
                let updated = load(&mut tx, id, now).await?;
                tx.commit().await?;
                Ok(updated)
            }
        }
    })
    .await
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
        owned_by!("patient_id"),
        " ORDER BY a.starts_at, a.id LIMIT ?4 OFFSET ?5"
    ),
};

const DOCTOR_LIST: ListSql = ListSql {
    owner: "doctor",
    exists: "SELECT EXISTS (SELECT 1 FROM doctors WHERE id = ?1)",
    count: concat!("SELECT count(*) ", owned_by!("doctor_id")),
    page: concat!(
        "SELECT ",
        appt_cols!(now_sql!()),
        owned_by!("doctor_id"),
        " ORDER BY a.starts_at, a.id LIMIT ?4 OFFSET ?5"
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
    let (total, items): (i64, Vec<AppointmentRow>) = retry(|| async move {
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
            .fetch_one(&mut *tx)
            .await?;
        let items = sqlx::query_as(sql.page)
            .bind(owner)
            .bind(status)
            .bind(filter.date)
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
    let filter = AppointmentFilter { date: None, status };
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

/// Expires up to `batch` overdue holds and, in the same transaction, offers each freed seat to
/// the next patient waiting for it (a lapsed offer's entry stays done).
pub async fn expire_due(pool: &SqlitePool, batch: i64, terms: OfferTerms) -> DomainResult<u64> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        // A negative LIMIT means "no limit" to SQLite; a batch is never that.
        let freed = expire_freed(&mut tx, &now, Due::All(batch.max(0))).await?;
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
