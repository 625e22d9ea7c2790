//! `Appointment`: read by its patient, its doctor, the front desk and administrators (others
//! are told it does not exist), and searched within what the caller may see: a patient's
//! search is always of their own appointments, a doctor's of their own calendar. Each
//! appointment answered leaves an access record for its patient.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::outcome::{answer, base, versioned};
use super::resources::{self, appointment, statuses_of, Times};
use super::search::{bundle, every, page_of, Entry, Params, Range};
use crate::domain::appointment::{Appointment, AppointmentStatus};
use crate::domain::slot::Slot;
use crate::domain::store::AppointmentFilter;
use crate::domain::user::{AccessAction, Role};
use crate::domain::{AppointmentId, DoctorId, DomainError, PatientId, SlotId};
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::patients::record_reads;
use crate::http::state::AppState;

/// The appointment a FHIR id names; anything else is not found.
pub fn appointment_id(raw: &str) -> Result<AppointmentId, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(AppointmentId)
        .map_err(|_| DomainError::NotFound("appointment").into())
}

/// An appointment as FHIR, read afresh with its slot's times and its people's names, after
/// checking the caller may see it.
pub async fn current(
    app: &AppState,
    caller: &Caller,
    id: AppointmentId,
) -> Result<serde_json::Value, ApiError> {
    let detail = app.store.get_appointment(id).await?;
    let a = &detail.appointment;
    caller
        .must_own_appointment(app, a.patient_id, a.doctor_id, AccessAction::Read)
        .await?;
    record_reads(app, caller, AccessAction::Read, [a.patient_id]).await?;
    let mut a = detail.appointment;
    a.patient_name = Some(detail.patient.name);
    a.doctor_name = Some(detail.doctor.name);
    let times = Times {
        start: detail.slot.starts_at,
        minutes: detail.slot.duration_minutes,
    };
    Ok(appointment(&a, times))
}

/// `GET /fhir/R4/Appointment/{id}`
pub async fn read(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let resource = current(&app, &caller, appointment_id(&id)?).await?;
    Ok(versioned(&headers, &resource))
}

/// What an appointment search asks for.
struct Wanted {
    patient: Option<PatientId>,
    doctor: Option<DoctorId>,
    slot: Option<SlotId>,
    statuses: Option<Vec<AppointmentStatus>>,
    days: Range,
    id: Option<String>,
}

impl Wanted {
    fn parse(params: &Params) -> Result<Self, ApiError> {
        let patient = params.reference("patient", "Patient")?.map(PatientId);
        let doctor = params
            .reference("practitioner", "Practitioner")?
            .map(DoctorId);
        let slot = params.reference("slot", "Slot")?.map(SlotId);
        let mut statuses: Option<Vec<AppointmentStatus>> = None;
        for s in params
            .all("status")
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
        {
            let of = statuses_of(s).ok_or_else(|| {
                ApiError::field("status", format!("'{s}' is not an Appointment status carebook uses (pending, booked, fulfilled, cancelled, noshow)"))
            })?;
            statuses.get_or_insert_with(Vec::new).extend_from_slice(of);
        }
        Ok(Self {
            patient,
            doctor,
            slot,
            statuses,
            days: Range::parse(params.all("date"), "date")?,
            id: params.one("_id").map(str::to_owned),
        })
    }

    /// Whether an appointment matches every filter. `date` is compared with the appointment's
    /// day in its doctor's calendar.
    fn keeps(&self, a: &Appointment) -> bool {
        let day = a.appointment_date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        self.patient.is_none_or(|p| p == a.patient_id)
            && self.doctor.is_none_or(|d| d == a.doctor_id)
            && self.slot.is_none_or(|s| s == a.time_slot_id)
            && self.statuses.as_ref().is_none_or(|s| s.contains(&a.status))
            && day.is_some_and(|d| self.days.holds(d))
            && self.id.as_deref().is_none_or(|i| i == a.id.to_string())
    }

    /// The one day the search is of, when its `date` is a single day.
    fn single_day(&self) -> Option<chrono::NaiveDate> {
        match (self.days.from, self.days.until) {
            (Some(f), Some(u)) if u - f == chrono::Duration::days(1) => Some(f.date_naive()),
            _ => None,
        }
    }
}

/// The appointments the search can match, read by the narrowest of its filters. A patient,
/// doctor, slot or appointment that does not exist matches nothing (an empty search, as FHIR
/// answers, rather than a 404).
async fn candidates(app: &AppState, w: &Wanted) -> Result<Vec<Appointment>, ApiError> {
    let missing_is_none = |r: Result<Vec<Appointment>, ApiError>| match r {
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(vec![]),
        other => other,
    };
    let status = match w.statuses.as_deref() {
        Some([one]) => Some(*one),
        _ => None,
    };
    if let Some(id) = w.id.as_deref() {
        let Ok(id) = appointment_id(id) else {
            return Ok(vec![]);
        };
        let one = app
            .store
            .get_appointment(id)
            .await
            .map(|d| vec![d.appointment]);
        return missing_is_none(one.map_err(ApiError::from));
    }
    if let Some(p) = w.patient {
        let all = every(|page| app.store.patient_appointments(p, status, page)).await;
        return missing_is_none(all);
    }
    let (doctor, date) = match (w.doctor, w.slot) {
        (Some(d), _) => (d, w.single_day()),
        (None, Some(s)) => match app.store.get_slot(s).await {
            Ok(slot) => (slot.doctor_id, Some(slot.slot_date)),
            Err(DomainError::NotFound(_)) => return Ok(vec![]),
            Err(e) => return Err(e.into()),
        },
        (None, None) => {
            let day = w.single_day().ok_or_else(|| {
                ApiError::field(
                    "patient",
                    "a search of appointments names a patient, a practitioner, a slot, an _id or one date",
                )
            })?;
            return Ok(app.store.day_sheet(day).await?.appointments);
        }
    };
    let filter = AppointmentFilter {
        date,
        status,
        live_only: false,
    };
    missing_is_none(every(|page| app.store.doctor_appointments(doctor, filter, page)).await)
}

/// The patients, doctors and slots a page of appointments names, once each, as `_include`
/// asks. The patients' access records are the page's own (written before).
async fn included(
    app: &AppState,
    page: &[Appointment],
    slots: &HashMap<SlotId, Slot>,
    params: &Params,
) -> Result<Vec<Entry>, ApiError> {
    let mut out = Vec::new();
    if params.includes("Appointment:patient") {
        let ids: BTreeSet<PatientId> = page.iter().map(|a| a.patient_id).collect();
        for id in ids {
            out.push(Entry::included(resources::patient(
                &app.store.get_patient(id).await?,
            )));
        }
    }
    if params.includes("Appointment:practitioner") {
        let ids: BTreeSet<DoctorId> = page.iter().map(|a| a.doctor_id).collect();
        for id in ids {
            out.push(Entry::included(resources::practitioner(
                &app.store.get_doctor(id).await?,
            )));
        }
    }
    if params.includes("Appointment:slot") {
        let ids: BTreeSet<SlotId> = page.iter().map(|a| a.time_slot_id).collect();
        out.extend(
            ids.iter()
                .filter_map(|id| slots.get(id))
                .map(|s| Entry::included(resources::slot(s))),
        );
    }
    Ok(out)
}

/// The appointments a search's parameters match, within what the caller may see: a
/// patient's own appointments, a doctor's own calendar.
pub async fn matching(
    app: &AppState,
    caller: &Caller,
    params: &Params,
    seat: Option<(SlotId, PatientId)>,
) -> Result<Vec<Appointment>, ApiError> {
    let mut wanted = Wanted::parse(params)?;
    // A conditional booking's search is always of the seat it would take.
    if let Some((slot, patient)) = seat {
        let elsewhere = wanted.slot.is_some_and(|s| s != slot);
        if elsewhere || wanted.patient.is_some_and(|p| p != patient) {
            return Ok(vec![]);
        }
        (wanted.slot, wanted.patient) = (Some(slot), Some(patient));
    }
    let own = match caller.role() {
        Role::Patient => {
            let me = caller.who.patient_id;
            let mine = wanted.patient.is_none_or(|p| Some(p) == me);
            wanted.patient = me;
            mine && me.is_some()
        }
        Role::Doctor => {
            let me = caller.who.doctor_id;
            let mine = wanted.doctor.is_none_or(|d| Some(d) == me);
            wanted.doctor = me;
            mine && me.is_some()
        }
        Role::Admin | Role::Scheduler => true,
    };
    if !own {
        return Ok(vec![]);
    }
    Ok(candidates(app, &wanted)
        .await?
        .into_iter()
        .filter(|a| wanted.keeps(a))
        .collect())
}

/// `GET /fhir/R4/Appointment?patient=&practitioner=&date=&status=&slot=`
pub async fn search(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::of(q.as_deref(), "Appointment")?;
    let found = matching(&app, &caller, &params, None).await?;
    let total = found.len();
    let page = page_of(found, &params);
    record_reads(
        &app,
        &caller,
        AccessAction::List,
        page.iter().map(|a| a.patient_id),
    )
    .await?;
    let mut slots: HashMap<SlotId, Slot> = HashMap::new();
    for a in &page {
        if !slots.contains_key(&a.time_slot_id) {
            let s = app.store.get_slot(a.time_slot_id).await?;
            slots.insert(s.id, s);
        }
    }
    let mut entries: Vec<Entry> = page
        .iter()
        .filter_map(|a| {
            let times = Times::from(slots.get(&a.time_slot_id)?);
            Some(Entry::matched(appointment(a, times)))
        })
        .collect();
    entries.extend(included(&app, &page, &slots, &params).await?);
    let body = bundle(
        &base(&app, &headers),
        "Appointment",
        &params,
        total,
        entries,
    );
    Ok(answer(StatusCode::OK, &body))
}
