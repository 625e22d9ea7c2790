//! Reviews on SQLite: one `BEGIN IMMEDIATE` transaction reads the appointment, decides with the
//! shared rule, inserts the review (the doctor's rating follows by a trigger) and the access
//! record. Writes are serialized; the UNIQUE constraint on `appointment_id` is what refuses a
//! second review all the same.

use async_trait::async_trait;
use sqlx::SqlitePool;

use super::adapter::SqliteStore;
use super::tx::{begin_write, db_now};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::page::{Page, Paged};
use crate::domain::review::{may_review, NewReview, Review, ReviewId, ReviewStore};
use crate::domain::user::{AccessAction, Accessor};
use crate::domain::{DoctorId, DomainError, DomainResult};
use crate::store::accounts::lite::record_write;
use crate::store::retry::{retry, TxError};
use crate::store::review_rows::{is_second_review, ReviewRow};
use crate::store::rows;

/// The appointment `?1` if it is patient `?2`'s: its doctor and effective status as of `?3`.
const APPOINTMENT: &str = "SELECT doctor_id,
        CASE WHEN status = 'PENDING' AND expires_at <= ?3 THEN 'EXPIRED' ELSE status END
     FROM appointments WHERE id = ?1 AND patient_id = ?2";

async fn create(pool: &SqlitePool, new: &NewReview, by: &Accessor) -> DomainResult<Review> {
    let id = ReviewId::random();
    let row: ReviewRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let found: Option<(DoctorId, String)> = sqlx::query_as(APPOINTMENT)
            .bind(new.appointment_id)
            .bind(new.patient_id)
            .bind(&now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((doctor, status)) = found else {
            return Err(DomainError::NotFound("appointment").into());
        };
        let status = AppointmentStatus::parse(&status)
            .map_err(|_| DomainError::Internal("stored status is not a known value".into()))?;
        may_review(status)?;
        sqlx::query(
            "INSERT INTO reviews (id, appointment_id, doctor_id, rating, comment, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(id.0)
        .bind(new.appointment_id)
        .bind(doctor)
        .bind(new.rating.stars())
        .bind(new.comment.as_deref())
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_second_review(&e) {
                TxError::Domain(DomainError::AlreadyReviewed)
            } else {
                TxError::Db(e)
            }
        })?;
        record_write(&mut tx, Some(by), new.patient_id, AccessAction::Create).await?;
        let row = sqlx::query_as(
            "SELECT id, appointment_id, doctor_id, rating, comment, created_at FROM reviews
             WHERE id = ?1",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    })
    .await?;
    row.try_into()
}

async fn list(pool: &SqlitePool, doctor: DoctorId, page: Page) -> DomainResult<Paged<Review>> {
    let found: Option<(i64, Vec<ReviewRow>)> = retry(|| async move {
        // One read transaction: the doctor, the total and the page share a snapshot.
        let mut tx = pool.begin().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM doctors WHERE id = ?1")
            .bind(doctor)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Ok(None);
        }
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM reviews WHERE doctor_id = ?1")
            .bind(doctor)
            .fetch_one(&mut *tx)
            .await?;
        let items = sqlx::query_as(
            "SELECT id, appointment_id, doctor_id, rating, comment, created_at FROM reviews
             WHERE doctor_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(doctor)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((total, items)))
    })
    .await?;
    let (total, items) = found.ok_or(DomainError::NotFound("doctor"))?;
    rows::paged(total, items)
}

#[async_trait]
impl ReviewStore for SqliteStore {
    async fn create_review(&self, new: NewReview, by: Accessor) -> DomainResult<Review> {
        create(&self.writer, &new, &by).await
    }
    async fn list_reviews(&self, doctor: DoctorId, page: Page) -> DomainResult<Paged<Review>> {
        list(&self.reader, doctor, page).await
    }
}
