//! Posts on the pages of a group or a board: the timeline, compose → preview → 確定 (R10.6), the
//! other-patient warning (R10.4, R5.4), a post with its history, 了解 and read marks, and the live
//! stream.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_core::audit::AuditAction;
use kumanet_core::authz::decide;
use kumanet_core::policy::post::{Part, Segment};
use kumanet_store::{AttachmentMeta, PostMeta, PostVersion};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::facility::unprocessable;
use super::{parse_form, render, Chrome, FormState};
use crate::error::{FieldErrors, WebError};
use crate::live::{LiveEvent, LiveKind};
use crate::request::{AttachmentRef, Ctx, InRoom, PostRef};
pub use crate::room::part_url;
use crate::room::Room;
use crate::service::admin::audit_view;
use crate::service::attachments::{self, Upload, Which};
use crate::service::posts::{self, Draft, Outcome, PostCard, PostForm};
use crate::App;

/// The timeline block of a group's page (included by both parts' pages).
pub struct Timeline {
    pub heading: &'static str,
    pub compose_label: &'static str,
    pub page_url: String,
    pub live_url: String,
    pub preview_url: String,
    pub can_post: bool,
    pub soft_limit: u32,
    pub cards: Vec<PostCard>,
    pub older: Option<i64>,
}

/// The latest posts of a part (the reader's cursor moves to the newest) and the composer.
pub async fn timeline(
    app: &App,
    ctx: &Ctx,
    room: &Room,
    part: Part,
    before: Option<i64>,
    view: posts::View,
) -> Result<Timeline, WebError> {
    let cards = posts::timeline(app, ctx, room, part, before, view).await?;
    let older = match cards.first() {
        Some(c) if cards.len() as i64 == posts::TIMELINE_PAGE => Some(c.post.seq),
        _ => None,
    };
    let page_url = part_url(room.id()?, part);
    let (heading, compose_label) = match part {
        Part::Shared => ("連絡帳(患者さん・ご家族と共有)", "患者さん・ご家族にも見える投稿"),
        Part::Professional => ("連絡帳(専門職のみ)", "専門職への投稿(患者さん・ご家族には表示されません)"),
        Part::Board => ("掲示板", "掲示板への投稿(患者さんの情報は書かないでください)"),
    };
    Ok(Timeline {
        heading,
        compose_label,
        live_url: format!("{page_url}/live"),
        preview_url: format!("{page_url}/posts/preview"),
        page_url,
        can_post: decide(&ctx.actor, room.post_action(part), &room.facts(None)).is_ok(),
        soft_limit: ctx.settings.post_soft_limit,
        cards,
        older,
    })
}

#[derive(Template)]
#[template(path = "posts/compose.html")]
struct ComposePage {
    chrome: Chrome,
    back_url: String,
    back_label: &'static str,
    room_title: String,
    /// R5.4: on a board every patient's name is warned about.
    is_board: bool,
    compose_label: &'static str,
    preview_url: String,
    confirm_url: String,
    soft_limit: u32,
    body: String,
    attachments: String,
    draft: Option<Draft>,
    form: FormState,
}

struct Composer<'a> {
    room: &'a Room,
    part: Part,
    back_url: String,
    preview_url: String,
    confirm_url: String,
}

/// The composer's fields and files, from a multipart form (with files) or an urlencoded one.
async fn read_compose(req: Request) -> Result<(PostForm, Vec<Upload>), WebError> {
    fn bad<E>(_: E) -> WebError {
        WebError::BadRequest("送信内容を読み取れませんでした。添付ファイルは合わせて20MBまでです。".into())
    }
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), crate::body::UPLOAD_LIMIT).await.map_err(bad)?;
        return Ok((parse_form(&bytes)?, Vec::new()));
    }
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|_| WebError::BadRequest("送信内容を読み取れませんでした。".into()))?;
    let mut f = PostForm::default();
    let mut files = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            if !bytes.is_empty() {
                files.push(Upload { file_name, bytes: bytes.to_vec() });
            }
            continue;
        }
        let value = field.text().await.map_err(bad)?;
        match name.as_str() {
            "body" => f.body = value,
            "acknowledged" if !value.is_empty() => {
                if !f.acknowledged.is_empty() {
                    f.acknowledged.push(',');
                }
                f.acknowledged.push_str(&value);
            }
            "attachments" => f.attachments = value,
            "acknowledged" | "csrf" => {}
            _ => return Err(WebError::BadRequest("送信内容を読み取れませんでした。画面を開き直してください。".into())),
        }
    }
    Ok((f, files))
}

impl Composer<'_> {
    fn page(&self, ctx: &Ctx, title: &str, f: &PostForm, draft: Option<Draft>, errors: FieldErrors) -> Response {
        let form = FormState { values: [("body".to_string(), f.body.clone())].into(), errors };
        let failed = form.has_errors();
        let resp = render(&ComposePage {
            chrome: Chrome::new(ctx, title),
            back_label: if self.room.is_board() { "掲示板へ戻る" } else { "グループへ戻る" },
            back_url: self.back_url.clone(),
            room_title: self.room.title(),
            is_board: self.room.is_board(),
            compose_label: "本文",
            preview_url: self.preview_url.clone(),
            confirm_url: self.confirm_url.clone(),
            soft_limit: ctx.settings.post_soft_limit,
            body: draft.as_ref().map_or_else(|| f.body.clone(), |d| d.body.clone()),
            attachments: f.attachments.clone(),
            draft,
            form,
        });
        if failed {
            unprocessable(resp)
        } else {
            resp
        }
    }

    /// The author's draft attachments named in the form, to show in the preview.
    async fn drafts(&self, app: &App, ctx: &Ctx, list: &str) -> Result<Vec<AttachmentMeta>, WebError> {
        let mut out = Vec::new();
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(a) = app.store.attachment(id).await? {
                if a.uploader_id == ctx.user_id() && a.post_id.is_none() {
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// The preview (R10.3 advice, R10.4 warning, R9.3 files cleaned), or the form again with
    /// its errors (what was typed kept).
    async fn preview(&self, app: &App, ctx: &Ctx, mut f: PostForm, files: Vec<Upload>) -> Result<Response, WebError> {
        if !files.is_empty() {
            match attachments::store_uploads(app, ctx, self.room, self.part, files).await {
                Ok(list) => {
                    for a in list {
                        if !f.attachments.is_empty() {
                            f.attachments.push(',');
                        }
                        f.attachments.push_str(&a.id);
                    }
                }
                Err(WebError::Invalid(errors)) => return Ok(self.page(ctx, "投稿", &f, None, errors)),
                Err(e) => return Err(e),
            }
        }
        match posts::check(app, ctx, self.room, &f.body).await {
            Ok(mut d) => {
                d.attachments = self.drafts(app, ctx, &f.attachments).await?;
                Ok(self.page(ctx, "投稿の確認", &f, Some(d), FieldErrors::default()))
            }
            Err(WebError::Invalid(errors)) => Ok(self.page(ctx, "投稿", &f, None, errors)),
            Err(e) => Err(e),
        }
    }

    async fn outcome(
        &self,
        app: &App,
        ctx: &Ctx,
        r: Result<Outcome, WebError>,
        f: &PostForm,
    ) -> Result<Response, WebError> {
        match r {
            Ok(Outcome::Confirmed { post_id, .. }) => {
                Ok(Redirect::to(&format!("{}#post-{post_id}", self.back_url)).into_response())
            }
            // The warning was not confirmed (or the text changed since): show it again.
            Ok(Outcome::NeedsConfirmation(mut d)) => {
                d.attachments = self.drafts(app, ctx, &f.attachments).await?;
                let mut resp = self.page(ctx, "投稿の確認", f, Some(d), FieldErrors::default());
                *resp.status_mut() = StatusCode::CONFLICT;
                Ok(resp)
            }
            Err(WebError::Invalid(errors)) => Ok(self.page(ctx, "投稿", f, None, errors)),
            Err(e) => Err(e),
        }
    }
}

fn room_composer(room: &Room, part: Part) -> Result<Composer<'_>, WebError> {
    let base = part_url(room.id()?, part);
    Ok(Composer {
        room,
        part,
        preview_url: format!("{base}/posts/preview"),
        confirm_url: format!("{base}/posts"),
        back_url: base,
    })
}

fn post_composer<'a>(room: &'a Room, meta: &PostMeta) -> Composer<'a> {
    Composer {
        room,
        part: meta.part,
        back_url: format!("/posts/{}", meta.id),
        preview_url: format!("/posts/{}/preview", meta.id),
        confirm_url: format!("/posts/{}", meta.id),
    }
}

async fn preview(app: App, ctx: Ctx, room: Room, part: Part, req: Request) -> Result<Response, WebError> {
    let (f, files) = read_compose(req).await?;
    room_composer(&room, part)?.preview(&app, &ctx, f, files).await
}

async fn confirm(app: App, ctx: Ctx, room: Room, part: Part, req: Request) -> Result<Response, WebError> {
    let (f, files) = read_compose(req).await?;
    let composer = room_composer(&room, part)?;
    // New files are shown in a preview first: nothing is confirmed unseen.
    if !files.is_empty() {
        return composer.preview(&app, &ctx, f, files).await;
    }
    let result = posts::confirm(&app, &ctx, &room, part, &f).await;
    composer.outcome(&app, &ctx, result, &f).await
}

/// The compose handlers of each part of a room: the same preview and 確定, one part each.
macro_rules! compose_handler {
    ($name:ident, $f:ident, $part:expr) => {
        pub async fn $name(
            State(app): State<App>,
            ctx: Ctx,
            InRoom(r): InRoom,
            req: Request,
        ) -> Result<Response, WebError> {
            $f(app, ctx, r, $part, req).await
        }
    };
}

compose_handler!(preview_post, preview, Part::Professional);
compose_handler!(confirm_post, confirm, Part::Professional);
compose_handler!(shared_preview_post, preview, Part::Shared);
compose_handler!(shared_confirm_post, confirm, Part::Shared);
compose_handler!(board_preview_post, preview, Part::Board);
compose_handler!(board_confirm_post, confirm, Part::Board);

#[derive(Template)]
#[template(path = "posts/show.html")]
struct ShowPage {
    chrome: Chrome,
    back_url: String,
    card: PostCard,
    versions: Vec<PostVersion>,
}

/// One post, every confirmed version with its hash, who read it and who acknowledged it.
pub async fn show_get(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    InRoom(room): InRoom,
) -> Result<Response, WebError> {
    let (card, versions) = posts::open(&app, &ctx, &room, &meta, false).await?;
    Ok(render(&ShowPage {
        chrome: Chrome::new(&ctx, "投稿と履歴"),
        back_url: format!("{}#post-{}", part_url(&meta.room_id, meta.part), meta.id),
        card,
        versions,
    }))
}

pub async fn edit_get(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    InRoom(room): InRoom,
) -> Result<Response, WebError> {
    let body = posts::open_for_edit(&app, &ctx, &room, &meta).await?;
    let f = PostForm { body, ..PostForm::default() };
    Ok(post_composer(&room, &meta).page(&ctx, "投稿の修正", &f, None, FieldErrors::default()))
}

pub async fn edit_preview_post(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(post): PostRef,
    InRoom(room): InRoom,
    req: Request,
) -> Result<Response, WebError> {
    let (f, files) = read_compose(req).await?;
    post_composer(&room, &post).preview(&app, &ctx, f, files).await
}

pub async fn edit_post(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    InRoom(room): InRoom,
    req: Request,
) -> Result<Response, WebError> {
    let (f, files) = read_compose(req).await?;
    let composer = post_composer(&room, &meta);
    if !files.is_empty() {
        return composer.preview(&app, &ctx, f, files).await;
    }
    let result = posts::edit(&app, &ctx, &room, &meta, &f).await;
    match result {
        Ok(Outcome::Confirmed { .. }) => Ok(Redirect::to(&format!("/posts/{}", meta.id)).into_response()),
        other => composer.outcome(&app, &ctx, other, &f).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: Option<String>,
}

fn back_to_post(meta: &PostMeta) -> Response {
    Redirect::to(&format!("{}#post-{}", part_url(&meta.room_id, meta.part), meta.id)).into_response()
}

pub async fn delete_post(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    InRoom(room): InRoom,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: CsrfOnly = parse_form(&body)?;
    posts::delete(&app, &ctx, &room, &meta).await?;
    Ok(back_to_post(&meta))
}

pub async fn ack_post(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    InRoom(room): InRoom,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: CsrfOnly = parse_form(&body)?;
    posts::ack(&app, &ctx, &room, &meta).await?;
    Ok(back_to_post(&meta))
}

/// Sent by the page when a live post has been shown: the reader's cursor moves to it.
pub async fn read_post(
    State(app): State<App>,
    ctx: Ctx,
    PostRef(meta): PostRef,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: CsrfOnly = parse_form(&body)?;
    posts::mark_read(&app, &ctx, &meta.room_id, meta.part, meta.seq).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Template)]
#[template(path = "posts/card.html")]
struct CardFragment {
    card: PostCard,
    csrf: String,
}

/// The live stream of one part of a group or a board (Server-Sent Events). Each event is
/// rendered for this viewer, after checking again that they may still see the part; a removed
/// member's stream ends at once, a lagging one is told to reload.
async fn live(app: App, ctx: Ctx, at: Room, part: Part) -> Result<Response, WebError> {
    let room = at.id()?.to_string();
    let rx = app.live.subscribe(&room, part);
    audit_view(
        &app,
        &ctx,
        AuditAction::LiveOpened,
        Some(at.audit_target()),
        serde_json::json!({ "room_id": room, "part": part.code() }),
    )
    .await?;
    let state = Stream { app, ctx, at, room, part, rx, queue: VecDeque::new(), done: false };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let ev = s.next().await?;
        Some((Ok::<Event, std::convert::Infallible>(ev), s))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))).into_response())
}

struct Stream {
    app: App,
    ctx: Ctx,
    /// The group or board, as it was when the stream opened.
    at: Room,
    room: String,
    part: Part,
    rx: broadcast::Receiver<Arc<LiveEvent>>,
    queue: VecDeque<Event>,
    done: bool,
}

impl Stream {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(ev);
            }
            if self.done {
                return None;
            }
            match self.rx.recv().await {
                Ok(ev) => {
                    if let Err(why) = self.handle(&ev).await {
                        self.done = true;
                        self.queue.push_back(Event::default().event("closed").data(why));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.done = true;
                    self.queue.push_back(Event::default().event("reload").data("lagged"));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Render what changed for this viewer; Err(reason) ends the stream.
    async fn handle(&mut self, ev: &LiveEvent) -> Result<(), &'static str> {
        let me = self.ctx.user_id().to_string();
        if ev.kind == LiveKind::Removed && ev.user_id.as_deref() == Some(me.as_str()) {
            return Err("removed");
        }
        // Still signed in, still allowed to see this part?
        let now = self.at.reload(&self.app.store, &me).await.ok().flatten().ok_or("gone")?;
        let still = match &self.ctx.session_hash {
            Some(h) => matches!(self.app.store.session(h).await, Ok(Some(_))),
            None => false,
        };
        if !still || decide(&self.ctx.actor, now.view_action(self.part), &now.facts(None)).is_err() {
            return Err("removed");
        }
        let posts = match (ev.kind, &ev.post_id) {
            (LiveKind::Read, _) => self
                .app
                .store
                .posts(&self.room, self.part, Some(ev.to_seq + 1), 20)
                .await
                .map_err(|_| "error")?
                .into_iter()
                .filter(|p| p.author_id == me)
                .collect(),
            (_, Some(id)) => self.app.store.post(id).await.map_err(|_| "error")?.into_iter().collect(),
            _ => Vec::new(),
        };
        let cards = posts::cards(&self.app, &self.ctx, &now, posts).await.map_err(|_| "error")?;
        for card in cards {
            let data = serde_json::json!({
                "id": card.post.id,
                "seq": card.post.seq,
                "mine": card.mine,
                "kind": ev.kind,
                "html": CardFragment { card, csrf: self.ctx.csrf.clone() }.render().map_err(|_| "error")?,
            });
            self.queue.push_back(Event::default().event("post").data(data.to_string()));
        }
        Ok(())
    }
}

/// The live stream of each part of a room.
macro_rules! live_handler {
    ($name:ident, $part:expr) => {
        pub async fn $name(State(app): State<App>, ctx: Ctx, InRoom(r): InRoom) -> Result<Response, WebError> {
            live(app, ctx, r, $part).await
        }
    };
}

live_handler!(live_get, Part::Professional);
live_handler!(shared_live_get, Part::Shared);
live_handler!(board_live_get, Part::Board);

#[derive(Template)]
#[template(path = "posts/attachment.html")]
struct AttachmentPage {
    chrome: Chrome,
    a: AttachmentMeta,
    back_url: String,
    shown: i64,
}

/// R9.3: an attachment's pages, inline; no download is offered anywhere.
pub async fn attachment_get(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(room): InRoom,
    AttachmentRef(a): AttachmentRef,
) -> Result<Response, WebError> {
    attachments::open(&app, &ctx, &room, &a).await?;
    let back_url = match &a.post_id {
        Some(post) => format!("/posts/{post}"),
        None => part_url(&a.room_id, a.part),
    };
    Ok(render(&AttachmentPage { chrome: Chrome::new(&ctx, "添付ファイル"), shown: a.pages, back_url, a }))
}

/// A watermarked image, shown inline only, never cached, never run as anything else.
pub(crate) fn inline_jpeg(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CONTENT_DISPOSITION, "inline"),
            (header::CACHE_CONTROL, "no-store, private"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"),
        ],
        bytes,
    )
        .into_response()
}

pub async fn attachment_thumb_get(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(room): InRoom,
    AttachmentRef(a): AttachmentRef,
) -> Result<Response, WebError> {
    Ok(inline_jpeg(attachments::view(&app, &ctx, &room, &a, Which::Thumb).await?))
}

pub async fn attachment_page_get(
    State(app): State<App>,
    ctx: Ctx,
    InRoom(room): InRoom,
    AttachmentRef(a): AttachmentRef,
    Path((_, page)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    Ok(inline_jpeg(attachments::view(&app, &ctx, &room, &a, Which::Page(page)).await?))
}

#[derive(Template)]
#[template(path = "posts/search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    error: Option<String>,
    found: Vec<posts::Found>,
}

impl SearchPage {
    fn link(&self, f: &posts::Found) -> String {
        format!("{}#post-{}", part_url(&f.hit.post.room_id, f.hit.post.part), f.hit.post.id)
    }
}

/// Search within one's groups: Japanese substrings, one character and up; matches marked.
pub async fn search_get(
    State(app): State<App>,
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<crate::query::TextQuery>,
) -> Result<Response, WebError> {
    let (found, error) = match posts::search(&app, &ctx, &q.q, false).await {
        Ok(f) => (f, None),
        Err(WebError::Invalid(e)) => (Vec::new(), e.get("q").map(str::to_string)),
        Err(e) => return Err(e),
    };
    let failed = error.is_some();
    let resp = render(&SearchPage { chrome: Chrome::new(&ctx, "検索"), q: q.q.trim().to_string(), error, found });
    Ok(if failed { unprocessable(resp) } else { resp })
}
