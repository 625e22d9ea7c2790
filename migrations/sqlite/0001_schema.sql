-- carebook schema for SQLite, mirroring migrations/postgres. Tables are STRICT so every value
-- has the type its column declares.
--
-- Representation (the adapter in src/store/sqlite relies on it):
--   * ids are 16-byte BLOBs (how sqlx encodes uuid::Uuid);
--   * slot dates are TEXT 'YYYY-MM-DD' and times TEXT 'HH:MM:SS', the doctor's local calendar
--     values, which compare correctly as text;
--   * instants are TEXT in UTC with milliseconds, always 'YYYY-MM-DDTHH:MM:SS.SSSZ'
--     (strftime('%Y-%m-%dT%H:%M:%fZ', ...)). Because the format is fixed, comparing them as
--     text compares them in time; the GLOB checks on the compared columns guard that.

CREATE TABLE doctors (
    id             BLOB PRIMARY KEY CHECK (length(id) = 16),
    name           TEXT NOT NULL,
    specialization TEXT NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    phone          TEXT,
    license_number TEXT NOT NULL UNIQUE,
    clinic_name    TEXT,
    address        TEXT,
    bio            TEXT,
    timezone       TEXT NOT NULL,
    is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX doctors_active_name_idx ON doctors (name, id) WHERE is_active;
CREATE INDEX doctors_specialization_idx ON doctors (lower(specialization)) WHERE is_active;

CREATE TABLE patients (
    id                      BLOB PRIMARY KEY CHECK (length(id) = 16),
    name                    TEXT NOT NULL,
    email                   TEXT NOT NULL UNIQUE,
    phone                   TEXT NOT NULL,
    date_of_birth           TEXT,
    gender                  TEXT,
    blood_group             TEXT CHECK (blood_group IN ('A+','A-','B+','B-','AB+','AB-','O+','O-')),
    allergies               TEXT,
    medical_history         TEXT,
    emergency_contact_name  TEXT,
    emergency_contact_phone TEXT,
    created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                            CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    updated_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
-- The list is ordered by created_at, then rowid (see people.rs); the rowid is implicit here.
CREATE INDEX patients_created_idx ON patients (created_at);

-- status holds what an administrator set; BOOKED is derived from the seat count when read.
CREATE TABLE time_slots (
    id               BLOB PRIMARY KEY CHECK (length(id) = 16),
    doctor_id        BLOB NOT NULL REFERENCES doctors (id),
    slot_date        TEXT NOT NULL CHECK (slot_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    slot_time        TEXT NOT NULL CHECK (slot_time GLOB '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]'),
    starts_at        TEXT NOT NULL
                     CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    max_capacity     INTEGER NOT NULL CHECK (max_capacity BETWEEN 1 AND 1000),
    -- Seats held by PENDING, CONFIRMED and COMPLETED appointments. The CHECK makes
    -- overbooking impossible whatever the code does.
    current_bookings INTEGER NOT NULL DEFAULT 0 CHECK (current_bookings BETWEEN 0 AND max_capacity),
    status           TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'BLOCKED')),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (doctor_id, slot_date, slot_time)
) STRICT;

CREATE TABLE appointments (
    id                  BLOB PRIMARY KEY CHECK (length(id) = 16),
    patient_id          BLOB NOT NULL REFERENCES patients (id),
    doctor_id           BLOB NOT NULL REFERENCES doctors (id),
    time_slot_id        BLOB NOT NULL REFERENCES time_slots (id),
    appointment_date    TEXT NOT NULL,
    appointment_time    TEXT NOT NULL,
    -- The slot's start, copied so lists can be ordered without a join (as on PostgreSQL).
    starts_at           TEXT NOT NULL
                        CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    status              TEXT NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'COMPLETED', 'EXPIRED')),
    consultation_type   TEXT NOT NULL CHECK (consultation_type IN ('in-person', 'video', 'phone')),
    reason_for_visit    TEXT,
    expires_at          TEXT
                        CHECK (expires_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    confirmed_at        TEXT,
    cancelled_at        TEXT,
    cancellation_reason TEXT,
    completed_at        TEXT,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
-- One live appointment per patient and slot; cancelled and expired ones do not count, so a
-- patient may book again after either.
CREATE UNIQUE INDEX appointments_live_slot_patient_key
    ON appointments (time_slot_id, patient_id) WHERE status IN ('PENDING', 'CONFIRMED');
CREATE INDEX appointments_pending_expiry_idx ON appointments (expires_at) WHERE status = 'PENDING';
CREATE INDEX appointments_pending_slot_idx ON appointments (time_slot_id) WHERE status = 'PENDING';
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at, id);
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, starts_at, id);

CREATE TABLE appointment_audit_log (
    id             INTEGER PRIMARY KEY,
    appointment_id BLOB NOT NULL REFERENCES appointments (id),
    action         TEXT NOT NULL,
    old_status     TEXT,
    new_status     TEXT NOT NULL,
    reason         TEXT,
    actor          TEXT NOT NULL,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX appointment_audit_log_appointment_idx ON appointment_audit_log (appointment_id, id);

CREATE TABLE idempotency_keys (
    key            TEXT PRIMARY KEY,
    fingerprint    TEXT NOT NULL,
    appointment_id BLOB NOT NULL REFERENCES appointments (id),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                   CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
