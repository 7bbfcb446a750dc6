//! The JSON twins of the posts pages (第10条): timeline, check (the preview), confirm (確定),
//! a post with its history, edit, delete, 了解 and read marks. Same services, same gate.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use kumanet_core::audit::AuditAction;
use kumanet_core::policy::post::Part;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ApiResult;
use crate::error::{ApiError, WebError};
use crate::query::{BeforeQuery, TextQuery};
use crate::request::{Ctx, InRoom, PostRef};
use crate::room::Room;
use crate::service::posts::{self, Draft, Outcome, PostCard, PostForm};
use crate::App;

/// The body of a post (R10.6: `confirm` must be true; R10.4: the warned patients confirmed).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiPost {
    pub body: String,
    #[serde(default)]
    pub confirm: bool,
    #[serde(default)]
    pub acknowledged_patient_ids: Vec<String>,
}

impl ApiPost {
    fn form(&self) -> PostForm {
        PostForm {
            body: self.body.clone(),
            acknowledged: self.acknowledged_patient_ids.join(","),
            confirm: self.confirm,
            attachments: String::new(),
            csrf: None,
        }
    }
}

pub fn card_json(c: &PostCard) -> Value {
    json!({
        "id": c.post.id,
        "seq": c.post.seq,
        "part": c.post.part.code(),
        "author": { "id": c.post.author_id, "name": c.post.author_name,
            "profession": c.post.author_profession.map(|p| p.code()), "facility": c.post.author_facility },
        "created_at": crate::jst::iso_utc(c.post.created_at),
        "version": c.post.version,
        "edited_at": c.post.edited_at.map(crate::jst::iso_utc),
        "deleted": c.post.deleted_at.is_some(),
        "deleted_at": c.post.deleted_at.map(crate::jst::iso_utc),
        "body": if c.post.deleted_at.is_some() { Value::Null } else { json!(c.post.body) },
        "sha256": c.post.body_sha256,
        "read_by": c.readers,
        "acks": c.acks.iter().map(|a| json!({ "user_id": a.user_id, "name": a.name, "at": crate::jst::iso_utc(a.acked_at) })).collect::<Vec<_>>(),
        "acked_by_me": c.acked_by_me,
        "can": { "ack": c.can_ack, "edit": c.can_edit, "delete": c.can_delete },
    })
}

fn draft_json(d: &Draft) -> Value {
    json!({
        "body": d.body,
        "chars": d.chars,
        "advice": d.advice,
        "warnings": d.warnings.iter().map(|w| json!({ "patient_id": w.patient_id, "name": w.name })).collect::<Vec<_>>(),
    })
}

async fn list(app: App, ctx: Ctx, room: Room, part: Part, before: Option<i64>) -> ApiResult {
    let action = match part {
        Part::Shared => AuditAction::SharedPartViewed,
        Part::Professional => AuditAction::GroupViewed,
        Part::Board => AuditAction::BoardViewed,
    };
    let view = posts::View { action, details: json!({ "room_id": room.id()?, "before": before, "api": true }) };
    let cards = posts::timeline(&app, &ctx, &room, part, before, view).await?;
    let older = match cards.first() {
        Some(c) if cards.len() as i64 == posts::TIMELINE_PAGE => Some(c.post.seq),
        _ => None,
    };
    Ok(Json(json!({ "posts": cards.iter().map(card_json).collect::<Vec<_>>(), "older_before": older })).into_response())
}

async fn check(app: App, ctx: Ctx, room: Room, bytes: Bytes) -> ApiResult {
    let f: ApiPost = super::body(&bytes)?;
    let d = posts::check(&app, &ctx, &room, &f.body).await?;
    Ok(Json(draft_json(&d)).into_response())
}

fn outcome(r: Result<Outcome, WebError>, status: StatusCode) -> ApiResult {
    match r? {
        Outcome::Confirmed { post_id, seq } => Ok((status, Json(json!({ "post_id": post_id, "seq": seq }))).into_response()),
        Outcome::NeedsConfirmation(d) => Ok((
            StatusCode::CONFLICT,
            Json(json!({
                "code": "other_patient_named",
                "message": "別の患者さんの名前が含まれています。内容を直すか、acknowledged_patient_ids に確認した患者さんを入れて確定してください。",
                "draft": draft_json(&d),
            })),
        )
            .into_response()),
    }
}

fn require_confirm(f: &ApiPost) -> Result<(), ApiError> {
    if f.confirm {
        Ok(())
    } else {
        Err(ApiError(WebError::BadRequest(
            "確定操作が必要です。内容を確かめてから \"confirm\": true を付けて送ってください(/check で確認できます)。"
                .into(),
        )))
    }
}

async fn confirm(app: App, ctx: Ctx, room: Room, part: Part, bytes: Bytes) -> ApiResult {
    let f: ApiPost = super::body(&bytes)?;
    require_confirm(&f)?;
    outcome(posts::confirm(&app, &ctx, &room, part, &f.form()).await, StatusCode::CREATED)
}

macro_rules! handler {
    ($name:ident, $f:ident, $part:expr) => {
        pub async fn $name(State(app): State<App>, ctx: Ctx, InRoom(r): InRoom, bytes: Bytes) -> ApiResult {
            $f(app, ctx, r, $part, bytes).await
        }
    };
}

handler!(group_confirm, confirm, Part::Professional);
handler!(shared_confirm, confirm, Part::Shared);
handler!(board_confirm, confirm, Part::Board);

pub async fn group_check(State(app): State<App>, ctx: Ctx, InRoom(r): InRoom, bytes: Bytes) -> ApiResult {
    check(app, ctx, r, bytes).await
}

pub async fn group_posts(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    Query(q): Query<BeforeQuery>,
) -> ApiResult {
    list(app, ctx, r, Part::Professional, q.before).await
}

pub async fn shared_posts(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    Query(q): Query<BeforeQuery>,
) -> ApiResult {
    list(app, ctx, r, Part::Shared, q.before).await
}

pub async fn board_posts(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    Query(q): Query<BeforeQuery>,
) -> ApiResult {
    list(app, ctx, r, Part::Board, q.before).await
}

/// A post with every confirmed version (R10.6), who read it and who acknowledged it.
pub async fn post(State(app): State<App>, ctx: Ctx, PostRef(meta): PostRef, InRoom(room): InRoom) -> ApiResult {
    let (card, versions) = posts::open(&app, &ctx, &room, &meta, true).await?;
    let mut out = card_json(&card);
    let deleted = card.post.deleted_at.is_some();
    out["versions"] = versions
        .iter()
        .map(|v| {
            json!({ "version": v.version, "created_at": crate::jst::iso_utc(v.created_at), "sha256": v.body_sha256,
                "body": if deleted { Value::Null } else { json!(v.body) } })
        })
        .collect();
    Ok(Json(out).into_response())
}

pub async fn post_edit(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(post): PostRef,
    InRoom(room): InRoom,
    bytes: Bytes,
) -> ApiResult {
    let f: ApiPost = super::body(&bytes)?;
    require_confirm(&f)?;
    outcome(posts::edit(&app, &ctx, &room, &post, &f.form()).await, StatusCode::OK)
}

pub async fn post_delete(State(app): State<App>, ctx: Ctx, PostRef(post): PostRef, InRoom(room): InRoom) -> ApiResult {
    posts::delete(&app, &ctx, &room, &post).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn post_ack(State(app): State<App>, ctx: Ctx, PostRef(post): PostRef, InRoom(room): InRoom) -> ApiResult {
    posts::ack(&app, &ctx, &room, &post).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn post_read(State(app): State<App>, ctx: Ctx, PostRef(meta): PostRef) -> ApiResult {
    posts::mark_read(&app, &ctx, &meta.room_id, meta.part, meta.seq).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Request bodies for the OpenAPI document.
pub fn request_schema(method: &str, path: &str) -> Option<Value> {
    let post = json!({ "type": "object", "additionalProperties": false, "required": ["body"],
        "properties": { "body": { "type": "string", "maxLength": kumanet_core::policy::post::HARD_LIMIT },
            "confirm": { "type": "boolean", "description": "確定操作(R10.6)。trueでなければ記録しません。" },
            "acknowledged_patient_ids": { "type": "array", "items": { "type": "string" },
                "description": "警告された別の患者さんを確認した上で確定する場合、そのID(R10.4)。" } } });
    match (method, path) {
        ("POST", p)
            if (p.starts_with("/api/v1/groups/") || p.starts_with("/api/v1/boards/")) && p.ends_with("/posts") =>
        {
            Some(post)
        }
        ("POST", p) if p.ends_with("/posts/check") => Some(post),
        ("PUT", "/api/v1/posts/{post_id}") => Some(post),
        _ => None,
    }
}

/// Search within one's groups and boards (the query is audited as a keyed digest).
pub async fn search(State(app): State<App>, ctx: Ctx, Query(q): Query<TextQuery>) -> ApiResult {
    let found = posts::search(&app, &ctx, &q.q, true).await?;
    Ok(Json(json!({
        "results": found.iter().map(|f| json!({
            "post_id": f.hit.post.id, "room_id": f.hit.post.room_id, "part": f.hit.post.part.code(),
            "room_name": f.hit.room_name, "board": f.hit.post.part == Part::Board, "author": f.hit.post.author_name,
            "created_at": crate::jst::iso_utc(f.hit.post.created_at),
            "snippet": f.snippet.iter().map(|(t, m)| json!({ "text": t, "match": m })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}
