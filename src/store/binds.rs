//! Bind lists shared by both adapters, so a column order is written down once.

/// Binds a new doctor's fields in the column order both adapters' INSERTs use: name,
/// specialization, email, phone, license_number, clinic_name, address, bio, timezone.
macro_rules! bind_new_doctor {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.name)
            .bind(&$d.specialization)
            .bind($d.email.as_str())
            .bind($d.phone.as_ref().map(|p| p.as_str()))
            .bind(&$d.license_number)
            .bind(&$d.clinic_name)
            .bind(&$d.address)
            .bind(&$d.bio)
            .bind($d.timezone.as_str())
    };
}
pub(crate) use bind_new_doctor;

/// Binds a doctor's changeable fields in the order both adapters' UPDATEs use: name,
/// specialization, phone, clinic_name, address, bio, timezone.
macro_rules! bind_doctor_changes {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.name)
            .bind(&$d.specialization)
            .bind($d.phone.as_ref().map(|p| p.as_str()))
            .bind(&$d.clinic_name)
            .bind(&$d.address)
            .bind(&$d.bio)
            .bind($d.timezone.as_str())
    };
}
pub(crate) use bind_doctor_changes;

/// Binds a patient's fields in the order both adapters' INSERTs and UPDATEs use: name, email,
/// phone, date_of_birth, gender, blood_group, allergies, medical_history,
/// emergency_contact_name, emergency_contact_phone.
macro_rules! bind_patient {
    ($q:expr, $p:expr) => {
        $q.bind(&$p.name)
            .bind($p.email.as_str())
            .bind($p.phone.as_str())
            .bind($p.date_of_birth)
            .bind(&$p.gender)
            .bind($p.blood_group.map(|g| g.as_str()))
            .bind(&$p.allergies)
            .bind(&$p.medical_history)
            .bind(&$p.emergency_contact_name)
            .bind($p.emergency_contact_phone.as_ref().map(|p| p.as_str()))
    };
}
pub(crate) use bind_patient;
