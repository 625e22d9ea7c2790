//! Reading appointments, for both adapters: one with its people and slot, its history, and the
//! pages of a patient's or a doctor's appointments. The writes are each adapter's own.

/// Columns of [`crate::domain::Appointment`] from alias `a`, with the effective status as of
/// the SQL given for "now" (`now_sql!()`, or a bound transaction instant in SQLite's writes).
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
pub(crate) use appt_cols;

/// `a` filtered by effective status `$2` (NULL: any, but CANCELLED and EXPIRED when `$4`).
macro_rules! status_filter {
    () => {
        concat!(
            "(CASE WHEN a.status = 'PENDING' AND a.expires_at <= ",
            now_sql!(),
            " THEN 'EXPIRED' ELSE a.status END = $2
              OR ($2 IS NULL AND NOT ($4 AND (a.status = 'CANCELLED' OR a.status = 'EXPIRED'
                  OR (a.status = 'PENDING' AND a.expires_at <= ",
            now_sql!(),
            ")))))"
        )
    };
}

/// The patient's and the doctor's names beside a listed appointment.
macro_rules! names {
    () => {
        "(SELECT p.name FROM patients p WHERE p.id = a.patient_id) AS patient_name,
         (SELECT d.name FROM doctors d WHERE d.id = a.doctor_id) AS doctor_name "
    };
}

/// `a` of one patient or doctor (`$col` = `$1`), on date `$3` (NULL: any), with effective
/// status `$2` (NULL: any, but CANCELLED and EXPIRED when `$4`).
macro_rules! owned_by {
    ($col:literal) => {
        concat!(
            "FROM appointments a WHERE a.",
            $col,
            " = $1 AND ($3 IS NULL OR a.appointment_date = $3) AND ",
            status_filter!()
        )
    };
}
pub(crate) use {names, owned_by, status_filter};

/// The read functions, expanded in an adapter's `appointments::reads` module with the path to
/// the adapter's `tx` module (see [`super`]).
macro_rules! appointment_reads {
    ($($tx:ident)::+) => {
        use $($tx)::+::{snapshot, Pool};
        use crate::domain::appointment::{AppointmentStatus, AuditEntry};
        use crate::domain::page::{Page, Paged};
        use crate::domain::store::AppointmentFilter;
        use crate::domain::{
            Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, DomainResult,
            PatientId,
        };
        use crate::store::options::ListSql;
        use crate::store::retry::retry;
        use crate::store::rows::{self, AuditRow, DetailRow, ListedRow};
        use crate::store::shared::count_and_page;
        use crate::store::shared::reads::{appt_cols, names, owned_by, status_filter};
        use crate::store::statements::{query_as, query_scalar};

        pub async fn detail(pool: &Pool, id: AppointmentId) -> DomainResult<AppointmentDetail> {
            let row: Option<DetailRow> = retry(|| async move {
                Ok(query_as(concat!(
                    "SELECT ",
                    appt_cols!(now_sql!()),
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

        pub async fn history(pool: &Pool, id: AppointmentId) -> DomainResult<Vec<AuditEntry>> {
            let entries: Vec<AuditRow> = retry(|| async move {
                Ok(query_as(
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

        const PATIENT_LIST: ListSql = ListSql {
            owner: "patient",
            exists: "SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)",
            count: concat!("SELECT count(*) ", owned_by!("patient_id")),
            page: concat!(
                "SELECT ",
                appt_cols!(now_sql!()),
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
                appt_cols!(now_sql!()),
                ", ",
                names!(),
                owned_by!("doctor_id"),
                " ORDER BY a.starts_at, a.id LIMIT $5 OFFSET $6"
            ),
        };

        /// One page of an owner's appointments by slot start; `NotFound(owner)` when they do not exist.
        async fn list(
            pool: &Pool,
            sql: &ListSql,
            owner: uuid::Uuid,
            filter: AppointmentFilter,
            page: Page,
        ) -> DomainResult<Paged<Appointment>> {
            let status = filter.status.map(AppointmentStatus::as_str);
            let (total, items): (i64, Vec<ListedRow>) =
                snapshot(pool, |mut tx| async move {
                    let exists: bool = query_scalar(sql.exists)
                        .bind(owner)
                        .fetch_one(&mut *tx)
                        .await?;
                    if !exists {
                        return Err(DomainError::NotFound(sql.owner).into());
                    }
                    let (date, live) = (filter.date, filter.live_only);
                    let found = count_and_page!(tx, sql.count, sql.page, page, owner, status, date, live);
                    Ok((found, tx))
                })
                .await?;
            rows::paged(total, items)
        }

        pub async fn for_patient(
            pool: &Pool,
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
            pool: &Pool,
            doctor: DoctorId,
            filter: AppointmentFilter,
            page: Page,
        ) -> DomainResult<Paged<Appointment>> {
            list(pool, &DOCTOR_LIST, doctor.0, filter, page).await
        }

        /// Every slot on `day` and its live appointments, in one snapshot: two statements
        /// for the whole clinic rather than two per doctor.
        pub async fn day_sheet(
            pool: &Pool,
            day: chrono::NaiveDate,
        ) -> DomainResult<crate::domain::store::DaySheet> {
            type Found = (Vec<crate::store::rows::SlotRow>, Vec<ListedRow>);
            let (slots, listed): Found = snapshot(pool, |mut tx| async move {
                let slots = query_as(concat!(
                    crate::store::shared::slots::slot_select!("WHERE s.slot_date = $1"),
                    "ORDER BY doctor_id, starts_at, id"
                ))
                .bind(day)
                .fetch_all(&mut *tx)
                .await?;
                // The patient's name by a join, and no doctor's name: the sheet's caller has
                // the doctors, and a subquery a row for each would double the statement's work.
                let listed = query_as(concat!(
                    "SELECT ",
                    appt_cols!(now_sql!()),
                    ", p.name AS patient_name, NULL AS doctor_name
                     FROM appointments a JOIN patients p ON p.id = a.patient_id
                     WHERE a.time_slot_id IN
                       (SELECT s.id FROM time_slots s WHERE s.slot_date BETWEEN $1 AND $3) AND ",
                    status_filter!(),
                    " ORDER BY a.starts_at, a.id"
                ))
                .bind(day)
                .bind(None::<&str>)
                .bind(day)
                .bind(true)
                .fetch_all(&mut *tx)
                .await?;
                Ok(((slots, listed), tx))
            })
            .await?;
            Ok(crate::domain::store::DaySheet {
                slots: rows::all(slots)?,
                appointments: rows::all(listed)?,
            })
        }
    };
}
pub(crate) use appointment_reads;
