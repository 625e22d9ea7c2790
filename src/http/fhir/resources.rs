//! carebook's records as FHIR R4 resources: a doctor is a `Practitioner`, a
//! `PractitionerRole` and a `Schedule` (all three with the doctor's id), a slot a `Slot`, a
//! patient a `Patient`, an appointment an `Appointment`. No second copy of the data: each is
//! built from the record as read, its `meta.versionId` the record's last change.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::domain::appointment::{Appointment, AppointmentStatus};
use crate::domain::doctor::Doctor;
use crate::domain::patient::Patient;
use crate::domain::search::MAX_RANGE_DAYS;
use crate::domain::slot::{Slot, SlotStatus};

/// Seats still free on a slot (an extension of `Slot`; FHIR's slot has no capacity).
pub const SEATS_FREE: &str = "urn:carebook:fhir:seats-free";
/// Seats a slot has in all.
pub const SEATS: &str = "urn:carebook:fhir:seats";
/// When a pending appointment's hold lapses unless it is booked (an extension of
/// `Appointment`).
pub const HOLD_EXPIRES: &str = "urn:carebook:fhir:hold-expires";
/// The identifier system of a doctor's licence number.
pub const LICENCE: &str = "urn:carebook:licence-number";
/// The code system of carebook's specializations (free text, as the clinic names them).
pub const SPECIALTY: &str = "urn:carebook:specialty";
/// The identifier system of a patient's carebook id (RFC 3986: `urn:uuid:…`).
pub const URI_SYSTEM: &str = "urn:ietf:rfc:3986";

/// A FHIR `instant`.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `meta` of a record last changed at `updated`.
fn meta(updated: DateTime<Utc>) -> Value {
    json!({"versionId": updated.timestamp_micros().to_string(), "lastUpdated": instant(updated)})
}

/// A reference with its display text.
pub fn reference(kind: &str, id: impl std::fmt::Display, display: Option<&str>) -> Value {
    let mut r = json!({"reference": format!("{kind}/{id}")});
    if let Some(d) = display {
        r["display"] = json!(d);
    }
    r
}

fn specialty(d: &Doctor) -> Value {
    let s = d.specialization.trim();
    json!({"coding": [{"system": SPECIALTY, "code": s, "display": s}], "text": s})
}

fn telecom(email: &str, phone: Option<&str>, use_: &str) -> Value {
    let mut t = vec![json!({"system": "email", "value": email, "use": use_})];
    if let Some(p) = phone {
        t.push(json!({"system": "phone", "value": p, "use": use_}));
    }
    Value::Array(t)
}

/// A doctor as a `Practitioner`.
pub fn practitioner(d: &Doctor) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": d.id.to_string(),
        "meta": meta(d.updated_at),
        "identifier": [{"system": LICENCE, "value": d.license_number}],
        "active": d.is_active,
        "name": [{"text": d.name}],
        "telecom": telecom(d.email.as_str(), d.phone.as_ref().map(|p| p.as_str()), "work"),
    })
}

/// A doctor's role in the clinic: their specialty, and the clinic by name.
pub fn practitioner_role(d: &Doctor) -> Value {
    let mut r = json!({
        "resourceType": "PractitionerRole",
        "id": d.id.to_string(),
        "meta": meta(d.updated_at),
        "active": d.is_active,
        "practitioner": reference("Practitioner", d.id, Some(&d.name)),
        "specialty": [specialty(d)],
    });
    if let Some(clinic) = d.clinic_name.as_deref().filter(|c| !c.trim().is_empty()) {
        r["organization"] = json!({"display": clinic});
        r["location"] = json!([{"display": clinic}]);
    }
    r
}

/// A doctor's calendar as a `Schedule`: its slots can be searched up to [`MAX_RANGE_DAYS`]
/// ahead in one search.
pub fn schedule(d: &Doctor, now: DateTime<Utc>) -> Value {
    json!({
        "resourceType": "Schedule",
        "id": d.id.to_string(),
        "meta": meta(d.updated_at),
        "active": d.is_active,
        "specialty": [specialty(d)],
        "actor": [reference("Practitioner", d.id, Some(&d.name))],
        "planningHorizon": {
            "start": instant(now),
            "end": instant(now + Duration::days(MAX_RANGE_DAYS)),
        },
    })
}

/// A slot's FHIR status: blocked (also by time off) is `busy-unavailable`, full is `busy`.
pub fn slot_status(s: &Slot) -> &'static str {
    match s.status {
        SlotStatus::Blocked => "busy-unavailable",
        _ if s.available_capacity <= 0 => "busy",
        _ => "free",
    }
}

/// When a slot ends.
pub fn slot_end(s: &Slot) -> DateTime<Utc> {
    s.starts_at + Duration::minutes(i64::from(s.duration_minutes))
}

/// A slot, with its seats as extensions and in words.
pub fn slot(s: &Slot) -> Value {
    let free = s.available_capacity.max(0);
    json!({
        "resourceType": "Slot",
        "id": s.id.to_string(),
        "meta": meta(s.updated_at),
        "extension": [
            {"url": SEATS_FREE, "valueInteger": free},
            {"url": SEATS, "valueInteger": s.max_capacity},
        ],
        "schedule": reference("Schedule", s.doctor_id, None),
        "status": slot_status(s),
        "start": instant(s.starts_at),
        "end": instant(slot_end(s)),
        "comment": format!("{free} of {} seats free", s.max_capacity),
    })
}

fn gender(raw: Option<&str>) -> Option<&'static str> {
    let g = raw?.trim().to_lowercase();
    Some(match g.as_str() {
        "" => return None,
        "male" | "m" => "male",
        "female" | "f" => "female",
        "unknown" => "unknown",
        _ => "other",
    })
}

/// A patient's demographics. carebook's clinical fields (blood group, allergies, history)
/// are not `Patient` elements and are left out.
pub fn patient(p: &Patient) -> Value {
    let mut r = json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "meta": meta(p.updated_at),
        "identifier": [{"system": URI_SYSTEM, "value": format!("urn:uuid:{}", p.id)}],
        "active": true,
        "name": [{"text": p.name}],
        "telecom": telecom(p.email.as_str(), Some(p.phone.as_str()), "home"),
    });
    if let Some(d) = p.date_of_birth {
        r["birthDate"] = json!(d.to_string());
    }
    if let Some(g) = gender(p.gender.as_deref()) {
        r["gender"] = json!(g);
    }
    if let Some(name) = p.emergency_contact_name.as_deref() {
        let mut contact = json!({"name": {"text": name}});
        if let Some(phone) = &p.emergency_contact_phone {
            contact["telecom"] = json!([{"system": "phone", "value": phone.as_str()}]);
        }
        r["contact"] = json!([contact]);
    }
    r
}

/// The FHIR status of an appointment's.
pub fn appointment_status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Pending => "pending",
        AppointmentStatus::Confirmed => "booked",
        AppointmentStatus::Completed => "fulfilled",
        AppointmentStatus::Cancelled | AppointmentStatus::Expired => "cancelled",
        AppointmentStatus::NoShow => "noshow",
    }
}

/// The carebook statuses a FHIR appointment status stands for.
pub fn statuses_of(fhir: &str) -> Option<&'static [AppointmentStatus]> {
    use AppointmentStatus::*;
    Some(match fhir {
        "pending" => &[Pending],
        "booked" => &[Confirmed],
        "fulfilled" => &[Completed],
        "cancelled" => &[Cancelled, Expired],
        "noshow" => &[NoShow],
        _ => return None,
    })
}

/// When an appointment's slot starts and how long it lasts.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub start: DateTime<Utc>,
    pub minutes: i32,
}

impl From<&Slot> for Times {
    fn from(s: &Slot) -> Self {
        Self {
            start: s.starts_at,
            minutes: s.duration_minutes,
        }
    }
}

/// An appointment, its patient and doctor as participants.
pub fn appointment(a: &Appointment, times: Times) -> Value {
    let status = appointment_status(a.status);
    let (patient_says, doctor_says) = match a.status {
        AppointmentStatus::Pending => ("tentative", "needs-action"),
        AppointmentStatus::Cancelled | AppointmentStatus::Expired => ("declined", "declined"),
        _ => ("accepted", "accepted"),
    };
    let patient = reference("Patient", a.patient_id, a.patient_name.as_deref());
    let doctor = reference("Practitioner", a.doctor_id, a.doctor_name.as_deref());
    let mut r = json!({
        "resourceType": "Appointment",
        "id": a.id.to_string(),
        "meta": meta(a.updated_at),
        "status": status,
        "slot": [reference("Slot", a.time_slot_id, None)],
        "start": instant(times.start),
        "end": instant(times.start + Duration::minutes(i64::from(times.minutes))),
        "minutesDuration": times.minutes,
        "created": instant(a.created_at),
        "participant": [
            {"actor": patient, "required": "required", "status": patient_says},
            {"actor": doctor, "required": "required", "status": doctor_says},
        ],
    });
    match a.status {
        AppointmentStatus::Pending => {
            if let Some(until) = a.expires_at {
                r["extension"] = json!([{"url": HOLD_EXPIRES, "valueInstant": instant(until)}]);
            }
        }
        AppointmentStatus::Expired => {
            r["cancelationReason"] = json!({"text": "The hold expired before it was booked"});
        }
        AppointmentStatus::Cancelled => {
            let why = a.cancellation_reason.as_deref().unwrap_or("Cancelled");
            r["cancelationReason"] = json!({"text": why});
        }
        _ => {}
    }
    r
}
