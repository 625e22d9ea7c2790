//! The waitlist on SQLite: its routes' use cases (the offers a freed seat makes are in
//! `offers.rs`).

use async_trait::async_trait;
use sqlx::SqlitePool;

use super::adapter::SqliteStore;
use super::tx::{begin_write, db_now};
use crate::domain::page::{Page, Paged};
use crate::domain::user::{AccessAction, Accessor};
use crate::domain::waitlist::{
    NewWaitlistEntry, WaitlistEntry, WaitlistFilter, WaitlistId, WaitlistStore,
};
use crate::domain::{DomainError, DomainResult};
use crate::store::accounts::lite::record_write;
use crate::store::retry::retry;
use crate::store::rows;
use crate::store::waitlist_rows::{overlapping, WaitlistRow, COLS, FILTER, OVERLAP};

async fn join(
    pool: &SqlitePool,
    new: &NewWaitlistEntry,
    by: Option<&Accessor>,
) -> DomainResult<WaitlistEntry> {
    let id = WaitlistId::random();
    let row: WaitlistRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let (patient, doctor): (bool, bool) = sqlx::query_as(
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
        let taken: bool = sqlx::query_scalar(OVERLAP)
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
            "INSERT INTO waitlist_entries (id, patient_id, doctor_id, from_date, to_date, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLS}"
        );
        let row: WaitlistRow = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(new.patient_id)
            .bind(new.doctor_id)
            .bind(new.from_date)
            .bind(new.to_date)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
        record_write(&mut tx, by, new.patient_id, AccessAction::Create).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await?;
    row.try_into()
}

async fn list(
    pool: &SqlitePool,
    filter: WaitlistFilter,
    page: Page,
) -> DomainResult<Paged<WaitlistEntry>> {
    let (total, items): (i64, Vec<WaitlistRow>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let total = sqlx::query_scalar(&format!("SELECT count(*) {FILTER}"))
            .bind(filter.patient)
            .bind(filter.doctor)
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!("SELECT {COLS} {FILTER} ORDER BY created_at, id LIMIT $3 OFFSET $4");
        let items = sqlx::query_as(&sql)
            .bind(filter.patient)
            .bind(filter.doctor)
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

async fn leave(
    pool: &SqlitePool,
    id: WaitlistId,
    only: WaitlistFilter,
    by: Option<&Accessor>,
) -> DomainResult<WaitlistEntry> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let sql = format!(
            "DELETE FROM waitlist_entries WHERE id = $1 AND ($2 IS NULL OR patient_id = $2)
               AND ($3 IS NULL OR doctor_id = $3)
             RETURNING {COLS}"
        );
        let row: Option<WaitlistRow> = sqlx::query_as(&sql)
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
        tx.commit().await?;
        Ok(entry)
    })
    .await
}

#[async_trait]
impl WaitlistStore for SqliteStore {
    async fn join_waitlist(
        &self,
        new: NewWaitlistEntry,
        by: Option<Accessor>,
    ) -> DomainResult<WaitlistEntry> {
        join(&self.writer, &new, by.as_ref()).await
    }
    async fn list_waitlist(
        &self,
        filter: WaitlistFilter,
        page: Page,
    ) -> DomainResult<Paged<WaitlistEntry>> {
        list(&self.reader, filter, page).await
    }
    async fn leave_waitlist(
        &self,
        id: WaitlistId,
        only: WaitlistFilter,
        by: Option<Accessor>,
    ) -> DomainResult<WaitlistEntry> {
        leave(&self.writer, id, only, by.as_ref()).await
    }
}
