-- Login throttling counted before a password is checked: one row per key (an account and a
-- client address, a client address, an account), its failures counted in a fixed window by
-- one atomic upsert per attempt. The old failure log could be outrun by parallel guesses.
CREATE TABLE login_throttle (
    key          text PRIMARY KEY,
    window_secs  integer NOT NULL,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL
);
CREATE INDEX login_throttle_start_idx ON login_throttle (window_start);
DROP TABLE login_failures;

-- Links e-mailed to people (verify an address, accept an invitation, reset a password): only
-- the SHA-256 of each token is kept; a token is spent once and lapses at `expires_at`. A
-- sign-up waiting for its verification keeps the sign-up in `payload` until then.
CREATE TABLE link_tokens (
    token_hash text PRIMARY KEY,
    purpose    text NOT NULL CHECK (purpose IN ('verify', 'invite', 'reset')),
    email      text NOT NULL,
    user_id    uuid REFERENCES users (id),
    patient_id uuid REFERENCES patients (id),
    payload    text,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX link_tokens_expires_idx ON link_tokens (expires_at);

-- Second factor: single-use recovery codes (hashed), and the last TOTP step accepted so a
-- code is never accepted twice.
CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id),
    code_hash text NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

-- Refresh secrets already spent: presenting one of these (and only these) means a copied
-- token, and revokes its session; any other wrong secret is a plain refusal.
CREATE TABLE spent_refresh (
    refresh_hash text PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES sessions (id)
);

-- Security-relevant account changes, append-only like the other audit tables.
CREATE TABLE account_audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id   uuid,
    actor_role text NOT NULL,
    user_id    uuid,
    action     text NOT NULL,
    request_id text NOT NULL DEFAULT ''
);
CREATE INDEX account_audit_user_idx ON account_audit (user_id, at);
CREATE TRIGGER account_audit_append_only BEFORE UPDATE OR DELETE ON account_audit
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER account_audit_no_truncate BEFORE TRUNCATE ON account_audit
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
