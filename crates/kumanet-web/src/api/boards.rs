//! The JSON twins of the board pages (R5.4, R12.3): one's boards, a new board, invitations and
//! answers, removal and leaving. A board's posts go through `api::posts` like a group's.

use axum::extract::{Path, State};
use kumanet_core::people::Profession;
use kumanet_store::BoardInvitation;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Answered, Created, JsonBody, NoContent, Reply};
use crate::jst::iso_utc;
use crate::request::{Board, BoardInvitationRef, Ctx};
use crate::service::boards::{self, BoardAnswerForm, BoardForm, BoardInviteForm};
use crate::App;

/// An invitation to a board, as the invitee sees it (R5.4).
#[derive(Serialize, ToSchema)]
pub struct BoardInvitationJson {
    pub id: String,
    pub board_id: String,
    pub board_name: String,
    pub purpose: String,
    pub inviter: Person,
    /// pending, accepted, declined
    pub state: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub facility: Option<String>,
}

fn invitation_json(i: &BoardInvitation) -> BoardInvitationJson {
    BoardInvitationJson {
        id: i.id.clone(),
        board_id: i.board_id.clone(),
        board_name: i.board_name.clone(),
        purpose: i.board_purpose.clone(),
        inviter: Person {
            id: i.inviter_id.clone(),
            name: i.inviter_name.clone(),
            facility: i.inviter_facility.clone(),
        },
        state: i.state.clone(),
        created_at: iso_utc(i.created_at),
    }
}

/// A board on its member's list, with the posts by others not yet read.
#[derive(Serialize, ToSchema)]
pub struct BoardItem {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub members: i64,
    pub unread: i64,
    pub manager: bool,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MyBoards {
    pub boards: Vec<BoardItem>,
    pub invitations: Vec<BoardInvitationJson>,
}

/// One's boards with their unread counts, and the invitations waiting.
pub async fn list(State(app): State<App>, ctx: Ctx) -> Answered<Reply<MyBoards>> {
    let (mine, invitations) = boards::list_mine(&app, &ctx, true).await?;
    Ok(Reply(MyBoards {
        boards: mine
            .iter()
            .map(|s| BoardItem {
                id: s.board.id.clone(),
                name: s.board.name.clone(),
                purpose: s.board.purpose.clone(),
                members: s.members,
                unread: s.unread,
                manager: s.manager,
                created_at: iso_utc(s.board.created_at),
            })
            .collect(),
        invitations: invitations.iter().map(invitation_json).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct NewBoard {
    pub board_id: String,
}

pub async fn create(State(app): State<App>, ctx: Ctx, JsonBody(f): JsonBody<BoardForm>) -> Answered<Created<NewBoard>> {
    Ok(Created(NewBoard { board_id: boards::create(&app, &ctx, &f).await? }))
}

/// A board and its members.
#[derive(Serialize, ToSchema)]
pub struct BoardJson {
    pub id: String,
    pub name: String,
    pub purpose: String,
    /// Whether the asker manages it.
    pub manager: bool,
    pub members: Vec<BoardMemberJson>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardMemberJson {
    pub user_id: String,
    pub name: String,
    pub profession: Option<Profession>,
    pub facility: Option<String>,
    pub manager: bool,
}

/// The board and its members (its posts: `GET /api/v1/boards/{board_id}/posts`).
pub async fn board(State(app): State<App>, ctx: Ctx, Board(b): Board) -> Answered<Reply<BoardJson>> {
    let members = boards::view_board(&app, &ctx, &b, true).await?.members;
    Ok(Reply(BoardJson {
        id: b.board.id.clone(),
        name: b.board.name.clone(),
        purpose: b.board.purpose.clone(),
        manager: b.is_manager,
        members: members
            .into_iter()
            .map(|m| BoardMemberJson {
                user_id: m.member.user_id,
                name: m.member.name,
                profession: m.member.profession,
                facility: m.member.facility_name,
                manager: m.manager,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Invited {
    pub invitation_id: String,
}

pub async fn invite(
    State(app): State<App>,
    ctx: Ctx,
    Board(board): Board,
    JsonBody(f): JsonBody<BoardInviteForm>,
) -> Answered<Created<Invited>> {
    Ok(Created(Invited { invitation_id: boards::invite(&app, &ctx, board.as_ref(), &f).await? }))
}

pub async fn member_remove(
    State(app): State<App>,
    ctx: Ctx,
    Board(board): Board,
    Path((_, user_id)): Path<(String, String)>,
) -> Answered<NoContent> {
    boards::remove_member(&app, &ctx, board.as_ref(), &user_id).await?;
    Ok(NoContent)
}

pub async fn leave(State(app): State<App>, ctx: Ctx, Board(board): Board) -> Answered<NoContent> {
    boards::leave(&app, &ctx, board.as_ref()).await?;
    Ok(NoContent)
}

pub async fn invitation(BoardInvitationRef(inv): BoardInvitationRef) -> Answered<Reply<BoardInvitationJson>> {
    Ok(Reply(invitation_json(&inv)))
}

#[derive(Serialize, ToSchema)]
pub struct BoardAnswered {
    /// accepted or declined
    pub state: String,
    pub board_id: String,
}

pub async fn invitation_answer(
    State(app): State<App>,
    ctx: Ctx,
    BoardInvitationRef(inv): BoardInvitationRef,
    JsonBody(f): JsonBody<BoardAnswerForm>,
) -> Answered<Reply<BoardAnswered>> {
    let accepted = boards::answer(&app, &ctx, &inv, &f).await?;
    Ok(Reply(BoardAnswered { state: if accepted { "accepted" } else { "declined" }.into(), board_id: inv.board_id }))
}
