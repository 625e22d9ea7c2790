//! Doctors and patients on SQLite.

use sqlx::SqlitePool;

use super::tx::{begin_write, exists, on_unique};
use crate::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
use crate::domain::page::{Page, Paged};
use crate::domain::patient::{NewPatient, Patient, PatientPatch, PatientQuery};
use crate::domain::user::{AccessAction, Accessor};
use crate::domain::{DoctorId, DomainError, DomainResult, PatientId};
use crate::store::accounts::lite;
use crate::store::binds::{bind_doctor_changes, bind_new_doctor, bind_patient};
use crate::store::retry::{retry, TxError};
use crate::store::rows::{self, CountedPatientRow, DoctorRow, PatientRow};

const DOCTOR_EMAIL_TAKEN: &str = "A doctor with this e-mail already exists";
const DOCTOR_LICENCE_TAKEN: &str = "A doctor with this licence number already exists";
const PATIENT_EMAIL_TAKEN: &str = "A patient with this e-mail already exists";

const DOCTOR_DUPES: &[(&str, &str)] = &[
    ("doctors.email", DOCTOR_EMAIL_TAKEN),
    ("doctors.license_number", DOCTOR_LICENCE_TAKEN),
];
const PATIENT_DUPES: &[(&str, &str)] = &[("patients.email", PATIENT_EMAIL_TAKEN)];

/// Active doctors, optionally of one specialization. `lower()` folds ASCII letters only on
/// SQLite (PostgreSQL folds all of Unicode): "CARDIOLOGY" matches "cardiology", but a
/// specialization differing only in the case of a non-ASCII letter does not match here.
macro_rules! doctor_filter {
    () => {
        "FROM doctors WHERE is_active AND (?1 IS NULL OR lower(specialization) = lower(?1))"
    };
}

fn duplicate(message: &str) -> TxError {
    TxError::Domain(DomainError::Duplicate(message.to_owned()))
}

pub async fn create_doctor(pool: &SqlitePool, d: NewDoctor) -> DomainResult<Doctor> {
    let (id, d) = (DoctorId::random(), &d);
    let row: DoctorRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        // Writes are serialized, so these checks cannot race; the UNIQUE constraints back them.
        // E-mail first, as PostgreSQL reports the first unique constraint of the table.
        if exists(&mut tx, "SELECT 1 FROM doctors WHERE email = ?1", d.email.as_str()).await? {
            return Err(duplicate(DOCTOR_EMAIL_TAKEN));
        }
        let licence = "SELECT 1 FROM doctors WHERE license_number = ?1";
        if exists(&mut tx, licence, &d.license_number).await? {
            return Err(duplicate(DOCTOR_LICENCE_TAKEN));
        }
        bind_new_doctor!(sqlx::query(
            "INSERT INTO doctors (id, name, specialization, email, phone, license_number, clinic_name, address, bio, timezone)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(id), d)
        .execute(&mut *tx)
        .await
        .map_err(|e| on_unique(e, DOCTOR_DUPES))?;
        let doctor = sqlx::query_as("SELECT * FROM doctors WHERE id = ?1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(doctor)
    })
    .await?;
    row.try_into()
}

pub async fn list_doctors(
    pool: &SqlitePool,
    specialization: Option<&str>,
    page: Page,
) -> DomainResult<Paged<Doctor>> {
    let (total, items): (i64, Vec<DoctorRow>) = retry(|| async move {
        // One read transaction: the total and the page share a snapshot.
        let mut tx = pool.begin().await?;
        let total: i64 = sqlx::query_scalar(concat!("SELECT count(*) ", doctor_filter!()))
            .bind(specialization)
            .fetch_one(&mut *tx)
            .await?;
        let items = sqlx::query_as(concat!(
            "SELECT * ",
            doctor_filter!(),
            " ORDER BY name, id LIMIT ?2 OFFSET ?3"
        ))
        .bind(specialization)
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

pub async fn get_doctor(pool: &SqlitePool, id: DoctorId) -> DomainResult<Doctor> {
    let found: Option<DoctorRow> = retry(|| async move {
        Ok(sqlx::query_as("SELECT * FROM doctors WHERE id = ?1")
            .bind(id)
            .fetch_optional(pool)
            .await?)
    })
    .await?;
    rows::one(found)?.ok_or(DomainError::NotFound("doctor"))
}

pub async fn update_doctor(
    pool: &SqlitePool,
    id: DoctorId,
    patch: DoctorPatch,
) -> DomainResult<Doctor> {
    let patch = &patch;
    let row: DoctorRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let current: Option<DoctorRow> = sqlx::query_as("SELECT * FROM doctors WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let current: Doctor = rows::one(current)?.ok_or(DomainError::NotFound("doctor"))?;
        let d = patch.clone().apply(current);
        bind_doctor_changes!(sqlx::query(concat!(
            "UPDATE doctors SET name = ?2, specialization = ?3, phone = ?4, clinic_name = ?5, address = ?6,
                    bio = ?7, timezone = ?8, is_active = ?9, updated_at = ",
            now_sql!(),
            " WHERE id = ?1"
        ))
        .bind(id), d)
        .bind(d.is_active)
        .execute(&mut *tx)
        .await?;
        let updated = sqlx::query_as("SELECT * FROM doctors WHERE id = ?1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(updated)
    })
    .await?;
    row.try_into()
}

pub async fn create_patient(
    pool: &SqlitePool,
    p: NewPatient,
    by: Option<Accessor>,
) -> DomainResult<Patient> {
    let by = &by;
    let (id, p) = (PatientId::random(), &p);
    let row: PatientRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        if exists(&mut tx, "SELECT 1 FROM patients WHERE email = ?1", p.email.as_str()).await? {
            return Err(duplicate(PATIENT_EMAIL_TAKEN));
        }
        bind_patient!(sqlx::query(
            "INSERT INTO patients (id, name, email, phone, date_of_birth, gender, blood_group, allergies,
                                   medical_history, emergency_contact_name, emergency_contact_phone)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .bind(id), p)
        .execute(&mut *tx)
        .await
        .map_err(|e| on_unique(e, PATIENT_DUPES))?;
        let patient = sqlx::query_as("SELECT * FROM patients WHERE id = ?1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        lite::record_write(&mut tx, by.as_ref(), id, AccessAction::Create).await?;
        tx.commit().await?;
        Ok(patient)
    })
    .await?;
    row.try_into()
}

pub async fn list_patients(pool: &SqlitePool, page: Page) -> DomainResult<Paged<Patient>> {
    let (total, items): (i64, Vec<PatientRow>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
            .fetch_one(&mut *tx)
            .await?;
        // Instants are stored to the millisecond, so two patients registered within the same
        // millisecond tie on created_at. The rowid (assigned in commit order, as writes are
        // serialized) breaks the tie in registration order, which is what PostgreSQL's
        // microsecond timestamps give in practice.
        let items =
            sqlx::query_as("SELECT * FROM patients ORDER BY created_at, rowid LIMIT ?1 OFFSET ?2")
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

pub async fn search_patients(
    pool: &SqlitePool,
    query: &PatientQuery,
    page: Page,
) -> DomainResult<Paged<Patient>> {
    // FTS5 prefix queries on the index of migration 0015; the words hold letters and digits
    // only, so quoting them is enough to keep FTS5's syntax out. The matches are ranked on the
    // index's own copy of the name, and only the page's rows are read from `patients`.
    let (source, arg) = match query {
        PatientQuery::Born(d) => (
            "SELECT rowid AS rid, name FROM patients WHERE date_of_birth = ?1",
            d.to_string(),
        ),
        PatientQuery::Words(words) => {
            let terms: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            (
                "SELECT rowid AS rid, name FROM patients_fts WHERE patients_fts MATCH ?1",
                terms.join(" AND "),
            )
        }
    };
    let prefix = format!("{}%", query.first_word().unwrap_or_default());
    // The page and the number of matches in one pass; only a page past the end counts apart.
    // Ties in name keep registration order (the rowid), as on PostgreSQL.
    let list = format!(
        "WITH hits AS (
             SELECT rid, lower(name) LIKE ?2 AS first, lower(name) AS key,
                    count(*) OVER () AS matches
             FROM ({source}) ORDER BY first DESC, key, rid LIMIT ?3 OFFSET ?4)
         SELECT p.*, h.matches FROM hits h JOIN patients p ON p.rowid = h.rid
         ORDER BY h.first DESC, h.key, h.rid"
    );
    let count = format!("SELECT count(*) FROM ({source})");
    let (count, list, arg, prefix) = (&count, &list, &arg, &prefix);
    let (rows, total) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let rows: Vec<CountedPatientRow> = sqlx::query_as(list)
            .bind(arg)
            .bind(prefix)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *tx)
            .await?;
        let total: Option<i64> = if rows.is_empty() && page.offset > 0 {
            Some(
                sqlx::query_scalar(count)
                    .bind(arg)
                    .fetch_one(&mut *tx)
                    .await?,
            )
        } else {
            None
        };
        tx.commit().await?;
        Ok((rows, total))
    })
    .await?;
    Ok(rows::counted_patients(rows)?.unwrap_or(Paged {
        items: Vec::new(),
        total: total.unwrap_or(0),
    }))
}

pub async fn get_patient(pool: &SqlitePool, id: PatientId) -> DomainResult<Patient> {
    let found: Option<PatientRow> = retry(|| async move {
        Ok(sqlx::query_as("SELECT * FROM patients WHERE id = ?1")
            .bind(id)
            .fetch_optional(pool)
            .await?)
    })
    .await?;
    rows::one(found)?.ok_or(DomainError::NotFound("patient"))
}

pub async fn update_patient(
    pool: &SqlitePool,
    id: PatientId,
    patch: PatientPatch,
    by: Option<Accessor>,
) -> DomainResult<Patient> {
    let (patch, by) = (&patch, &by);
    let row: PatientRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let current: Option<PatientRow> = sqlx::query_as("SELECT * FROM patients WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let current: Patient = rows::one(current)?.ok_or(DomainError::NotFound("patient"))?;
        let p = patch.clone().apply(current);
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM patients WHERE email = ?1 AND id <> ?2")
                .bind(p.email.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(duplicate(PATIENT_EMAIL_TAKEN));
        }
        bind_patient!(sqlx::query(concat!(
            "UPDATE patients SET name = ?2, email = ?3, phone = ?4, date_of_birth = ?5, gender = ?6,
                    blood_group = ?7, allergies = ?8, medical_history = ?9, emergency_contact_name = ?10,
                    emergency_contact_phone = ?11, updated_at = ",
            now_sql!(),
            " WHERE id = ?1"
        ))
        .bind(id), p)
        .execute(&mut *tx)
        .await
        .map_err(|e| on_unique(e, PATIENT_DUPES))?;
        let updated = sqlx::query_as("SELECT * FROM patients WHERE id = ?1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        lite::record_write(&mut tx, by.as_ref(), id, AccessAction::Update).await?;
        tx.commit().await?;
        Ok(updated)
    })
    .await?;
    row.try_into()
}
