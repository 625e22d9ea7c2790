//! Accounts: creation, sign-up, credentials, changes, passwords and second factors.

/// The account functions for one backend: `$db` the sqlx database, `$pool` its pool type (PostgreSQL's sets each transaction's
/// isolation level itself behind a pooler), `$now` its SQL for the current instant,
/// `$ago_open`/`$ago_close` wrapped around a placeholder of seconds to make "that many seconds
/// before now".
macro_rules! user_queries {
    ($db:ty, $pool:ty, $now:literal, $ago_open:literal, $ago_close:literal) => {
        use sqlx::Executor;

        use crate::domain::page::{Page, Paged};
        use crate::domain::patient::{NewPatient, Patient};
        use crate::domain::user::{AccessAction, Accessor, Credentials, NewUser, Role, User, UserPatch};
        use crate::domain::{DomainError, DomainResult, PatientId, SessionId, UserId};
        use crate::store::binds::bind_patient;
        use crate::store::retry::{TxError, in_tx, retry};
        use crate::store::rows::{self, PatientRow, UserRow};

        use super::access::record_write;

        const EMAIL_TAKEN: &str = "An account with this e-mail already exists";
        const SIGNED_UP: &str = "An account or a patient with this e-mail already exists";

        fn dup(m: &str) -> TxError {
            TxError::Domain(DomainError::Duplicate(m.to_owned()))
        }

        /// A unique violation is a twin request that won the race past the checks above it.
        fn on_unique(m: &'static str) -> impl Fn(sqlx::Error) -> TxError {
            move |e| match e.as_database_error() {
                Some(db) if db.is_unique_violation() => dup(m),
                _ => TxError::Db(e),
            }
        }

        async fn exists<'c, E: Executor<'c, Database = $db>>(
            conn: E,
            sql: &'static str,
            id: uuid::Uuid,
        ) -> Result<bool, sqlx::Error> {
            let n: i64 = crate::store::statements::query_scalar(sql).bind(id).fetch_one(conn).await?;
            Ok(n > 0)
        }

        async fn email_taken<'c, E: Executor<'c, Database = $db>>(
            conn: E,
            email: &str,
        ) -> Result<bool, sqlx::Error> {
            let n: i64 =
                crate::store::statements::query_scalar("SELECT count(*) FROM users WHERE lower(email) = lower($1)")
                    .bind(email)
                    .fetch_one(conn)
                    .await?;
            Ok(n > 0)
        }

        /// Writes access records on the caller's connection (inside its transaction).
        pub async fn create_user(pool: &$pool, new: &NewUser) -> DomainResult<User> {
            let id = UserId::random();
            let row: UserRow = in_tx(|| pool.begin(), |mut tx| async move {
                if email_taken(&mut *tx, new.email.as_str()).await? {
                    return Err(dup(EMAIL_TAKEN));
                }
                if let Some(d) = new.doctor_id {
                    if !exists(&mut *tx, "SELECT count(*) FROM doctors WHERE id = $1", d.0).await? {
                        return Err(DomainError::NotFound("doctor").into());
                    }
                }
                if let Some(p) = new.patient_id {
                    if !exists(&mut *tx, "SELECT count(*) FROM patients WHERE id = $1", p.0).await? {
                        return Err(DomainError::NotFound("patient").into());
                    }
                    if exists(&mut *tx, "SELECT count(*) FROM users WHERE patient_id = $1", p.0).await? {
                        return Err(dup("This patient already has an account"));
                    }
                }
                let row = crate::store::statements::query_as(
                    "INSERT INTO users (id, email, password_hash, role, doctor_id, patient_id)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                )
                .bind(id)
                .bind(new.email.as_str())
                .bind(&new.password_hash)
                .bind(new.role.as_str())
                .bind(new.doctor_id)
                .bind(new.patient_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(on_unique(EMAIL_TAKEN))?;
                Ok((row, tx))
            })
            .await?;
            row.try_into()
        }

        pub async fn register_patient(
            pool: &$pool,
            p: &NewPatient,
            password_hash: &str,
            route: &str,
            request_id: &str,
        ) -> DomainResult<(Patient, User)> {
            let (pid, uid) = (PatientId::random(), UserId::random());
            let (patient, user): (PatientRow, UserRow) = in_tx(|| pool.begin(), |mut tx| async move {
                let taken: i64 =
                    crate::store::statements::query_scalar("SELECT count(*) FROM patients WHERE lower(email) = lower($1)")
                        .bind(p.email.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                if taken > 0 || email_taken(&mut *tx, p.email.as_str()).await? {
                    return Err(dup(SIGNED_UP));
                }
                let patient: PatientRow = bind_patient!(crate::store::statements::query_as(
                    "INSERT INTO patients (id, name, email, phone, date_of_birth, gender, blood_group, allergies,
                                           medical_history, emergency_contact_name, emergency_contact_phone)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *",
                )
                .bind(pid), p)
                .fetch_one(&mut *tx)
                .await
                .map_err(on_unique(SIGNED_UP))?;
                let user: UserRow = crate::store::statements::query_as(
                    "INSERT INTO users (id, email, password_hash, role, patient_id)
                     VALUES ($1, $2, $3, 'patient', $4) RETURNING *",
                )
                .bind(uid)
                .bind(p.email.as_str())
                .bind(password_hash)
                .bind(pid)
                .fetch_one(&mut *tx)
                .await
                .map_err(on_unique(SIGNED_UP))?;
                let by = Accessor {
                    user_id: uid,
                    role: Role::Patient,
                    route: route.to_owned(),
                    request_id: request_id.to_owned(),
                    break_glass: None,
                };
                record_write(&mut *tx, Some(&by), pid, AccessAction::Create).await?;
                Ok(((patient, user), tx))
            })
            .await?;
            Ok((patient.try_into()?, user.try_into()?))
        }

        pub async fn credentials(
            pool: &$pool,
            email: &str,
        ) -> DomainResult<Option<Credentials>> {
            let row: Option<UserRow> = retry(|| async move {
                Ok(crate::store::statements::query_as("SELECT * FROM users WHERE lower(email) = lower($1)")
                    .bind(email)
                    .fetch_optional(pool)
                    .await?)
            })
            .await?;
            rows::one(row)
        }

        pub async fn credentials_by_id(pool: &$pool, id: UserId) -> DomainResult<Credentials> {
            let row: Option<UserRow> = retry(|| async move {
                Ok(crate::store::statements::query_as("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?)
            })
            .await?;
            rows::one(row)?.ok_or(DomainError::NotFound("user"))
        }

        pub async fn list_users(pool: &$pool, page: Page) -> DomainResult<Paged<User>> {
            let (total, items): (i64, Vec<UserRow>) = in_tx(|| pool.begin(), |mut tx| async move {
                let total = crate::store::statements::query_scalar("SELECT count(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await?;
                let items = crate::store::statements::query_as(
                    "SELECT * FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2",
                )
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(&mut *tx)
                .await?;
                Ok(((total, items), tx))
            })
            .await?;
            rows::paged(total, items)
        }

        pub async fn update_user(
            pool: &$pool,
            id: UserId,
            patch: &UserPatch,
        ) -> DomainResult<User> {
            let row: UserRow = in_tx(|| pool.begin(), |mut tx| async move {
                let current: Option<UserRow> = crate::store::statements::query_as("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let current: User = rows::one(current)?.ok_or(DomainError::NotFound("user"))?;
                let role = patch.role.unwrap_or(current.role);
                // A role must fit the account's link: the schema's CHECKs say so too.
                let fits = match role {
                    Role::Doctor => current.doctor_id.is_some(),
                    Role::Patient => current.patient_id.is_some(),
                    _ => current.doctor_id.is_none() && current.patient_id.is_none(),
                };
                if !fits {
                    return Err(DomainError::field(
                        "role",
                        "does not fit the account's link to a doctor or a patient",
                    )
                    .into());
                }
                let disabled = patch.disabled.unwrap_or(current.disabled);
                let row = crate::store::statements::query_as(concat!(
                    "UPDATE users SET role = $2, disabled = $3, updated_at = ",
                    $now,
                    " WHERE id = $1 RETURNING *"
                ))
                .bind(id)
                .bind(role.as_str())
                .bind(disabled)
                .fetch_one(&mut *tx)
                .await?;
                if disabled || role != current.role {
                    revoke_all(&mut *tx, id, None, "account changed").await?;
                }
                Ok((row, tx))
            })
            .await?;
            row.try_into()
        }

        async fn revoke_all(
            conn: &mut <$db as sqlx::Database>::Connection,
            user: UserId,
            keep: Option<SessionId>,
            reason: &str,
        ) -> Result<(), sqlx::Error> {
            crate::store::statements::query(concat!(
                "UPDATE sessions SET revoked_at = ",
                $now,
                ", revoked_reason = $3
                 WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR id <> $2)"
            ))
            .bind(user)
            .bind(keep)
            .bind(reason)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub async fn set_password(
            pool: &$pool,
            id: UserId,
            hash: &str,
            keep: Option<SessionId>,
        ) -> DomainResult<()> {
            in_tx(|| pool.begin(), |mut tx| async move {
                crate::store::statements::query(concat!(
                    "UPDATE users SET password_hash = $2, updated_at = ",
                    $now,
                    " WHERE id = $1"
                ))
                .bind(id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
                revoke_all(&mut *tx, id, keep, "password changed").await?;
                Ok(((), tx))
            })
            .await
        }

        pub async fn set_totp(
            pool: &$pool,
            id: UserId,
            secret: Option<&str>,
            enabled: bool,
        ) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query(concat!(
                    "UPDATE users SET totp_secret = $2, totp_enabled = $3, updated_at = ",
                    $now,
                    " WHERE id = $1"
                ))
                .bind(id)
                .bind(secret)
                .bind(enabled)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn any_user(pool: &$pool) -> DomainResult<bool> {
            retry(|| async move {
                let n: i64 = crate::store::statements::query_scalar("SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) u")
                    .fetch_one(pool)
                    .await?;
                Ok(n > 0)
            })
            .await
        }

    };
}
pub(crate) use user_queries;
