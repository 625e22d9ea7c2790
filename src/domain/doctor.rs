//! Doctors: the stored record, a new doctor, and a partial update.

use chrono::{DateTime, Utc};

use super::calendar::TimeZone;
use super::contact::{Email, Phone};
use super::patch::Patch;
use super::review::RatingSummary;
use super::DoctorId;

/// Longest name.
pub const NAME_MAX: usize = 200;
/// Longest specialization, clinic name or licence number.
pub const FIELD_MAX: usize = 200;
/// Longest address.
pub const ADDRESS_MAX: usize = 500;
/// Longest bio.
pub const BIO_MAX: usize = 5000;
/// Longest licence number.
pub const LICENSE_MAX: usize = 100;

/// A doctor as stored.
#[derive(Debug, Clone)]
pub struct Doctor {
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
    /// From the doctor's reviews; kept by the database, never patched.
    pub rating: RatingSummary,
}

/// A request to register a doctor, every field already valid.
#[derive(Debug, Clone)]
pub struct NewDoctor {
    pub name: String,
    pub specialization: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub license_number: String,
    pub clinic_name: Option<String>,
    pub address: Option<String>,
    pub bio: Option<String>,
    pub timezone: TimeZone,
}

/// A partial update of a doctor. E-mail and licence number are identity and stay fixed.
#[derive(Debug, Clone, Default)]
pub struct DoctorPatch {
    pub name: Option<String>,
    pub specialization: Option<String>,
    pub phone: Patch<Phone>,
    pub clinic_name: Patch<String>,
    pub address: Patch<String>,
    pub bio: Patch<String>,
    pub timezone: Option<TimeZone>,
    /// Deactivate (`false`: hidden from public lists and search, no new bookings; existing
    /// appointments stay) or reactivate.
    pub is_active: Option<bool>,
}

impl DoctorPatch {
    /// Applies this patch to a stored doctor.
    pub fn apply(self, mut d: Doctor) -> Doctor {
        d.name = self.name.unwrap_or(d.name);
        d.specialization = self.specialization.unwrap_or(d.specialization);
        d.phone = self.phone.apply(d.phone);
        d.clinic_name = self.clinic_name.apply(d.clinic_name);
        d.address = self.address.apply(d.address);
        d.bio = self.bio.apply(d.bio);
        d.timezone = self.timezone.unwrap_or(d.timezone);
        d.is_active = self.is_active.unwrap_or(d.is_active);
        d
    }
}
