//! The PHI access audit: who read or wrote which patient's data (45 CFR 164.312(b)), for the
//! admin, and each patient's own accounting of disclosures.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ValidPath, ValidQuery};
use super::params::{paged_query, PageQuery, PatientPath};
use super::response::{self, PageReply, PagedEnvelope};
use super::state::AppState;
use crate::domain::text::Blank;
use crate::domain::user::{AccessAction, AccessFilter, AccessRecord, Role};
use crate::domain::{PatientId, UserId};

/// One access record.
#[derive(Serialize, ToSchema)]
pub struct AccessView {
    /// Unique among access records. A record kept in an appointment's audit row (a person's
    /// booking, confirm, cancel, complete, reschedule or no-show) counts from 2^52.
    pub id: i64,
    /// When, by the database clock.
    pub at: DateTime<Utc>,
    pub actor_id: UserId,
    pub actor_role: Role,
    pub patient_id: PatientId,
    pub action: AccessAction,
    /// The route template, e.g. `/api/patients/{id}`.
    pub route: String,
    pub request_id: String,
    /// The HTTP status the request was answered with.
    pub outcome: u16,
    /// Set when a doctor used emergency access.
    pub break_glass_reason: Option<String>,
}

impl From<AccessRecord> for AccessView {
    fn from(r: AccessRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            patient_id: r.patient_id,
            action: r.action,
            route: r.route,
            request_id: r.request_id,
            outcome: r.outcome,
            break_glass_reason: r.break_glass_reason,
        }
    }
}

paged_query!(
    /// Filters of the access audit and a page.
    AccessQuery {
        /// Only this patient's records; empty (or blank) means any.
        #[garde(skip)]
        #[param(value_type = Option<super::shapes::PatientIdOrBlank>, inline)]
        patient_id: Option<Blank<PatientId>>,
        /// Only this account's records; empty (or blank) means any.
        #[garde(skip)]
        #[param(value_type = Option<super::shapes::UserIdOrBlank>, inline)]
        actor_id: Option<Blank<UserId>>,
        /// From this instant (RFC 3339), inclusive.
        #[garde(skip)]
        #[param(value_type = Option<DateTime<Utc>>)]
        from: Option<DateTime<Utc>>,
        /// Up to this instant (RFC 3339), inclusive.
        #[garde(skip)]
        #[param(value_type = Option<DateTime<Utc>>)]
        to: Option<DateTime<Utc>>,
        /// `true`: only emergency accesses; `false`: only the others.
        #[garde(skip)]
        break_glass: Option<bool>,
    }
);

/// The access audit (admin)
///
/// Newest first.
#[utoipa::path(get, path = "/audit/access", operation_id = "listAccessRecords", tag = "audit", params(AccessQuery),
    responses(
        (status = 200, description = "A page of access records", body = PagedEnvelope<AccessView>),
        (status = 400, description = "`VALIDATION_ERROR`: a bad filter", body = ErrorBody),
    ))]
pub async fn access(
    State(app): State<AppState>,
    ValidQuery(q): ValidQuery<AccessQuery>,
) -> Result<PageReply<AccessView>, ApiError> {
    let page = q.page();
    let filter = AccessFilter {
        patient_id: q.patient_id.and_then(Blank::into_option),
        actor_id: q.actor_id.and_then(Blank::into_option),
        from: q.from,
        to: q.to,
        break_glass: q.break_glass,
    };
    let records = app.store.access_log(&filter, page).await?;
    Ok(response::paged(
        "Access records retrieved successfully",
        records.map(Into::into),
        page,
    ))
}

/// Who accessed a patient's record
///
/// The patient themself, or an admin (accounting of disclosures). Newest first.
#[utoipa::path(get, path = "/patients/{id}/access-log", operation_id = "getPatientAccessLog", tag = "audit",
    params(PatientPath, PageQuery),
    responses(
        (status = 200, description = "A page of access records", body = PagedEnvelope<AccessView>),
        (status = 404, description = "`NOT_FOUND`: no such patient, or not you", body = ErrorBody),
    ))]
pub async fn patient_log(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<PatientPath>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> Result<PageReply<AccessView>, ApiError> {
    caller
        .must_be_patient_or_desk(&app, p.id, AccessAction::Read)
        .await?;
    // The existence check (an admin asking about nobody gets 404, as for the record itself).
    app.store.get_patient(p.id).await?;
    let page = q.page();
    let filter = AccessFilter {
        patient_id: Some(p.id),
        ..AccessFilter::default()
    };
    let records = app.store.access_log(&filter, page).await?;
    Ok(response::paged(
        "Access records retrieved successfully",
        records.map(Into::into),
        page,
    ))
}
