-- Attachments (R9.3): stored in the database so every node sees them and backups hold them.
-- Images are kept re-encoded without metadata; a PDF keeps its original and its pages as images.
-- An attachment is a draft (post_id NULL) from the preview until its post is confirmed.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    post_id TEXT REFERENCES posts (id),
    room_id TEXT NOT NULL,
    part TEXT NOT NULL,
    uploader_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    pages BIGINT NOT NULL,
    thumb BYTEA NOT NULL,
    original BYTEA,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_post_idx ON attachments (post_id);
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id, created_at);

-- What is shown: the image itself, or each page of a PDF rendered on the server.
CREATE TABLE attachment_pages (
    attachment_id TEXT NOT NULL REFERENCES attachments (id),
    page BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (attachment_id, page)
);
