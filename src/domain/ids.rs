//! Typed ids, so a patient id can never be passed where a doctor id is expected.
//!
//! Ids are read only in the canonical hyphenated form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
//! either case): braced, `urn:uuid:` and unhyphenated spellings are refused, so one id has one
//! spelling everywhere (paths, bodies, logs, the audit trail).

/// The message for a malformed id, wherever it is read.
pub const BAD_UUID: &str = "must be a valid UUID";

/// Parses a UUID in its canonical hyphenated form only.
pub fn parse_uuid(raw: &str) -> Result<uuid::Uuid, String> {
    // Every other accepted spelling (braced, urn, simple) has a different length.
    if raw.len() != 36 {
        return Err(BAD_UUID.into());
    }
    uuid::Uuid::try_parse(raw).map_err(|_| BAD_UUID.into())
}

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A fresh random (v4) id. Deliberately not `Default`: an id is never implied.
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// A fresh time-ordered id (UUID v7: milliseconds, then random bits), for the
            /// single-writer SQLite store: each new row lands at one end of its indexes
            /// instead of on a random leaf, so a large table does not make every write touch
            /// (and log) pages spread over the whole file. Not for PostgreSQL: there,
            /// neighbouring keys share index pages, and SERIALIZABLE's page-level predicate
            /// locks turn that into conflicts between unrelated confirms and cancels (measured
            /// 5–7 × the retries in `tests/api/serialization.rs`).
            pub fn time_ordered() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid(s).map(Self)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

typed_id!(
    /// Identifies a doctor.
    DoctorId,
    /// Identifies a patient.
    PatientId,
    /// Identifies a time slot.
    SlotId,
    /// Identifies an appointment.
    AppointmentId,
    /// Identifies an account.
    UserId,
    /// Identifies a login session.
    SessionId,
    /// Identifies a weekly schedule rule.
    ScheduleId,
    /// Identifies a time-off entry.
    TimeOffId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_form_is_an_id() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(id.parse::<DoctorId>().unwrap().to_string(), id);
        assert!(id.to_uppercase().parse::<DoctorId>().is_ok());
        for bad in [
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67e5504410b1426f9247bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0cg",
            "67e55044+10b1-426f-9247-bb680e5fe0c8",
            "",
        ] {
            assert!(bad.parse::<PatientId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_deserialize_strictly() {
        let ok: SlotId = serde_json_free("\"67e55044-10b1-426f-9247-bb680e5fe0c8\"").unwrap();
        assert_eq!(ok.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!(serde_json_free::<SlotId>("\"67e5504410b1426f9247bb680e5fe0c8\"").is_err());
    }

    /// Deserializes a JSON string literal without serde_json (the domain does not use it).
    fn serde_json_free<T: serde::de::DeserializeOwned>(lit: &str) -> Result<T, String> {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let inner = lit.trim_matches('"');
        let d: StrDeserializer<'_, Error> = inner.into_deserializer();
        T::deserialize(d).map_err(|e| e.to_string())
    }
}
