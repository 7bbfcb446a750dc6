-- Posts (第10条): confirmed posts with every earlier version (R10.6), read marks and 了解.
-- A room is a patient's group (parts 'pro' and 'shared') or, later, a bulletin board.
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    part TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    edited_at BIGINT,
    deleted_at BIGINT,
    deleted_by TEXT REFERENCES users (id),
    CONSTRAINT posts_seq_key UNIQUE (seq)
);
CREATE INDEX posts_room_idx ON posts (room_id, part, seq);

-- Every confirmed version, the first included; a deleted post keeps them all (for the audit).
CREATE TABLE post_versions (
    post_id TEXT NOT NULL REFERENCES posts (id),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (post_id, version)
);

-- How far each member has read a room's part: "既読" and unread counts come from these cursors.
CREATE TABLE room_reads (
    room_id TEXT NOT NULL,
    part TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    read_seq BIGINT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, part, user_id)
);

CREATE TABLE post_acks (
    post_id TEXT NOT NULL REFERENCES posts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    acked_at BIGINT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
