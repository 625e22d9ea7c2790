//! Reviews: a patient's rating (1–5) and optional comment of one of their COMPLETED
//! appointments, given once, and the running rating of each doctor.
//!
//! A review names its appointment and, through it, its doctor; it never names its patient in
//! anything public (the list of a doctor's reviews carries rating, comment, date and id only).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::appointment::AppointmentStatus;
use super::page::{Page, Paged};
use super::user::Accessor;
use super::{AppointmentId, DoctorId, DomainError, DomainResult, PatientId};

/// Longest comment, in characters.
pub const COMMENT_MAX: usize = 2000;

/// Identifies a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ReviewId(pub uuid::Uuid);

impl ReviewId {
    /// A fresh random (v4) id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl std::fmt::Display for ReviewId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A rating: a whole number of stars from [`Rating::MIN`] to [`Rating::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    /// Fewest stars.
    pub const MIN: i64 = 1;
    /// Most stars.
    pub const MAX: i64 = 5;

    /// A rating from a number of stars; anything outside 1..=5 is refused.
    pub fn new(stars: i64) -> Result<Self, String> {
        if (Self::MIN..=Self::MAX).contains(&stars) {
            Ok(Self(stars as u8))
        } else {
            Err(format!(
                "must be an integer from {} to {}",
                Self::MIN,
                Self::MAX
            ))
        }
    }

    /// The number of stars.
    pub fn stars(self) -> i64 {
        i64::from(self.0)
    }
}

/// A review to record, every field already valid.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub appointment_id: AppointmentId,
    /// The reviewer: the appointment must be this patient's, else it is not found.
    pub patient_id: PatientId,
    pub rating: Rating,
    /// Trimmed, 1..=[`COMMENT_MAX`] characters, or none.
    pub comment: Option<String>,
}

/// A review as stored.
#[derive(Debug, Clone)]
pub struct Review {
    pub id: ReviewId,
    pub appointment_id: AppointmentId,
    pub doctor_id: DoctorId,
    pub rating: Rating,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A doctor's rating: how many reviews, and the sum of their stars (kept by the database in
/// the same transaction as each review, so reading a doctor needs no aggregate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatingSummary {
    pub count: i64,
    pub sum: i64,
}

impl RatingSummary {
    /// The mean number of stars rounded to two decimals (half away from zero); `None` without
    /// reviews.
    pub fn average(self) -> Option<f64> {
        if self.count <= 0 {
            return None;
        }
        // Whole hundredths first, in integers, so 14/3 is 4.67 exactly as written.
        let hundredths = (self.sum * 200 + self.count) / (self.count * 2);
        Some(hundredths as f64 / 100.0)
    }
}

/// The action's name in a refusal (`cannot review an appointment that is CONFIRMED`).
pub const REVIEW: &str = "review";

/// Whether an appointment in `status` (its effective status) may be reviewed: only once it is
/// COMPLETED. Otherwise the refusal, `InvalidTransition`.
pub fn may_review(status: AppointmentStatus) -> DomainResult<()> {
    match status {
        AppointmentStatus::Completed => Ok(()),
        other => Err(DomainError::InvalidTransition {
            action: REVIEW,
            from: other.as_str(),
        }),
    }
}

/// Reviews in a database.
#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    /// Records the review, the doctor's new rating and the access record of `by`, in one
    /// transaction. Errors: `NotFound("appointment")` (unknown, or not `new.patient_id`'s),
    /// `InvalidTransition` (not COMPLETED), `AlreadyReviewed` (the appointment has a review,
    /// also when a concurrent request's review committed first).
    async fn create_review(&self, new: NewReview, by: Accessor) -> DomainResult<Review>;
    /// A doctor's reviews, newest first (then by id), with the total. A pure read.
    /// Errors: `NotFound("doctor")`.
    async fn list_reviews(&self, doctor: DoctorId, page: Page) -> DomainResult<Paged<Review>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five_stars() {
        for stars in 1..=5 {
            assert_eq!(Rating::new(stars).map(Rating::stars), Ok(stars));
        }
        for stars in [i64::MIN, -1, 0, 6, 10, i64::MAX] {
            assert!(Rating::new(stars).is_err(), "{stars}");
        }
    }

    #[test]
    fn averages_round_to_two_decimals_and_none_without_reviews() {
        let avg = |sum, count| RatingSummary { count, sum }.average();
        assert_eq!(avg(0, 0), None);
        assert_eq!(avg(5, 1), Some(5.0));
        assert_eq!(avg(9, 2), Some(4.5));
        assert_eq!(avg(14, 3), Some(4.67));
        assert_eq!(avg(13, 3), Some(4.33));
        assert_eq!(avg(10, 3), Some(3.33));
        assert_eq!(avg(11, 3), Some(3.67));
        // 1.005 rounds up (half away from zero), which f64 arithmetic would get wrong.
        assert_eq!(avg(201, 200), Some(1.01));
        assert_eq!(avg(5 * 1_000_000, 1_000_000), Some(5.0));
    }

    #[test]
    fn only_completed_appointments_are_reviewed() {
        for status in AppointmentStatus::ALL {
            let verdict = may_review(status);
            if status == AppointmentStatus::Completed {
                assert!(verdict.is_ok());
            } else {
                assert!(
                    matches!(verdict, Err(DomainError::InvalidTransition { action: REVIEW, from }) if from == status.as_str()),
                    "{status:?}"
                );
            }
        }
    }
}
