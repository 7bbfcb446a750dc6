//! Bulletin boards (R5.4, R12.3): the list of one's boards with a form to start one, a board's
//! page (timeline, composer, members, invitations), and the invitee's answer.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_core::audit::AuditAction;
use kumanet_core::policy::post::{Part, Segment};
use kumanet_store::{BoardContext, BoardInvitation, BoardMember, BoardSummary, UserListItem};
use serde::Deserialize;

use super::facility::unprocessable;
use super::posts::{CsrfOnly, Timeline};
use super::{parse_form, render, Chrome, FormState};
use crate::error::WebError;
use crate::request::{Board, BoardInvitationRef, Ctx};
use crate::room::Room;
use crate::service::boards::{self, BoardAnswerForm, BoardForm, BoardInviteForm};
use crate::service::posts::View;
use crate::App;

#[derive(Template)]
#[template(path = "boards/list.html")]
struct ListPage {
    chrome: Chrome,
    boards: Vec<BoardSummary>,
    invitations: Vec<BoardInvitation>,
    form: FormState,
}

async fn list_page(app: &App, ctx: &Ctx, form: FormState) -> Result<Response, WebError> {
    let (boards, invitations) = boards::list_mine(app, ctx, false).await?;
    let failed = form.has_errors();
    let resp = render(&ListPage { chrome: Chrome::new(ctx, "掲示板"), boards, invitations, form });
    Ok(if failed { unprocessable(resp) } else { resp })
}

/// One's boards (unread counts), the invitations waiting, and the form to start a board.
pub async fn list_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    list_page(&app, &ctx, FormState::default()).await
}

pub async fn create_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: BoardForm = parse_form(&body)?;
    match boards::create(&app, &ctx, &f).await {
        Ok(id) => Ok(Redirect::to(&format!("/boards/{id}")).into_response()),
        Err(WebError::Invalid(errors)) => list_page(&app, &ctx, FormState::from_pairs(&body, errors)).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "boards/board.html")]
struct BoardPage {
    chrome: Chrome,
    b: Arc<BoardContext>,
    tl: Timeline,
    members: Vec<BoardMember>,
    invitations: Vec<BoardInvitation>,
    q: String,
    candidates: Vec<UserListItem>,
    form: FormState,
}

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub before: Option<i64>,
}

async fn board_page(
    app: &App,
    ctx: &Ctx,
    b: Arc<BoardContext>,
    q: String,
    form: FormState,
    before: Option<i64>,
) -> Result<Response, WebError> {
    let v = boards::read_board(app, &b).await?;
    let view = View { action: AuditAction::BoardViewed, details: v.audit_details(false) };
    let tl = super::posts::timeline(app, ctx, &Room::Board(b.clone()), Part::Board, before, view).await?;
    let boards::BoardView { members, invitations } = v;
    // Managers find whom to invite in the staff directory: approved professionals, the center's
    // staff included, who are not members yet.
    let candidates = if b.is_manager {
        super::patients::invite_candidates(app, &q, |c| {
            kumanet_core::policy::patient::may_be_invited_to_board(c.user.role, c.user.status)
                && !members.iter().any(|m| m.member.user_id == c.user.id)
        })
        .await?
    } else {
        Vec::new()
    };
    let failed = form.has_errors();
    let resp = render(&BoardPage {
        chrome: Chrome::new(ctx, &format!("掲示板「{}」", b.board.name)),
        b,
        tl,
        members,
        invitations,
        q,
        candidates,
        form,
    });
    Ok(if failed { unprocessable(resp) } else { resp })
}

pub async fn board_get(
    State(app): State<App>,
    ctx: Ctx,
    Board(board): Board,
    Query(q): Query<BoardQuery>,
) -> Result<Response, WebError> {
    board_page(&app, &ctx, board, q.q, FormState::default(), q.before).await
}

pub async fn invite_post(State(app): State<App>, ctx: Ctx, Board(b): Board, body: Bytes) -> Result<Response, WebError> {
    let f: BoardInviteForm = parse_form(&body)?;
    match boards::invite(&app, &ctx, &b, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/boards/{}#members", b.board.id)).into_response()),
        Err(WebError::Invalid(errors)) => {
            board_page(&app, &ctx, b, String::new(), FormState::from_pairs(&body, errors), None).await
        }
        Err(e) => Err(e),
    }
}

pub async fn remove_post(
    State(app): State<App>,
    ctx: Ctx,
    Board(b): Board,
    Path((_, user_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: CsrfOnly = parse_form(&body)?;
    boards::remove_member(&app, &ctx, &b, &user_id).await?;
    Ok(Redirect::to(&format!("/boards/{}#members", b.board.id)).into_response())
}

pub async fn leave_post(State(app): State<App>, ctx: Ctx, Board(b): Board, body: Bytes) -> Result<Response, WebError> {
    let _: CsrfOnly = parse_form(&body)?;
    boards::leave(&app, &ctx, &b).await?;
    Ok(super::message(
        &ctx,
        "掲示板から退出しました",
        &format!("掲示板「{}」から退出しました。もう一度参加するには、管理者に招待を依頼してください。", b.board.name),
        &[("/boards", "掲示板の一覧へ")],
    ))
}

#[derive(Template)]
#[template(path = "boards/invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    inv: BoardInvitation,
    form: FormState,
}

pub async fn invitation_get(ctx: Ctx, BoardInvitationRef(inv): BoardInvitationRef) -> Result<Response, WebError> {
    Ok(render(&InvitationPage { chrome: Chrome::new(&ctx, "掲示板への招待"), inv, form: FormState::default() }))
}

pub async fn invitation_post(
    State(app): State<App>,
    ctx: Ctx,
    BoardInvitationRef(inv): BoardInvitationRef,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: BoardAnswerForm = parse_form(&body)?;
    match boards::answer(&app, &ctx, &inv, &f).await {
        Ok(true) => Ok(Redirect::to(&format!("/boards/{}", inv.board_id)).into_response()),
        Ok(false) => Ok(super::message(
            &ctx,
            "招待を辞退しました",
            &format!("掲示板「{}」への招待を辞退しました。", inv.board_name),
            &[("/invitations", "招待の一覧へ")],
        )),
        Err(WebError::Invalid(errors)) => Ok(unprocessable(render(&InvitationPage {
            chrome: Chrome::new(&ctx, "掲示板への招待"),
            inv,
            form: FormState::from_pairs(&body, errors),
        }))),
        Err(e) => Err(e),
    }
}
