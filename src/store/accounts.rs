//! Accounts, sessions, signing keys, login failures and the access log, for both adapters.
//!
//! The statements are the same on PostgreSQL and SQLite (both take `$n` placeholders and
//! `RETURNING`); only the clock differs. One macro writes the functions once per backend, with
//! that backend's "now" and "n seconds ago" spelled in.

/// The functions of this module for one backend: `$db` the sqlx database, `$pool` its pool type
/// (PostgreSQL's sets each transaction's isolation level itself behind a pooler), `$now` its SQL for the
/// current instant, `$ago_open`/`$ago_close` wrapped around a placeholder of seconds to make
/// "that many seconds before now".
macro_rules! account_queries {
    ($db:ty, $pool:ty, $now:literal, $ago_open:literal, $ago_close:literal) => {
        use sqlx::Executor;

        use crate::domain::page::{Page, Paged};
        use crate::domain::patient::{NewPatient, Patient};
        use crate::domain::user::{
            AccessAction, AccessFilter, AccessRecord, Accessor, Credentials,
            NewAccess, NewUser, Role, Session, SigningKey, User, UserPatch,
        };
        use crate::domain::{DoctorId, DomainError, DomainResult, PatientId, SessionId, UserId};
        use crate::store::binds::bind_patient;
        use crate::store::retry::{retry, TxError};
        use crate::store::rows::{
            self, AccessRow, KeyRow, PatientRow, SessionRow, UserRow,
        };

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
        pub async fn insert_access(
            conn: &mut <$db as sqlx::Database>::Connection,
            by: &Accessor,
            records: &[NewAccess],
        ) -> Result<(), sqlx::Error> {
            for r in records {
                crate::store::statements::query(
                    "INSERT INTO access_log (actor_id, actor_role, patient_id, action, route, request_id,
                                             outcome, break_glass_reason)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(by.user_id)
                .bind(by.role.as_str())
                .bind(r.patient_id)
                .bind(r.action.as_str())
                .bind(&by.route)
                .bind(&by.request_id)
                .bind(i32::from(r.outcome))
                .bind(&by.break_glass)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }

        /// The access record of a person's write (`create` answered 201, `update` 200), inside
        /// the write's transaction; nothing for the system.
        pub async fn record_write(
            conn: &mut <$db as sqlx::Database>::Connection,
            by: Option<&Accessor>,
            patient_id: PatientId,
            action: AccessAction,
        ) -> Result<(), sqlx::Error> {
            let Some(by) = by else {
                return Ok(());
            };
            let outcome = if action == AccessAction::Create { 201 } else { 200 };
            let record = NewAccess {
                patient_id,
                action,
                outcome,
            };
            insert_access(conn, by, &[record]).await
        }

        pub async fn create_user(pool: &$pool, new: &NewUser) -> DomainResult<User> {
            let id = UserId::random();
            let row: UserRow = retry(|| async move {
                let mut tx = pool.begin().await?;
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
                tx.commit().await?;
                Ok(row)
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
            let (patient, user): (PatientRow, UserRow) = retry(|| async move {
                let mut tx = pool.begin().await?;
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
                tx.commit().await?;
                Ok((patient, user))
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
            let (total, items): (i64, Vec<UserRow>) = retry(|| async move {
                let mut tx = pool.begin().await?;
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
                tx.commit().await?;
                Ok((total, items))
            })
            .await?;
            rows::paged(total, items)
        }

        pub async fn update_user(
            pool: &$pool,
            id: UserId,
            patch: &UserPatch,
        ) -> DomainResult<User> {
            let row: UserRow = retry(|| async move {
                let mut tx = pool.begin().await?;
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
                tx.commit().await?;
                Ok(row)
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
            retry(|| async move {
                let mut tx = pool.begin().await?;
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
                tx.commit().await?;
                Ok(())
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

        pub async fn create_session(
            pool: &$pool,
            id: SessionId,
            user: UserId,
            hash: &str,
        ) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query("INSERT INTO sessions (id, user_id, refresh_hash) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(user)
                    .bind(hash)
                    .execute(pool)
                    .await?;
                Ok(())
            })
            .await
        }

        pub async fn session(pool: &$pool, id: SessionId) -> DomainResult<Option<Session>> {
            let row: Option<SessionRow> = retry(|| async move {
                Ok(crate::store::statements::query_as(concat!(
                    "SELECT id, user_id, refresh_hash, created_at, last_refresh_at,
                            revoked_at IS NOT NULL AS revoked, ",
                    $now,
                    " AS now FROM sessions WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(pool)
                .await?)
            })
            .await?;
            rows::one(row)
        }

        pub async fn rotate_session(
            pool: &$pool,
            id: SessionId,
            old: &str,
            new: &str,
        ) -> DomainResult<bool> {
            retry(|| async move {
                let mut tx = pool.begin().await?;
                let done = crate::store::statements::query(concat!(
                    "UPDATE sessions SET refresh_hash = $3, last_refresh_at = ",
                    $now,
                    " WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL"
                ))
                .bind(id)
                .bind(old)
                .bind(new)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                // The spent secret is remembered: presented again, it means a copied token.
                crate::store::statements::query(
                    "INSERT INTO spent_refresh (refresh_hash, session_id) VALUES ($1, $2)
                     ON CONFLICT (refresh_hash) DO NOTHING",
                )
                .bind(old)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
        }

        pub async fn revoke_session(
            pool: &$pool,
            id: SessionId,
            reason: &str,
        ) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query(concat!(
                    "UPDATE sessions SET revoked_at = ",
                    $now,
                    ", revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL"
                ))
                .bind(id)
                .bind(reason)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn revoked_sessions(
            pool: &$pool,
            within_secs: i64,
        ) -> DomainResult<Vec<SessionId>> {
            retry(|| async move {
                Ok(crate::store::statements::query_scalar(concat!(
                    "SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at > ",
                    $ago_open,
                    "$1",
                    $ago_close
                ))
                .bind(within_secs)
                .fetch_all(pool)
                .await?)
            })
            .await
        }

        pub async fn signing_keys(pool: &$pool) -> DomainResult<Vec<SigningKey>> {
            let rows: Vec<KeyRow> = retry(|| async move {
                Ok(crate::store::statements::query_as(
                    "SELECT kid, secret, created_at FROM signing_keys WHERE retired_at IS NULL
                     ORDER BY created_at DESC, kid DESC",
                )
                .fetch_all(pool)
                .await?)
            })
            .await?;
            rows::all(rows)
        }

        pub async fn add_signing_key(
            pool: &$pool,
            kid: &str,
            secret: &str,
            only_if_none: bool,
        ) -> DomainResult<()> {
            retry(|| async move {
                crate::store::statements::query(
                    "INSERT INTO signing_keys (kid, secret) SELECT $1, $2
                     WHERE NOT $3 OR NOT EXISTS (SELECT 1 FROM signing_keys)
                     ON CONFLICT (kid) DO NOTHING",
                )
                .bind(kid)
                .bind(secret)
                .bind(only_if_none)
                .execute(pool)
                .await?;
                Ok(())
            })
            .await
        }

        pub async fn retire_signing_keys(pool: &$pool, older_than_secs: i64) -> DomainResult<u64> {
            retry(|| async move {
                let done = crate::store::statements::query(concat!(
                    "UPDATE signing_keys SET retired_at = ",
                    $now,
                    " WHERE retired_at IS NULL AND created_at < ",
                    $ago_open,
                    "$1",
                    $ago_close,
                    " AND kid <> (SELECT kid FROM signing_keys WHERE retired_at IS NULL
                                  ORDER BY created_at DESC, kid DESC LIMIT 1)"
                ))
                .bind(older_than_secs)
                .execute(pool)
                .await?;
                Ok(done.rows_affected())
            })
            .await
        }

        pub async fn record_access(
            pool: &$pool,
            by: &Accessor,
            records: &[NewAccess],
        ) -> DomainResult<()> {
            retry(|| async move {
                let mut tx = pool.begin().await?;
                insert_access(&mut *tx, by, records).await?;
                tx.commit().await?;
                Ok(())
            })
            .await
        }

        pub async fn has_care_relationship(
            pool: &$pool,
            doctor: DoctorId,
            patient: PatientId,
        ) -> DomainResult<bool> {
            retry(|| async move {
                let n: i64 = crate::store::statements::query_scalar(
                    "SELECT count(*) FROM (SELECT 1 FROM appointments a
                     WHERE a.doctor_id = $1 AND a.patient_id = $2
                       AND EXISTS (SELECT 1 FROM appointment_audit_log l
                                   WHERE l.appointment_id = a.id AND l.action IN ('BOOK', 'CONFIRM')
                                     AND l.actor_role IN ('patient', 'scheduler', 'admin'))
                     LIMIT 1) c",
                )
                .bind(doctor)
                .bind(patient)
                .fetch_one(pool)
                .await?;
                Ok(n > 0)
            })
            .await
        }

        /// The access records filter, over both places records are kept (the `access_records`
        /// view); `$3`/`$4` are instants in the backend's stored form.
        macro_rules! access_filter {
            () => {
                "FROM access_records WHERE ($1 IS NULL OR patient_id = $1) AND ($2 IS NULL OR actor_id = $2)
                 AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at <= $4)
                 AND ($5 IS NULL OR (break_glass_reason IS NOT NULL) = $5)"
            };
        }

        pub async fn access_log<T>(
            pool: &$pool,
            f: &AccessFilter,
            from: Option<T>,
            to: Option<T>,
            page: Page,
        ) -> DomainResult<Paged<AccessRecord>>
        where
            T: for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + Clone + Send + Sync,
        {
            let (from, to) = (&from, &to);
            let (total, items): (i64, Vec<AccessRow>) = retry(|| async move {
                let mut tx = pool.begin().await?;
                let total = crate::store::statements::query_scalar(concat!("SELECT count(*) ", access_filter!()))
                    .bind(f.patient_id)
                    .bind(f.actor_id)
                    .bind(from.clone())
                    .bind(to.clone())
                    .bind(f.break_glass)
                    .fetch_one(&mut *tx)
                    .await?;
                let items = crate::store::statements::query_as(concat!(
                    "SELECT * ",
                    access_filter!(),
                    " ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7"
                ))
                .bind(f.patient_id)
                .bind(f.actor_id)
                .bind(from.clone())
                .bind(to.clone())
                .bind(f.break_glass)
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
    };
}

/// The PostgreSQL spelling.
pub mod pg {
    account_queries!(
        sqlx::Postgres,
        crate::store::postgres::TxPool,
        "now()",
        "(now() - make_interval(secs => ",
        "::float8))"
    );
}

/// The SQLite spelling: instants are fixed-format UTC text.
pub mod lite {
    account_queries!(
        sqlx::Sqlite,
        sqlx::Pool<sqlx::Sqlite>,
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ",
        " || ' seconds')"
    );
}

/// `impl AccountStore` for an adapter: `$m` its query module, `$w` its write pool, `$f` its
/// read pool on the primary (for reads that decide who someone is and what they may do, which
/// must see the latest commit), `$r` its pool for pure reads (perhaps a lagging replica),
/// `$instant` how a filter instant is bound.
macro_rules! impl_account_store {
    ($store:ty, $m:path, $w:ident, $f:ident, $r:ident, $instant:expr) => {
        #[async_trait::async_trait]
        impl crate::domain::store::AccountStore for $store {
            async fn create_user(
                &self,
                new: crate::domain::user::NewUser,
            ) -> crate::domain::DomainResult<crate::domain::user::User> {
                use $m as m;
                m::create_user(&self.$w, &new).await
            }
            async fn register_patient(
                &self,
                patient: crate::domain::patient::NewPatient,
                password_hash: String,
                request_id: String,
            ) -> crate::domain::DomainResult<(
                crate::domain::patient::Patient,
                crate::domain::user::User,
            )> {
                use $m as m;
                let route = "/api/auth/register";
                m::register_patient(&self.$w, &patient, &password_hash, route, &request_id).await
            }
            async fn credentials(
                &self,
                email: &str,
            ) -> crate::domain::DomainResult<Option<crate::domain::user::Credentials>> {
                use $m as m;
                m::credentials(&self.$f, email).await
            }
            async fn credentials_by_id(
                &self,
                id: crate::domain::UserId,
            ) -> crate::domain::DomainResult<crate::domain::user::Credentials> {
                use $m as m;
                m::credentials_by_id(&self.$f, id).await
            }
            async fn list_users(
                &self,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<crate::domain::page::Paged<crate::domain::user::User>>
            {
                use $m as m;
                m::list_users(&self.$r, page).await
            }
            async fn update_user(
                &self,
                id: crate::domain::UserId,
                patch: crate::domain::user::UserPatch,
            ) -> crate::domain::DomainResult<crate::domain::user::User> {
                use $m as m;
                m::update_user(&self.$w, id, &patch).await
            }
            async fn set_password(
                &self,
                id: crate::domain::UserId,
                hash: String,
                keep: Option<crate::domain::SessionId>,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::set_password(&self.$w, id, &hash, keep).await
            }
            async fn set_totp(
                &self,
                id: crate::domain::UserId,
                secret: Option<String>,
                enabled: bool,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::set_totp(&self.$w, id, secret.as_deref(), enabled).await
            }
            async fn any_user(&self) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::any_user(&self.$f).await
            }
            async fn create_session(
                &self,
                id: crate::domain::SessionId,
                user: crate::domain::UserId,
                refresh_hash: String,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::create_session(&self.$w, id, user, &refresh_hash).await
            }
            async fn session(
                &self,
                id: crate::domain::SessionId,
            ) -> crate::domain::DomainResult<Option<crate::domain::user::Session>> {
                use $m as m;
                // From the writer: a refresh right after login must see the new session.
                m::session(&self.$w, id).await
            }
            async fn rotate_session(
                &self,
                id: crate::domain::SessionId,
                old: &str,
                new: &str,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::rotate_session(&self.$w, id, old, new).await
            }
            async fn revoke_session(
                &self,
                id: crate::domain::SessionId,
                reason: &str,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::revoke_session(&self.$w, id, reason).await
            }
            async fn revoked_sessions(
                &self,
                within_secs: i64,
            ) -> crate::domain::DomainResult<Vec<crate::domain::SessionId>> {
                use $m as m;
                m::revoked_sessions(&self.$f, within_secs).await
            }
            async fn signing_keys(
                &self,
            ) -> crate::domain::DomainResult<Vec<crate::domain::user::SigningKey>> {
                use $m as m;
                m::signing_keys(&self.$w).await
            }
            async fn add_signing_key(
                &self,
                kid: &str,
                secret: &str,
                only_if_none: bool,
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::add_signing_key(&self.$w, kid, secret, only_if_none).await
            }
            async fn retire_signing_keys(
                &self,
                older_than_secs: i64,
            ) -> crate::domain::DomainResult<u64> {
                use $m as m;
                m::retire_signing_keys(&self.$w, older_than_secs).await
            }
            async fn record_access(
                &self,
                by: &crate::domain::user::Accessor,
                records: &[crate::domain::user::NewAccess],
            ) -> crate::domain::DomainResult<()> {
                use $m as m;
                m::record_access(&self.$w, by, records).await
            }
            async fn access_log(
                &self,
                filter: &crate::domain::user::AccessFilter,
                page: crate::domain::page::Page,
            ) -> crate::domain::DomainResult<
                crate::domain::page::Paged<crate::domain::user::AccessRecord>,
            > {
                use $m as m;
                let (from, to) = (filter.from.map($instant), filter.to.map($instant));
                m::access_log(&self.$r, filter, from, to, page).await
            }
            async fn has_care_relationship(
                &self,
                doctor: crate::domain::DoctorId,
                patient: crate::domain::PatientId,
            ) -> crate::domain::DomainResult<bool> {
                use $m as m;
                m::has_care_relationship(&self.$f, doctor, patient).await
            }
        }
    };
}
pub(crate) use impl_account_store;
