//! Bulletin boards (R5.4, R12.3): groups of the network's members that are not about one patient.
//! A board is a room like a patient's group: its posts are in `posts` (part `board`), with the
//! same read cursors, 了解 and live events. Members join by invitation; managers invite and remove.

use kumanet_core::Micros;
use serde::Serialize;

use crate::db::{on_read, on_tx, RowExt};
use crate::patients::row_to_member;
use crate::{Member, Result, Store, Tx};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Board {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub created_by: String,
    pub created_at: Micros,
}

/// Everything the gate needs to decide about one board for one user.
#[derive(Debug, Clone)]
pub struct BoardContext {
    pub board: Board,
    pub is_member: bool,
    pub is_manager: bool,
}

/// A board on its member's list: how many members, how many posts by others unread.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardSummary {
    pub board: Board,
    pub manager: bool,
    pub members: i64,
    pub unread: i64,
}

/// An active member of a board: who, and whether they manage it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardMember {
    pub member: Member,
    pub manager: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardInvitation {
    pub id: String,
    pub board_id: String,
    pub board_name: String,
    pub board_purpose: String,
    pub invitee_id: String,
    pub invitee_name: String,
    pub inviter_id: String,
    pub inviter_name: String,
    pub inviter_facility: Option<String>,
    /// pending, accepted, declined
    pub state: String,
    pub created_at: Micros,
    pub responded_at: Option<Micros>,
}

/// A member's role on a board.
pub const BOARD_MANAGER: &str = "manager";
pub const BOARD_MEMBER: &str = "member";

const BOARD_COLUMNS: &str = "b.id, b.name, b.purpose, b.created_by, b.created_at";

fn row_to_board(r: &impl RowExt) -> Result<Board> {
    Ok(Board {
        id: r.text("id")?,
        name: r.text("name")?,
        purpose: r.text("purpose")?,
        created_by: r.text("created_by")?,
        created_at: r.int("created_at")?,
    })
}

const INVITATION_COLUMNS: &str = "i.id, i.board_id, b.name AS board_name, b.purpose AS board_purpose, i.invitee_id, \
    iv.name AS invitee_name, i.inviter_id, ir.name AS inviter_name, f.name AS inviter_facility, i.state, \
    i.created_at, i.responded_at";
const INVITATION_FROM: &str = "board_invitations i JOIN boards b ON b.id = i.board_id \
    JOIN users iv ON iv.id = i.invitee_id JOIN users ir ON ir.id = i.inviter_id \
    LEFT JOIN facilities f ON f.id = ir.facility_id";

fn row_to_invitation(r: &impl RowExt) -> Result<BoardInvitation> {
    Ok(BoardInvitation {
        id: r.text("id")?,
        board_id: r.text("board_id")?,
        board_name: r.text("board_name")?,
        board_purpose: r.text("board_purpose")?,
        invitee_id: r.text("invitee_id")?,
        invitee_name: r.text("invitee_name")?,
        inviter_id: r.text("inviter_id")?,
        inviter_name: r.text("inviter_name")?,
        inviter_facility: r.opt_text("inviter_facility")?,
        state: r.text("state")?,
        created_at: r.int("created_at")?,
        responded_at: r.opt_int("responded_at")?,
    })
}

impl Store {
    pub async fn board(&self, id: &str) -> Result<Option<Board>> {
        let sql = format!("SELECT {BOARD_COLUMNS} FROM boards b WHERE b.id = $1");
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_board).transpose())
    }

    /// The board and whether `user_id` is an active member, and a manager, of it (one query: the
    /// gate asks this on every board route).
    pub async fn board_context(&self, board_id: &str, user_id: &str) -> Result<Option<BoardContext>> {
        let sql = format!(
            "SELECT {BOARD_COLUMNS}, m.role FROM boards b LEFT JOIN board_members m \
             ON m.board_id = b.id AND m.user_id = $2 AND m.removed_at IS NULL WHERE b.id = $1"
        );
        on_read!(self, |c| sqlx::query(&sql)
            .bind(board_id)
            .bind(user_id)
            .fetch_optional(c)
            .await?
            .as_ref()
            .map(|r| {
                let role = r.opt_text("role")?;
                Ok(BoardContext {
                    board: row_to_board(r)?,
                    is_member: role.is_some(),
                    is_manager: role.as_deref() == Some(BOARD_MANAGER),
                })
            })
            .transpose())
    }

    /// The boards `user_id` is an active member of, by name, with their unread counts.
    pub async fn boards_of(&self, user_id: &str) -> Result<Vec<BoardSummary>> {
        let sql = format!(
            "SELECT {BOARD_COLUMNS}, m.role, \
             (SELECT COUNT(*) FROM board_members x WHERE x.board_id = b.id AND x.removed_at IS NULL) AS members, \
             (SELECT COUNT(*) FROM posts p WHERE p.room_id = b.id AND p.part = 'board' AND p.author_id <> $1 \
              AND p.deleted_at IS NULL AND p.seq > COALESCE((SELECT r.read_seq FROM room_reads r \
              WHERE r.room_id = b.id AND r.part = 'board' AND r.user_id = $1), 0)) AS unread \
             FROM board_members m JOIN boards b ON b.id = m.board_id \
             WHERE m.user_id = $1 AND m.removed_at IS NULL ORDER BY b.name, b.id"
        );
        on_read!(self, |c| sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(c)
            .await?
            .iter()
            .map(|r| {
                Ok(BoardSummary {
                    board: row_to_board(r)?,
                    manager: r.text("role")? == BOARD_MANAGER,
                    members: r.int("members")?,
                    unread: r.int("unread")?,
                })
            })
            .collect())
    }

    /// Active members, managers first, then by kana.
    pub async fn board_members(&self, board_id: &str) -> Result<Vec<BoardMember>> {
        on_read!(self, |c| sqlx::query(
            "SELECT m.user_id, u.name, u.kana, u.profession, f.name AS facility_name, m.role, m.joined_at \
             FROM board_members m JOIN users u ON u.id = m.user_id LEFT JOIN facilities f ON f.id = u.facility_id \
             WHERE m.board_id = $1 AND m.removed_at IS NULL \
             ORDER BY CASE WHEN m.role = 'manager' THEN 0 ELSE 1 END, u.kana, u.id"
        )
        .bind(board_id)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok(BoardMember { member: row_to_member(r)?, manager: r.text("role")? == BOARD_MANAGER }))
        .collect())
    }

    async fn board_invitations_where(&self, cond: &str, a: &str) -> Result<Vec<BoardInvitation>> {
        let sql =
            format!("SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE {cond} ORDER BY i.created_at DESC, i.id");
        on_read!(self, |c| sqlx::query(&sql).bind(a).fetch_all(c).await?.iter().map(row_to_invitation).collect())
    }

    pub async fn board_invitation(&self, id: &str) -> Result<Option<BoardInvitation>> {
        Ok(self.board_invitations_where("i.id = $1", id).await?.into_iter().next())
    }

    /// The board invitations waiting for this user.
    pub async fn pending_board_invitations_for(&self, user_id: &str) -> Result<Vec<BoardInvitation>> {
        self.board_invitations_where("i.invitee_id = $1 AND i.state = 'pending'", user_id).await
    }

    pub async fn pending_board_invitations_of(&self, board_id: &str) -> Result<Vec<BoardInvitation>> {
        self.board_invitations_where("i.board_id = $1 AND i.state = 'pending'", board_id).await
    }
}

impl Tx {
    pub async fn insert_board(&mut self, b: &Board) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO boards (id, name, purpose, created_by, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(&b.id)
        .bind(&b.name)
        .bind(&b.purpose)
        .bind(&b.created_by)
        .bind(b.created_at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Add a member with `role` (`MANAGER` or `MEMBER`), again if they had left or been removed.
    pub async fn add_board_member(&mut self, board_id: &str, user_id: &str, role: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO board_members (board_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at, \
             removed_at = NULL, removed_by = NULL"
        )
        .bind(board_id)
        .bind(user_id)
        .bind(role)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// End a membership (removed by a manager, or left). False when it was not active.
    pub async fn remove_board_member(&mut self, board_id: &str, user_id: &str, by: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE board_members SET removed_at = $3, removed_by = $4 \
             WHERE board_id = $1 AND user_id = $2 AND removed_at IS NULL"
        )
        .bind(board_id)
        .bind(user_id)
        .bind(now)
        .bind(by)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// How many active managers a board has (a board keeps at least one).
    pub async fn board_manager_count(&mut self, board_id: &str) -> Result<i64> {
        let n: i64 = on_tx!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM board_members WHERE board_id = $1 AND role = 'manager' AND removed_at IS NULL"
        )
        .bind(board_id)
        .fetch_one(c)
        .await?);
        Ok(n)
    }

    pub async fn insert_board_invitation(
        &mut self,
        id: &str,
        board_id: &str,
        invitee: &str,
        inviter: &str,
        now: Micros,
    ) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO board_invitations (id, board_id, invitee_id, inviter_id, state, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)"
        )
        .bind(id)
        .bind(board_id)
        .bind(invitee)
        .bind(inviter)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Accept or decline a pending invitation. False when it had been answered already.
    pub async fn answer_board_invitation(&mut self, id: &str, state: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE board_invitations SET state = $2, responded_at = $3 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(state)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }
}
