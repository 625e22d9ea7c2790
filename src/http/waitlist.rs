//! `/waitlist`: patients waiting for a seat with a doctor. A seat freed in a matching slot is
//! offered to the first in line as a PENDING hold, by the releasing use case itself.

use std::borrow::Cow;

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::caller::{hidden, Caller};
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidPath, ValidQuery};
use super::fields::required;
use super::params::paged_query;
use super::patients::record_reads;
use super::response::{self, Envelope, PageReply, PagedEnvelope, Reply};
use super::schema::UUID_PATTERN;
use super::state::AppState;
use super::{input, shapes};
use crate::domain::calendar::Day;
use crate::domain::text::Blank;
use crate::domain::user::{AccessAction, Role};
use crate::domain::waitlist::{
    check_range, NewWaitlistEntry, WaitlistEntry, WaitlistFilter, WaitlistId, WaitlistStatus,
};
use crate::domain::{AppointmentId, DoctorId, PatientId};

impl PartialSchema for WaitlistId {
    fn schema() -> RefOr<Schema> {
        let s = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Identifies a waitlist entry (canonical hyphenated UUID).",
            ))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .pattern(Some(UUID_PATTERN))
            .examples(["7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"]);
        RefOr::T(Schema::Object(s.build()))
    }
}

impl ToSchema for WaitlistId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WaitlistId")
    }
}

/// A request to join a doctor's waitlist.
#[derive(Deserialize, garde::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient_id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "from_date": "2026-12-20", "to_date": "2026-12-31"}))]
pub struct JoinWaitlist {
    /// A patient may name only themself.
    #[garde(required)]
    #[schema(value_type = PatientId)]
    patient_id: Option<PatientId>,
    #[garde(required)]
    #[schema(value_type = DoctorId)]
    doctor_id: Option<DoctorId>,
    /// First local date (the doctor's zone) a seat may be on: today or later.
    #[garde(required)]
    #[schema(value_type = NaiveDate)]
    from_date: Option<Day>,
    /// Last local date, inclusive: on or after `from_date`, at most 90 days after it.
    #[garde(required)]
    #[schema(value_type = NaiveDate)]
    to_date: Option<Day>,
}

impl JoinWaitlist {
    fn into_new(self) -> Result<NewWaitlistEntry, ApiError> {
        Ok(NewWaitlistEntry {
            patient_id: required(self.patient_id, "patient_id")?,
            doctor_id: required(self.doctor_id, "doctor_id")?,
            from_date: required(self.from_date, "from_date")?.0,
            to_date: required(self.to_date, "to_date")?.0,
        })
    }
}

/// Where an entry is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WaitlistStatusView {
    /// In line.
    Waiting,
    /// Given a PENDING hold (`appointment_id`); done, never offered again.
    Offered,
}

/// A patient waiting for a doctor.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    "patient_id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42",
    "from_date": "2026-12-20", "to_date": "2026-12-31", "status": "WAITING", "appointment_id": null,
    "offered_at": null, "created_at": "2026-12-01T09:00:00Z"}))]
pub struct WaitlistEntryView {
    pub id: WaitlistId,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub status: WaitlistStatusView,
    /// The PENDING hold this entry was offered (confirm it with `/appointments/{id}/confirm`).
    pub appointment_id: Option<AppointmentId>,
    pub offered_at: Option<DateTime<Utc>>,
    /// When the patient joined: the place in line.
    pub created_at: DateTime<Utc>,
}

impl From<WaitlistEntry> for WaitlistEntryView {
    fn from(e: WaitlistEntry) -> Self {
        Self {
            id: e.id,
            patient_id: e.patient_id,
            doctor_id: e.doctor_id,
            from_date: e.from_date,
            to_date: e.to_date,
            status: match e.status {
                WaitlistStatus::Waiting => WaitlistStatusView::Waiting,
                WaitlistStatus::Offered => WaitlistStatusView::Offered,
            },
            appointment_id: e.appointment_id,
            offered_at: e.offered_at,
            created_at: e.created_at,
        }
    }
}

paged_query!(
    /// Filters, `limit` and `offset`.
    WaitlistQuery {
        /// Only this patient's entries (a patient may name only themself); empty (or blank)
        /// means any.
        #[garde(skip)]
        #[param(value_type = Option<shapes::PatientIdOrBlank>, inline)]
        patient_id: Option<Blank<PatientId>>,
        /// Only entries for this doctor; empty (or blank) means any.
        #[garde(skip)]
        #[param(value_type = Option<shapes::DoctorIdOrBlank>, inline)]
        doctor_id: Option<Blank<DoctorId>>,
    }
);

/// `{id}` of a waitlist entry.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WaitlistPath {
    /// The entry's id.
    #[garde(skip)]
    #[param(value_type = WaitlistId)]
    id: WaitlistId,
}

/// The entries a caller may see and manage: a patient their own, a doctor those of their own
/// waitlist, the front desk and admins any.
fn scope(caller: &Caller) -> Result<WaitlistFilter, ApiError> {
    let who = &caller.who;
    match caller.role() {
        Role::Patient => Ok(WaitlistFilter {
            patient: Some(
                who.patient_id
                    .ok_or_else(|| ApiError::refused("This account is not linked to a patient"))?,
            ),
            doctor: None,
        }),
        Role::Doctor => Ok(WaitlistFilter {
            patient: None,
            doctor: Some(
                who.doctor_id
                    .ok_or_else(|| ApiError::refused("This account is not linked to a doctor"))?,
            ),
        }),
        Role::Admin | Role::Scheduler => Ok(WaitlistFilter::default()),
    }
}

/// `asked` within `limit`: a value outside the caller's scope is 403.
fn within<T: PartialEq + Copy>(limit: Option<T>, asked: Option<T>) -> Result<Option<T>, ApiError> {
    match (limit, asked) {
        (Some(l), Some(a)) if l != a => Err(ApiError::refused(
            "A patient may name only themself, and a doctor only their own waitlist",
        )),
        (Some(l), _) => Ok(Some(l)),
        (None, a) => Ok(a),
    }
}

/// Join a doctor's waitlist
///
/// The entry goes to the end of the line. When a seat frees in a slot of this doctor whose
/// local date lies within `from_date`..=`to_date` (a cancel, an expiry, a reschedule away, time
/// off lifted), the first patient in line who does not already have an appointment on that slot
/// and is under the hold cap is given a PENDING hold on it (audited `OFFERED_FROM_WAITLIST`),
/// to confirm like any booking; the entry is then OFFERED.
#[utoipa::path(post, path = "/waitlist", operation_id = "joinWaitlist", tag = "waitlist",
    request_body = JoinWaitlist,
    params(("Break-Glass-Reason" = inline(Option<shapes::BreakGlassHeader>), Header,
        description = "A doctor queueing a patient they have no care relationship with: why (1-500 printable ASCII characters).")),
    responses(
        (status = 201, description = "In line", body = Envelope<WaitlistEntryView>),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field or header, a `to_date` before `from_date` or more than 90 days after it, or (depending on the day in the doctor's zone) a `from_date` in the past", body = ErrorBody),
        (status = 403, description = "`FORBIDDEN`: a patient naming another patient, or a doctor another doctor", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such patient or doctor, or (for a doctor) a patient they have no care relationship with", body = ErrorBody),
        (status = 409, description = "`DUPLICATE`: the patient already waits for this doctor on overlapping dates", body = ErrorBody),
    ))]
pub async fn join(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Reply<WaitlistEntryView>, ApiError> {
    let new = input::body::<JoinWaitlist>(body, &())?.into_new()?;
    let limit = scope(&caller)?;
    let (patient, create) = (new.patient_id, AccessAction::Create);
    if let Err(refusal) = within(limit.patient, Some(patient)) {
        return Err(caller.refuse_patient(&app, patient, create, refusal).await);
    }
    within(limit.doctor, Some(new.doctor_id))?;
    // A seat offered from the waitlist is a way to a patient's record: a doctor may put on
    // their waitlist only patients they may see already.
    if caller.role() == Role::Doctor && !caller.sees_patient(&app, patient).await? {
        let refusal = hidden("patient");
        return Err(caller.refuse_patient(&app, patient, create, refusal).await);
    }
    let doctor = app.store.primary().get_doctor(new.doctor_id).await?;
    let today = Utc::now().with_timezone(&doctor.timezone.0).date_naive();
    check_range(new.from_date, new.to_date, today)?;
    let entry = app
        .store
        .join_waitlist(new, Some(caller.access.clone()))
        .await?;
    tracing::info!(waitlist_id = %entry.id, doctor_id = %entry.doctor_id, "joined the waitlist");
    Ok(response::created(
        "Joined the waitlist successfully",
        entry.into(),
    ))
}

/// List waitlist entries
///
/// In line order (join time). A patient sees their own entries, a doctor those of their own
/// waitlist; the front desk and admins see every entry. All filter by `patient_id` and
/// `doctor_id`.
#[utoipa::path(get, path = "/waitlist", operation_id = "listWaitlist", tag = "waitlist",
    params(WaitlistQuery),
    responses(
        (status = 200, description = "A page of entries", body = PagedEnvelope<WaitlistEntryView>),
        (status = 403, description = "`FORBIDDEN`: a patient naming another patient, or a doctor another doctor", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<WaitlistQuery>,
) -> Result<PageReply<WaitlistEntryView>, ApiError> {
    let page = q.page();
    let limit = scope(&caller)?;
    let filter = WaitlistFilter {
        patient: within(limit.patient, q.patient_id.and_then(Blank::into_option))?,
        doctor: within(limit.doctor, q.doctor_id.and_then(Blank::into_option))?,
    };
    let list = app.store.list_waitlist(filter, page).await?;
    let patients: Vec<PatientId> = list.items.iter().map(|e| e.patient_id).collect();
    record_reads(&app, &caller, AccessAction::List, patients).await?;
    Ok(response::paged(
        "Waitlist retrieved successfully",
        list.map(Into::into),
        page,
    ))
}

/// Leave the waitlist
///
/// Removes the entry (a patient's own, a doctor's on their own waitlist; the front desk and
/// admins any). An offered hold stays as it is: cancel it
/// through its appointment.
#[utoipa::path(delete, path = "/waitlist/{id}", operation_id = "leaveWaitlist", tag = "waitlist",
    params(WaitlistPath),
    responses(
        (status = 200, description = "Removed; the entry as it was", body = Envelope<WaitlistEntryView>),
        (status = 404, description = "`NOT_FOUND`: no such entry, or not the caller's", body = ErrorBody),
    ))]
pub async fn leave(
    State(app): State<AppState>,
    caller: Caller,
    ValidPath(p): ValidPath<WaitlistPath>,
) -> Result<Reply<WaitlistEntryView>, ApiError> {
    let entry = app
        .store
        .leave_waitlist(p.id, scope(&caller)?, Some(caller.access.clone()))
        .await?;
    tracing::info!(waitlist_id = %entry.id, "left the waitlist");
    Ok(response::ok("Left the waitlist successfully", entry.into()))
}
