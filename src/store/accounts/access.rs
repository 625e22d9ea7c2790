//! The PHI access log: records written inside a change's transaction or on their own, the
//! log read back, and the care relationships that allow a doctor's reads.

use crate::domain::user::{Accessor, NewAccess};

/// Writing many access records in one statement: a day list names a hundred patients, and a
/// statement each would cost the read a hundred round trips.
pub(crate) trait InsertAccess {
    /// Writes `records` for `by` on this connection.
    async fn insert_access(
        &mut self,
        by: &Accessor,
        records: &[NewAccess],
    ) -> Result<(), sqlx::Error>;
}

/// PostgreSQL: the rows' own columns as arrays, one prepared statement whatever their number.
impl InsertAccess for sqlx::PgConnection {
    async fn insert_access(
        &mut self,
        by: &Accessor,
        records: &[NewAccess],
    ) -> Result<(), sqlx::Error> {
        let patients: Vec<uuid::Uuid> = records.iter().map(|r| r.patient_id.0).collect();
        let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
        let outcomes: Vec<i32> = records.iter().map(|r| i32::from(r.outcome)).collect();
        crate::store::statements::query(
            "INSERT INTO access_log (actor_id, actor_role, route, request_id, break_glass_reason,
                                     patient_id, action, outcome)
             SELECT $1, $2, $3, $4, $5, t.patient_id, t.action, t.outcome
             FROM unnest($6::uuid[], $7::text[], $8::int4[]) WITH ORDINALITY
                  AS t(patient_id, action, outcome, n)
             ORDER BY t.n",
        )
        .bind(by.user_id)
        .bind(by.role.as_str())
        .bind(&by.route)
        .bind(&by.request_id)
        .bind(&by.break_glass)
        .bind(patients)
        .bind(actions)
        .bind(outcomes)
        .execute(self)
        .await?;
        Ok(())
    }
}

/// Access rows written by one SQLite statement at most: 5 shared and 3 own parameters a row
/// keep it far below SQLite's limit on bound parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// SQLite: a `VALUES` row per record (`$1`–`$5` the accessor's, then patient, action and
/// outcome for each row), in statements of at most [`ROWS_PER_STATEMENT`] rows.
impl InsertAccess for sqlx::SqliteConnection {
    async fn insert_access(
        &mut self,
        by: &Accessor,
        records: &[NewAccess],
    ) -> Result<(), sqlx::Error> {
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let n = 6 + 3 * i;
                    format!("($1, $2, $3, $4, $5, ${n}, ${}, ${})", n + 1, n + 2)
                })
                .collect();
            let sql = format!(
                "INSERT INTO access_log (actor_id, actor_role, route, request_id, break_glass_reason,
                                         patient_id, action, outcome) VALUES {}",
                values.join(", ")
            );
            // One statement per row count: keep only the one-row form prepared.
            let mut q = crate::store::statements::query::<sqlx::Sqlite>(&sql)
                .persistent(crate::store::statements::named() && chunk.len() == 1)
                .bind(by.user_id)
                .bind(by.role.as_str())
                .bind(&by.route)
                .bind(&by.request_id)
                .bind(&by.break_glass);
            for r in chunk {
                q = q
                    .bind(r.patient_id)
                    .bind(r.action.as_str())
                    .bind(i32::from(r.outcome));
            }
            q.execute(&mut *self).await?;
        }
        Ok(())
    }
}

/// The access-log functions for one backend: `$db` the sqlx database, `$pool` its pool type (PostgreSQL's sets each transaction's
/// isolation level itself behind a pooler), `$now` its SQL for the current instant,
/// `$ago_open`/`$ago_close` wrapped around a placeholder of seconds to make "that many seconds
/// before now".
macro_rules! access_queries {
    ($db:ty, $pool:ty, $now:literal, $ago_open:literal, $ago_close:literal) => {
        use crate::domain::page::{Page, Paged};
        use crate::domain::user::{AccessAction, AccessFilter, AccessRecord, Accessor, NewAccess};
        use crate::domain::{DoctorId, DomainResult, PatientId};
        use crate::store::retry::{in_tx, retry};
        use crate::store::rows::{self, AccessRow};


        /// Writes `records` (see [`crate::store::accounts::access::InsertAccess`]).
        pub async fn insert_access(
            conn: &mut <$db as sqlx::Database>::Connection,
            by: &Accessor,
            records: &[NewAccess],
        ) -> Result<(), sqlx::Error> {
            crate::store::accounts::access::InsertAccess::insert_access(conn, by, records).await
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

        pub async fn record_access(
            pool: &$pool,
            by: &Accessor,
            records: &[NewAccess],
        ) -> DomainResult<()> {
            in_tx(|| pool.begin(), |mut tx| async move {
                insert_access(&mut *tx, by, records).await?;
                Ok(((), tx))
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
            let (total, items): (i64, Vec<AccessRow>) = in_tx(|| pool.begin(), |mut tx| async move {
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
                Ok(((total, items), tx))
            })
            .await?;
            rows::paged(total, items)
        }
    };
}
pub(crate) use access_queries;
