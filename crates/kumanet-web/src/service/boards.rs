//! Bulletin boards (R5.4, R12.3): a team, a committee or a district. Whoever starts one manages
//! it; members join by invitation and may leave; managers invite and remove. The posts are the
//! same as a group's (`service::posts`, with part `board`); this is the membership around them.

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::policy::patient::{invitation_open, may_be_invited_to_board, INVITATION_VALID_US};
use kumanet_core::policy::post::Part;
use kumanet_store::{Board, BoardContext, BoardInvitation, BOARD_MANAGER, BOARD_MEMBER};
use serde::Deserialize;

use super::{new_id, required_text};
use crate::error::{FieldErrors, WebError};
use crate::live::{LiveEvent, Outbox};
use crate::request::{AuditTarget, Ctx};
use crate::App;

/// A new board (pages and API).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardForm {
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub purpose: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// Whom to invite.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardInviteForm {
    #[serde(default)]
    #[schema(required = true)]
    pub invitee_id: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// The invitee's answer: `accept` or `decline`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardAnswerForm {
    #[serde(default)]
    #[schema(required = true)]
    pub decision: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// Start a board; its creator is its first member and manager.
pub async fn create(app: &App, ctx: &Ctx, f: &BoardForm) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    let name = required_text(&f.name, "name", "掲示板の名前", 60, &mut errors);
    let purpose = required_text(&f.purpose, "purpose", "掲示板の目的", 400, &mut errors);
    errors.into_result()?;
    let board = Board { id: new_id(), name, purpose, created_by: ctx.user_id().to_string(), created_at: ctx.now };
    let mut tx = app.store.begin().await?;
    tx.insert_board(&board).await?;
    tx.add_board_member(&board.id, ctx.user_id(), BOARD_MANAGER, ctx.now).await?;
    tx.audit(
        ctx.audit(AuditAction::BoardCreated, AuditResult::Ok)
            .on("board", &board.id)
            .details(serde_json::json!({ "name_chars": board.name.chars().count() })),
    )
    .await?;
    tx.commit().await?;
    Ok(board.id)
}

/// Invite an approved professional of the region (the center's staff included). The invitee
/// is told on their home page and answers from the invitations page.
pub async fn invite(app: &App, ctx: &Ctx, b: &BoardContext, f: &BoardInviteForm) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    let invitee = app.store.user_by_id(f.invitee_id.trim()).await?;
    let invitee = match invitee {
        Some(u) if may_be_invited_to_board(u.role, u.status) => u,
        _ => {
            errors.add("invitee_id", "招待できるのは、承認済みの職員です。職員名簿から選んでください。");
            return Err(WebError::Invalid(errors));
        }
    };
    if app.store.board_context(&b.board.id, &invitee.id).await?.is_some_and(|c| c.is_member) {
        return Err(WebError::Refused(format!("{}さんはすでにこの掲示板のメンバーです。", invitee.name)));
    }
    let open = app.store.pending_board_invitations_of(&b.board.id).await?;
    if open.iter().any(|i| i.invitee_id == invitee.id && invitation_open(i.created_at, ctx.now)) {
        return Err(WebError::Refused(format!("{}さんへの招待はすでに返事待ちです。", invitee.name)));
    }
    let id = new_id();
    let mut tx = app.store.begin().await?;
    tx.insert_board_invitation(&id, &b.board.id, &invitee.id, ctx.user_id(), ctx.now).await?;
    tx.notify(
        &new_id(),
        &invitee.id,
        &format!(
            "{}さんから、掲示板「{}」への招待が届いています。「招待」から返事をしてください。",
            ctx.user.as_ref().map_or("", |u| u.name.as_str()),
            b.board.name
        ),
        ctx.now,
    )
    .await?;
    tx.audit(
        ctx.audit(AuditAction::BoardInvited, AuditResult::Ok)
            .on("board", &b.board.id)
            .details(serde_json::json!({ "invitation_id": id, "invitee_id": invitee.id })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// R11.1: one's boards (with unread counts) and the invitations waiting; the view audited.
pub async fn list_mine(
    app: &App,
    ctx: &Ctx,
    api: bool,
) -> Result<(Vec<kumanet_store::BoardSummary>, Vec<BoardInvitation>), WebError> {
    let mine = app.store.boards_of(ctx.user_id()).await?;
    let invitations = open_invitations(app, ctx).await?;
    let details = super::api_marked(serde_json::json!({ "boards": mine.len() }), api);
    crate::service::admin::audit_view(app, ctx, AuditAction::BoardsListed, None, details).await?;
    Ok((mine, invitations))
}

/// A board as its members see it: the members and, for its managers, the invitations waiting.
pub struct BoardView {
    pub members: Vec<kumanet_store::BoardMember>,
    pub invitations: Vec<BoardInvitation>,
}

impl BoardView {
    /// What a view of the board writes to the audit log (R11.1).
    pub fn audit_details(&self, api: bool) -> serde_json::Value {
        super::api_marked(serde_json::json!({ "members": self.members.len() }), api)
    }
}

/// The board, read but not yet audited (the page audits it with its timeline).
pub async fn read_board(app: &App, b: &BoardContext) -> Result<BoardView, WebError> {
    let members = app.store.board_members(&b.board.id).await?;
    let invitations =
        if b.is_manager { app.store.pending_board_invitations_of(&b.board.id).await? } else { Vec::new() };
    Ok(BoardView { members, invitations })
}

/// R5.4, R11.1: the board, its view audited.
pub async fn view_board(app: &App, ctx: &Ctx, b: &BoardContext, api: bool) -> Result<BoardView, WebError> {
    let v = read_board(app, b).await?;
    let details = v.audit_details(api);
    crate::service::admin::audit_view(app, ctx, AuditAction::BoardViewed, Some(("board", &b.board.id)), details)
        .await?;
    Ok(v)
}

/// The invitations this user can still answer.
pub async fn open_invitations(app: &App, ctx: &Ctx) -> Result<Vec<BoardInvitation>, WebError> {
    let since = ctx.now - INVITATION_VALID_US;
    Ok(app
        .store
        .pending_board_invitations_for(ctx.user_id())
        .await?
        .into_iter()
        .filter(|i| i.created_at >= since)
        .collect())
}

/// Accept (and join) or decline. True when accepted.
pub async fn answer(app: &App, ctx: &Ctx, inv: &BoardInvitation, f: &BoardAnswerForm) -> Result<bool, WebError> {
    let accept = super::accept_or_decline(&f.decision)?;
    if inv.state != "pending" {
        return Err(WebError::Refused("この招待にはすでに返事をしています。".into()));
    }
    if !invitation_open(inv.created_at, ctx.now) {
        return Err(WebError::Refused("この招待は期限が切れています。招待した方にもう一度依頼してください。".into()));
    }
    let mut tx = app.store.begin().await?;
    if !tx.answer_board_invitation(&inv.id, if accept { "accepted" } else { "declined" }, ctx.now).await? {
        return Err(WebError::Refused("この招待にはすでに返事をしています。".into()));
    }
    if accept {
        tx.add_board_member(&inv.board_id, ctx.user_id(), BOARD_MEMBER, ctx.now).await?;
    }
    let action = if accept { AuditAction::BoardInvitationAccepted } else { AuditAction::BoardInvitationDeclined };
    tx.audit(
        ctx.audit(action, AuditResult::Ok)
            .on("board", &inv.board_id)
            .details(serde_json::json!({ "invitation_id": inv.id })),
    )
    .await?;
    tx.commit().await?;
    Ok(accept)
}

/// End `user_id`'s membership: their open pages of the board stop receiving at once.
async fn end_membership(
    app: &App,
    ctx: &Ctx,
    b: &BoardContext,
    user_id: &str,
    action: AuditAction,
) -> Result<(), WebError> {
    let mut tx = app.store.begin().await?;
    if !tx.remove_board_member(&b.board.id, user_id, ctx.user_id(), ctx.now).await? {
        return Err(WebError::NotFound);
    }
    // A board keeps a manager: the last one cannot go.
    if tx.board_manager_count(&b.board.id).await? == 0 {
        return Err(WebError::Refused(
            "掲示板には管理者が1人は必要です。ほかの管理者がいないため、この操作はできません。".into(),
        ));
    }
    tx.audit(
        ctx.audit(action, AuditResult::Ok).on("board", &b.board.id).details(serde_json::json!({ "user_id": user_id })),
    )
    .await?;
    let mut out = Outbox::default();
    out.add(&mut tx, LiveEvent::removed(&b.board.id, Part::Board, user_id)).await?;
    tx.commit().await?;
    out.after_commit(&app.live);
    Ok(())
}

/// A manager removes a member (a board keeps at least one manager).
pub async fn remove_member(app: &App, ctx: &Ctx, b: &BoardContext, user_id: &str) -> Result<(), WebError> {
    if user_id == ctx.user_id() {
        return Err(WebError::Refused("ご自身は「この掲示板から退出する」で抜けてください。".into()));
    }
    end_membership(app, ctx, b, user_id, AuditAction::BoardMemberRemoved).await
}

/// A member leaves (a board's last manager cannot).
pub async fn leave(app: &App, ctx: &Ctx, b: &BoardContext) -> Result<(), WebError> {
    end_membership(app, ctx, b, ctx.user_id(), AuditAction::BoardLeft).await
}
