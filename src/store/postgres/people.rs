//! Doctors and patients on PostgreSQL.

use super::tx_pool::TxPool;

use super::tx::on_unique;
use crate::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
use crate::domain::page::{Page, Paged};
use crate::domain::patient::{NewPatient, Patient, PatientPatch, PatientQuery};
use crate::domain::user::{AccessAction, Accessor};
use crate::domain::{DoctorId, DomainError, DomainResult, PatientId};
use crate::store::accounts::pg;
use crate::store::binds::{bind_doctor_changes, bind_new_doctor, bind_patient};
use crate::store::retry::retry;
use crate::store::rows::{self, CountedPatientRow, DoctorRow, PatientRow};

const DOCTOR_DUPES: &[(&str, &str)] = &[
    (
        "doctors_email_key",
        "A doctor with this e-mail already exists",
    ),
    (
        "doctors_license_number_key",
        "A doctor with this licence number already exists",
    ),
];
const PATIENT_DUPES: &[(&str, &str)] = &[(
    "patients_email_key",
    "A patient with this e-mail already exists",
)];

pub async fn create_doctor(pool: &TxPool, d: NewDoctor) -> DomainResult<Doctor> {
    let (id, d) = (DoctorId::random(), &d);
    let row: DoctorRow = retry(|| async move {
        bind_new_doctor!(crate::store::statements::query_as(
            "INSERT INTO doctors (id, name, specialization, email, phone, license_number, clinic_name, address, bio, timezone)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *",
        )
        .bind(id), d)
        .fetch_one(pool)
        .await
        .map_err(|e| on_unique(e, DOCTOR_DUPES))
    })
    .await?;
    row.try_into()
}

/// Active doctors, optionally of one specialization (`$1`, case-insensitive).
macro_rules! doctor_filter {
    () => {
        "FROM doctors WHERE is_active AND ($1::text IS NULL OR lower(specialization) = lower($1))"
    };
}

pub async fn list_doctors(
    pool: &TxPool,
    specialization: Option<&str>,
    page: Page,
) -> DomainResult<Paged<Doctor>> {
    let (total, rows): (i64, Vec<DoctorRow>) = super::tx::snapshot(pool, |mut tx| async move {
        let total =
            crate::store::statements::query_scalar(concat!("SELECT count(*) ", doctor_filter!()))
                .bind(specialization)
                .fetch_one(&mut *tx)
                .await?;
        let items = crate::store::statements::query_as(concat!(
            "SELECT * ",
            doctor_filter!(),
            " ORDER BY name, id LIMIT $2 OFFSET $3"
        ))
        .bind(specialization)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?;
        Ok(((total, items), tx))
    })
    .await?;
    rows::paged(total, rows)
}

pub async fn get_doctor(pool: &TxPool, id: DoctorId) -> DomainResult<Doctor> {
    let row: Option<DoctorRow> = retry(|| async move {
        Ok(
            crate::store::statements::query_as("SELECT * FROM doctors WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?,
        )
    })
    .await?;
    rows::one(row)?.ok_or(DomainError::NotFound("doctor"))
}

pub async fn update_doctor(
    pool: &TxPool,
    id: DoctorId,
    patch: DoctorPatch,
) -> DomainResult<Doctor> {
    let patch = &patch;
    let row: DoctorRow = retry(|| async move {
        let mut tx = pool.begin().await?;
        let current: Option<DoctorRow> = crate::store::statements::query_as("SELECT * FROM doctors WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let current: Doctor = rows::one(current)?.ok_or(DomainError::NotFound("doctor"))?;
        let d = patch.clone().apply(current);
        let updated = bind_doctor_changes!(crate::store::statements::query_as(
            "UPDATE doctors SET name = $2, specialization = $3, phone = $4, clinic_name = $5, address = $6,
                    bio = $7, timezone = $8, is_active = $9, updated_at = now()
             WHERE id = $1 RETURNING *",
        )
        .bind(id), d)
        .bind(d.is_active)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(updated)
    })
    .await?;
    row.try_into()
}

pub async fn create_patient(
    pool: &TxPool,
    p: NewPatient,
    by: Option<Accessor>,
) -> DomainResult<Patient> {
    let by = &by;
    let (id, p) = (PatientId::random(), &p);
    let row: PatientRow = retry(|| async move {
        let mut tx = pool.begin().await?;
        let row = bind_patient!(crate::store::statements::query_as(
            "INSERT INTO patients (id, name, email, phone, date_of_birth, gender, blood_group, allergies,
                                   medical_history, emergency_contact_name, emergency_contact_phone)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *",
        )
        .bind(id), p)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| on_unique(e, PATIENT_DUPES))?;
        pg::record_write(&mut tx, by.as_ref(), id, AccessAction::Create).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await?;
    row.try_into()
}

pub async fn list_patients(pool: &TxPool, page: Page) -> DomainResult<Paged<Patient>> {
    let (total, rows): (i64, Vec<PatientRow>) = super::tx::snapshot(pool, |mut tx| async move {
        let total = crate::store::statements::query_scalar("SELECT count(*) FROM patients")
            .fetch_one(&mut *tx)
            .await?;
        let items = crate::store::statements::query_as(
            "SELECT * FROM patients ORDER BY created_at, id LIMIT $1 OFFSET $2",
        )
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?;
        Ok(((total, items), tx))
    })
    .await?;
    rows::paged(total, rows)
}

/// The text-search vector of a patient, spelled exactly as `patients_search_idx` (migration
/// 0020) is, so the planner uses the index.
const SEARCH_VECTOR: &str = "to_tsvector('simple', coalesce(name, '') || ' ' || \
    replace(replace(coalesce(email, ''), '.', ' '), '@', ' ') || ' ' || coalesce(phone, '') || ' ' || \
    regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))";

pub async fn search_patients(
    pool: &TxPool,
    query: &PatientQuery,
    page: Page,
) -> DomainResult<Paged<Patient>> {
    let (filter, arg) = match query {
        PatientQuery::Born(d) => ("date_of_birth = $1::date".to_owned(), d.to_string()),
        PatientQuery::Words(words) => {
            let tsquery: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
            (
                format!("{SEARCH_VECTOR} @@ to_tsquery('simple', $1)"),
                tsquery.join(" & "),
            )
        }
    };
    let prefix = format!("{}%", query.first_word().unwrap_or_default());
    // The page and the number of matches in one pass; only a page past the end counts apart.
    // Ties in name keep registration order.
    let list = format!(
        "SELECT *, count(*) OVER () AS matches FROM patients WHERE {filter}
         ORDER BY (lower(name) LIKE $2) DESC, lower(name), created_at, id LIMIT $3 OFFSET $4"
    );
    let count = format!("SELECT count(*) FROM patients WHERE {filter}");
    let (count, list, arg, prefix) = (&count, &list, &arg, &prefix);
    let found = super::tx::snapshot(pool, |mut tx| async move {
        let rows: Vec<CountedPatientRow> = crate::store::statements::query_as(list)
            .bind(arg)
            .bind(prefix)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *tx)
            .await?;
        if !rows.is_empty() || page.offset == 0 {
            return Ok(((rows, None), tx));
        }
        let total: i64 = crate::store::statements::query_scalar(count)
            .bind(arg)
            .fetch_one(&mut *tx)
            .await?;
        Ok(((rows, Some(total)), tx))
    })
    .await?;
    let (rows, total) = found;
    Ok(rows::counted_patients(rows)?.unwrap_or(Paged {
        items: Vec::new(),
        total: total.unwrap_or(0),
    }))
}

pub async fn get_patient(pool: &TxPool, id: PatientId) -> DomainResult<Patient> {
    let row: Option<PatientRow> = retry(|| async move {
        Ok(
            crate::store::statements::query_as("SELECT * FROM patients WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?,
        )
    })
    .await?;
    rows::one(row)?.ok_or(DomainError::NotFound("patient"))
}

pub async fn update_patient(
    pool: &TxPool,
    id: PatientId,
    patch: PatientPatch,
    by: Option<Accessor>,
) -> DomainResult<Patient> {
    let (patch, by) = (&patch, &by);
    let row: PatientRow = retry(|| async move {
        let mut tx = pool.begin().await?;
        let current: Option<PatientRow> = crate::store::statements::query_as("SELECT * FROM patients WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let current: Patient = rows::one(current)?.ok_or(DomainError::NotFound("patient"))?;
        let p = patch.clone().apply(current);
        let updated = bind_patient!(crate::store::statements::query_as(
            "UPDATE patients SET name = $2, email = $3, phone = $4, date_of_birth = $5, gender = $6,
                    blood_group = $7, allergies = $8, medical_history = $9, emergency_contact_name = $10,
                    emergency_contact_phone = $11, updated_at = now()
             WHERE id = $1 RETURNING *",
        )
        .bind(id), p)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| on_unique(e, PATIENT_DUPES))?;
        pg::record_write(&mut tx, by.as_ref(), id, AccessAction::Update).await?;
        tx.commit().await?;
        Ok(updated)
    })
    .await?;
    row.try_into()
}
