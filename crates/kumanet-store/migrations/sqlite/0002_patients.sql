-- Patients, consent (様式1), groups, invitations and requests to leave (第3条–第5条, 第10条).
CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kana TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    address TEXT NOT NULL,
    attending_id TEXT NOT NULL REFERENCES users (id),
    basis TEXT NOT NULL,
    basis_reason TEXT NOT NULL,
    delegated_facility_id TEXT REFERENCES facilities (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX patients_attending_idx ON patients (attending_id);
CREATE INDEX patients_delegated_idx ON patients (delegated_facility_id);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    explained_by TEXT NOT NULL REFERENCES users (id),
    consenter TEXT NOT NULL,
    consenter_name TEXT NOT NULL,
    relationship TEXT NOT NULL,
    consented_on TEXT NOT NULL,
    scope TEXT NOT NULL,
    scan BLOB,
    scan_type TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at BIGINT NOT NULL,
    withdrawn_at BIGINT,
    withdrawn_by TEXT REFERENCES users (id),
    withdrawal_note TEXT
);
CREATE INDEX consents_patient_idx ON consents (patient_id, recorded_at);

CREATE TABLE patient_groups (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    closed_at BIGINT,
    CONSTRAINT patient_groups_patient_key UNIQUE (patient_id)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES patient_groups (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    joined_at BIGINT NOT NULL,
    removed_at BIGINT,
    removed_by TEXT REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES patient_groups (id),
    invitee_id TEXT NOT NULL REFERENCES users (id),
    inviter_id TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    responded_at BIGINT
);
CREATE INDEX invitations_invitee_idx ON invitations (invitee_id, state);
CREATE INDEX invitations_group_idx ON invitations (group_id, state);

CREATE TABLE removal_requests (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES patient_groups (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_at BIGINT
);
CREATE INDEX removal_requests_group_idx ON removal_requests (group_id, state);
