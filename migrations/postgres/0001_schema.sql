-- carebook schema for PostgreSQL. Instants are timestamptz; slot dates and times are the
-- doctor's local calendar values and never shift with a server's time zone.

CREATE TABLE doctors (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    specialization text NOT NULL,
    email          text NOT NULL,
    phone          text,
    license_number text NOT NULL,
    clinic_name    text,
    address        text,
    bio            text,
    timezone       text NOT NULL,
    is_active      boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT doctors_email_key UNIQUE (email),
    CONSTRAINT doctors_license_number_key UNIQUE (license_number)
);
CREATE INDEX doctors_active_name_idx ON doctors (name, id) WHERE is_active;
CREATE INDEX doctors_specialization_idx ON doctors (lower(specialization)) WHERE is_active;

CREATE TABLE patients (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    email                   text NOT NULL,
    phone                   text NOT NULL,
    date_of_birth           date,
    gender                  text,
    blood_group             text CHECK (blood_group IN ('A+','A-','B+','B-','AB+','AB-','O+','O-')),
    allergies               text,
    medical_history         text,
    emergency_contact_name  text,
    emergency_contact_phone text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patients_email_key UNIQUE (email)
);
CREATE INDEX patients_created_idx ON patients (created_at, id);

-- status holds what an administrator set; BOOKED is derived from the seat count when read.
CREATE TABLE time_slots (
    id               uuid PRIMARY KEY,
    doctor_id        uuid NOT NULL REFERENCES doctors (id),
    slot_date        date NOT NULL,
    slot_time        time NOT NULL,
    starts_at        timestamptz NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    max_capacity     integer NOT NULL CHECK (max_capacity BETWEEN 1 AND 1000),
    -- Seats held by PENDING, CONFIRMED and COMPLETED appointments. The CHECK makes
    -- overbooking impossible whatever the code does.
    current_bookings integer NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'BLOCKED')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT time_slots_seats_check CHECK (current_bookings BETWEEN 0 AND max_capacity),
    CONSTRAINT time_slots_doctor_date_time_key UNIQUE (doctor_id, slot_date, slot_time)
);

CREATE TABLE appointments (
    id                  uuid PRIMARY KEY,
    patient_id          uuid NOT NULL REFERENCES patients (id),
    doctor_id           uuid NOT NULL REFERENCES doctors (id),
    time_slot_id        uuid NOT NULL REFERENCES time_slots (id),
    appointment_date    date NOT NULL,
    appointment_time    time NOT NULL,
    starts_at           timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'COMPLETED', 'EXPIRED')),
    consultation_type   text NOT NULL CHECK (consultation_type IN ('in-person', 'video', 'phone')),
    reason_for_visit    text,
    expires_at          timestamptz,
    confirmed_at        timestamptz,
    cancelled_at        timestamptz,
    cancellation_reason text,
    completed_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- One live appointment per patient and slot; cancelled and expired ones do not count, so a
-- patient may book again after either.
CREATE UNIQUE INDEX appointments_live_slot_patient_key
    ON appointments (time_slot_id, patient_id) WHERE status IN ('PENDING', 'CONFIRMED');
CREATE INDEX appointments_pending_expiry_idx ON appointments (expires_at) WHERE status = 'PENDING';
CREATE INDEX appointments_pending_slot_idx ON appointments (time_slot_id) WHERE status = 'PENDING';
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at, id);
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, starts_at, id);

CREATE TABLE appointment_audit_log (
    id             bigserial PRIMARY KEY,
    appointment_id uuid NOT NULL REFERENCES appointments (id),
    action         text NOT NULL,
    old_status     text,
    new_status     text NOT NULL,
    reason         text,
    actor          text NOT NULL,
    at             timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX appointment_audit_log_appointment_idx ON appointment_audit_log (appointment_id, id);

CREATE TABLE idempotency_keys (
    key            text PRIMARY KEY,
    fingerprint    text NOT NULL,
    appointment_id uuid NOT NULL REFERENCES appointments (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
