//! The tables an export carries, their columns and how each column's value is represented, in
//! foreign-key order (a table comes after every table it references), and the tables it
//! deliberately leaves out.

/// How a column's value is typed; each backend stores it in its own way (see [`super::cell`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL `uuid`, SQLite 16-byte BLOB; in the file a hyphenated lower-case string.
    Uuid,
    Text,
    /// PostgreSQL `boolean`, SQLite INTEGER 0/1.
    Bool,
    /// PostgreSQL `integer`.
    Int32,
    /// PostgreSQL `bigserial`, SQLite INTEGER PRIMARY KEY.
    Int64,
    /// PostgreSQL `timestamptz`, SQLite TEXT `YYYY-MM-DDTHH:MM:SS.SSSZ`.
    Instant,
    /// PostgreSQL `date`, SQLite TEXT `YYYY-MM-DD`.
    Date,
    /// PostgreSQL `time`, SQLite TEXT `HH:MM:SS`.
    Time,
}

/// One exported table.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// `ORDER BY` on PostgreSQL and on SQLite: lists whose ties fall back on the insertion order
    /// (SQLite's rowid) keep it through an export and import.
    pub order: (&'static str, &'static str),
    /// A `bigserial` id whose sequence import moves past the imported rows (PostgreSQL).
    pub serial: bool,
}

use Kind::*;

const STAMPS: [(&str, Kind); 2] = [("created_at", Instant), ("updated_at", Instant)];

macro_rules! cols {
    ($($c:expr),* $(,)?) => { &[$($c),*] };
}

/// The shape free text must have, as the API enforces it on the way in: import refuses a file
/// whose text would not pass the API (a line break in a name could split a mail header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One line: no control character, no line or paragraph separator.
    Line,
    /// Line breaks allowed; no other control character.
    Prose,
}

/// The text columns people write, with their shape (`table`, `column`, shape). Other text
/// columns hold codes, hashes or ids that the database's own checks cover.
pub const SHAPES: &[(&str, &str, Shape)] = &[
    ("doctors", "name", Shape::Line),
    ("doctors", "specialization", Shape::Line),
    ("doctors", "email", Shape::Line),
    ("doctors", "phone", Shape::Line),
    ("doctors", "license_number", Shape::Line),
    ("doctors", "clinic_name", Shape::Line),
    ("doctors", "address", Shape::Line),
    ("doctors", "bio", Shape::Prose),
    ("doctors", "timezone", Shape::Line),
    ("patients", "name", Shape::Line),
    ("patients", "email", Shape::Line),
    ("patients", "phone", Shape::Line),
    ("patients", "gender", Shape::Line),
    ("patients", "allergies", Shape::Prose),
    ("patients", "medical_history", Shape::Prose),
    ("patients", "emergency_contact_name", Shape::Line),
    ("patients", "emergency_contact_phone", Shape::Line),
    ("users", "email", Shape::Line),
    ("time_off", "reason", Shape::Line),
    ("appointments", "reason_for_visit", Shape::Prose),
    ("appointments", "cancellation_reason", Shape::Prose),
    ("reviews", "comment", Shape::Prose),
];

/// The shape of a column, if people write it.
pub fn shape(table: &str, column: &str) -> Option<Shape> {
    SHAPES
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, s)| *s)
}

/// Every exported table, in foreign-key order.
pub const TABLES: &[Table] = &[
    Table {
        name: "doctors",
        columns: cols![
            ("id", Uuid),
            ("name", Text),
            ("specialization", Text),
            ("email", Text),
            ("phone", Text),
            ("license_number", Text),
            ("clinic_name", Text),
            ("address", Text),
            ("bio", Text),
            ("timezone", Text),
            ("is_active", Bool),
            STAMPS[0],
            STAMPS[1],
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "patients",
        columns: cols![
            ("id", Uuid),
            ("name", Text),
            ("email", Text),
            ("phone", Text),
            ("date_of_birth", Date),
            ("gender", Text),
            ("blood_group", Text),
            ("allergies", Text),
            ("medical_history", Text),
            ("emergency_contact_name", Text),
            ("emergency_contact_phone", Text),
            STAMPS[0],
            STAMPS[1],
        ],
        // The patient list is ordered by created_at, then id (PostgreSQL) or rowid (SQLite).
        order: ("created_at, id", "created_at, rowid"),
        serial: false,
    },
    Table {
        name: "users",
        columns: cols![
            ("id", Uuid),
            ("email", Text),
            ("password_hash", Text),
            ("role", Text),
            ("doctor_id", Uuid),
            ("patient_id", Uuid),
            ("disabled", Bool),
            ("totp_secret", Text),
            ("totp_enabled", Bool),
            STAMPS[0],
            STAMPS[1],
            ("totp_last_step", Int64),
        ],
        order: ("created_at, id", "created_at, id"),
        serial: false,
    },
    Table {
        name: "recovery_codes",
        columns: cols![("user_id", Uuid), ("code_hash", Text), ("used_at", Instant)],
        order: ("user_id, code_hash", "user_id, code_hash"),
        serial: false,
    },
    Table {
        name: "schedules",
        columns: cols![
            ("id", Uuid),
            ("doctor_id", Uuid),
            ("weekdays", Text),
            ("start_time", Time),
            ("end_time", Time),
            ("slot_minutes", Int32),
            ("capacity", Int32),
            ("valid_from", Date),
            ("valid_until", Date),
            STAMPS[0],
            STAMPS[1],
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "time_off",
        columns: cols![
            ("id", Uuid),
            ("doctor_id", Uuid),
            ("starts_at", Instant),
            ("ends_at", Instant),
            ("reason", Text),
            ("created_at", Instant),
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "time_slots",
        columns: cols![
            ("id", Uuid),
            ("doctor_id", Uuid),
            ("slot_date", Date),
            ("slot_time", Time),
            ("starts_at", Instant),
            ("duration_minutes", Int32),
            ("max_capacity", Int32),
            ("current_bookings", Int32),
            ("status", Text),
            STAMPS[0],
            STAMPS[1],
            ("schedule_id", Uuid),
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "time_off_slots",
        columns: cols![("time_off_id", Uuid), ("slot_id", Uuid)],
        order: ("time_off_id, slot_id", "time_off_id, slot_id"),
        serial: false,
    },
    Table {
        name: "appointments",
        columns: cols![
            ("id", Uuid),
            ("patient_id", Uuid),
            ("doctor_id", Uuid),
            ("time_slot_id", Uuid),
            ("appointment_date", Date),
            ("appointment_time", Time),
            ("starts_at", Instant),
            ("status", Text),
            ("consultation_type", Text),
            ("reason_for_visit", Text),
            ("expires_at", Instant),
            ("confirmed_at", Instant),
            ("cancelled_at", Instant),
            ("cancellation_reason", Text),
            ("completed_at", Instant),
            STAMPS[0],
            STAMPS[1],
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "waitlist_entries",
        columns: cols![
            ("id", Uuid),
            ("patient_id", Uuid),
            ("doctor_id", Uuid),
            ("from_date", Date),
            ("to_date", Date),
            ("status", Text),
            ("appointment_id", Uuid),
            ("offered_at", Instant),
            ("created_at", Instant),
        ],
        order: ("created_at, id", "created_at, id"),
        serial: false,
    },
    Table {
        name: "reviews",
        columns: cols![
            ("id", Uuid),
            ("appointment_id", Uuid),
            ("doctor_id", Uuid),
            ("rating", Int32),
            ("comment", Text),
            ("created_at", Instant),
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "appointment_audit_log",
        columns: cols![
            ("id", Int64),
            ("appointment_id", Uuid),
            ("action", Text),
            ("old_status", Text),
            ("new_status", Text),
            ("reason", Text),
            ("actor", Text),
            ("actor_role", Text),
            ("at", Instant),
            ("actor_id", Uuid),
            ("route", Text),
            ("request_id", Text),
            ("break_glass_reason", Text),
        ],
        order: ("id", "id"),
        serial: true,
    },
    Table {
        name: "idempotency_keys",
        columns: cols![
            ("key", Text),
            ("fingerprint", Text),
            ("appointment_id", Uuid),
            ("created_at", Instant),
        ],
        order: ("key", "key"),
        serial: false,
    },
    Table {
        name: "access_log",
        columns: cols![
            ("id", Int64),
            ("at", Instant),
            ("actor_id", Uuid),
            ("actor_role", Text),
            ("patient_id", Uuid),
            ("action", Text),
            ("route", Text),
            ("request_id", Text),
            ("outcome", Int32),
            ("break_glass_reason", Text),
        ],
        order: ("id", "id"),
        serial: true,
    },
    Table {
        name: "account_audit",
        columns: cols![
            ("id", Int64),
            ("at", Instant),
            ("actor_id", Uuid),
            ("actor_role", Text),
            ("user_id", Uuid),
            ("action", Text),
            ("request_id", Text),
        ],
        order: ("id", "id"),
        serial: true,
    },
    Table {
        name: "webhooks",
        columns: cols![
            ("id", Uuid),
            ("url", Text),
            ("secret", Text),
            ("created_at", Instant),
        ],
        order: ("id", "id"),
        serial: false,
    },
    Table {
        name: "webhook_events",
        columns: cols![("webhook_id", Uuid), ("event", Text)],
        order: ("webhook_id, event", "webhook_id, event"),
        serial: false,
    },
];

/// Tables an export leaves out on purpose, with the reason (also in the README).
pub const NOT_EXPORTED: &[(&str, &str)] = &[
    (
        "signing_keys",
        "token signing secrets stay with the database they were made for: the target makes its \
         own key at first start, so no token issued before the move verifies after it",
    ),
    (
        "sessions",
        "refresh sessions belong to the old signing keys; everyone signs in again (passwords \
         and TOTP secrets are carried over)",
    ),
    (
        "login_throttle",
        "throttling windows of minutes, meaningless after a move",
    ),
    (
        "link_tokens",
        "e-mailed links live minutes and name this installation's address; people ask again",
    ),
    (
        "spent_refresh",
        "belongs to the sessions, which are not carried over",
    ),
    (
        "outbox",
        "deliveries belong to the source: drain it first (GET /api/outbox?status=pending empty); \
         importing writes no deliveries, so moving a clinic never e-mails its patients again",
    ),
    (
        "patients_fts",
        "SQLite's patient search index: triggers fill it as the patients are imported",
    ),
    ("patients_fts_data", "part of SQLite's patient search index"),
    ("patients_fts_idx", "part of SQLite's patient search index"),
    (
        "patients_fts_content",
        "part of SQLite's patient search index",
    ),
    (
        "patients_fts_docsize",
        "part of SQLite's patient search index",
    ),
    (
        "patients_fts_config",
        "part of SQLite's patient search index",
    ),
    (
        "outbox_actions",
        "reference data the migrations write (which audit actions are events)",
    ),
    (
        "_sqlx_migrations",
        "the target runs its own backend's migrations",
    ),
];

/// Columns of exported tables that an export leaves out because the database derives them
/// (table, column, how).
pub const DERIVED: &[(&str, &str, &str)] = &[
    (
        "time_slots",
        "doctor_active",
        "kept by triggers from the doctor's is_active, so importing the slots after the doctors sets it",
    ),
    (
        "patients",
        "pending_holds",
        "PostgreSQL: kept by a trigger on appointments, so importing the appointments recounts it",
    ),
    (
        "doctors",
        "rating_count",
        "kept by a trigger on reviews (both backends), so importing the reviews recounts it",
    ),
    (
        "doctors",
        "rating_sum",
        "kept by a trigger on reviews (both backends), so importing the reviews recounts it",
    ),
];

/// The exported table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

impl Table {
    /// The comma-separated column list.
    pub fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(c, _)| *c).collect();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_excluded_tables_are_not_exported() {
        let mut names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
        for (name, _) in NOT_EXPORTED {
            assert!(table(name).is_none(), "{name}");
        }
    }

    #[test]
    fn serial_tables_start_with_an_integer_id() {
        for t in TABLES.iter().filter(|t| t.serial) {
            assert_eq!(t.columns[0], ("id", Int64), "{}", t.name);
        }
    }
}
