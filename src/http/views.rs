//! What the API answers with: one view type per resource, with its OpenAPI schema and example.
//! Views are built from domain types and never read back.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::domain::user::Role;
use utoipa::ToSchema;

use crate::domain::appointment::{
    AppointmentStatus, AuditAction, AuditEntry, ConsultationType, DoctorSummary, PatientSummary,
    SlotSummary,
};
use crate::domain::calendar::TimeZone;
use crate::domain::contact::{Email, Phone};
use crate::domain::doctor::Doctor;
use crate::domain::patient::{BloodGroup, Patient};
use crate::domain::reschedule::moved_slots;
use crate::domain::slot::{BulkOutcome, SkippedSlot, Slot, SlotStatus};
use crate::domain::{Appointment, AppointmentDetail, AppointmentId, DoctorId, PatientId, SlotId};

/// Copies the named fields of a domain value into a view of the same shape.
macro_rules! view_from {
    ($domain:ty => $view:ident { $($f:ident),* $(,)? }) => {
        impl From<$domain> for $view {
            fn from(d: $domain) -> Self {
                Self { $($f: d.$f.into()),* }
            }
        }
    };
}

/// A doctor.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "name": "Dr. Sarah Johnson",
    "specialization": "Cardiology", "email": "sarah@clinic.com", "phone": "+1 234 567 890",
    "license_number": "MD12345", "clinic_name": "City Heart Clinic", "address": "123 Medical Plaza",
    "bio": "20 years in cardiac care", "timezone": "Europe/Paris", "is_active": true,
    "created_at": "2026-11-25T09:00:00Z", "updated_at": "2026-11-25T09:00:00Z",
    "rating_average": 4.67, "rating_count": 3}))]
pub struct DoctorView {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub license_number: String,
    pub clinic_name: Option<String>,
    pub address: Option<String>,
    pub bio: Option<String>,
    /// The zone in which this doctor's slot dates and times are given.
    pub timezone: TimeZone,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The mean rating of the doctor's reviews (1-5 stars), rounded to two decimals (half away
    /// from zero); `null` while the doctor has no review.
    #[schema(minimum = 1, maximum = 5, example = 4.67)]
    pub rating_average: Option<f64>,
    /// How many reviews the doctor has.
    #[schema(minimum = 0)]
    pub rating_count: i64,
}

impl From<Doctor> for DoctorView {
    fn from(d: Doctor) -> Self {
        Self {
            rating_average: d.rating.average(),
            rating_count: d.rating.count,
            id: d.id,
            name: d.name,
            specialization: d.specialization,
            email: d.email,
            phone: d.phone,
            license_number: d.license_number,
            clinic_name: d.clinic_name,
            address: d.address,
            bio: d.bio,
            timezone: d.timezone,
            is_active: d.is_active,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A patient. Every field but the id is protected health information.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "name": "John Doe",
    "email": "john@example.com", "phone": "+1 (234) 567-890", "date_of_birth": "1990-01-15",
    "gender": "Male", "blood_group": "O+", "allergies": "Penicillin", "medical_history": "Hypertension",
    "emergency_contact_name": "Jane Doe", "emergency_contact_phone": "+1 234 567 899",
    "created_at": "2026-11-25T09:00:00Z", "updated_at": "2026-11-25T09:00:00Z"}))]
pub struct PatientView {
    pub id: PatientId,
    pub name: String,
    pub email: Email,
    pub phone: Phone,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    /// Clinical: absent in answers to the front desk (minimum necessary).
    #[serde(skip_serializing_if = "Clinical::is_withheld")]
    #[schema(value_type = Option<BloodGroup>, required = false)]
    pub blood_group: Clinical<BloodGroup>,
    /// Clinical: absent in answers to the front desk.
    #[serde(skip_serializing_if = "Clinical::is_withheld")]
    #[schema(value_type = Option<String>, required = false)]
    pub allergies: Clinical<String>,
    /// Clinical: absent in answers to the front desk.
    #[serde(skip_serializing_if = "Clinical::is_withheld")]
    #[schema(value_type = Option<String>, required = false)]
    pub medical_history: Clinical<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<Phone>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
view_from!(Patient => PatientView { id, name, email, phone, date_of_birth, gender, blood_group,
    allergies, medical_history, emergency_contact_name, emergency_contact_phone, created_at,
    updated_at });

/// A clinical field of a patient: shown (possibly empty), or withheld from a caller whose
/// role does not need it.
#[derive(Debug, Clone)]
pub enum Clinical<T> {
    Shown(Option<T>),
    Withheld,
}

impl<T> Clinical<T> {
    /// Whether the field is left out of the answer.
    pub fn is_withheld(&self) -> bool {
        matches!(self, Self::Withheld)
    }
}

impl<T> From<Option<T>> for Clinical<T> {
    fn from(v: Option<T>) -> Self {
        Self::Shown(v)
    }
}

impl<T: Serialize> Serialize for Clinical<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Shown(v) => v.serialize(s),
            Self::Withheld => s.serialize_none(),
        }
    }
}

impl PatientView {
    /// The view for a caller: the front desk does not get the clinical fields.
    pub fn for_role(patient: crate::domain::patient::Patient, role: Role) -> Self {
        let mut v = Self::from(patient);
        if role == Role::Scheduler {
            v.blood_group = Clinical::Withheld;
            v.allergies = Clinical::Withheld;
            v.medical_history = Clinical::Withheld;
        }
        v
    }
}

/// A time slot, with its effective seats and status.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42", "slot_date": "2026-12-20", "slot_time": "10:00:00",
    "duration_minutes": 30, "max_capacity": 1, "current_bookings": 0, "available_capacity": 1,
    "status": "AVAILABLE", "starts_at": "2026-12-20T09:00:00Z", "created_at": "2026-11-25T09:00:00Z",
    "updated_at": "2026-11-25T09:00:00Z"}))]
pub struct SlotView {
    pub id: SlotId,
    pub doctor_id: DoctorId,
    /// Local date in the doctor's zone.
    pub slot_date: NaiveDate,
    /// Local time in the doctor's zone.
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub max_capacity: i32,
    /// Seats held by live appointments (PENDING and unexpired, CONFIRMED, COMPLETED).
    pub current_bookings: i32,
    pub available_capacity: i32,
    pub status: SlotStatus,
    /// The absolute start.
    pub starts_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
view_from!(Slot => SlotView { id, doctor_id, slot_date, slot_time, duration_minutes,
    max_capacity, current_bookings, available_capacity, status, starts_at, created_at,
    updated_at });

/// A bulk item that was not created.
#[derive(Serialize, ToSchema)]
pub struct SkippedSlotView {
    /// Its position in the request.
    pub index: usize,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub reason: String,
}
view_from!(SkippedSlot => SkippedSlotView { index, slot_date, slot_time, reason });

/// What a bulk creation did.
#[derive(Serialize, ToSchema)]
pub struct BulkOutcomeView {
    pub created: Vec<SlotView>,
    pub skipped: Vec<SkippedSlotView>,
}

impl From<BulkOutcome> for BulkOutcomeView {
    fn from(o: BulkOutcome) -> Self {
        Self {
            created: o.created.into_iter().map(Into::into).collect(),
            skipped: o.skipped.into_iter().map(Into::into).collect(),
        }
    }
}

/// An appointment; `status` is effective (an unconfirmed hold past `expires_at` reads EXPIRED).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b",
    "patient_id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "doctor_id": "3f2b6c1e-9a4d-4f0b-8c2e-5d7a1b9e0f42",
    "time_slot_id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", "appointment_date": "2026-12-20",
    "appointment_time": "10:00:00", "status": "PENDING", "consultation_type": "in-person",
    "reason_for_visit": "Regular checkup", "expires_at": "2026-11-25T09:05:00Z", "confirmed_at": null,
    "cancelled_at": null, "cancellation_reason": null, "completed_at": null,
    "created_at": "2026-11-25T09:00:00Z", "updated_at": "2026-11-25T09:00:00Z"}))]
pub struct AppointmentView {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub time_slot_id: SlotId,
    pub appointment_date: NaiveDate,
    pub appointment_time: NaiveTime,
    pub status: AppointmentStatus,
    pub consultation_type: ConsultationType,
    pub reason_for_visit: Option<String>,
    /// When an unconfirmed hold lapses.
    pub expires_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In lists: the patient's name (a doctor's day list, a patient's own list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    /// In lists: the doctor's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doctor_name: Option<String>,
}
view_from!(Appointment => AppointmentView { id, patient_id, doctor_id, time_slot_id,
    appointment_date, appointment_time, status, consultation_type, reason_for_visit, expires_at,
    confirmed_at, cancelled_at, cancellation_reason, completed_at, created_at, updated_at,
    patient_name, doctor_name });

/// The doctor inside an appointment.
#[derive(Serialize, ToSchema)]
pub struct DoctorSummaryView {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub clinic_name: Option<String>,
}
view_from!(DoctorSummary => DoctorSummaryView { id, name, specialization, clinic_name });

/// The slot inside an appointment.
#[derive(Serialize, ToSchema)]
pub struct SlotSummaryView {
    pub id: SlotId,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub duration_minutes: i32,
    pub starts_at: DateTime<Utc>,
}
view_from!(SlotSummary => SlotSummaryView { id, slot_date, slot_time, duration_minutes, starts_at });

/// The patient inside an appointment.
#[derive(Serialize, ToSchema)]
pub struct PatientSummaryView {
    pub id: PatientId,
    pub name: String,
}
view_from!(PatientSummary => PatientSummaryView { id, name });

/// An appointment with who and when.
#[derive(Serialize, ToSchema)]
pub struct AppointmentDetailView {
    #[serde(flatten)]
    pub appointment: AppointmentView,
    pub doctor: DoctorSummaryView,
    pub slot: SlotSummaryView,
    pub patient: PatientSummaryView,
}
view_from!(AppointmentDetail => AppointmentDetailView { appointment, doctor, slot, patient });

/// One entry of an appointment's audit trail.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"action": "BOOK", "old_status": null, "new_status": "PENDING", "reason": null,
    "at": "2026-11-25T09:00:00Z", "actor": "request:4b0c2f9e-1d3a-4e5b-9c6d-7e8f9a0b1c2d"}))]
pub struct AuditEntryView {
    pub action: AuditAction,
    pub old_status: Option<AppointmentStatus>,
    pub new_status: AppointmentStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// The id of the user who made the change, or `system` for expiries.
    pub actor: String,
    /// That user's role then (`admin`, `scheduler`, `doctor`, `patient`), or `system`.
    pub actor_role: String,
    /// For `RESCHEDULED`: the slot the appointment left (also named in `reason`); else null.
    pub from_slot_id: Option<SlotId>,
    /// For `RESCHEDULED`: the slot the appointment moved to; else null.
    pub to_slot_id: Option<SlotId>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        let moved = match e.action {
            AuditAction::Reschedule => e.reason.as_deref().and_then(moved_slots),
            _ => None,
        };
        Self {
            action: e.action,
            old_status: e.old_status,
            new_status: e.new_status,
            reason: e.reason,
            at: e.at,
            actor: e.actor,
            actor_role: e.actor_role,
            from_slot_id: moved.map(|m| m.0),
            to_slot_id: moved.map(|m| m.1),
        }
    }
}
