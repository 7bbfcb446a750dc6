-- E-mail notices: each user's choice, and what was sent when (for spacing and the daily digest).
-- Only the kind and the time are kept: the mails carry no patient information.
ALTER TABLE users ADD COLUMN notice_mode TEXT NOT NULL DEFAULT 'daily';
CREATE TABLE mail_log (
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX mail_log_user_idx ON mail_log (user_id, kind, sent_at);
