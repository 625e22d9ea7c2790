//! Reading appointments on SQLite: one with its people and slot, its history, and the pages of
//! a patient's or a doctor's appointments.

use sqlx::SqlitePool;

use crate::domain::appointment::{AppointmentStatus, AuditEntry};
use crate::domain::page::{Page, Paged};
use crate::domain::store::AppointmentFilter;
use crate::domain::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, DomainResult, PatientId,
};
use crate::store::options::ListSql;
use crate::store::retry::retry;
use crate::store::rows::{self, AuditRow, DetailRow, ListedRow};

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
