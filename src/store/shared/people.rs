//! Doctors and patients, for both adapters (patient search is each adapter's own: a full-text
//! index on PostgreSQL, FTS5 on SQLite).

/// The people functions, expanded in an adapter's `people` module (see [`super`] for what the
/// expansion site supplies).
macro_rules! people_queries {
    () => {
        use super::tx::{begin_write, in_write, record_write, snapshot, Pool, WriteTx};
        use crate::domain::doctor::{Doctor, DoctorPatch, NewDoctor};
        use crate::domain::page::{Page, Paged};
        use crate::domain::patient::{NewPatient, Patient, PatientPatch};
        use crate::domain::user::{AccessAction, Accessor};
        use crate::domain::{DoctorId, DomainError, DomainResult, PatientId};
        use crate::store::binds::{bind_doctor_changes, bind_new_doctor, bind_patient};
        use crate::store::retry::retry;
        use crate::store::rows::{self, DoctorRow, PatientRow};
        use crate::store::shared::{count_and_page, duplicate, on_unique};
        use crate::store::statements::{query_as, query_scalar};

        const DOCTOR_EMAIL_TAKEN: &str = "A doctor with this e-mail already exists";
        const DOCTOR_LICENCE_TAKEN: &str = "A doctor with this licence number already exists";
        const PATIENT_EMAIL_TAKEN: &str = "A patient with this e-mail already exists";
        const DOCTOR_DUPES: &[(&str, &str)] = &[
            ("doctors.email", DOCTOR_EMAIL_TAKEN),
            ("doctors.license_number", DOCTOR_LICENCE_TAKEN),
        ];
        const PATIENT_DUPES: &[(&str, &str)] = &[("patients.email", PATIENT_EMAIL_TAKEN)];

        /// A patient search's page: `list` bound with the search's `arg`, the name `prefix` that
        /// ranks first, the limit and the offset, counting its matches in the same pass; only an
        /// empty page past the first counts apart, with `count` bound with `arg`.
        async fn searched(
            pool: &Pool,
            (list, count): (&str, &str),
            (arg, prefix): (&str, &str),
            page: Page,
        ) -> DomainResult<Paged<Patient>> {
            let (rows, total) = snapshot(pool, |mut tx| async move {
                let rows: Vec<crate::store::rows::CountedPatientRow> = query_as(list)
                    .bind(arg)
                    .bind(prefix)
                    .bind(page.limit)
                    .bind(page.offset)
                    .fetch_all(&mut *tx)
                    .await?;
                if !rows.is_empty() || page.offset == 0 {
                    return Ok(((rows, None), tx));
                }
                let total: i64 = query_scalar(count).bind(arg).fetch_one(&mut *tx).await?;
                Ok(((rows, Some(total)), tx))
            })
            .await?;
            Ok(rows::counted_patients(rows)?.unwrap_or(Paged {
                items: Vec::new(),
                total: total.unwrap_or(0),
            }))
        }

        /// Whether `sql` (a count with one `$1`) finds a row: the checks before a doctor's
        /// insert, so that the client hears about the e-mail before the licence number on both
        /// databases. The unique constraints back them against a twin request.
        async fn taken(
            tx: &mut WriteTx,
            sql: &'static str,
            value: &str,
        ) -> Result<bool, sqlx::Error> {
            let n: i64 = query_scalar(sql).bind(value).fetch_one(&mut **tx).await?;
            Ok(n > 0)
        }

        pub async fn create_doctor(pool: &Pool, d: NewDoctor) -> DomainResult<Doctor> {
            let (id, d) = (DoctorId::random(), &d);
            let row: DoctorRow = in_write(pool, |mut tx| async move {
                let email = "SELECT count(*) FROM doctors WHERE email = $1";
                if taken(&mut tx, email, d.email.as_str()).await? {
                    return Err(duplicate(DOCTOR_EMAIL_TAKEN));
                }
                let licence = "SELECT count(*) FROM doctors WHERE license_number = $1";
                if taken(&mut tx, licence, &d.license_number).await? {
                    return Err(duplicate(DOCTOR_LICENCE_TAKEN));
                }
                let row = bind_new_doctor!(query_as(
                    "INSERT INTO doctors (id, name, specialization, email, phone, license_number,
                                          clinic_name, address, bio, timezone)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *",
                )
                .bind(id), d)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| on_unique(e, DOCTOR_DUPES))?;
                Ok((row, tx))
            })
            .await?;
            row.try_into()
        }

        /// Active doctors, optionally of one specialization (`$1`, case-insensitive; SQLite's
        /// `lower()` folds ASCII letters only, so there a specialization differing only in the
        /// case of a non-ASCII letter does not match).
        macro_rules! doctor_filter {
            () => {
                "FROM doctors WHERE is_active
                 AND (CAST($1 AS TEXT) IS NULL OR lower(specialization) = lower($1))"
            };
        }

        pub async fn list_doctors(
            pool: &Pool,
            specialization: Option<&str>,
            page: Page,
        ) -> DomainResult<Paged<Doctor>> {
            let (total, items): (i64, Vec<DoctorRow>) = snapshot(pool, |mut tx| async move {
                let count = concat!("SELECT count(*) ", doctor_filter!());
                let list = concat!("SELECT * ", doctor_filter!(), " ORDER BY name, id LIMIT $2 OFFSET $3");
                Ok((count_and_page!(tx, count, list, page, specialization), tx))
            })
            .await?;
            rows::paged(total, items)
        }

        pub async fn get_doctor(pool: &Pool, id: DoctorId) -> DomainResult<Doctor> {
            let sql = "SELECT * FROM doctors WHERE id = $1";
            let found: Option<DoctorRow> =
                retry(|| async move { Ok(query_as(sql).bind(id).fetch_optional(pool).await?) })
                    .await?;
            rows::one(found)?.ok_or(DomainError::NotFound("doctor"))
        }

        pub async fn update_doctor(
            pool: &Pool,
            id: DoctorId,
            patch: DoctorPatch,
        ) -> DomainResult<Doctor> {
            let patch = &patch;
            let row: DoctorRow = in_write(pool, |mut tx| async move {
                let current: Option<DoctorRow> =
                    query_as(concat!("SELECT * FROM doctors WHERE id = $1", lock_sql!()))
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let current: Doctor =
                    rows::one(current)?.ok_or(DomainError::NotFound("doctor"))?;
                let d = patch.clone().apply(current);
                let updated = bind_doctor_changes!(query_as(concat!(
                    "UPDATE doctors SET name = $2, specialization = $3, phone = $4,
                            clinic_name = $5, address = $6, bio = $7, timezone = $8,
                            is_active = $9, updated_at = ",
                    now_sql!(),
                    " WHERE id = $1 RETURNING *"
                ))
                .bind(id), d)
                .bind(d.is_active)
                .fetch_one(&mut *tx)
                .await?;
                Ok((updated, tx))
            })
            .await?;
            row.try_into()
        }

        pub async fn create_patient(
            pool: &Pool,
            p: NewPatient,
            by: Option<Accessor>,
        ) -> DomainResult<Patient> {
            let by = &by;
            let (id, p) = (PatientId::random(), &p);
            let row: PatientRow = retry(|| async move {
                // No check before the insert: a SERIALIZABLE read of the e-mail index would
                // conflict with every concurrent registration; the constraint answers alone.
                let mut tx = begin_write(pool).await?;
                let row = bind_patient!(query_as(
                    "INSERT INTO patients (id, name, email, phone, date_of_birth, gender,
                                           blood_group, allergies, medical_history,
                                           emergency_contact_name, emergency_contact_phone)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *",
                )
                .bind(id), p)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| on_unique(e, PATIENT_DUPES))?;
                record_write(&mut tx, by.as_ref(), id, AccessAction::Create).await?;
                tx.commit().await?;
                Ok(row)
            })
            .await?;
            row.try_into()
        }

        /// In registration order: two patients registered in the same instant keep the order
        /// of their rows (`seq_sql!`).
        pub async fn list_patients(pool: &Pool, page: Page) -> DomainResult<Paged<Patient>> {
            let (total, items): (i64, Vec<PatientRow>) = snapshot(pool, |mut tx| async move {
                let count = "SELECT count(*) FROM patients";
                let list = concat!(
                    "SELECT * FROM patients ORDER BY created_at, ",
                    seq_sql!(),
                    " LIMIT $1 OFFSET $2"
                );
                Ok((count_and_page!(tx, count, list, page), tx))
            })
            .await?;
            rows::paged(total, items)
        }

        pub async fn get_patient(pool: &Pool, id: PatientId) -> DomainResult<Patient> {
            let sql = "SELECT * FROM patients WHERE id = $1";
            let found: Option<PatientRow> =
                retry(|| async move { Ok(query_as(sql).bind(id).fetch_optional(pool).await?) })
                    .await?;
            rows::one(found)?.ok_or(DomainError::NotFound("patient"))
        }

        pub async fn update_patient(
            pool: &Pool,
            id: PatientId,
            patch: PatientPatch,
            by: Option<Accessor>,
        ) -> DomainResult<Patient> {
            let (patch, by) = (&patch, &by);
            let row: PatientRow = in_write(pool, |mut tx| async move {
                let current: Option<PatientRow> =
                    query_as(concat!("SELECT * FROM patients WHERE id = $1", lock_sql!()))
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let current: Patient =
                    rows::one(current)?.ok_or(DomainError::NotFound("patient"))?;
                let p = patch.clone().apply(current);
                let updated = bind_patient!(query_as(concat!(
                    "UPDATE patients SET name = $2, email = $3, phone = $4, date_of_birth = $5,
                            gender = $6, blood_group = $7, allergies = $8, medical_history = $9,
                            emergency_contact_name = $10, emergency_contact_phone = $11,
                            updated_at = ",
                    now_sql!(),
                    " WHERE id = $1 RETURNING *"
                ))
                .bind(id), p)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| on_unique(e, PATIENT_DUPES))?;
                record_write(&mut tx, by.as_ref(), id, AccessAction::Update).await?;
                Ok((updated, tx))
            })
            .await?;
            row.try_into()
        }
    };
}
pub(crate) use people_queries;
