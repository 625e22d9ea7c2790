-- Login throttling counted before a password is checked: one row per key (an account and a
-- client address, a client address, an account), its failures counted in a fixed window by
-- one atomic upsert per attempt. The old failure log could be outrun by parallel guesses.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    window_secs  INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    failures     INTEGER NOT NULL
) STRICT;
CREATE INDEX login_throttle_start_idx ON login_throttle (window_start);
DROP TABLE login_failures;

-- Links e-mailed to people (verify an address, accept an invitation, reset a password): only
-- the SHA-256 of each token is kept; a token is spent once and lapses at `expires_at`. A
-- sign-up waiting for its verification keeps the sign-up in `payload` until then.
CREATE TABLE link_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify', 'invite', 'reset')),
    email      TEXT NOT NULL,
    user_id    BLOB REFERENCES users (id),
    patient_id BLOB REFERENCES patients (id),
    payload    TEXT,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX link_tokens_expires_idx ON link_tokens (expires_at);

-- Second factor: single-use recovery codes (hashed), and the last TOTP step accepted so a
-- code is never accepted twice.
CREATE TABLE recovery_codes (
    user_id   BLOB NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Refresh secrets already spent: presenting one of these (and only these) means a copied
-- token, and revokes its session; any other wrong secret is a plain refusal.
CREATE TABLE spent_refresh (
    refresh_hash TEXT PRIMARY KEY,
    session_id   BLOB NOT NULL REFERENCES sessions (id)
) STRICT;

-- Security-relevant account changes, append-only like the other audit tables.
CREATE TABLE account_audit (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor_id   BLOB,
    actor_role TEXT NOT NULL,
    user_id    BLOB,
    action     TEXT NOT NULL,
    request_id TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX account_audit_user_idx ON account_audit (user_id, at);
CREATE TRIGGER account_audit_no_update BEFORE UPDATE ON account_audit
BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END;
CREATE TRIGGER account_audit_no_delete BEFORE DELETE ON account_audit
BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END;
