//! R8.6: what failed logins leave behind — per login ID, per login ID and address (both kept for
//! IDs that do not exist too), and per known device of a user — and the devices themselves.
//! The rules are `kumanet_core::policy::login`; this is only their memory.
//!
//! Every read that precedes a write takes the row's lock (an upsert or an update that changes
//! nothing, then `RETURNING`): on PostgreSQL two nodes cannot both count from the same value; on
//! SQLite the single writer already orders them.

use kumanet_core::policy::login::Failures;
use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::{Result, Store, Tx};

/// A browser a user has logged in on (a long-lived random cookie; only its SHA-256 is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub user_id: String,
    pub device_hash: String,
    pub user_agent: String,
    pub first_ip: String,
    pub created_at: Micros,
    pub last_login_at: Micros,
    pub failures: Failures,
}

/// A lock whose time has run out, taken off by [`Tx::end_ended_locks`] (to be audited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedLock {
    /// The SHA-256 of the login ID.
    pub login_key: String,
    /// The ID's user, when there is one.
    pub user_id: Option<String>,
    /// True for one known device of the user, false for the ID against unknown browsers.
    pub device: bool,
    pub locked_until: Micros,
}

fn failures(r: &impl RowExt) -> Result<Failures> {
    Ok(Failures {
        count: u32::try_from(r.int("failures")?).unwrap_or(u32::MAX),
        last_at: r.int("last_at")?,
        locked_until: r.opt_int("locked_until")?,
    })
}

fn row_to_device(r: &impl RowExt) -> Result<KnownDevice> {
    Ok(KnownDevice {
        user_id: r.text("user_id")?,
        device_hash: r.text("device_hash")?,
        user_agent: r.text("user_agent")?,
        first_ip: r.text("first_ip")?,
        created_at: r.int("created_at")?,
        last_login_at: r.int("last_login_at")?,
        failures: failures(r)?,
    })
}

const DEVICE_COLUMNS: &str =
    "user_id, device_hash, user_agent, first_ip, created_at, last_login_at, failures, last_at, locked_until";

impl Store {
    /// The browsers a user has logged in on, the most recent first.
    pub async fn known_devices(&self, user_id: &str) -> Result<Vec<KnownDevice>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM known_devices WHERE user_id = $1 ORDER BY last_login_at DESC");
        on_read!(self, |c| sqlx::query(&sql).bind(user_id).fetch_all(c).await?.iter().map(row_to_device).collect())
    }

    /// What is remembered about a login ID, for unknown browsers (`ip` empty) or one address.
    pub async fn login_failures(&self, login_key: &str, ip: &str) -> Result<Failures> {
        on_read!(self, |c| Ok(sqlx::query(
            "SELECT failures, last_at, locked_until FROM login_throttle WHERE login_key = $1 AND ip = $2"
        )
        .bind(login_key)
        .bind(ip)
        .fetch_optional(c)
        .await?
        .as_ref()
        .map(failures)
        .transpose()?
        .unwrap_or_default()))
    }
}

impl Tx {
    /// The failures under a login ID (`ip` empty: the ID itself), row-locked until commit.
    pub async fn lock_login_failures(&mut self, login_key: &str, ip: &str) -> Result<Failures> {
        on_tx!(self, |c| failures(
            &sqlx::query(
                "INSERT INTO login_throttle (login_key, ip, failures, last_at) VALUES ($1, $2, 0, 0) \
                 ON CONFLICT (login_key, ip) DO UPDATE SET failures = login_throttle.failures \
                 RETURNING failures, last_at, locked_until"
            )
            .bind(login_key)
            .bind(ip)
            .fetch_one(c)
            .await?
        ))
    }

    /// Write what is remembered under a login ID; a state worth nothing removes the row.
    pub async fn put_login_failures(
        &mut self,
        login_key: &str,
        ip: &str,
        user_id: Option<&str>,
        f: &Failures,
        now: Micros,
    ) -> Result<()> {
        if !f.remembered(now) {
            on_tx!(self, |c| sqlx::query("DELETE FROM login_throttle WHERE login_key = $1 AND ip = $2")
                .bind(login_key)
                .bind(ip)
                .execute(c)
                .await?
                .rows_affected());
            return Ok(());
        }
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO login_throttle (login_key, ip, user_id, failures, last_at, locked_until) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (login_key, ip) DO UPDATE SET user_id = EXCLUDED.user_id, failures = EXCLUDED.failures, \
             last_at = EXCLUDED.last_at, locked_until = EXCLUDED.locked_until"
        )
        .bind(login_key)
        .bind(ip)
        .bind(user_id)
        .bind(i64::from(f.count))
        .bind(f.last_at)
        .bind(f.locked_until)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Forget every failure under a login ID (its password was just set); returns the end of the
    /// ID's lock, if it was locked at `now`.
    pub async fn clear_login_failures(&mut self, login_key: &str, now: Micros) -> Result<Option<Micros>> {
        let until: Option<Option<i64>> = on_tx!(self, |c| sqlx::query_scalar(
            "SELECT locked_until FROM login_throttle WHERE login_key = $1 AND ip = ''"
        )
        .bind(login_key)
        .fetch_optional(c)
        .await?);
        on_tx!(self, |c| sqlx::query("DELETE FROM login_throttle WHERE login_key = $1")
            .bind(login_key)
            .execute(c)
            .await?
            .rows_affected());
        Ok(until.flatten().filter(|u| now < *u))
    }

    /// A known device of the user, row-locked until commit; None when the browser is not one.
    pub async fn lock_known_device(&mut self, user_id: &str, device_hash: &str) -> Result<Option<KnownDevice>> {
        let sql = format!(
            "UPDATE known_devices SET failures = failures WHERE user_id = $1 AND device_hash = $2 RETURNING {DEVICE_COLUMNS}"
        );
        on_tx!(self, |c| sqlx::query(&sql)
            .bind(user_id)
            .bind(device_hash)
            .fetch_optional(c)
            .await?
            .as_ref()
            .map(row_to_device)
            .transpose())
    }

    pub async fn put_device_failures(&mut self, user_id: &str, device_hash: &str, f: &Failures) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "UPDATE known_devices SET failures = $3, last_at = $4, locked_until = $5 WHERE user_id = $1 AND device_hash = $2"
        )
        .bind(user_id)
        .bind(device_hash)
        .bind(i64::from(f.count))
        .bind(f.last_at)
        .bind(f.locked_until)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// A successful login on this browser: it becomes (or stays) one of the user's known devices,
    /// its failures forgotten (a lock of its own runs out by itself).
    pub async fn remember_device(
        &mut self,
        user_id: &str,
        device_hash: &str,
        user_agent: &str,
        ip: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO known_devices (user_id, device_hash, user_agent, first_ip, created_at, last_login_at, failures, last_at) \
             VALUES ($1, $2, $3, $4, $5, $5, 0, $5) \
             ON CONFLICT (user_id, device_hash) DO UPDATE SET user_agent = EXCLUDED.user_agent, \
             last_login_at = EXCLUDED.last_login_at, failures = 0, last_at = EXCLUDED.last_at"
        )
        .bind(user_id)
        .bind(device_hash)
        .bind(user_agent)
        .bind(ip)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Forget the user's known devices but `keep` (after a password change). Returns how many.
    pub async fn forget_devices_except(&mut self, user_id: &str, keep: Option<&str>) -> Result<u64> {
        Ok(on_tx!(self, |c| sqlx::query(
            "DELETE FROM known_devices WHERE user_id = $1 AND ($2 IS NULL OR device_hash <> $2)"
        )
        .bind(user_id)
        .bind(keep)
        .execute(c)
        .await?
        .rows_affected()))
    }

    /// Take off the locks that have run out (at most `limit` of each kind), each once even with
    /// several nodes, and say which (R11.1: the end of a lock is audited).
    pub async fn end_ended_locks(&mut self, now: Micros, limit: i64) -> Result<Vec<EndedLock>> {
        let ids: Vec<(String, Option<String>, i64)> = on_tx!(self, |c| sqlx::query_as(
            "SELECT login_key, user_id, locked_until FROM login_throttle \
             WHERE ip = '' AND locked_until <= $1 ORDER BY locked_until LIMIT $2"
        )
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await?);
        let devices: Vec<(String, String, i64)> = on_tx!(self, |c| sqlx::query_as(
            "SELECT user_id, device_hash, locked_until FROM known_devices \
             WHERE locked_until <= $1 ORDER BY locked_until LIMIT $2"
        )
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await?);
        let mut ended = Vec::new();
        for (login_key, user_id, until) in ids {
            let n = on_tx!(self, |c| {
                sqlx::query(
                "UPDATE login_throttle SET locked_until = NULL WHERE login_key = $1 AND ip = '' AND locked_until = $2"
            )
            .bind(&login_key)
            .bind(until)
            .execute(c)
            .await?
            .rows_affected()
            });
            if n == 1 {
                ended.push(EndedLock { login_key, user_id, device: false, locked_until: until });
            }
        }
        for (user_id, device_hash, until) in devices {
            let n = on_tx!(self, |c| {
                sqlx::query(
                "UPDATE known_devices SET locked_until = NULL WHERE user_id = $1 AND device_hash = $2 AND locked_until = $3"
            )
            .bind(&user_id)
            .bind(&device_hash)
            .bind(until)
            .execute(c)
            .await?
            .rows_affected()
            });
            if n == 1 {
                ended.push(EndedLock {
                    login_key: String::new(),
                    user_id: Some(user_id),
                    device: true,
                    locked_until: until,
                });
            }
        }
        Ok(ended)
    }

    /// Keep the memory of failures bounded: rows with nothing left to remember (failures older
    /// than `forgotten_before`, no lock) go, and beyond `max_rows` the oldest unlocked ones too.
    /// Both by age alone, never by whether the ID exists. Devices unused since `devices_before`
    /// are forgotten (their cookie has expired).
    pub async fn prune_login_failures(
        &mut self,
        forgotten_before: Micros,
        max_rows: i64,
        devices_before: Micros,
    ) -> Result<u64> {
        let old =
            on_tx!(self, |c| sqlx::query("DELETE FROM login_throttle WHERE locked_until IS NULL AND last_at < $1")
                .bind(forgotten_before)
                .execute(c)
                .await?
                .rows_affected());
        let over = on_tx!(self, |c| sqlx::query(
            "DELETE FROM login_throttle WHERE locked_until IS NULL AND last_at < \
             (SELECT last_at FROM login_throttle ORDER BY last_at DESC LIMIT 1 OFFSET $1)"
        )
        .bind(max_rows)
        .execute(c)
        .await?
        .rows_affected());
        let devices = on_tx!(self, |c| sqlx::query(
            "DELETE FROM known_devices WHERE last_login_at < $1 AND locked_until IS NULL"
        )
        .bind(devices_before)
        .execute(c)
        .await?
        .rows_affected());
        Ok(old + over + devices)
    }
}
