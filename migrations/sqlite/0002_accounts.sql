-- Accounts, sessions, signing keys, login throttling and the PHI access log (issue 10).
-- Instants are UTC text in the fixed format of 0001, so they compare as text.

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'scheduler', 'doctor', 'patient')),
    doctor_id     BLOB REFERENCES doctors (id),
    patient_id    BLOB REFERENCES patients (id),
    disabled      INTEGER NOT NULL DEFAULT 0,
    totp_secret   TEXT,
    totp_enabled  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT users_doctor_link CHECK ((role = 'doctor') = (doctor_id IS NOT NULL)),
    CONSTRAINT users_patient_link CHECK ((role = 'patient') = (patient_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_patient_key ON users (patient_id) WHERE patient_id IS NOT NULL;

CREATE TABLE sessions (
    id              BLOB PRIMARY KEY,
    user_id         BLOB NOT NULL REFERENCES users (id),
    refresh_hash    TEXT NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_refresh_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at      TEXT,
    revoked_reason  TEXT
) STRICT;
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    retired_at TEXT
) STRICT;

CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX login_failures_email_idx ON login_failures (email, at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, at);

CREATE TABLE access_log (
    id                 INTEGER PRIMARY KEY,
    at                 TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor_id           BLOB NOT NULL,
    actor_role         TEXT NOT NULL,
    patient_id         BLOB NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('read', 'list', 'create', 'update')),
    route              TEXT NOT NULL,
    request_id         TEXT NOT NULL,
    outcome            INTEGER NOT NULL,
    break_glass_reason TEXT
) STRICT;
CREATE INDEX access_log_patient_idx ON access_log (patient_id, at);
CREATE INDEX access_log_actor_idx ON access_log (actor_id, at);
CREATE INDEX access_log_at_idx ON access_log (at);

ALTER TABLE appointment_audit_log ADD COLUMN actor_role TEXT NOT NULL DEFAULT 'system';

-- Audit rows are append-only, whatever the code does.
CREATE TRIGGER appointment_audit_log_no_update BEFORE UPDATE ON appointment_audit_log
BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END;
CREATE TRIGGER appointment_audit_log_no_delete BEFORE DELETE ON appointment_audit_log
BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END;
