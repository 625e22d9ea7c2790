//! The waitlist's own use cases, for both adapters: join, list and leave (the offers a freed
//! seat makes run inside each releasing use case, and are each adapter's own).

/// `impl WaitlistStore` for `$store`, expanded in an adapter's `waitlist` module (see
/// [`super`] for what the expansion site supplies).
macro_rules! waitlist_queries {
    ($store:ty) => {

        use super::tx::{in_write, record_write, snapshot, Pool};
        use crate::domain::page::{Page, Paged};
        use crate::domain::user::{AccessAction, Accessor};
        use crate::domain::waitlist::{
            NewWaitlistEntry, WaitlistEntry, WaitlistFilter, WaitlistId, WaitlistStore,
        };
        use crate::domain::{DomainError, DomainResult};
        use crate::store::rows;
        use crate::store::shared::count_and_page;
        use crate::store::statements::{query_as, query_scalar};
        use crate::store::waitlist_rows::{overlapping, WaitlistRow, COLS, FILTER, OVERLAP};

        async fn join(
            pool: &Pool,
            new: &NewWaitlistEntry,
            by: Option<&Accessor>,
        ) -> DomainResult<WaitlistEntry> {
            let id = WaitlistId::random();
            let row: WaitlistRow = in_write(pool, |mut tx| async move {
                let (patient, doctor): (bool, bool) = query_as(
                    "SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1),
                            EXISTS (SELECT 1 FROM doctors WHERE id = $2)",
                )
                .bind(new.patient_id)
                .bind(new.doctor_id)
                .fetch_one(&mut *tx)
                .await?;
                if !patient {
                    return Err(DomainError::NotFound("patient").into());
                }
                if !doctor {
                    return Err(DomainError::NotFound("doctor").into());
                }
                let taken: bool = query_scalar(OVERLAP)
                    .bind(new.patient_id)
                    .bind(new.doctor_id)
                    .bind(new.from_date)
                    .bind(new.to_date)
                    .fetch_one(&mut *tx)
                    .await?;
                if taken {
                    return Err(overlapping().into());
                }
                let sql = format!(
                    "INSERT INTO waitlist_entries (id, patient_id, doctor_id, from_date, to_date)
                     VALUES ($1, $2, $3, $4, $5) RETURNING {COLS}"
                );
                let row: WaitlistRow = query_as(&sql)
                    .bind(id.0)
                    .bind(new.patient_id)
                    .bind(new.doctor_id)
                    .bind(new.from_date)
                    .bind(new.to_date)
                    .fetch_one(&mut *tx)
                    .await?;
                record_write(&mut tx, by, new.patient_id, AccessAction::Create).await?;
                Ok((row, tx))
            })
            .await?;
            row.try_into()
        }

        async fn list(
            pool: &Pool,
            filter: WaitlistFilter,
            page: Page,
        ) -> DomainResult<Paged<WaitlistEntry>> {
            let (total, items): (i64, Vec<WaitlistRow>) = snapshot(pool, |mut tx| async move {
                let count = format!("SELECT count(*) {FILTER}");
                let list = format!("SELECT {COLS} {FILTER} ORDER BY created_at, id LIMIT $3 OFFSET $4");
                let (patient, doctor) = (filter.patient, filter.doctor);
                Ok((count_and_page!(tx, &count, &list, page, patient, doctor), tx))
            })
            .await?;
            rows::paged(total, items)
        }

        async fn leave(
            pool: &Pool,
            id: WaitlistId,
            only: WaitlistFilter,
            by: Option<&Accessor>,
        ) -> DomainResult<WaitlistEntry> {
            in_write(pool, |mut tx| async move {
                let sql = format!(
                    "DELETE FROM waitlist_entries WHERE id = $1 AND ($2 IS NULL OR patient_id = $2)
                       AND ($3 IS NULL OR doctor_id = $3)
                     RETURNING {COLS}"
                );
                let row: Option<WaitlistRow> = query_as(&sql)
                    .bind(id.0)
                    .bind(only.patient)
                    .bind(only.doctor)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    return Err(DomainError::NotFound("waitlist entry").into());
                };
                let entry: WaitlistEntry = row.try_into()?;
                record_write(&mut tx, by, entry.patient_id, AccessAction::Update).await?;
                Ok((entry, tx))
            })
            .await
        }

        crate::store::forward::forward! { $store, WaitlistStore, {}
        fn join_waitlist(&self, new: NewWaitlistEntry, by: Option<Accessor>) -> WaitlistEntry
            => join(self.writes(), &new, by.as_ref());
        fn list_waitlist(&self, filter: WaitlistFilter, page: Page) -> Paged<WaitlistEntry>
            => list(self.reads(), filter, page);
        fn leave_waitlist(&self, id: WaitlistId, only: WaitlistFilter, by: Option<Accessor>)
            -> WaitlistEntry
            => leave(self.writes(), id, only, by.as_ref());
        }
    };
}
pub(crate) use waitlist_queries;
