//! Posts in a room — a patient's group or a bulletin board (第10条; R10.3, R10.4, R10.6, R5.4):
//! compose → preview → confirm, edits that keep every version, tombstones, 了解 and read marks.
//! The gate has decided who may; these apply the rules, write with the audit row in one
//! transaction, and announce the change live.

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::authz::{decide, Action, PostFacts};
use kumanet_core::policy::naming::{others_than, KnownPatient, NameHit, NameMatcher};
use kumanet_core::policy::post::{brevity_advice, content_hash, parse_body, segments, Part, Segment};
use kumanet_store::{AttachmentMeta, NewAudit, NewPost, PostAck, PostMeta, PostView, Tx};
use serde::Deserialize;

use super::new_id;
use crate::error::{FieldErrors, WebError};
use crate::live::{LiveEvent, LiveKind, Outbox};
use crate::request::{AuditTarget, Ctx};
use crate::room::Room;
use crate::App;

/// The composer's form (pages) and body (API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostForm {
    #[serde(default)]
    pub body: String,
    /// The patients whose names the author saw warned about and confirmed anyway (R10.4),
    /// comma-separated in forms.
    #[serde(default)]
    pub acknowledged: String,
    /// API: the confirmation step (確定) must be explicit (R10.6).
    #[serde(default)]
    pub confirm: bool,
    /// R9.3: draft attachments (uploaded at the preview) to confirm with the post, comma-separated.
    #[serde(default)]
    pub attachments: String,
    #[serde(default)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// What the preview shows before 確定.
#[derive(Debug, Clone)]
pub struct Draft {
    pub body: String,
    pub chars: usize,
    pub warnings: Vec<NameHit>,
    pub advice: Option<String>,
    /// The files that will be confirmed with the post.
    pub attachments: Vec<AttachmentMeta>,
}

impl Draft {
    pub fn segments(&self) -> Vec<Segment<'_>> {
        segments(&self.body)
    }
    pub fn warned_ids(&self) -> String {
        self.warnings.iter().map(|w| w.patient_id.as_str()).collect::<Vec<_>>().join(",")
    }
}

pub enum Outcome {
    Confirmed {
        post_id: String,
        seq: i64,
    },
    /// The text names another patient and the author has not confirmed that deliberately.
    NeedsConfirmation(Draft),
}

/// R10.3, R10.4: parse the text, advise on length, and find other patients it names (on a board,
/// R5.4, any patient: no patient information belongs there).
pub async fn check(app: &App, ctx: &Ctx, room: &Room, raw: &str) -> Result<Draft, WebError> {
    let body = parse_body(raw).map_err(|p| {
        let mut e = FieldErrors::default();
        e.problem("body", "本文", &p);
        WebError::Invalid(e)
    })?;
    let u = ctx.user.as_ref().ok_or(WebError::NotFound)?;
    let visible: Vec<KnownPatient> = app
        .store
        .visible_patient_names(&u.id, u.facility_id.as_deref())
        .await?
        .into_iter()
        .map(|(id, name, kana)| KnownPatient { id, name, kana })
        .collect();
    let warnings = NameMatcher::new(others_than(room.own_patient(), visible)).find(&body);
    Ok(Draft {
        chars: body.chars().count(),
        advice: brevity_advice(&body, ctx.settings.post_soft_limit),
        warnings,
        body,
        attachments: Vec::new(),
    })
}

/// Bind the author's draft attachments to the post, inside its transaction.
async fn bind_attachments(
    tx: &mut Tx,
    list: &str,
    post_id: &str,
    me: &str,
    room: &str,
    part: Part,
) -> Result<usize, kumanet_store::StoreError> {
    let ids = acknowledged(list);
    for id in &ids {
        if !tx.bind_attachment(id, post_id, me, room, part).await? {
            return Err(kumanet_store::StoreError::Refused(
                "添付ファイルを確認できませんでした。もう一度添付してください。".into(),
            ));
        }
    }
    Ok(ids.len())
}

fn acknowledged(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// R10.6: the confirmed post, its hash and its first version, with the audit row.
pub async fn confirm(app: &App, ctx: &Ctx, room: &Room, part: Part, f: &PostForm) -> Result<Outcome, WebError> {
    let draft = check(app, ctx, room, &f.body).await?;
    let ack = acknowledged(&f.acknowledged);
    if draft.warnings.iter().any(|w| !ack.contains(&w.patient_id.as_str())) {
        return Ok(Outcome::NeedsConfirmation(draft));
    }
    let room_id = room.id()?.to_string();
    let id = new_id();
    let sha = content_hash(&draft.body);
    let audit = room.audit_on(ctx.audit(AuditAction::PostConfirmed, AuditResult::Ok)).details(serde_json::json!({
        "post_id": id, "room_id": room_id, "part": part.code(), "sha256": sha, "chars": draft.chars,
        "warned_patient_ids": draft.warnings.iter().map(|w| &w.patient_id).collect::<Vec<_>>(),
    }));
    let (me, now, body, files, post_id) =
        (ctx.user_id().to_string(), ctx.now, draft.body, f.attachments.clone(), id.clone());
    let room = room_id.clone();
    // Group commit: this post shares its transaction (and fsync) with the writes arriving
    // meanwhile, and is acknowledged only once that has committed.
    let (seq, out) = app
        .store
        .write(move |tx| {
            Box::pin(async move {
                tx.audit(audit).await?;
                let new =
                    NewPost { id: &post_id, room_id: &room_id, part, author_id: &me, body: &body, body_sha256: &sha };
                let seq = tx.insert_post(&new, now).await?;
                bind_attachments(tx, &files, &post_id, &me, &room_id, part).await?;
                // The author has read what they wrote.
                tx.mark_read(&room_id, part, &me, seq, now).await?;
                let mut out = Outbox::default();
                out.add(tx, LiveEvent::post(&room_id, part, LiveKind::Post, &post_id)).await?;
                Ok((seq, out))
            })
        })
        .await?;
    out.after_commit(&app.live);
    crate::notices::post_confirmed(app, &room);
    Ok(Outcome::Confirmed { post_id: id, seq })
}

/// R10.6: a new version through the same preview and confirmation; the earlier ones stay.
pub async fn edit(app: &App, ctx: &Ctx, room: &Room, meta: &PostMeta, f: &PostForm) -> Result<Outcome, WebError> {
    let draft = check(app, ctx, room, &f.body).await?;
    let ack = acknowledged(&f.acknowledged);
    if draft.warnings.iter().any(|w| !ack.contains(&w.patient_id.as_str())) {
        return Ok(Outcome::NeedsConfirmation(draft));
    }
    let sha = content_hash(&draft.body);
    let mut tx = app.store.begin().await?;
    let version = tx
        .edit_post(&meta.id, &draft.body, &sha, ctx.now)
        .await?
        .ok_or_else(|| WebError::Refused("削除された投稿は修正できません。".into()))?;
    bind_attachments(&mut tx, &f.attachments, &meta.id, ctx.user_id(), &meta.room_id, meta.part).await?;
    tx.audit(room.audit_on(ctx.audit(AuditAction::PostEdited, AuditResult::Ok)).details(serde_json::json!({
        "post_id": meta.id, "room_id": meta.room_id, "part": meta.part.code(), "version": version,
        "sha256": sha, "chars": draft.chars,
        "warned_patient_ids": draft.warnings.iter().map(|w| &w.patient_id).collect::<Vec<_>>(),
    })))
    .await?;
    let mut out = Outbox::default();
    out.add(&mut tx, LiveEvent::post(&meta.room_id, meta.part, LiveKind::Edit, &meta.id)).await?;
    tx.commit().await?;
    out.after_commit(&app.live);
    Ok(Outcome::Confirmed { post_id: meta.id.clone(), seq: meta.seq })
}

/// A tombstone ("削除されました"); the content stays for the audit.
pub async fn delete(app: &App, ctx: &Ctx, room: &Room, meta: &PostMeta) -> Result<(), WebError> {
    let mut tx = app.store.begin().await?;
    if !tx.delete_post(&meta.id, ctx.user_id(), ctx.now).await? {
        return Err(WebError::Refused("この投稿はすでに削除されています。".into()));
    }
    tx.audit(
        room.audit_on(ctx.audit(AuditAction::PostDeleted, AuditResult::Ok))
            .details(serde_json::json!({ "post_id": meta.id, "room_id": meta.room_id, "part": meta.part.code() })),
    )
    .await?;
    let mut out = Outbox::default();
    out.add(&mut tx, LiveEvent::post(&meta.room_id, meta.part, LiveKind::Delete, &meta.id)).await?;
    tx.commit().await?;
    out.after_commit(&app.live);
    Ok(())
}

/// 了解. Giving it twice changes nothing.
pub async fn ack(app: &App, ctx: &Ctx, room: &Room, meta: &PostMeta) -> Result<(), WebError> {
    if app.store.post(&meta.id).await?.is_none_or(|post| post.deleted_at.is_some()) {
        return Err(WebError::Refused("削除された投稿には了解できません。".into()));
    }
    let mut tx = app.store.begin().await?;
    if !tx.ack_post(&meta.id, ctx.user_id(), ctx.now).await? {
        return Ok(());
    }
    tx.mark_read(&meta.room_id, meta.part, ctx.user_id(), meta.seq, ctx.now).await?;
    tx.audit(
        room.audit_on(ctx.audit(AuditAction::PostAcked, AuditResult::Ok))
            .details(serde_json::json!({ "post_id": meta.id, "room_id": meta.room_id })),
    )
    .await?;
    let mut out = Outbox::default();
    out.add(&mut tx, LiveEvent::post(&meta.room_id, meta.part, LiveKind::Ack, &meta.id)).await?;
    tx.commit().await?;
    out.after_commit(&app.live);
    Ok(())
}

/// Move the reader's cursor to `seq` (and write `view`, the audit row of what they looked at, in
/// the same commit); the authors' pages update their "既読".
async fn read_and_audit(
    app: &App,
    ctx: &Ctx,
    room: &str,
    part: Part,
    seq: Option<i64>,
    view: Option<NewAudit>,
) -> Result<(), WebError> {
    let (me, now, room) = (ctx.user_id().to_string(), ctx.now, room.to_string());
    let out = app
        .store
        .write(move |tx| {
            Box::pin(async move {
                if let Some(row) = view {
                    tx.audit(row).await?;
                }
                let mut out = Outbox::default();
                if let Some(seq) = seq {
                    if tx.mark_read(&room, part, &me, seq, now).await? {
                        let ev = LiveEvent {
                            room,
                            part,
                            kind: LiveKind::Read,
                            post_id: None,
                            user_id: Some(me),
                            from_seq: 0,
                            to_seq: seq,
                        };
                        out.add(tx, ev).await?;
                    }
                }
                Ok(out)
            })
        })
        .await?;
    out.after_commit(&app.live);
    Ok(())
}

/// Move the reader's cursor to `seq`; the authors' pages update their "既読".
pub async fn mark_read(app: &App, ctx: &Ctx, room: &str, part: Part, seq: i64) -> Result<(), WebError> {
    read_and_audit(app, ctx, room, part, Some(seq), None).await
}

/// A post as one viewer sees it: text, marks, and what they may do with it.
#[derive(Debug, Clone)]
pub struct PostCard {
    pub post: PostView,
    pub mine: bool,
    /// Others who have read it (their cursor passed it), by name.
    pub readers: Vec<String>,
    pub acks: Vec<PostAck>,
    pub acked_by_me: bool,
    pub attachments: Vec<AttachmentMeta>,
    pub can_ack: bool,
    pub can_edit: bool,
    pub can_delete: bool,
}

impl PostCard {
    pub fn segments(&self) -> Vec<Segment<'_>> {
        segments(&self.post.body)
    }
    /// When it was confirmed, in Japan time; and as ISO 8601 UTC for `<time>`.
    pub fn created(&self) -> String {
        crate::jst::datetime(self.post.created_at)
    }
    pub fn created_iso(&self) -> String {
        crate::jst::iso_utc(self.post.created_at)
    }
    pub fn deleted(&self) -> Option<String> {
        self.post.deleted_at.map(crate::jst::datetime)
    }
}

/// Cards for `posts` (of one room's part), for the viewer in `ctx`.
pub async fn cards(app: &App, ctx: &Ctx, room: &Room, posts: Vec<PostView>) -> Result<Vec<PostCard>, WebError> {
    let (Some(first), Some(last)) = (posts.first(), posts.last()) else { return Ok(Vec::new()) };
    let (room_id, part) = (first.room_id.clone(), first.part);
    let acks = app.store.acks(&room_id, part, first.seq, last.seq).await?;
    let files = app.store.attachments_of_posts(&room_id, part, first.seq, last.seq).await?;
    let marks = app.store.read_marks(&room_id, part).await?;
    let me = ctx.user_id().to_string();
    Ok(posts
        .into_iter()
        .map(|post| {
            let facts = PostFacts { part: post.part, author_is_actor: post.author_id == me, draft: false };
            let target = room.facts(Some(facts));
            let may = |a: Action| decide(&ctx.actor, a, &target).is_ok() && post.deleted_at.is_none();
            let acks: Vec<PostAck> = acks.iter().filter(|a| a.post_id == post.id).cloned().collect();
            PostCard {
                mine: post.author_id == me,
                readers: marks
                    .iter()
                    .filter(|m| m.read_seq >= post.seq && m.user_id != post.author_id)
                    .map(|m| m.name.clone())
                    .collect(),
                acked_by_me: acks.iter().any(|a| a.user_id == me),
                attachments: files.iter().filter(|a| a.post_id.as_deref() == Some(post.id.as_str())).cloned().collect(),
                acks,
                can_ack: may(Action::AckPost),
                can_edit: may(Action::EditPost),
                can_delete: may(Action::DeletePost),
                post,
            }
        })
        .collect())
}

/// One post for the viewer with every confirmed version; a view of patient data, audited.
pub async fn open(
    app: &App,
    ctx: &Ctx,
    room: &Room,
    meta: &PostMeta,
    api: bool,
) -> Result<(PostCard, Vec<kumanet_store::PostVersion>), WebError> {
    let post = app.store.post(&meta.id).await?.ok_or(WebError::NotFound)?;
    let card = cards(app, ctx, room, vec![post]).await?.pop().ok_or(WebError::NotFound)?;
    let versions = app.store.post_versions(&meta.id).await?;
    crate::service::admin::audit_view(
        app,
        ctx,
        AuditAction::PostViewed,
        Some(room.audit_target()),
        serde_json::json!({ "post_id": meta.id, "versions": versions.len(), "api": api }),
    )
    .await?;
    Ok((card, versions))
}

/// R10.6, R11.1: the text of one's own post, to edit it (a deleted post cannot be); audited as
/// a view.
pub async fn open_for_edit(app: &App, ctx: &Ctx, room: &Room, meta: &PostMeta) -> Result<String, WebError> {
    let post = app.store.post(&meta.id).await?.ok_or(WebError::NotFound)?;
    if post.deleted_at.is_some() {
        return Err(WebError::Refused("削除された投稿は修正できません。".into()));
    }
    crate::service::admin::audit_view(
        app,
        ctx,
        AuditAction::PostViewed,
        Some(room.audit_target()),
        serde_json::json!({ "post_id": meta.id, "edit": true }),
    )
    .await?;
    Ok(post.body)
}

/// What a view of a room writes to the audit log (R11.1): the action and its details.
pub struct View {
    pub action: AuditAction,
    pub details: serde_json::Value,
}

/// The latest posts of a room's part for the viewer, the cursor moved to the newest, and the
/// view audited: the cursor and the audit row share one commit.
pub async fn timeline(
    app: &App,
    ctx: &Ctx,
    room: &Room,
    part: Part,
    before: Option<i64>,
    view: View,
) -> Result<Vec<PostCard>, WebError> {
    let room_id = room.id()?;
    let posts = app.store.posts(room_id, part, before, TIMELINE_PAGE).await?;
    let seq = if before.is_none() { posts.last().map(|p| p.seq) } else { None };
    let row = room.audit_on(ctx.audit(view.action, AuditResult::Ok)).details(view.details);
    read_and_audit(app, ctx, room_id, part, seq, Some(row)).await?;
    cards(app, ctx, room, posts).await
}

/// Posts per page of a timeline.
pub const TIMELINE_PAGE: i64 = 50;

/// A search result: the post, whose group it is in, and a snippet with the matches marked.
#[derive(Debug, Clone)]
pub struct Found {
    pub hit: kumanet_store::SearchHit,
    /// (text, is a match), around the first match.
    pub snippet: Vec<(String, bool)>,
}

/// Up to 40 characters before the first match and 100 after, every match in it marked.
pub fn snippet(body: &str, q: &str) -> Vec<(String, bool)> {
    let flat = body.replace('\n', " ");
    let chars: Vec<char> = flat.chars().collect();
    let needle: Vec<char> = q.chars().collect();
    let lower = |c: &char| c.to_lowercase().next().unwrap_or(*c);
    let matches_at = |i: usize| {
        i + needle.len() <= chars.len() && chars[i..i + needle.len()].iter().map(lower).eq(needle.iter().map(lower))
    };
    let first = (0..chars.len()).find(|&i| matches_at(i)).unwrap_or(0);
    let start = first.saturating_sub(40);
    let end = (first + needle.len() + 100).min(chars.len());
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut i = start;
    while i < end {
        if !needle.is_empty() && matches_at(i) {
            out.push((chars[i..i + needle.len()].iter().collect(), true));
            i += needle.len();
        } else {
            match out.last_mut() {
                Some((s, false)) => s.push(chars[i]),
                _ => out.push((chars[i].to_string(), false)),
            }
            i += 1;
        }
    }
    if start > 0 {
        out.insert(0, ("…".into(), false));
    }
    if end < chars.len() {
        out.push(("…".into(), false));
    }
    out
}

/// Search the posts of one's own groups; the query is audited as a keyed digest, not in clear.
pub async fn search(app: &App, ctx: &Ctx, raw: &str, api: bool) -> Result<Vec<Found>, WebError> {
    let q = raw.trim();
    let n = q.chars().count();
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > 100 || q.chars().any(char::is_control) {
        let mut e = FieldErrors::default();
        e.add("q", "検索する言葉は100文字以内で入力してください。");
        return Err(WebError::Invalid(e));
    }
    let hits = app.store.search_posts(ctx.user_id(), q, 50).await?;
    crate::service::admin::audit_view(
        app,
        ctx,
        AuditAction::PostsSearched,
        None,
        serde_json::json!({ "query_hmac": app.store.query_digest(q), "chars": n, "results": hits.len(), "api": api }),
    )
    .await?;
    Ok(hits.into_iter().map(|hit| Found { snippet: snippet(&hit.post.body, q), hit }).collect())
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippets_mark_every_match_around_the_first() {
        let s = snippet("朝は入浴、夕方も入浴の介助", "入浴");
        assert_eq!(
            s,
            vec![
                ("朝は".to_string(), false),
                ("入浴".to_string(), true),
                ("、夕方も".to_string(), false),
                ("入浴".to_string(), true),
                ("の介助".to_string(), false)
            ]
        );
        let long = format!("{}褥瘡{}", "あ".repeat(60), "い".repeat(150));
        let s = snippet(&long, "褥瘡");
        assert_eq!(s.first().unwrap().0, "…");
        assert_eq!(s.last().unwrap().0, "…");
        assert!(s.iter().any(|(t, m)| *m && t == "褥瘡"));
        assert_eq!(snippet("Aspirin", "aspirin")[0], ("Aspirin".to_string(), true));
    }
}
