//! The JSON twins of the posts pages (第10条): timeline, check (the preview), confirm (確定),
//! a post with its history, edit, delete, 了解 and read marks. Same services, same gate.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kumanet_core::audit::AuditAction;
use kumanet_core::people::Profession;
use kumanet_core::policy::post::Part;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{schema_of, Answer, Answered, Documented, JsonBody, NoContent, Reply, Schemas};
use crate::error::{ApiError, WebError};
use crate::jst::iso_utc;
use crate::query::{BeforeQuery, TextQuery};
use crate::request::{Ctx, InRoom, PostRef};
use crate::room::Room;
use crate::service::posts::{self, Draft, Outcome, PostCard, PostForm};
use crate::App;

/// The body of a post (R10.6: `confirm` must be true; R10.4: the warned patients confirmed).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiPost {
    #[schema(max_length = 5000)]
    pub body: String,
    /// 確定操作(R10.6)。trueでなければ記録しません。
    #[serde(default)]
    pub confirm: bool,
    /// 警告された別の患者さんを確認した上で確定する場合、そのID(R10.4)。
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

/// A post as the API shows it: the confirmed text (none once deleted), its author, its hash
/// (R10.6), who read it and who acknowledged it (了解), and what the asker may do with it.
#[derive(Serialize, ToSchema)]
pub struct PostJson {
    pub id: String,
    pub seq: i64,
    pub part: Part,
    pub author: Author,
    /// UTC, ISO 8601.
    pub created_at: String,
    pub version: i64,
    pub edited_at: Option<String>,
    pub deleted: bool,
    pub deleted_at: Option<String>,
    pub body: Option<String>,
    pub sha256: String,
    /// Others who have read it, by name.
    pub read_by: Vec<String>,
    pub acks: Vec<AckJson>,
    pub acked_by_me: bool,
    pub can: Can,
    /// Every confirmed version (the single post's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<VersionJson>>,
}

#[derive(Serialize, ToSchema)]
pub struct Author {
    pub id: String,
    pub name: String,
    pub profession: Option<Profession>,
    pub facility: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AckJson {
    pub user_id: String,
    pub name: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Can {
    pub ack: bool,
    pub edit: bool,
    pub delete: bool,
}

#[derive(Serialize, ToSchema)]
pub struct VersionJson {
    pub version: i64,
    pub created_at: String,
    pub sha256: String,
    pub body: Option<String>,
}

fn post_json(c: &PostCard) -> PostJson {
    let deleted = c.post.deleted_at.is_some();
    PostJson {
        id: c.post.id.clone(),
        seq: c.post.seq,
        part: c.post.part,
        author: Author {
            id: c.post.author_id.clone(),
            name: c.post.author_name.clone(),
            profession: c.post.author_profession,
            facility: c.post.author_facility.clone(),
        },
        created_at: iso_utc(c.post.created_at),
        version: c.post.version,
        edited_at: c.post.edited_at.map(iso_utc),
        deleted,
        deleted_at: c.post.deleted_at.map(iso_utc),
        body: (!deleted).then(|| c.post.body.clone()),
        sha256: c.post.body_sha256.clone(),
        read_by: c.readers.clone(),
        acks: c
            .acks
            .iter()
            .map(|a| AckJson { user_id: a.user_id.clone(), name: a.name.clone(), at: iso_utc(a.acked_at) })
            .collect(),
        acked_by_me: c.acked_by_me,
        can: Can { ack: c.can_ack, edit: c.can_edit, delete: c.can_delete },
        versions: None,
    }
}

/// What a post would be (the preview): its length, advice on length (R10.3), and the other
/// patients it names (R10.4).
#[derive(Serialize, ToSchema)]
pub struct DraftJson {
    pub body: String,
    pub chars: usize,
    pub advice: Option<String>,
    pub warnings: Vec<NamedPatient>,
}

#[derive(Serialize, ToSchema)]
pub struct NamedPatient {
    pub patient_id: String,
    pub name: String,
}

fn draft_json(d: &Draft) -> DraftJson {
    DraftJson {
        body: d.body.clone(),
        chars: d.chars,
        advice: d.advice.clone(),
        warnings: d
            .warnings
            .iter()
            .map(|w| NamedPatient { patient_id: w.patient_id.clone(), name: w.name.clone() })
            .collect(),
    }
}

/// A page of a timeline, oldest first; `older_before` fetches the page before it.
#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub posts: Vec<PostJson>,
    pub older_before: Option<i64>,
}

async fn list(app: App, ctx: Ctx, room: Room, part: Part, before: Option<i64>) -> Answered<Reply<Timeline>> {
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
    Ok(Reply(Timeline { posts: cards.iter().map(post_json).collect(), older_before: older }))
}

async fn check(app: App, ctx: Ctx, room: Room, f: ApiPost) -> Answered<Reply<DraftJson>> {
    let d = posts::check(&app, &ctx, &room, &f.body).await?;
    Ok(Reply(draft_json(&d)))
}

/// A confirmed post (R10.6).
#[derive(Serialize, ToSchema)]
pub struct Confirmed {
    pub post_id: String,
    pub seq: i64,
}

/// R10.4: the post names another patient; nothing was recorded.
#[derive(Serialize, ToSchema)]
pub struct NeedsConfirmation {
    /// `other_patient_named`
    pub code: String,
    pub message: String,
    pub draft: DraftJson,
}

/// The answer to 確定: the post (201 when new, 200 for an edit), or 409 when it names another
/// patient the author has not confirmed.
pub struct Posted<const NEW: bool>(Result<Confirmed, NeedsConfirmation>);

impl<const NEW: bool> IntoResponse for Posted<NEW> {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(c) if NEW => (StatusCode::CREATED, Json(c)).into_response(),
            Ok(c) => Json(c).into_response(),
            Err(n) => (StatusCode::CONFLICT, Json(n)).into_response(),
        }
    }
}

impl<const NEW: bool> Documented for Posted<NEW> {
    fn answers(schemas: &mut Schemas) -> Vec<Answer> {
        let (status, description) = if NEW {
            (StatusCode::CREATED, "確定しました")
        } else {
            (StatusCode::OK, "修正を確定しました")
        };
        vec![
            Answer { status, description, schema: Some(schema_of::<Confirmed>(schemas)) },
            Answer {
                status: StatusCode::CONFLICT,
                description: "別の患者さんの名前が含まれています(R10.4)。記録していません。",
                schema: Some(schema_of::<NeedsConfirmation>(schemas)),
            },
        ]
    }
}

fn outcome<const NEW: bool>(r: Result<Outcome, WebError>) -> Answered<Posted<NEW>> {
    Ok(Posted(match r? {
        Outcome::Confirmed { post_id, seq } => Ok(Confirmed { post_id, seq }),
        Outcome::NeedsConfirmation(d) => Err(NeedsConfirmation {
            code: "other_patient_named".into(),
            message: "別の患者さんの名前が含まれています。内容を直すか、acknowledged_patient_ids に確認した患者さんを入れて確定してください。".into(),
            draft: draft_json(&d),
        }),
    }))
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

async fn confirm(app: App, ctx: Ctx, room: Room, part: Part, f: ApiPost) -> Answered<Posted<true>> {
    require_confirm(&f)?;
    outcome(posts::confirm(&app, &ctx, &room, part, &f.form()).await)
}

macro_rules! handler {
    ($name:ident, $f:ident, $part:expr) => {
        pub async fn $name(
            State(app): State<App>,
            ctx: Ctx,
            InRoom(r): InRoom,
            JsonBody(f): JsonBody<ApiPost>,
        ) -> Answered<Posted<true>> {
            $f(app, ctx, r, $part, f).await
        }
    };
}

handler!(group_confirm, confirm, Part::Professional);
handler!(shared_confirm, confirm, Part::Shared);
handler!(board_confirm, confirm, Part::Board);

pub async fn group_check(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    JsonBody(f): JsonBody<ApiPost>,
) -> Answered<Reply<DraftJson>> {
    check(app, ctx, r, f).await
}

pub async fn group_posts(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    Query(q): Query<BeforeQuery>,
) -> Answered<Reply<Timeline>> {
    list(app, ctx, r, Part::Professional, q.before).await
}

pub async fn shared_posts(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    Query(q): Query<BeforeQuery>,
) -> Answered<Reply<Timeline>> {
    list(app, ctx, r, Part::Shared, q.before).await
}

pub async fn board_posts(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(r): InRoom,
    Query(q): Query<BeforeQuery>,
) -> Answered<Reply<Timeline>> {
    list(app, ctx, r, Part::Board, q.before).await
}

/// A post with every confirmed version (R10.6), who read it and who acknowledged it.
pub async fn post(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    InRoom(room): InRoom,
) -> Answered<Reply<PostJson>> {
    let (card, versions) = posts::open(&app, &ctx, &room, &meta, true).await?;
    let mut out = post_json(&card);
    let deleted = card.post.deleted_at.is_some();
    out.versions = Some(
        versions
            .iter()
            .map(|v| VersionJson {
                version: v.version,
                created_at: iso_utc(v.created_at),
                sha256: v.body_sha256.clone(),
                body: (!deleted).then(|| v.body.clone()),
            })
            .collect(),
    );
    Ok(Reply(out))
}

pub async fn post_edit(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(post): PostRef,
    InRoom(room): InRoom,
    JsonBody(f): JsonBody<ApiPost>,
) -> Answered<Posted<false>> {
    require_confirm(&f)?;
    outcome(posts::edit(&app, &ctx, &room, &post, &f.form()).await)
}

pub async fn post_delete(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(post): PostRef,
    InRoom(room): InRoom,
) -> Answered<NoContent> {
    posts::delete(&app, &ctx, &room, &post).await?;
    Ok(NoContent)
}

pub async fn post_ack(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(post): PostRef,
    InRoom(room): InRoom,
) -> Answered<NoContent> {
    posts::ack(&app, &ctx, &room, &post).await?;
    Ok(NoContent)
}

pub async fn post_read(State(app): State<App>, ctx: Ctx, PostRef(meta): PostRef) -> Answered<NoContent> {
    posts::mark_read(&app, &ctx, &meta.room_id, meta.part, meta.seq).await?;
    Ok(NoContent)
}

/// One search result: where the post is, who wrote it, and the text around the first match.
#[derive(Serialize, ToSchema)]
pub struct Hit {
    pub post_id: String,
    pub room_id: String,
    pub part: Part,
    pub room_name: String,
    pub board: bool,
    pub author: String,
    pub created_at: String,
    pub snippet: Vec<SnippetPart>,
}

#[derive(Serialize, ToSchema)]
pub struct SnippetPart {
    pub text: String,
    /// Whether this piece is what was searched for.
    #[serde(rename = "match")]
    pub matched: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub results: Vec<Hit>,
}

/// Search within one's groups and boards (the query is audited as a keyed digest).
pub async fn search(State(app): State<App>, ctx: Ctx, Query(q): Query<TextQuery>) -> Answered<Reply<SearchResults>> {
    let found = posts::search(&app, &ctx, &q.q, true).await?;
    let results = found
        .iter()
        .map(|f| Hit {
            post_id: f.hit.post.id.clone(),
            room_id: f.hit.post.room_id.clone(),
            part: f.hit.post.part,
            room_name: f.hit.room_name.clone(),
            board: f.hit.post.part == Part::Board,
            author: f.hit.post.author_name.clone(),
            created_at: iso_utc(f.hit.post.created_at),
            snippet: f.snippet.iter().map(|(t, m)| SnippetPart { text: t.clone(), matched: *m }).collect(),
        })
        .collect();
    Ok(Reply(SearchResults { results }))
}
