//! The JSON twins of the board pages (R5.4, R12.3): one's boards, a new board, invitations and
//! answers, removal and leaving. A board's posts go through `api::posts` like a group's.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::ApiResult;
use crate::request::{Board, BoardInvitationRef, Ctx};
use crate::service::boards::{self, BoardAnswerForm, BoardForm, BoardInviteForm};
use crate::App;

fn invitation_json(i: &kumanet_store::BoardInvitation) -> Value {
    json!({ "id": i.id, "board_id": i.board_id, "board_name": i.board_name, "purpose": i.board_purpose,
        "inviter": { "id": i.inviter_id, "name": i.inviter_name, "facility": i.inviter_facility },
        "state": i.state, "created_at": crate::jst::iso_utc(i.created_at) })
}

/// One's boards with their unread counts, and the invitations waiting.
pub async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let (mine, invitations) = boards::list_mine(&app, &ctx, true).await?;
    Ok(Json(json!({
        "boards": mine.iter().map(|s| json!({ "id": s.board.id, "name": s.board.name, "purpose": s.board.purpose,
            "members": s.members, "unread": s.unread, "manager": s.manager,
            "created_at": crate::jst::iso_utc(s.board.created_at) })).collect::<Vec<_>>(),
        "invitations": invitations.iter().map(invitation_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn create(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: BoardForm = super::body(&bytes)?;
    let id = boards::create(&app, &ctx, &f).await?;
    Ok((StatusCode::CREATED, Json(json!({ "board_id": id }))).into_response())
}

/// The board and its members (its posts: `GET /api/v1/boards/{board_id}/posts`).
pub async fn board(State(app): State<App>, ctx: Ctx, Board(b): Board) -> ApiResult {
    let members = boards::view_board(&app, &ctx, &b, true).await?.members;
    Ok(Json(json!({
        "id": b.board.id, "name": b.board.name, "purpose": b.board.purpose, "manager": b.is_manager,
        "members": members.iter().map(|m| json!({ "user_id": m.member.user_id, "name": m.member.name,
            "profession": m.member.profession.map(|p| p.code()), "facility": m.member.facility_name,
            "manager": m.manager }))
            .collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn invite(State(app): State<App>, ctx: Ctx, Board(board): Board, bytes: Bytes) -> ApiResult {
    let f: BoardInviteForm = super::body(&bytes)?;
    let id = boards::invite(&app, &ctx, board.as_ref(), &f).await?;
    Ok((StatusCode::CREATED, Json(json!({ "invitation_id": id }))).into_response())
}

pub async fn member_remove(
    State(app): State<App>,
    ctx: Ctx,
    Board(board): Board,
    Path((_, user_id)): Path<(String, String)>,
) -> ApiResult {
    boards::remove_member(&app, &ctx, board.as_ref(), &user_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn leave(State(app): State<App>, ctx: Ctx, Board(board): Board) -> ApiResult {
    boards::leave(&app, &ctx, board.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn invitation(BoardInvitationRef(inv): BoardInvitationRef) -> ApiResult {
    Ok(Json(invitation_json(&inv)).into_response())
}

pub async fn invitation_answer(
    State(app): State<App>,
    ctx: Ctx,
    BoardInvitationRef(inv): BoardInvitationRef,
    bytes: Bytes,
) -> ApiResult {
    let f: BoardAnswerForm = super::body(&bytes)?;
    let accepted = boards::answer(&app, &ctx, &inv, &f).await?;
    Ok(Json(json!({ "state": if accepted { "accepted" } else { "declined" }, "board_id": inv.board_id }))
        .into_response())
}

/// Request bodies for the OpenAPI document.
pub fn request_schema(method: &str, path: &str) -> Option<Value> {
    let text = json!({ "type": "string" });
    let obj = |props: Value, required: &[&str]| json!({ "type": "object", "additionalProperties": false, "properties": props, "required": required });
    match (method, path) {
        ("POST", "/api/v1/boards") => Some(obj(
            json!({ "name": { "type": "string", "maxLength": 60 }, "purpose": { "type": "string", "maxLength": 400 } }),
            &["name", "purpose"],
        )),
        ("POST", "/api/v1/boards/{board_id}/invitations") => Some(obj(json!({ "invitee_id": text }), &["invitee_id"])),
        ("POST", "/api/v1/board-invitations/{invitation_id}") => {
            Some(obj(json!({ "decision": { "type": "string", "enum": ["accept", "decline"] } }), &["decision"]))
        }
        _ => None,
    }
}
