//! Reviews, for both adapters: one write transaction reads the appointment, decides with the
//! shared rule, inserts the review (the doctor's rating follows by a trigger on `reviews`) and
//! the access record. The unique constraint on `appointment_id` refuses a second review even
//! when two race.

/// `impl ReviewStore` for `$store`, expanded in an adapter's `reviews` module (see [`super`]
/// for what the expansion site supplies).
macro_rules! review_queries {
    ($store:ty) => {
        use super::tx::{in_write, record_write, snapshot, Pool};
        use crate::domain::appointment::AppointmentStatus;
        use crate::domain::page::{Page, Paged};
        use crate::domain::review::{may_review, NewReview, Review, ReviewId, ReviewStore};
        use crate::domain::user::{AccessAction, Accessor};
        use crate::domain::{DoctorId, DomainError, DomainResult};
        use crate::store::retry::TxError;
        use crate::store::review_rows::{is_second_review, ReviewRow};
        use crate::store::rows;
        use crate::store::shared::count_and_page;
        use crate::store::statements::{query_as, query_scalar};

        /// The appointment `$1` if it is patient `$2`'s: its doctor and effective status.
        const APPOINTMENT: &str = concat!(
            "SELECT doctor_id,
                    CASE WHEN status = 'PENDING' AND expires_at <= ",
            now_sql!(),
            " THEN 'EXPIRED' ELSE status END
             FROM appointments WHERE id = $1 AND patient_id = $2"
        );

        async fn create(pool: &Pool, new: &NewReview, by: &Accessor) -> DomainResult<Review> {
            let id = ReviewId::random();
            let row: ReviewRow = in_write(pool, |mut tx| async move {
                let found: Option<(DoctorId, String)> = query_as(APPOINTMENT)
                    .bind(new.appointment_id)
                    .bind(new.patient_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((doctor, status)) = found else {
                    return Err(DomainError::NotFound("appointment").into());
                };
                let status = AppointmentStatus::parse(&status).map_err(|_| {
                    DomainError::Internal("stored status is not a known value".into())
                })?;
                may_review(status)?;
                let row = query_as(
                    "INSERT INTO reviews (id, appointment_id, doctor_id, rating, comment)
                     VALUES ($1, $2, $3, $4, $5)
                     RETURNING id, appointment_id, doctor_id, rating, comment, created_at",
                )
                .bind(id.0)
                .bind(new.appointment_id)
                .bind(doctor)
                .bind(new.rating.stars() as i32)
                .bind(new.comment.as_deref())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_second_review(&e) {
                        TxError::Domain(DomainError::AlreadyReviewed)
                    } else {
                        TxError::Db(e)
                    }
                })?;
                record_write(&mut tx, Some(by), new.patient_id, AccessAction::Create).await?;
                Ok((row, tx))
            })
            .await?;
            row.try_into()
        }

        async fn list(pool: &Pool, doctor: DoctorId, page: Page) -> DomainResult<Paged<Review>> {
            let found: Option<(i64, Vec<ReviewRow>)> = snapshot(pool, |mut tx| async move {
                let known: i64 = query_scalar("SELECT count(*) FROM doctors WHERE id = $1")
                    .bind(doctor)
                    .fetch_one(&mut *tx)
                    .await?;
                if known == 0 {
                    return Ok((None, tx));
                }
                let count = "SELECT count(*) FROM reviews WHERE doctor_id = $1";
                let list = "SELECT id, appointment_id, doctor_id, rating, comment, created_at
                            FROM reviews WHERE doctor_id = $1
                            ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3";
                Ok((Some(count_and_page!(tx, count, list, page, doctor)), tx))
            })
            .await?;
            let (total, items) = found.ok_or(DomainError::NotFound("doctor"))?;
            rows::paged(total, items)
        }

        crate::store::forward::forward! { $store, ReviewStore, {}
        fn create_review(&self, new: NewReview, by: Accessor) -> Review
            => create(self.writes(), &new, &by);
        fn list_reviews(&self, doctor: DoctorId, page: Page) -> Paged<Review>
            => list(self.reads(), doctor, page);
        }
    };
}
pub(crate) use review_queries;
