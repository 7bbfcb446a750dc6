-- Bulletin boards (R5.4, R12.3): groups of the network's members that are not about one patient
-- (a team, a committee, a district). Their posts live in `posts` with part 'board' and the board's
-- id as the room; members join by invitation; a board's managers invite and remove.
CREATE TABLE boards (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE board_members (
    board_id TEXT NOT NULL REFERENCES boards (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    removed_at BIGINT,
    removed_by TEXT REFERENCES users (id),
    PRIMARY KEY (board_id, user_id)
);
CREATE INDEX board_members_user_idx ON board_members (user_id);

CREATE TABLE board_invitations (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL REFERENCES boards (id),
    invitee_id TEXT NOT NULL REFERENCES users (id),
    inviter_id TEXT NOT NULL REFERENCES users (id),
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    responded_at BIGINT
);
CREATE INDEX board_invitations_invitee_idx ON board_invitations (invitee_id, state);
CREATE INDEX board_invitations_board_idx ON board_invitations (board_id, state);
