//! Reviews: a patient rates one of their COMPLETED appointments once
//! (`POST /appointments/{id}/review`), and anyone reads a doctor's reviews without any patient
//! identity (`GET /doctors/{id}/reviews`). Each doctor answer carries the running rating.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{hidden, Caller};
use super::error::{ApiError, ErrorBody};
use super::extract::{ValidJson, ValidPath, ValidQuery};
use super::fields::required;
use super::params::{AppointmentPath, DoctorPath, PageQuery};
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::state::AppState;
use crate::domain::review::{NewReview, Rating, Review, ReviewId, COMMENT_MAX};
use crate::domain::text::{self, Blank, Prose};
use crate::domain::user::Role;
use crate::domain::{AppointmentId, DoctorId};

/// A review of a COMPLETED appointment.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": 5, "comment": "Listened carefully and explained everything."}))]
pub struct CreateReview {
    /// Stars, a whole number from 1 to 5.
    #[garde(required, inner(range(min = 1, max = 5)))]
    #[schema(value_type = i64, minimum = 1, maximum = 5)]
    rating: Option<i64>,
    /// Shown publicly with the rating (never with the patient's identity). Trimmed, at most
    /// 2000 characters; empty or null means none.
    #[garde(skip)]
    #[schema(value_type = Option<super::shapes::CommentOrBlank>, inline)]
    comment: Option<Blank<Prose<COMMENT_MAX>>>,
}

/// A review, as its author gets it back.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a",
    "appointment_id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "rating": 5,
    "comment": "Listened carefully and explained everything.", "created_at": "2026-11-25T09:00:00Z"}))]
pub struct ReviewView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ReviewId,
    pub appointment_id: AppointmentId,
    pub doctor_id: DoctorId,
    /// 1-5 stars.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Review> for ReviewView {
    fn from(r: Review) -> Self {
        Self {
            id: r.id,
            appointment_id: r.appointment_id,
            doctor_id: r.doctor_id,
            rating: r.rating.stars(),
            comment: r.comment,
            created_at: r.created_at,
        }
    }
}

/// A review as anyone may read it: the rating, the comment, when and its id — nothing that
/// names the patient or the appointment.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a", "rating": 5,
    "comment": "Listened carefully and explained everything.", "created_at": "2026-11-25T09:00:00Z"}))]
pub struct PublicReviewView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ReviewId,
    /// 1-5 stars.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Review> for PublicReviewView {
    fn from(r: Review) -> Self {
        Self {
            id: r.id,
            rating: r.rating.stars(),
            comment: r.comment,
            created_at: r.created_at,
        }
    }
}

/// Review an appointment
///
/// The appointment's patient rates it once it is COMPLETED: 1-5 stars and an optional comment,
/// once per appointment. The doctor's `rating_average` and `rating_count` change in the same
/// transaction.
#[utoipa::path(post, path = "/appointments/{id}/review", operation_id = "reviewAppointment", tag = "reviews",
    params(AppointmentPath), request_body = CreateReview,
    responses(
        (status = 201, description = "Recorded", body = Envelope<ReviewView>),
        (status = 404, description = "`NOT_FOUND`: no such appointment, or not the caller's", body = ErrorBody),
        (status = 409, description = "`INVALID_TRANSITION` (the appointment is not COMPLETED) or `ALREADY_REVIEWED` (it has a review)", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<AppointmentPath>,
    ValidJson(body): ValidJson<CreateReview>,
) -> Result<Reply<ReviewView>, ApiError> {
    if caller.role() != Role::Patient {
        // The role table already refuses staff; kept here so the rule reads in one place.
        return Err(ApiError::refused(
            "Only the patient of an appointment may review it",
        ));
    }
    // A patient account always names its patient; without one nothing is theirs.
    let patient = caller.who.patient_id.ok_or_else(|| hidden("appointment"))?;
    let stars = required(body.rating, "rating")?;
    let rating = Rating::new(stars).map_err(|m| ApiError::field("rating", m))?;
    let new = NewReview {
        appointment_id: p.id,
        patient_id: patient,
        rating,
        comment: text::optional_prose(body.comment),
    };
    let review = app.store.create_review(new, caller.access.clone()).await?;
    tracing::info!(review_id = %review.id, appointment_id = %review.appointment_id,
        doctor_id = %review.doctor_id, "appointment reviewed");
    Ok(response::created(
        "Review recorded successfully",
        review.into(),
    ))
}

/// List a doctor's reviews
///
/// Newest first. Each review carries its rating, comment, date and id only: never the patient
/// or the appointment.
#[utoipa::path(get, path = "/doctors/{id}/reviews", operation_id = "listDoctorReviews", tag = "reviews",
    params(DoctorPath, PageQuery),
    responses(
        (status = 200, description = "A page of reviews", body = PagedEnvelope<PublicReviewView>),
        (status = 404, description = "`NOT_FOUND`: no such doctor", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    ValidPath(p): ValidPath<DoctorPath>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<PageReply<PublicReviewView>, ApiError> {
    let page = q.page();
    let reviews = app.store.list_reviews(p.id, page).await?;
    Ok(response::paged(
        "Reviews retrieved successfully",
        reviews.map(Into::into),
        page,
    ))
}
