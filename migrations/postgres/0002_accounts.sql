-- Accounts, sessions, signing keys, login throttling and the PHI access log (issue 10).

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'scheduler', 'doctor', 'patient')),
    doctor_id     uuid REFERENCES doctors (id),
    patient_id    uuid REFERENCES patients (id),
    disabled      boolean NOT NULL DEFAULT false,
    totp_secret   text,
    totp_enabled  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- A doctor account is linked to exactly one doctor, a patient account to one patient.
    CONSTRAINT users_doctor_link CHECK ((role = 'doctor') = (doctor_id IS NOT NULL)),
    CONSTRAINT users_patient_link CHECK ((role = 'patient') = (patient_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_patient_key ON users (patient_id) WHERE patient_id IS NOT NULL;

-- One row per login. The refresh token is `<session id>.<secret>`; only the SHA-256 of the
-- current secret is kept, so a leaked table cannot be replayed.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    refresh_hash    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_refresh_at timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    revoked_reason  text
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- HMAC keys for access tokens, shared by every instance on the database. The newest signs;
-- every key not retired verifies, so a rotation logs nobody out.
CREATE TABLE signing_keys (
    kid        text PRIMARY KEY,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at timestamptz
);

CREATE TABLE login_failures (
    id    bigserial PRIMARY KEY,
    email text NOT NULL,
    ip    text NOT NULL,
    at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_email_idx ON login_failures (email, at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, at);

-- Who read or wrote which patient's data (45 CFR 164.312(b)).
CREATE TABLE access_log (
    id                 bigserial PRIMARY KEY,
    at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id           uuid NOT NULL,
    actor_role         text NOT NULL,
    patient_id         uuid NOT NULL,
    action             text NOT NULL CHECK (action IN ('read', 'list', 'create', 'update')),
    route              text NOT NULL,
    request_id         text NOT NULL,
    outcome            integer NOT NULL,
    break_glass_reason text
);
CREATE INDEX access_log_patient_idx ON access_log (patient_id, at);
CREATE INDEX access_log_actor_idx ON access_log (actor_id, at);
CREATE INDEX access_log_at_idx ON access_log (at);

ALTER TABLE appointment_audit_log ADD COLUMN actor_role text NOT NULL DEFAULT 'system';

-- Audit rows are append-only, whatever the code does.
CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tables are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER appointment_audit_log_append_only BEFORE UPDATE OR DELETE ON appointment_audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER appointment_audit_log_no_truncate BEFORE TRUNCATE ON appointment_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
