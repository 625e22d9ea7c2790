//! Patients: the stored record (protected health information), a new patient, a partial update.

use chrono::{DateTime, NaiveDate, Utc};

use super::contact::{Email, Phone};
use super::patch::Patch;
use super::text::string_serde;
use super::PatientId;

/// Longest name, gender or emergency contact name.
pub const TEXT_MAX: usize = 200;
/// Longest gender.
pub const GENDER_MAX: usize = 50;
/// Longest allergies or medical history.
pub const MEDICAL_MAX: usize = 10_000;

/// An ABO/Rh blood group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BloodGroup {
    APos,
    ANeg,
    BPos,
    BNeg,
    AbPos,
    AbNeg,
    OPos,
    ONeg,
}

impl BloodGroup {
    /// Every group, in the order they are listed to clients.
    pub const ALL: [Self; 8] = [
        Self::APos,
        Self::ANeg,
        Self::BPos,
        Self::BNeg,
        Self::AbPos,
        Self::AbNeg,
        Self::OPos,
        Self::ONeg,
    ];

    /// The usual spelling (`AB+`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::APos => "A+",
            Self::ANeg => "A-",
            Self::BPos => "B+",
            Self::BNeg => "B-",
            Self::AbPos => "AB+",
            Self::AbNeg => "AB-",
            Self::OPos => "O+",
            Self::ONeg => "O-",
        }
    }

    /// Parses a group, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let up = raw.trim().to_uppercase();
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == up)
            .ok_or_else(|| "must be one of A+, A-, B+, B-, AB+, AB-, O+, O-".into())
    }
}

impl TryFrom<String> for BloodGroup {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(BloodGroup);

/// A patient as stored. Every field but the id is PHI: never log it.
#[derive(Clone)]
pub struct Patient {
    pub id: PatientId,
    pub name: String,
    pub email: Email,
    pub phone: Phone,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub allergies: Option<String>,
    pub medical_history: Option<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<Phone>,
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

/// A request to register a patient, every field already valid.
#[derive(Clone)]
pub struct NewPatient {
    pub name: String,
    pub email: Email,
    pub phone: Phone,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub allergies: Option<String>,
    pub medical_history: Option<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<Phone>,
}

/// A partial update of a patient.
#[derive(Clone, Default)]
pub struct PatientPatch {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub date_of_birth: Patch<NaiveDate>,
    pub gender: Patch<String>,
    pub blood_group: Patch<BloodGroup>,
    pub allergies: Patch<String>,
    pub medical_history: Patch<String>,
    pub emergency_contact_name: Patch<String>,
    pub emergency_contact_phone: Patch<Phone>,
}

/// A date of birth must not lie after `today`.
pub fn check_birth_date(d: NaiveDate, today: NaiveDate) -> Result<(), String> {
    if d > today {
        Err("must not be in the future".into())
    } else {
        Ok(())
    }
}

impl PatientPatch {
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

    #[test]
    fn blood_groups_and_birth_dates() {
        assert_eq!(BloodGroup::parse("ab+").unwrap(), BloodGroup::AbPos);
        assert!(BloodGroup::parse("C+").is_err());
        for g in BloodGroup::ALL {
            assert_eq!(BloodGroup::parse(g.as_str()).unwrap(), g);
        }
        let today = Utc::now().date_naive();
        assert!(check_birth_date(today, today).is_ok());
        assert!(check_birth_date(today.succ_opt().unwrap(), today).is_err());
    }
}

/// What the front desk types to find a patient: a date of birth (`YYYY-MM-DD`, matched
/// exactly), or words each matching the start of a word of the name, the e-mail (split at its
/// dots and `@`) or the phone (its groups, or all its digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientQuery {
    Born(chrono::NaiveDate),
    /// Lower-cased words of letters and digits only (nothing a search syntax could read).
    Words(Vec<String>),
}

impl PatientQuery {
    /// Reads a search; `None` when it holds nothing to search for.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            return Some(Self::Born(d));
        }
        let words: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(8)
            .map(|w| w.chars().take(64).collect::<String>().to_lowercase())
            .collect();
        (!words.is_empty()).then_some(Self::Words(words))
    }

    /// The first word, for ranking names that start with it first.
    pub fn first_word(&self) -> Option<&str> {
        match self {
            Self::Words(w) => w.first().map(String::as_str),
            Self::Born(_) => None,
        }
    }
}

#[cfg(test)]
mod query_tests {
    use super::PatientQuery;

    #[test]
    fn searches_are_words_or_a_birth_date() {
        assert_eq!(
            PatientQuery::parse(" María  O'Brien-x "),
            Some(PatientQuery::Words(vec![
                "maría".into(),
                "o".into(),
                "brien".into(),
                "x".into()
            ]))
        );
        assert!(matches!(
            PatientQuery::parse("1990-01-15"),
            Some(PatientQuery::Born(_))
        ));
        assert_eq!(PatientQuery::parse(" *:& "), None);
        assert_eq!(PatientQuery::parse(""), None);
    }
}
