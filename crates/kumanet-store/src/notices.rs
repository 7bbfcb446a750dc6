//! E-mail notices: each user's choice and the log of what was sent (kind and time only).

use kumanet_core::policy::notice::NoticeMode;
use kumanet_core::Micros;

use crate::db::{on_read, on_tx};
use crate::{Result, Store, Tx};

/// Someone to notify: id, name, e-mail address, choice.
#[derive(Debug, Clone)]
pub struct NoticeTarget {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub mode: NoticeMode,
}

fn target((user_id, name, email, mode): (String, String, String, String)) -> NoticeTarget {
    NoticeTarget { user_id, name, email, mode: NoticeMode::from_code(&mode).unwrap_or(NoticeMode::Daily) }
}

impl Store {
    pub async fn notice_mode(&self, user_id: &str) -> Result<NoticeMode> {
        let mode: Option<String> =
            on_read!(self, |c| sqlx::query_scalar("SELECT notice_mode FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(c)
                .await?);
        Ok(mode.and_then(|m| NoticeMode::from_code(&m)).unwrap_or(NoticeMode::Daily))
    }

    /// The other active members of a patient's group or a board with an e-mail address and an
    /// approved ID.
    pub async fn notice_targets(&self, room_id: &str, except: &str) -> Result<Vec<NoticeTarget>> {
        let rows: Vec<(String, String, String, String)> = on_read!(self, |c| sqlx::query_as(
            "SELECT u.id, u.name, u.email, u.notice_mode FROM (\
             SELECT user_id FROM group_members WHERE group_id = $1 AND removed_at IS NULL UNION \
             SELECT user_id FROM board_members WHERE board_id = $1 AND removed_at IS NULL) m \
             JOIN users u ON u.id = m.user_id WHERE u.id <> $2 AND u.email <> '' AND u.status = 'approved'"
        )
        .bind(room_id)
        .bind(except)
        .fetch_all(c)
        .await?);
        Ok(rows.into_iter().map(target).collect())
    }

    /// Everyone who chose the daily digest (with an address and an approved ID).
    pub async fn digest_targets(&self) -> Result<Vec<NoticeTarget>> {
        let rows: Vec<(String, String, String, String)> = on_read!(self, |c| sqlx::query_as(
            "SELECT id, name, email, notice_mode FROM users \
             WHERE notice_mode = 'daily' AND email <> '' AND status = 'approved' ORDER BY id"
        )
        .fetch_all(c)
        .await?);
        Ok(rows.into_iter().map(target).collect())
    }

    pub async fn last_mail(&self, user_id: &str, kind: &str) -> Result<Option<Micros>> {
        on_read!(self, |c| Ok(sqlx::query_scalar("SELECT MAX(sent_at) FROM mail_log WHERE user_id = $1 AND kind = $2")
            .bind(user_id)
            .bind(kind)
            .fetch_one(c)
            .await?))
    }
}

impl Tx {
    pub async fn set_notice_mode(&mut self, user_id: &str, mode: NoticeMode) -> Result<()> {
        on_tx!(self, |c| sqlx::query("UPDATE users SET notice_mode = $2 WHERE id = $1")
            .bind(user_id)
            .bind(mode.code())
            .execute(c)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn log_mail(&mut self, user_id: &str, kind: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query("INSERT INTO mail_log (user_id, kind, sent_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(kind)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected());
        Ok(())
    }
}
