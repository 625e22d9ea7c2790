//! Database rows, as both adapters read them, and their mapping to domain types.
//!
//! Rows hold what the database holds (text for statuses and zones); the mapping turns them into
//! domain types, and a value no code writes (an unknown status) becomes an internal error. The
//! error never carries the stored value, which may be personal data.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::domain::appointment::{
    AppointmentStatus, AuditAction, AuditEntry, ConsultationType, DoctorSummary, PatientSummary,
    SlotSummary,
};
use crate::domain::calendar::TimeZone;
use crate::domain::contact::{Email, Phone};
use crate::domain::doctor::Doctor;
use crate::domain::patient::{BloodGroup, Patient};
use crate::domain::review::RatingSummary;
use crate::domain::slot::{Slot, SlotStatus};
use crate::domain::user::{
    AccessAction, AccessRecord, Credentials, Role, Session, SigningKey, User,
};
use crate::domain::{
    Appointment, AppointmentDetail, AppointmentId, DoctorId, DomainError, PatientId, SessionId,
    SlotId, UserId,
};

/// The error for a stored value that does not parse.
pub(super) fn corrupt(what: &'static str) -> impl FnOnce(String) -> DomainError {
    move |_| DomainError::Internal(format!("stored {what} is not a known value").into())
}

/// A `doctors` row.
#[derive(sqlx::FromRow)]
pub struct DoctorRow {
    id: DoctorId,
    name: String,
    specialization: String,
    email: String,
    phone: Option<String>,
    license_number: String,
    clinic_name: Option<String>,
    address: Option<String>,
    bio: Option<String>,
    timezone: String,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    rating_count: i64,
    rating_sum: i64,
}

impl TryFrom<DoctorRow> for Doctor {
    type Error = DomainError;
    fn try_from(r: DoctorRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            name: r.name,
            specialization: r.specialization,
            email: Email::from_stored(r.email),
            phone: r.phone.map(Phone::from_stored),
            license_number: r.license_number,
            clinic_name: r.clinic_name,
            address: r.address,
            bio: r.bio,
            timezone: TimeZone::parse(&r.timezone).map_err(corrupt("time zone"))?,
            is_active: r.is_active,
            created_at: r.created_at,
            updated_at: r.updated_at,
            rating: RatingSummary {
                count: r.rating_count,
                sum: r.rating_sum,
            },
        })
    }
}

/// A `patients` row.
#[derive(sqlx::FromRow)]
pub struct PatientRow {
    id: PatientId,
    name: String,
    email: String,
    phone: String,
    date_of_birth: Option<NaiveDate>,
    gender: Option<String>,
    blood_group: Option<String>,
    allergies: Option<String>,
    medical_history: Option<String>,
    emergency_contact_name: Option<String>,
    emergency_contact_phone: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A `patients` row with how many rows its query matched (`count(*) OVER ()`): a search reads
/// its page and its total in one pass over the matches.
#[derive(sqlx::FromRow)]
pub struct CountedPatientRow {
    #[sqlx(flatten)]
    patient: PatientRow,
    matches: i64,
}

/// A page of counted rows with its total, or `None` for an empty page, whose total its rows
/// cannot tell.
pub fn counted_patients(
    rows: Vec<CountedPatientRow>,
) -> Result<Option<crate::domain::page::Paged<Patient>>, DomainError> {
    let Some(total) = rows.first().map(|r| r.matches) else {
        return Ok(None);
    };
    let items = rows.into_iter().map(|r| r.patient).collect();
    paged(total, items).map(Some)
}

impl TryFrom<PatientRow> for Patient {
    type Error = DomainError;
    fn try_from(r: PatientRow) -> Result<Self, DomainError> {
        let blood_group = r
            .blood_group
            .map(|g| BloodGroup::parse(&g))
            .transpose()
            .map_err(corrupt("blood group"))?;
        Ok(Self {
            id: r.id,
            name: r.name,
            email: Email::from_stored(r.email),
            phone: Phone::from_stored(r.phone),
            date_of_birth: r.date_of_birth,
            gender: r.gender,
            blood_group,
            allergies: r.allergies,
            medical_history: r.medical_history,
            emergency_contact_name: r.emergency_contact_name,
            emergency_contact_phone: r.emergency_contact_phone.map(Phone::from_stored),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A slot with its effective seats and status, as the adapters' slot queries compute them.
#[derive(sqlx::FromRow)]
pub struct SlotRow {
    id: SlotId,
    doctor_id: DoctorId,
    slot_date: NaiveDate,
    slot_time: NaiveTime,
    duration_minutes: i32,
    max_capacity: i32,
    current_bookings: i32,
    available_capacity: i32,
    status: String,
    starts_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SlotRow> for Slot {
    type Error = DomainError;
    fn try_from(r: SlotRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            doctor_id: r.doctor_id,
            slot_date: r.slot_date,
            slot_time: r.slot_time,
            duration_minutes: r.duration_minutes,
            max_capacity: r.max_capacity,
            current_bookings: r.current_bookings,
            available_capacity: r.available_capacity,
            status: SlotStatus::parse(&r.status).map_err(corrupt("slot status"))?,
            starts_at: r.starts_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// An appointment with its effective status, as the adapters' queries compute it.
#[derive(sqlx::FromRow)]
pub struct AppointmentRow {
    id: AppointmentId,
    patient_id: PatientId,
    doctor_id: DoctorId,
    time_slot_id: SlotId,
    appointment_date: NaiveDate,
    appointment_time: NaiveTime,
    status: String,
    consultation_type: String,
    reason_for_visit: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    cancellation_reason: Option<String>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// An appointment as a list shows it: with the patient's and the doctor's names.
#[derive(sqlx::FromRow)]
pub struct ListedRow {
    #[sqlx(flatten)]
    appointment: AppointmentRow,
    patient_name: Option<String>,
    doctor_name: Option<String>,
}

impl TryFrom<ListedRow> for Appointment {
    type Error = DomainError;
    fn try_from(r: ListedRow) -> Result<Self, DomainError> {
        let mut a = Appointment::try_from(r.appointment)?;
        a.patient_name = r.patient_name;
        a.doctor_name = r.doctor_name;
        Ok(a)
    }
}

fn status(raw: &str) -> Result<AppointmentStatus, DomainError> {
    AppointmentStatus::parse(raw).map_err(corrupt("appointment status"))
}

impl TryFrom<AppointmentRow> for Appointment {
    type Error = DomainError;
    fn try_from(r: AppointmentRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            patient_id: r.patient_id,
            doctor_id: r.doctor_id,
            time_slot_id: r.time_slot_id,
            appointment_date: r.appointment_date,
            appointment_time: r.appointment_time,
            status: status(&r.status)?,
            consultation_type: ConsultationType::parse(&r.consultation_type)
                .map_err(corrupt("consultation type"))?,
            reason_for_visit: r.reason_for_visit,
            expires_at: r.expires_at,
            confirmed_at: r.confirmed_at,
            cancelled_at: r.cancelled_at,
            cancellation_reason: r.cancellation_reason,
            completed_at: r.completed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            patient_name: None,
            doctor_name: None,
        })
    }
}

/// An appointment joined with its doctor, slot and patient.
#[derive(sqlx::FromRow)]
pub struct DetailRow {
    #[sqlx(flatten)]
    appointment: AppointmentRow,
    doctor_name: String,
    doctor_specialization: String,
    doctor_clinic_name: Option<String>,
    slot_date: NaiveDate,
    slot_time: NaiveTime,
    duration_minutes: i32,
    slot_starts_at: DateTime<Utc>,
    patient_name: String,
}

impl TryFrom<DetailRow> for AppointmentDetail {
    type Error = DomainError;
    fn try_from(r: DetailRow) -> Result<Self, DomainError> {
        let a = Appointment::try_from(r.appointment)?;
        Ok(Self {
            doctor: DoctorSummary {
                id: a.doctor_id,
                name: r.doctor_name,
                specialization: r.doctor_specialization,
                clinic_name: r.doctor_clinic_name,
            },
            slot: SlotSummary {
                id: a.time_slot_id,
                slot_date: r.slot_date,
                slot_time: r.slot_time,
                duration_minutes: r.duration_minutes,
                starts_at: r.slot_starts_at,
            },
            patient: PatientSummary {
                id: a.patient_id,
                name: r.patient_name,
            },
            appointment: a,
        })
    }
}

/// An `appointment_audit_log` row.
#[derive(sqlx::FromRow)]
pub struct AuditRow {
    action: String,
    old_status: Option<String>,
    new_status: String,
    reason: Option<String>,
    at: DateTime<Utc>,
    actor: String,
    actor_role: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = DomainError;
    fn try_from(r: AuditRow) -> Result<Self, DomainError> {
        Ok(Self {
            action: AuditAction::parse(&r.action).map_err(corrupt("audit action"))?,
            old_status: r.old_status.as_deref().map(status).transpose()?,
            new_status: status(&r.new_status)?,
            reason: r.reason,
            at: r.at,
            actor: r.actor,
            actor_role: r.actor_role,
        })
    }
}

/// A `users` row, secrets included.
#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: UserId,
    email: String,
    password_hash: String,
    role: String,
    doctor_id: Option<DoctorId>,
    patient_id: Option<PatientId>,
    disabled: bool,
    totp_secret: Option<String>,
    totp_enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for Credentials {
    type Error = DomainError;
    fn try_from(r: UserRow) -> Result<Self, DomainError> {
        Ok(Self {
            user: User {
                id: r.id,
                email: Email::from_stored(r.email),
                role: Role::parse(&r.role).map_err(corrupt("role"))?,
                doctor_id: r.doctor_id,
                patient_id: r.patient_id,
                disabled: r.disabled,
                totp_enabled: r.totp_enabled,
                created_at: r.created_at,
                updated_at: r.updated_at,
            },
            password_hash: r.password_hash,
            totp_secret: r.totp_secret,
        })
    }
}

impl TryFrom<UserRow> for User {
    type Error = DomainError;
    fn try_from(r: UserRow) -> Result<Self, DomainError> {
        Credentials::try_from(r).map(|c| c.user)
    }
}

/// A `sessions` row with the database clock's now.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    id: SessionId,
    user_id: UserId,
    refresh_hash: String,
    created_at: DateTime<Utc>,
    last_refresh_at: DateTime<Utc>,
    revoked: bool,
    now: DateTime<Utc>,
}

impl TryFrom<SessionRow> for Session {
    type Error = DomainError;
    fn try_from(r: SessionRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            user_id: r.user_id,
            refresh_hash: r.refresh_hash,
            created_at: r.created_at,
            last_refresh_at: r.last_refresh_at,
            revoked: r.revoked,
            now: r.now,
        })
    }
}

/// A `signing_keys` row.
#[derive(sqlx::FromRow)]
pub struct KeyRow {
    kid: String,
    secret: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<KeyRow> for SigningKey {
    type Error = DomainError;
    fn try_from(r: KeyRow) -> Result<Self, DomainError> {
        Ok(Self {
            kid: r.kid,
            secret: r.secret,
            created_at: r.created_at,
        })
    }
}

/// An `access_log` row.
#[derive(sqlx::FromRow)]
pub struct AccessRow {
    id: i64,
    at: DateTime<Utc>,
    actor_id: UserId,
    actor_role: String,
    patient_id: PatientId,
    action: String,
    route: String,
    request_id: String,
    outcome: i32,
    break_glass_reason: Option<String>,
}

impl TryFrom<AccessRow> for AccessRecord {
    type Error = DomainError;
    fn try_from(r: AccessRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_role: Role::parse(&r.actor_role).map_err(corrupt("role"))?,
            patient_id: r.patient_id,
            action: AccessAction::parse(&r.action).map_err(corrupt("access action"))?,
            route: r.route,
            request_id: r.request_id,
            outcome: u16::try_from(r.outcome).unwrap_or_default(),
            break_glass_reason: r.break_glass_reason,
        })
    }
}

/// A page of rows mapped to domain types, with the total counted beside it.
pub fn paged<R, T: TryFrom<R, Error = DomainError>>(
    total: i64,
    rows: Vec<R>,
) -> Result<crate::domain::page::Paged<T>, DomainError> {
    Ok(crate::domain::page::Paged {
        items: all(rows)?,
        total,
    })
}

/// Maps every row to its domain type.
pub fn all<R, T: TryFrom<R, Error = DomainError>>(rows: Vec<R>) -> Result<Vec<T>, DomainError> {
    rows.into_iter().map(T::try_from).collect()
}

/// Maps an optional row to its domain type.
pub fn one<R, T: TryFrom<R, Error = DomainError>>(
    row: Option<R>,
) -> Result<Option<T>, DomainError> {
    row.map(T::try_from).transpose()
}
