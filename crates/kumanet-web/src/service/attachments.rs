//! Attachments (R9.3): JPEG, PNG and PDF up to 20 MB, anything else refused. Images are
//! re-encoded without metadata (EXIF and its GPS position gone) with a thumbnail; a PDF is kept
//! and its pages are rendered to images on the server. Every view is an image with the viewer's
//! name and the time burned in, served inline, and written to the audit log. All of that image
//! work runs within the memory budget (`crate::media`).

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::policy::post::Part;
use kumanet_media::{MediaError, Sanitized};
use kumanet_store::{AttachmentMeta, NewAttachment};
use sha2::{Digest, Sha256};

use super::new_id;
use crate::error::{FieldErrors, WebError};
use crate::request::{AuditTarget, Ctx};
use crate::room::Room;
use crate::App;

/// A file as it arrived in the form.
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// PDF pages shown (a longer document is cut with a note) and their resolution.
pub const PDF_PAGES_SHOWN: u32 = 30;
const PDF_DPI: u32 = 110;
/// Files per post.
pub const MAX_FILES: usize = 5;

/// An upload as kept: the cleaned image (or a PDF's page images), its thumbnail, and the PDF
/// itself (for download; an image is never kept as sent).
pub(crate) struct Processed {
    pub kind: &'static str,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub thumb: Vec<u8>,
    pub original: Option<Vec<u8>>,
    pub pages: Vec<Vec<u8>>,
    pub exif_removed: bool,
}

/// Checks and cleans one upload (blocking: run it through `app.media`).
pub(crate) fn process(bytes: Vec<u8>) -> Result<Processed, MediaError> {
    if bytes.len() > kumanet_media::MAX_BYTES {
        return Err(MediaError::TooLarge);
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    match kumanet_media::sniff(&bytes) {
        None => Err(MediaError::Unsupported),
        Some(kumanet_media::Kind::Pdf) => {
            let pages = kumanet_media::pdf_pages(&bytes, PDF_PAGES_SHOWN, PDF_DPI)?;
            let first = pages.first().ok_or_else(|| MediaError::Corrupt("no pages".into()))?;
            let Sanitized { width, height, thumb, .. } = kumanet_media::sanitize_image(first)?;
            Ok(Processed {
                kind: "pdf",
                sha256,
                width,
                height,
                thumb,
                original: Some(bytes),
                pages,
                exif_removed: false,
            })
        }
        Some(kind) => {
            let had_exif = bytes.windows(6).any(|w| w == b"Exif\0\0") || bytes.windows(4).any(|w| w == b"eXIf");
            let s = kumanet_media::sanitize_image(&bytes)?;
            Ok(Processed {
                kind: kind.code(),
                sha256,
                width: s.width,
                height: s.height,
                thumb: s.thumb,
                original: None,
                pages: vec![s.data],
                exif_removed: had_exif,
            })
        }
    }
}

fn clean_name(name: &str) -> String {
    let n: String = name.chars().filter(|c| !c.is_control() && !matches!(c, '/' | '\\')).take(100).collect();
    if n.trim().is_empty() {
        "添付ファイル".to_string()
    } else {
        n
    }
}

/// Check, clean and keep the uploads as drafts of the author's next post in this room's part.
pub async fn store_uploads(
    app: &App,
    ctx: &Ctx,
    room_ctx: &Room,
    part: Part,
    uploads: Vec<Upload>,
) -> Result<Vec<AttachmentMeta>, WebError> {
    let room = room_ctx.id()?.to_string();
    let mut errors = FieldErrors::default();
    if uploads.len() > MAX_FILES {
        errors.add("file", format!("添付できるファイルは1回に{MAX_FILES}個までです。"));
        return Err(WebError::Invalid(errors));
    }
    let mut done = Vec::new();
    for u in uploads {
        let name = clean_name(&u.file_name);
        let size = u.bytes.len() as i64;
        match app.media.run(u.bytes, process).await? {
            Ok(pr) => done.push((name, size, pr)),
            Err(e) => {
                tracing::info!("attachment refused: {e}");
                errors.add("file", format!("{name}: {}", crate::messages::media(&e)));
            }
        }
    }
    errors.into_result()?;
    let mut tx = app.store.begin().await?;
    let mut ids = Vec::new();
    for (name, size, pr) in &done {
        let id = new_id();
        tx.insert_attachment(
            &NewAttachment {
                id: &id,
                room_id: &room,
                part,
                uploader_id: ctx.user_id(),
                kind: pr.kind,
                file_name: name,
                byte_size: *size,
                sha256: &pr.sha256,
                width: pr.width.into(),
                height: pr.height.into(),
                thumb: &pr.thumb,
                original: pr.original.as_deref(),
                pages: &pr.pages,
            },
            ctx.now,
        )
        .await?;
        tx.audit(room_ctx.audit_on(ctx.audit(AuditAction::AttachmentUploaded, AuditResult::Ok)).details(
            serde_json::json!({
                "attachment_id": id, "room_id": room, "kind": pr.kind, "bytes": size, "sha256": pr.sha256,
                "pages": pr.pages.len(), "exif_removed": pr.exif_removed,
            }),
        ))
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    let mut out = Vec::new();
    for id in ids {
        out.extend(app.store.attachment(&id).await?);
    }
    Ok(out)
}

/// Which image of an attachment.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    Thumb,
    Page(i64),
}

/// The image, watermarked for this viewer and this minute, and the view audited.
pub async fn view(app: &App, ctx: &Ctx, room: &Room, a: &AttachmentMeta, which: Which) -> Result<Vec<u8>, WebError> {
    let stored = match which {
        Which::Thumb => app.store.attachment_thumb(&a.id).await?,
        Which::Page(n) => app.store.attachment_page(&a.id, n).await?,
    }
    .ok_or(WebError::NotFound)?;
    let marked = watermarked(app, stored, viewer_lines(ctx)?).await?;
    let page = match which {
        Which::Thumb => serde_json::Value::from("thumb"),
        Which::Page(n) => serde_json::Value::from(n),
    };
    crate::service::admin::audit_view(
        app,
        ctx,
        AuditAction::AttachmentViewed,
        Some(room.audit_target()),
        serde_json::json!({ "attachment_id": a.id, "post_id": a.post_id, "page": page }),
    )
    .await?;
    Ok(marked)
}

/// R11.1: the attachment's page (its name and pages, the images fetched one by one), audited.
pub async fn open(app: &App, ctx: &Ctx, room: &Room, a: &AttachmentMeta) -> Result<(), WebError> {
    crate::service::admin::audit_view(
        app,
        ctx,
        AuditAction::AttachmentViewed,
        Some(room.audit_target()),
        serde_json::json!({ "attachment_id": a.id, "post_id": a.post_id, "page": "list" }),
    )
    .await
}

/// The watermark of a view: who looks, and when.
pub(crate) fn viewer_lines(ctx: &Ctx) -> Result<[String; 2], WebError> {
    let u = ctx.user.as_ref().ok_or(WebError::NotFound)?;
    Ok([format!("{} ({})", u.name, u.login_id), format!("{} 閲覧 くまねっと", crate::jst::datetime(ctx.now))])
}

/// The stored image as a JPEG with `lines` burned in, within the memory budget.
pub(crate) async fn watermarked(app: &App, stored: Vec<u8>, lines: [String; 2]) -> Result<Vec<u8>, WebError> {
    let marker = app.watermarker.clone();
    app.media
        .run(stored, move |stored| {
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            marker.apply(&stored, &refs)
        })
        .await?
        .map_err(|e| WebError::Internal(format!("watermark: {e}")))
}
