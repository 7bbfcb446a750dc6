-- R5.3: the professionals' agreement before a patient or family member joins, and who joined.
CREATE TABLE family_proposals (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES patient_groups (id),
    proposed_by TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX family_proposals_group_idx ON family_proposals (group_id, created_at);

CREATE TABLE family_votes (
    proposal_id TEXT NOT NULL REFERENCES family_proposals (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    agree BIGINT NOT NULL,
    comment TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, user_id)
);

CREATE TABLE family_members (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    group_id TEXT NOT NULL REFERENCES patient_groups (id),
    relationship TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX family_members_group_idx ON family_members (group_id);
