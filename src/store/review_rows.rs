//! Rows of `reviews` as both adapters read them.

use chrono::{DateTime, Utc};

use crate::domain::review::{Rating, Review, ReviewId};
use crate::domain::{AppointmentId, DoctorId, DomainError};

/// A `reviews` row.
#[derive(sqlx::FromRow)]
pub struct ReviewRow {
    id: uuid::Uuid,
    appointment_id: AppointmentId,
    doctor_id: DoctorId,
    rating: i32,
    comment: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ReviewRow> for Review {
    type Error = DomainError;
    fn try_from(r: ReviewRow) -> Result<Self, DomainError> {
        let rating = Rating::new(i64::from(r.rating))
            .map_err(|_| DomainError::Internal("stored rating is not a known value".into()))?;
        Ok(Self {
            id: ReviewId(r.id),
            appointment_id: r.appointment_id,
            doctor_id: r.doctor_id,
            rating,
            comment: r.comment,
            created_at: r.created_at,
        })
    }
}

/// The unique constraint that keeps one review per appointment: its violation means
/// `AlreadyReviewed`. PostgreSQL names it; SQLite names the column in its message.
pub fn is_second_review(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        d.is_unique_violation()
            && (d.constraint() == Some("reviews_appointment_id_key")
                || d.message().contains("reviews.appointment_id"))
    })
}
