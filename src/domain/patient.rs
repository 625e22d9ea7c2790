//! Patients: the stored record (protected health information), a new patient, a partial update.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::input::{Input, Patch};
use super::validate;
use super::{DomainResult, PatientId};

/// Accepted blood groups.
pub const BLOOD_GROUPS: [&str; 8] = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];

/// A patient as stored. Every field but the id is PHI: never log it.
#[derive(Clone, Serialize, sqlx::FromRow)]
pub struct Patient {
    pub id: PatientId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub blood_group: Option<String>,
    pub allergies: Option<String>,
    pub medical_history: Option<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Patient {
    // Debug output ends up in logs and panics: show the id only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Optional patient fields, shared by create and (as patches) update.
#[derive(Clone, Default)]
pub struct NewPatient {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub blood_group: Option<String>,
    pub allergies: Option<String>,
    pub medical_history: Option<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<String>,
}

/// A validated partial update of a patient.
#[derive(Clone)]
pub struct PatientPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub date_of_birth: Patch<NaiveDate>,
    pub gender: Patch<String>,
    pub blood_group: Patch<String>,
    pub allergies: Patch<String>,
    pub medical_history: Patch<String>,
    pub emergency_contact_name: Patch<String>,
    pub emergency_contact_phone: Patch<String>,
}

const TEXT_MAX: usize = 200;
const MEDICAL_MAX: usize = 10_000;

fn birth_date(today: NaiveDate) -> impl Fn(String) -> Result<Option<NaiveDate>, String> {
    move |s| {
        if s.trim().is_empty() {
            return Ok(None);
        }
        let d = validate::date(s.trim())?;
        if d > today {
            return Err("must not be in the future".into());
        }
        Ok(Some(d))
    }
}

fn blood_group(s: String) -> Result<Option<String>, String> {
    let g = s.trim().to_uppercase();
    if g.is_empty() {
        return Ok(None);
    }
    if BLOOD_GROUPS.contains(&g.as_str()) {
        Ok(Some(g))
    } else {
        Err(format!("must be one of {}", BLOOD_GROUPS.join(", ")))
    }
}

fn optional_phone(s: String) -> Result<Option<String>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        validate::phone(s).map(Some)
    }
}

impl NewPatient {
    /// Parses a registration; `today` bounds the date of birth.
    pub fn parse(body: &Map<String, Value>, today: NaiveDate) -> DomainResult<Self> {
        let mut i = Input::new(body, "");
        let name = i.required("name", |s| validate::text(s, TEXT_MAX));
        let email = i.required("email", validate::email);
        let phone = i.required("phone", validate::phone);
        let p = Self {
            name: name.unwrap_or_default(),
            email: email.unwrap_or_default(),
            phone: phone.unwrap_or_default(),
            date_of_birth: i.optional("date_of_birth", birth_date(today)).flatten(),
            gender: i.optional_text("gender", 50),
            blood_group: i.optional("blood_group", blood_group).flatten(),
            allergies: i.optional_text("allergies", MEDICAL_MAX),
            medical_history: i.optional_text("medical_history", MEDICAL_MAX),
            emergency_contact_name: i.optional_text("emergency_contact_name", TEXT_MAX),
            emergency_contact_phone: i
                .optional("emergency_contact_phone", optional_phone)
                .flatten(),
        };
        i.errors.finish()?;
        Ok(p)
    }
}

impl PatientPatch {
    /// Parses a PATCH body; fields not sent are left unchanged.
    pub fn parse(body: &Map<String, Value>, today: NaiveDate) -> DomainResult<Self> {
        let mut i = Input::new(body, "");
        let p = Self {
            name: i.patch_required("name", |s| validate::text(s, TEXT_MAX)),
            email: i.patch_required("email", validate::email),
            phone: i.patch_required("phone", validate::phone),
            date_of_birth: i.patch_with("date_of_birth", birth_date(today)),
            gender: i.patch_text("gender", 50),
            blood_group: i.patch_with("blood_group", blood_group),
            allergies: i.patch_text("allergies", MEDICAL_MAX),
            medical_history: i.patch_text("medical_history", MEDICAL_MAX),
            emergency_contact_name: i.patch_text("emergency_contact_name", TEXT_MAX),
            emergency_contact_phone: i.patch_with("emergency_contact_phone", optional_phone),
        };
        i.errors.finish()?;
        Ok(p)
    }

    /// Applies this patch to a stored patient.
    pub fn apply(self, mut p: Patient) -> Patient {
        p.name = self.name.unwrap_or(p.name);
        p.email = self.email.unwrap_or(p.email);
        p.phone = self.phone.unwrap_or(p.phone);
        p.date_of_birth = self.date_of_birth.apply(p.date_of_birth);
        p.gender = self.gender.apply(p.gender);
        p.blood_group = self.blood_group.apply(p.blood_group);
        p.allergies = self.allergies.apply(p.allergies);
        p.medical_history = self.medical_history.apply(p.medical_history);
        p.emergency_contact_name = self.emergency_contact_name.apply(p.emergency_contact_name);
        p.emergency_contact_phone = self
            .emergency_contact_phone
            .apply(p.emergency_contact_phone);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()
    }

    #[test]
    fn validates_blood_group_and_birth_date() {
        let ok = json!({"name": "P", "email": "p@x.io", "phone": "+1 555 0100", "blood_group": "ab+", "date_of_birth": "1990-01-15"});
        let p = NewPatient::parse(ok.as_object().unwrap(), today()).unwrap();
        assert_eq!(p.blood_group.as_deref(), Some("AB+"));

        let bad = json!({"name": "P", "email": "p@x.io", "phone": "+1 555 0100", "blood_group": "C+", "date_of_birth": "2031-01-01"});
        let Err(super::super::DomainError::Validation(errs)) =
            NewPatient::parse(bad.as_object().unwrap(), today())
        else {
            panic!("expected validation error");
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["date_of_birth", "blood_group"]);
    }
}
