//! `GET /available-slots`: the earliest free slots across doctors, a page at a time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::ValidQuery;
use super::shapes;
use super::state::AppState;
use super::views::SlotView;
use crate::domain::calendar::{Day, TimeZone};
use crate::domain::doctor::FIELD_MAX;
use crate::domain::search::{
    Cursor, DoctorBrief, FoundSlot, SlotSearch, BAD_CURSOR, DEFAULT_LIMIT, MAX_LIMIT,
    MAX_RANGE_DAYS,
};
use crate::domain::text::{Blank, Text};
use crate::domain::DoctorId;

/// What to search for; an empty value means "not sent".
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Matched case-insensitively (`cardiology` finds `Cardiology`); not sent, empty or blank:
    /// every specialization.
    #[garde(skip)]
    #[param(value_type = Option<shapes::FieldOrBlank>, inline, example = "Cardiology")]
    specialization: Option<Blank<Text<FIELD_MAX>>>,
    /// First local date (in each doctor's zone), `YYYY-MM-DD`; default (also when empty or
    /// blank) today in `CLINIC_TIMEZONE`.
    #[garde(skip)]
    #[param(value_type = Option<shapes::DateOrBlank>, inline)]
    from_date: Option<Blank<Day>>,
    /// Last local date, inclusive, `YYYY-MM-DD`; default (also when empty or blank)
    /// `from_date` + 30 days; at most 92 days after `from_date`.
    #[garde(skip)]
    #[param(value_type = Option<shapes::DateOrBlank>, inline)]
    to_date: Option<Blank<Day>>,
    /// Slots per page, 1-100, default 20.
    #[garde(inner(range(min = 1, max = MAX_LIMIT)))]
    #[param(minimum = 1, maximum = 100, example = 20)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page (send the same other parameters with it); empty
    /// or blank: the first page.
    #[garde(skip)]
    #[param(value_type = Option<shapes::CursorOrBlank>, inline)]
    cursor: Option<Blank<Cursor>>,
}

impl SearchQuery {
    /// The search, with `today` standing in for a missing `from_date`.
    fn into_search(self, today: NaiveDate) -> Result<SlotSearch, ApiError> {
        let sent = |d: Option<Blank<Day>>| d.and_then(|b| b.0).map(|d| d.0);
        let from = sent(self.from_date).unwrap_or(today);
        let to = sent(self.to_date).unwrap_or(from + Duration::days(30));
        if to < from {
            return Err(ApiError::field("to_date", "must not be before from_date"));
        }
        if (to - from).num_days() > MAX_RANGE_DAYS {
            return Err(ApiError::field(
                "to_date",
                format!("the range may span at most {MAX_RANGE_DAYS} days"),
            ));
        }
        let after = self.cursor.and_then(|b| b.0);
        // A cursor of the right shape may still name an instant no database stores.
        if after.is_some_and(|c| !(1..=9999).contains(&c.starts_at.year())) {
            return Err(ApiError::field("cursor", BAD_CURSOR));
        }
        Ok(SlotSearch {
            specialization: self.specialization.and_then(|b| b.0).map(Text::into_inner),
            from,
            to,
            after,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
        })
    }
}

/// The doctor of a found slot: public profile fields only.
#[derive(Serialize, ToSchema)]
pub struct DoctorBriefView {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub clinic_name: Option<String>,
    /// The zone the slot's date and time are given in.
    pub timezone: TimeZone,
}

impl From<DoctorBrief> for DoctorBriefView {
    fn from(d: DoctorBrief) -> Self {
        Self {
            id: d.id,
            name: d.name,
            specialization: d.specialization,
            clinic_name: d.clinic_name,
            timezone: d.timezone,
        }
    }
}

/// A free slot and its doctor.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "slot_date": "2026-12-20", "slot_time": "10:00:00",
    "duration_minutes": 30, "max_capacity": 1, "current_bookings": 0, "available_capacity": 1,
    "status": "AVAILABLE", "starts_at": "2026-12-20T09:00:00Z", "created_at": "2026-11-25T09:00:00Z",
    "updated_at": "2026-11-25T09:00:00Z", "doctor": {"id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42",
    "name": "Dr. Sarah Johnson", "specialization": "Cardiology", "clinic_name": "City Heart Clinic",
    "timezone": "Europe/Paris"}}))]
pub struct FoundSlotView {
    #[serde(flatten)]
    pub slot: SlotView,
    pub doctor: DoctorBriefView,
}

impl From<FoundSlot> for FoundSlotView {
    fn from(f: FoundSlot) -> Self {
        Self {
            slot: f.slot.into(),
            doctor: f.doctor.into(),
        }
    }
}

/// Where a page of found slots sits.
#[derive(Serialize, ToSchema)]
pub struct CursorPagination {
    /// Slots asked for.
    pub limit: i64,
    /// Send as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `{"success": true, "message", "data": [found slots], "pagination": {"limit", "next_cursor"}}`.
#[derive(Serialize, ToSchema)]
pub struct FoundSlotsPage {
    /// Always `true`.
    pub success: bool,
    /// A sentence for humans.
    pub message: String,
    pub data: Vec<FoundSlotView>,
    pub pagination: CursorPagination,
}

impl IntoResponse for FoundSlotsPage {
    fn into_response(self) -> Response {
        (StatusCode::OK, axum::Json(self)).into_response()
    }
}

/// Find the earliest free slots across doctors
///
/// Bookable slots (AVAILABLE, a seat left, not started) of every active doctor of a
/// specialization (case-insensitive; every specialization when not sent) whose local date is
/// in the range, by start, then slot id, each with its doctor. The range defaults to today …
/// today+30 (today in `CLINIC_TIMEZONE`; a `from_date` alone opens a 30-day window from it) and
/// may span at most 92 days. A page holds `limit` slots (default 20, at most 100); when more
/// follow, `pagination.next_cursor` fetches the next page.
#[utoipa::path(get, path = "/available-slots", operation_id = "findAvailableSlots", tag = "time slots",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of free slots, earliest first", body = FoundSlotsPage),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed date, `to_date` before `from_date` or more than 92 days after it (either bound defaults from today), `limit` outside 1-100, a `cursor` this route did not hand out (one of the right shape may still name an instant out of range), a `specialization` over 200 characters; `details` names each", body = ErrorBody),
    ))]
pub async fn find(
    State(app): State<AppState>,
    ValidQuery(q): ValidQuery<SearchQuery>,
) -> Result<FoundSlotsPage, ApiError> {
    let search = q.into_search(app.today())?;
    let limit = search.limit;
    // One more than the page, to know whether another follows.
    let ask = SlotSearch {
        limit: limit + 1,
        ..search
    };
    let mut found = app.store.find_free_slots(&ask).await?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next_cursor = match found.last() {
        Some(last) if more => Some(Cursor::after(&last.slot).encode()),
        _ => None,
    };
    Ok(FoundSlotsPage {
        success: true,
        message: "Available slots retrieved successfully".into(),
        data: found.into_iter().map(Into::into).collect(),
        pagination: CursorPagination { limit, next_cursor },
    })
}
