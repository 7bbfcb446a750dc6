//! Server-side sessions (R8.4, R9.2): looked up by a SHA-256 of the token, never the token itself.

use kumanet_core::Micros;

use crate::db::{on_read, on_tx, RowExt};
use crate::users::{row_to_user, USER_COLUMNS};
use crate::{Result, Session, Store, Tx, User};

impl Store {
    /// The session and its user, in one read.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(Session, User)>> {
        let sql = format!(
            "SELECT s.token_hash, s.user_id, s.csrf_token, s.ip, s.created_at AS s_created_at, s.last_seen_at, \
             s.device_hash, {USER_COLUMNS} \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1"
        );
        fn map(r: &impl RowExt) -> Result<(Session, User)> {
            Ok((
                Session {
                    token_hash: r.text("token_hash")?.into(),
                    user_id: r.text("user_id")?,
                    csrf_token: r.text("csrf_token")?.into(),
                    ip: r.text("ip")?,
                    created_at: r.int("s_created_at")?,
                    last_seen_at: r.int("last_seen_at")?,
                    device_hash: r.opt_text("device_hash")?,
                },
                row_to_user(r)?,
            ))
        }
        on_read!(self, |c| sqlx::query(&sql).bind(token_hash).fetch_optional(c).await?.as_ref().map(map).transpose())
    }

    pub async fn session_count(&self, user_id: &str) -> Result<i64> {
        on_read!(self, |c| Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(c)
            .await?))
    }
}

impl Tx {
    pub async fn insert_session(&mut self, s: &Session) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, ip, created_at, last_seen_at, device_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(s.token_hash.expose())
            .bind(&s.user_id)
            .bind(s.csrf_token.expose())
            .bind(&s.ip)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .bind(&s.device_hash)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn touch_session(&mut self, token_hash: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2"
        )
        .bind(token_hash)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        on_tx!(self, |c| sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(c)
            .await?
            .rows_affected());
        Ok(())
    }

    /// R8.4 (ASVS 7.4.3): end every other session of a user, after a password change. Returns how
    /// many ended.
    pub async fn delete_other_sessions(&mut self, user_id: &str, keep_token_hash: &str) -> Result<u64> {
        Ok(on_tx!(self, |c| sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep_token_hash)
            .execute(c)
            .await?
            .rows_affected()))
    }

    /// R6.3: end every session of a user. Returns how many ended.
    pub async fn delete_sessions_of(&mut self, user_id: &str) -> Result<u64> {
        Ok(on_tx!(self, |c| sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(c)
            .await?
            .rows_affected()))
    }
}
