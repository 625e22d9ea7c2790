//! Doctors: the stored record, a validated new doctor, and a validated partial update.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::input::{Input, Patch};
use super::validate;
use super::{DoctorId, DomainResult};

/// A doctor as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Doctor {
    pub id: DoctorId,
    pub name: String,
    pub specialization: String,
    pub email: String,
    pub phone: Option<String>,
    pub license_number: String,
    pub clinic_name: Option<String>,
    pub address: Option<String>,
    pub bio: Option<String>,
    /// IANA zone in which this doctor's slot dates and times are given.
    pub timezone: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated request to register a doctor.
#[derive(Debug, Clone)]
pub struct NewDoctor {
    pub name: String,
    pub specialization: String,
    pub email: String,
    pub phone: Option<String>,
    pub license_number: String,
    pub clinic_name: Option<String>,
    pub address: Option<String>,
    pub bio: Option<String>,
    pub timezone: String,
}

/// A validated partial update of a doctor. E-mail and licence number are identity and stay fixed.
#[derive(Debug, Clone)]
pub struct DoctorPatch {
    pub name: Option<String>,
    pub specialization: Option<String>,
    pub phone: Patch<String>,
    pub clinic_name: Patch<String>,
    pub address: Patch<String>,
    pub bio: Patch<String>,
    pub timezone: Option<String>,
}

const NAME_MAX: usize = 200;
const FIELD_MAX: usize = 200;
const ADDRESS_MAX: usize = 500;
const BIO_MAX: usize = 5000;

fn optional_phone(s: String) -> Result<Option<String>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        validate::phone(s).map(Some)
    }
}

impl NewDoctor {
    /// Parses a create request; `default_tz` applies when `timezone` is not sent.
    pub fn parse(body: &Map<String, Value>, default_tz: &str) -> DomainResult<Self> {
        let mut i = Input::new(body, "");
        let name = i.required("name", |s| validate::text(s, NAME_MAX));
        let specialization = i.required("specialization", |s| validate::text(s, FIELD_MAX));
        let email = i.required("email", validate::email);
        let license_number = i.required("license_number", |s| validate::text(s, 100));
        let phone = i.optional("phone", optional_phone).flatten();
        let clinic_name = i.optional_text("clinic_name", FIELD_MAX);
        let address = i.optional_text("address", ADDRESS_MAX);
        let bio = i.optional_text("bio", BIO_MAX);
        let timezone = i.optional("timezone", validate::timezone);
        i.errors.finish()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            specialization: specialization.unwrap_or_default(),
            email: email.unwrap_or_default(),
            phone,
            license_number: license_number.unwrap_or_default(),
            clinic_name,
            address,
            bio,
            timezone: timezone.unwrap_or_else(|| default_tz.to_owned()),
        })
    }
}

impl DoctorPatch {
    /// Parses a PATCH body; fields not sent are left unchanged.
    pub fn parse(body: &Map<String, Value>) -> DomainResult<Self> {
        let mut i = Input::new(body, "");
        let patch = Self {
            name: i.patch_required("name", |s| validate::text(s, NAME_MAX)),
            specialization: i.patch_required("specialization", |s| validate::text(s, FIELD_MAX)),
            phone: i.patch_with("phone", optional_phone),
            clinic_name: i.patch_text("clinic_name", FIELD_MAX),
            address: i.patch_text("address", ADDRESS_MAX),
            bio: i.patch_text("bio", BIO_MAX),
            timezone: i.patch_required("timezone", validate::timezone),
        };
        i.errors.finish()?;
        Ok(patch)
    }

    /// Applies this patch to a stored doctor.
    pub fn apply(self, mut d: Doctor) -> Doctor {
        d.name = self.name.unwrap_or(d.name);
        d.specialization = self.specialization.unwrap_or(d.specialization);
        d.phone = self.phone.apply(d.phone);
        d.clinic_name = self.clinic_name.apply(d.clinic_name);
        d.address = self.address.apply(d.address);
        d.bio = self.bio.apply(d.bio);
        d.timezone = self.timezone.unwrap_or(d.timezone);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_reports_every_bad_field() {
        let ok = json!({"name": " Dr A ", "specialization": "Cardio", "email": "A@x.io", "license_number": "L1"});
        let d = NewDoctor::parse(ok.as_object().unwrap(), "UTC").unwrap();
        assert_eq!(
            (d.name.as_str(), d.email.as_str(), d.timezone.as_str()),
            ("Dr A", "a@x.io", "UTC")
        );

        let bad = json!({"name": "", "email": "nope", "timezone": "Nowhere/Else", "phone": "abc"});
        let Err(super::super::DomainError::Validation(errs)) =
            NewDoctor::parse(bad.as_object().unwrap(), "UTC")
        else {
            panic!("expected validation error");
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "specialization",
                "email",
                "license_number",
                "phone",
                "timezone"
            ]
        );
    }
}
