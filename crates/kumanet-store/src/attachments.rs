//! Attachments of posts (R9.3): metadata, the thumbnail, and the pages that are shown.

use kumanet_core::policy::post::Part;
use kumanet_core::Micros;
use serde::Serialize;

use crate::db::{on_read, on_tx, RowExt};
use crate::{Result, Store, StoreError, Tx};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentMeta {
    pub id: String,
    pub post_id: Option<String>,
    pub room_id: String,
    pub part: Part,
    pub uploader_id: String,
    /// "jpeg", "png" or "pdf".
    pub kind: String,
    pub file_name: String,
    pub byte_size: i64,
    pub sha256: String,
    pub width: i64,
    pub height: i64,
    pub pages: i64,
    pub created_at: Micros,
}

pub struct NewAttachment<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    pub part: Part,
    pub uploader_id: &'a str,
    pub kind: &'a str,
    pub file_name: &'a str,
    pub byte_size: i64,
    pub sha256: &'a str,
    pub width: i64,
    pub height: i64,
    pub thumb: &'a [u8],
    pub original: Option<&'a [u8]>,
    pub pages: &'a [Vec<u8>],
}

const COLUMNS: &str = "a.id, a.post_id, a.room_id, a.part, a.uploader_id, a.kind, a.file_name, a.byte_size, \
    a.sha256, a.width, a.height, a.pages, a.created_at";

fn row_to_meta(r: &impl RowExt) -> Result<AttachmentMeta> {
    let part = r.text("part")?;
    Ok(AttachmentMeta {
        id: r.text("id")?,
        post_id: r.opt_text("post_id")?,
        room_id: r.text("room_id")?,
        part: Part::from_code(&part).ok_or_else(|| StoreError::Corrupt(format!("attachments.part = {part}")))?,
        uploader_id: r.text("uploader_id")?,
        kind: r.text("kind")?,
        file_name: r.text("file_name")?,
        byte_size: r.int("byte_size")?,
        sha256: r.text("sha256")?,
        width: r.int("width")?,
        height: r.int("height")?,
        pages: r.int("pages")?,
        created_at: r.int("created_at")?,
    })
}

impl Store {
    pub async fn attachment(&self, id: &str) -> Result<Option<AttachmentMeta>> {
        let sql = format!("SELECT {COLUMNS} FROM attachments a WHERE a.id = $1");
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_meta).transpose())
    }

    /// The attachments of the posts of a room's part with `seq` in `from..=to`.
    pub async fn attachments_of_posts(
        &self,
        room_id: &str,
        part: Part,
        from: i64,
        to: i64,
    ) -> Result<Vec<AttachmentMeta>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM attachments a JOIN posts p ON p.id = a.post_id \
             WHERE p.room_id = $1 AND p.part = $2 AND p.seq >= $3 AND p.seq <= $4 ORDER BY a.created_at, a.id"
        );
        on_read!(self, |c| sqlx::query(&sql)
            .bind(room_id)
            .bind(part.code())
            .bind(from)
            .bind(to)
            .fetch_all(c)
            .await?
            .iter()
            .map(row_to_meta)
            .collect())
    }

    pub async fn attachment_thumb(&self, id: &str) -> Result<Option<Vec<u8>>> {
        on_read!(self, |c| Ok(sqlx::query_scalar("SELECT thumb FROM attachments WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?))
    }

    /// Page `page` (from 1) as stored: the image itself, or a rendered page of a PDF.
    pub async fn attachment_page(&self, id: &str, page: i64) -> Result<Option<Vec<u8>>> {
        on_read!(self, |c| Ok(sqlx::query_scalar(
            "SELECT data FROM attachment_pages WHERE attachment_id = $1 AND page = $2"
        )
        .bind(id)
        .bind(page)
        .fetch_optional(c)
        .await?))
    }
}

impl Tx {
    /// A draft attachment (no post yet) with its pages.
    pub async fn insert_attachment(&mut self, a: &NewAttachment<'_>, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO attachments (id, post_id, room_id, part, uploader_id, kind, file_name, byte_size, sha256, \
             width, height, pages, thumb, original, created_at) \
             VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
        .bind(a.id)
        .bind(a.room_id)
        .bind(a.part.code())
        .bind(a.uploader_id)
        .bind(a.kind)
        .bind(a.file_name)
        .bind(a.byte_size)
        .bind(a.sha256)
        .bind(a.width)
        .bind(a.height)
        .bind(a.pages.len() as i64)
        .bind(a.thumb)
        .bind(a.original)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        for (i, data) in a.pages.iter().enumerate() {
            on_tx!(self, |c| sqlx::query(
                "INSERT INTO attachment_pages (attachment_id, page, data) VALUES ($1, $2, $3)"
            )
            .bind(a.id)
            .bind(i as i64 + 1)
            .bind(data.as_slice())
            .execute(c)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    /// Bind the uploader's draft attachments of this room's part to a confirmed post. Returns how
    /// many were bound (fewer than asked means one was not a draft of theirs).
    pub async fn bind_attachment(
        &mut self,
        id: &str,
        post_id: &str,
        uploader: &str,
        room: &str,
        part: Part,
    ) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
            "UPDATE attachments SET post_id = $2 WHERE id = $1 AND uploader_id = $3 AND room_id = $4 AND part = $5 \
             AND post_id IS NULL"
        )
        .bind(id)
        .bind(post_id)
        .bind(uploader)
        .bind(room)
        .bind(part.code())
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }
}
