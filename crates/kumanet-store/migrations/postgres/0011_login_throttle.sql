-- R8.6: failed logins, remembered per login ID (for browsers its user has not logged in on) and
-- per login ID and address, for IDs that do not exist too (so no answer tells them apart).
-- The login ID is kept only as its SHA-256; `ip` is '' on the row of the ID itself; `user_id`
-- names the ID's user when there is one (for the audit log; never shown to the one who tried).
CREATE TABLE login_throttle (
    login_key TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_id TEXT,
    failures BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (login_key, ip)
);
CREATE INDEX login_throttle_last_idx ON login_throttle (last_at);
CREATE INDEX login_throttle_locked_idx ON login_throttle (locked_until);

-- The browsers a user has logged in on (R8.6, and the device list of R9.1/R9.4 later): a long-lived
-- random cookie, of which only the SHA-256 is kept. A known device keeps its own failure count and
-- is let in while the ID is locked against other browsers.
CREATE TABLE known_devices (
    user_id TEXT NOT NULL REFERENCES users (id),
    device_hash TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    first_ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    last_at BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (user_id, device_hash)
);
CREATE INDEX known_devices_locked_idx ON known_devices (locked_until);
CREATE INDEX known_devices_last_login_idx ON known_devices (last_login_at);

-- Each session remembers the device it was opened on.
ALTER TABLE sessions ADD COLUMN device_hash TEXT;

-- The lock-out moved to login_throttle.
ALTER TABLE users DROP COLUMN failed_count;
ALTER TABLE users DROP COLUMN locked_until;
