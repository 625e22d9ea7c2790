//! Reviews on PostgreSQL. A review is one statement: the appointment read (its patient must be
//! the reviewer), the review inserted when the appointment is COMPLETED, and the access record;
//! the doctor's rating follows by a trigger on `reviews`, in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::adapter::PgStore;
use super::tx_pool::TxPool;
use crate::domain::appointment::AppointmentStatus;
use crate::domain::page::{Page, Paged};
use crate::domain::review::{may_review, NewReview, Review, ReviewId, ReviewStore};
use crate::domain::user::Accessor;
use crate::domain::{DoctorId, DomainError, DomainResult};
use crate::store::retry::{retry, TxError};
use crate::store::review_rows::{is_second_review, ReviewRow};
use crate::store::rows;
use crate::store::statements::{query_as, query_scalar};

/// `$1` appointment, `$2` its patient (the reviewer), `$3` the review's id, `$4` rating, `$5`
/// comment, `$6`…`$10` the access record (user, role, route, request id, break-glass reason).
/// One row when the appointment is the patient's: its effective status, its doctor, and the
/// review's `created_at` when one was inserted. A second review fails on
/// `reviews_appointment_id_key`.
const CREATE: &str = "WITH appt AS (
        SELECT id, doctor_id,
               CASE WHEN status = 'PENDING' AND expires_at <= now() THEN 'EXPIRED' ELSE status END
                   AS status
        FROM appointments WHERE id = $1 AND patient_id = $2),
     ins AS (
        INSERT INTO reviews (id, appointment_id, doctor_id, rating, comment)
        SELECT $3, appt.id, appt.doctor_id, $4, $5 FROM appt WHERE appt.status = 'COMPLETED'
        RETURNING created_at),
     access AS (
        INSERT INTO access_log (actor_id, actor_role, patient_id, action, route, request_id, outcome,
                                break_glass_reason)
        SELECT $6, $7, $2, 'create', $8, $9, 201, $10 FROM ins)
     SELECT appt.status, appt.doctor_id, ins.created_at FROM appt LEFT JOIN ins ON true";

async fn create(pool: &TxPool, new: &NewReview, by: &Accessor) -> DomainResult<Review> {
    let id = ReviewId::random();
    type Outcome = (String, DoctorId, Option<DateTime<Utc>>);
    let outcome: Option<Outcome> = retry(|| async move {
        query_as(CREATE)
            .bind(new.appointment_id)
            .bind(new.patient_id)
            .bind(id.0)
            .bind(new.rating.stars() as i32)
            .bind(new.comment.as_deref())
            .bind(by.user_id)
            .bind(by.role.as_str())
            .bind(&by.route)
            .bind(&by.request_id)
            .bind(by.break_glass.as_deref())
            .fetch_optional(pool)
            .await
            .map_err(|e| {
                if is_second_review(&e) {
                    TxError::Domain(DomainError::AlreadyReviewed)
                } else {
                    TxError::Db(e)
                }
            })
    })
    .await?;
    let Some((status, doctor_id, created_at)) = outcome else {
        return Err(DomainError::NotFound("appointment"));
    };
    let status = AppointmentStatus::parse(&status)
        .map_err(|_| DomainError::Internal("stored status is not a known value".into()))?;
    may_review(status)?;
    let created_at = created_at.ok_or_else(|| {
        DomainError::Internal("a COMPLETED appointment's review was not inserted".into())
    })?;
    Ok(Review {
        id,
        appointment_id: new.appointment_id,
        doctor_id,
        rating: new.rating,
        comment: new.comment.clone(),
        created_at,
    })
}

async fn list(pool: &TxPool, doctor: DoctorId, page: Page) -> DomainResult<Paged<Review>> {
    let found: Option<(i64, Vec<ReviewRow>)> = super::tx::snapshot(pool, |mut tx| async move {
        let known: bool = query_scalar("SELECT EXISTS (SELECT 1 FROM doctors WHERE id = $1)")
            .bind(doctor)
            .fetch_one(&mut *tx)
            .await?;
        if !known {
            return Ok((None, tx));
        }
        let total = query_scalar("SELECT count(*) FROM reviews WHERE doctor_id = $1")
            .bind(doctor)
            .fetch_one(&mut *tx)
            .await?;
        let items = query_as(
            "SELECT id, appointment_id, doctor_id, rating, comment, created_at FROM reviews
             WHERE doctor_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(doctor)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?;
        Ok((Some((total, items)), tx))
    })
    .await?;
    let (total, items) = found.ok_or(DomainError::NotFound("doctor"))?;
    rows::paged(total, items)
}

#[async_trait]
impl ReviewStore for PgStore {
    async fn create_review(&self, new: NewReview, by: Accessor) -> DomainResult<Review> {
        create(&self.pool, &new, &by).await
    }
    async fn list_reviews(&self, doctor: DoctorId, page: Page) -> DomainResult<Paged<Review>> {
        list(&self.reader, doctor, page).await
    }
}
