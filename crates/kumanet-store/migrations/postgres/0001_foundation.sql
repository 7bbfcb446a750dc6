CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE facilities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kana TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT facilities_name_key UNIQUE (name)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    login_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kana TEXT NOT NULL,
    role TEXT NOT NULL,
    profession TEXT,
    facility_id TEXT REFERENCES facilities (id),
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    status TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    password_set_at BIGINT NOT NULL,
    password_expires_at BIGINT,
    password_issued BIGINT NOT NULL,
    failed_count BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    pledge_signed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT users_login_id_key UNIQUE (login_id)
);
CREATE INDEX users_facility_idx ON users (facility_id);

CREATE TABLE password_history (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_history_user_idx ON password_history (user_id, created_at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE policy_versions (
    version BIGINT PRIMARY KEY,
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT
);

CREATE TABLE policy_acceptances (
    user_id TEXT NOT NULL REFERENCES users (id),
    version BIGINT NOT NULL REFERENCES policy_versions (version),
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, version)
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    facility_id TEXT REFERENCES facilities (id),
    filed_by TEXT NOT NULL REFERENCES users (id),
    filed_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_at BIGINT,
    decision_note TEXT
);
CREATE INDEX applications_state_idx ON applications (state, filed_at);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor_user_id TEXT,
    actor_role TEXT,
    actor_facility_id TEXT,
    ip TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    result TEXT NOT NULL,
    reason TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX audit_log_ts_idx ON audit_log (ts);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, seq);

-- R11.1: the audit log is append-only.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
