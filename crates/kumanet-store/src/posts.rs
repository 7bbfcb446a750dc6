//! Posts, their versions, read cursors and 了解 (第10条, R10.6).
//!
//! Posts carry a region-wide sequence number, assigned inside the writing transaction while the
//! audit chain's lock is held (PostgreSQL) or by the single writer (SQLite), so `seq` follows
//! commit order: a read cursor ("read through seq n") never skips a post committed later.

use kumanet_core::people::Profession;
use kumanet_core::policy::post::Part;
use kumanet_core::Micros;
use serde::Serialize;

use crate::db::{on_read, on_tx, RowExt};
use crate::{Result, Store, StoreError, Tx};

/// Where a post is and who wrote it: what the gate needs to decide.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostMeta {
    pub id: String,
    pub seq: i64,
    pub room_id: String,
    pub part: Part,
    pub author_id: String,
}

/// A post as members see it (the body of a deleted post is not handed out).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostView {
    pub id: String,
    pub seq: i64,
    pub room_id: String,
    pub part: Part,
    pub author_id: String,
    pub author_name: String,
    pub author_profession: Option<Profession>,
    pub author_facility: Option<String>,
    pub created_at: Micros,
    pub version: i64,
    pub body: String,
    pub body_sha256: String,
    pub edited_at: Option<Micros>,
    pub deleted_at: Option<Micros>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostVersion {
    pub version: i64,
    pub body: String,
    pub body_sha256: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostAck {
    pub post_id: String,
    pub user_id: String,
    pub name: String,
    pub acked_at: Micros,
}

/// How far one member has read a room's part.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadMark {
    pub user_id: String,
    pub name: String,
    pub read_seq: i64,
    pub read_at: Micros,
}

pub struct NewPost<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    pub part: Part,
    pub author_id: &'a str,
    pub body: &'a str,
    pub body_sha256: &'a str,
}

const POST_COLUMNS: &str = "p.id, p.seq, p.room_id, p.part, p.author_id, u.name AS author_name, \
    u.profession AS author_profession, f.name AS author_facility, p.created_at, p.version, \
    CASE WHEN p.deleted_at IS NULL THEN p.body ELSE '' END AS body, p.body_sha256, p.edited_at, p.deleted_at";
const POST_FROM: &str = "posts p JOIN users u ON u.id = p.author_id LEFT JOIN facilities f ON f.id = u.facility_id";

fn part_of(code: &str) -> Result<Part> {
    Part::from_code(code).ok_or_else(|| StoreError::Corrupt(format!("posts.part = {code}")))
}

fn row_to_post(r: &impl RowExt) -> Result<PostView> {
    let profession = match r.opt_text("author_profession")? {
        Some(p) => Some(Profession::from_code(&p).ok_or_else(|| StoreError::Corrupt(format!("profession = {p}")))?),
        None => None,
    };
    Ok(PostView {
        id: r.text("id")?,
        seq: r.int("seq")?,
        room_id: r.text("room_id")?,
        part: part_of(&r.text("part")?)?,
        author_id: r.text("author_id")?,
        author_name: r.text("author_name")?,
        author_profession: profession,
        author_facility: r.opt_text("author_facility")?,
        created_at: r.int("created_at")?,
        version: r.int("version")?,
        body: r.text("body")?,
        body_sha256: r.text("body_sha256")?,
        edited_at: r.opt_int("edited_at")?,
        deleted_at: r.opt_int("deleted_at")?,
    })
}

impl Store {
    pub async fn post_meta(&self, id: &str) -> Result<Option<PostMeta>> {
        let row: Option<(String, i64, String, String, String)> =
            on_read!(self, |c| sqlx::query_as("SELECT id, seq, room_id, part, author_id FROM posts WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await?);
        row.map(|(id, seq, room_id, part, author_id)| {
            Ok(PostMeta { id, seq, room_id, part: part_of(&part)?, author_id })
        })
        .transpose()
    }

    pub async fn post(&self, id: &str) -> Result<Option<PostView>> {
        let sql = format!("SELECT {POST_COLUMNS} FROM {POST_FROM} WHERE p.id = $1");
        on_read!(self, |c| sqlx::query(&sql).bind(id).fetch_optional(c).await?.as_ref().map(row_to_post).transpose())
    }

    /// The latest `limit` posts of a room's part before `before_seq` (all when None), oldest first.
    pub async fn posts(&self, room_id: &str, part: Part, before_seq: Option<i64>, limit: i64) -> Result<Vec<PostView>> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM {POST_FROM} WHERE p.room_id = $1 AND p.part = $2 AND p.seq < $3 \
             ORDER BY p.seq DESC LIMIT $4"
        );
        let mut posts: Vec<PostView> = on_read!(self, |c| sqlx::query(&sql)
            .bind(room_id)
            .bind(part.code())
            .bind(before_seq.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(c)
            .await?
            .iter()
            .map(row_to_post)
            .collect::<Result<Vec<_>>>())?;
        posts.reverse();
        Ok(posts)
    }

    /// Every confirmed version of a post, the first first.
    pub async fn post_versions(&self, post_id: &str) -> Result<Vec<PostVersion>> {
        let rows: Vec<(i64, String, String, i64)> = on_read!(self, |c| sqlx::query_as(
            "SELECT version, body, body_sha256, created_at FROM post_versions WHERE post_id = $1 ORDER BY version"
        )
        .bind(post_id)
        .fetch_all(c)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(version, body, body_sha256, created_at)| PostVersion { version, body, body_sha256, created_at })
            .collect())
    }

    /// 了解 on the posts of a room's part with `seq` in `from..=to`.
    pub async fn acks(&self, room_id: &str, part: Part, from: i64, to: i64) -> Result<Vec<PostAck>> {
        let rows: Vec<(String, String, String, i64)> = on_read!(self, |c| sqlx::query_as(
            "SELECT a.post_id, a.user_id, u.name, a.acked_at FROM post_acks a \
             JOIN posts p ON p.id = a.post_id JOIN users u ON u.id = a.user_id \
             WHERE p.room_id = $1 AND p.part = $2 AND p.seq >= $3 AND p.seq <= $4 ORDER BY a.acked_at, u.kana"
        )
        .bind(room_id)
        .bind(part.code())
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(post_id, user_id, name, acked_at)| PostAck { post_id, user_id, name, acked_at })
            .collect())
    }

    /// Every member's read cursor on a room's part.
    pub async fn read_marks(&self, room_id: &str, part: Part) -> Result<Vec<ReadMark>> {
        let rows: Vec<(String, String, i64, i64)> = on_read!(self, |c| sqlx::query_as(
            "SELECT r.user_id, u.name, r.read_seq, r.read_at FROM room_reads r JOIN users u ON u.id = r.user_id \
             WHERE r.room_id = $1 AND r.part = $2 ORDER BY u.kana, u.id"
        )
        .bind(room_id)
        .bind(part.code())
        .fetch_all(c)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(user_id, name, read_seq, read_at)| ReadMark { user_id, name, read_seq, read_at })
            .collect())
    }

    /// Unread posts by others, per group the user is an active member of (both parts):
    /// (group id, patient's name, count), the most unread first.
    pub async fn unread_counts(&self, user_id: &str) -> Result<Vec<(String, String, i64)>> {
        on_read!(self, |c| Ok(sqlx::query_as(
            "SELECT m.group_id, pt.name, COUNT(p.id) AS n FROM group_members m \
             JOIN patient_groups g ON g.id = m.group_id JOIN patients pt ON pt.id = g.patient_id \
             JOIN posts p ON p.room_id = m.group_id AND p.author_id <> m.user_id AND p.deleted_at IS NULL \
             LEFT JOIN room_reads r ON r.room_id = m.group_id AND r.part = p.part AND r.user_id = m.user_id \
             WHERE m.user_id = $1 AND m.removed_at IS NULL AND p.part IN ('pro', 'shared') \
             AND p.seq > COALESCE(r.read_seq, 0) GROUP BY m.group_id, pt.name ORDER BY n DESC, pt.name"
        )
        .bind(user_id)
        .fetch_all(c)
        .await?))
    }
}

impl Tx {
    /// The next post number, under the lock that orders commits (see the module comment).
    async fn next_post_seq(&mut self) -> Result<i64> {
        self.pg_lock(7310002).await?;
        let seq: i64 =
            on_tx!(self, |c| sqlx::query_scalar("SELECT COALESCE(MAX(seq), CAST(0 AS BIGINT)) + 1 FROM posts")
                .fetch_one(c)
                .await?);
        Ok(seq)
    }

    /// R10.6: a confirmed post and its first version. Returns its sequence number.
    pub async fn insert_post(&mut self, p: &NewPost<'_>, now: Micros) -> Result<i64> {
        let seq = self.next_post_seq().await?;
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO posts (id, seq, room_id, part, author_id, created_at, version, body, body_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)"
        )
        .bind(p.id)
        .bind(seq)
        .bind(p.room_id)
        .bind(p.part.code())
        .bind(p.author_id)
        .bind(now)
        .bind(p.body)
        .bind(p.body_sha256)
        .execute(c)
        .await?
        .rows_affected());
        self.insert_version(p.id, 1, p.body, p.body_sha256, now).await?;
        Ok(seq)
    }

    async fn insert_version(&mut self, post_id: &str, version: i64, body: &str, sha: &str, now: Micros) -> Result<()> {
        on_tx!(self, |c| sqlx::query(
            "INSERT INTO post_versions (post_id, version, body, body_sha256, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(post_id)
        .bind(version)
        .bind(body)
        .bind(sha)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    /// R10.6: a new version; the earlier ones stay. None when the post is gone or deleted.
    pub async fn edit_post(&mut self, post_id: &str, body: &str, sha: &str, now: Micros) -> Result<Option<i64>> {
        let current: Option<i64> =
            on_tx!(self, |c| sqlx::query_scalar("SELECT version FROM posts WHERE id = $1 AND deleted_at IS NULL")
                .bind(post_id)
                .fetch_optional(c)
                .await?);
        let Some(current) = current else { return Ok(None) };
        let version = current + 1;
        self.insert_version(post_id, version, body, sha, now).await?;
        on_tx!(self, |c| sqlx::query(
            "UPDATE posts SET version = $2, body = $3, body_sha256 = $4, edited_at = $5 WHERE id = $1"
        )
        .bind(post_id)
        .bind(version)
        .bind(body)
        .bind(sha)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(Some(version))
    }

    /// A tombstone: the post stays (with every version) for the audit, shown as deleted.
    pub async fn delete_post(&mut self, post_id: &str, by: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE posts SET deleted_at = $2, deleted_by = $3 WHERE id = $1 AND deleted_at IS NULL"
        )
        .bind(post_id)
        .bind(now)
        .bind(by)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// 了解. False when it had been given already.
    pub async fn ack_post(&mut self, post_id: &str, user_id: &str, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "INSERT INTO post_acks (post_id, user_id, acked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (post_id, user_id) DO NOTHING"
        )
        .bind(post_id)
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Move a member's read cursor forward (never back). True when it moved.
    pub async fn mark_read(&mut self, room_id: &str, part: Part, user_id: &str, seq: i64, now: Micros) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO room_reads (room_id, part, user_id, read_seq, read_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (room_id, part, user_id) DO UPDATE SET read_seq = excluded.read_seq, read_at = excluded.read_at \
             WHERE room_reads.read_seq < excluded.read_seq"
        )
        .bind(room_id)
        .bind(part.code())
        .bind(user_id)
        .bind(seq)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }
}

/// A post found by search, with the name of its room: the patient whose group it is in, or the
/// board's name (R5.4).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub post: PostView,
    pub room_name: String,
}

/// Below this many matches in the whole region, the trigram index drives a search.
const FTS_SELECTIVE: i64 = 2_000;

/// `%text%` for LIKE, with the wildcard characters escaped (ESCAPE '\').
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// The audit form of a search query (see `kumanet_core::audit::query_digest`).
    pub fn query_digest(&self, text: &str) -> String {
        kumanet_core::audit::query_digest(&self.audit_key, text)
    }

    /// Posts containing `text` in the groups where `user_id` is an active member (both parts),
    /// newest first. 3+ characters use the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL);
    /// shorter queries scan the member's rooms.
    pub async fn search_posts(&self, user_id: &str, text: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        // The trigram index pays when the words are rare in the region; for common ones (or
        // fewer than 3 characters) scanning the member's own rooms by their index is bounded by
        // the size of those rooms, not the region's.
        let selective = match &*self.db {
            crate::db::Db::Sqlite { read, .. } if text.chars().count() >= 3 => {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT rowid FROM posts_fts WHERE posts_fts MATCH $1 LIMIT $2)",
                )
                .bind(&phrase)
                .bind(FTS_SELECTIVE)
                .fetch_one(read)
                .await?;
                n < FTS_SELECTIVE
            }
            _ => false,
        };
        let (from, cond, arg) = match (self.backend(), selective) {
            (crate::Backend::Sqlite, true) => (
                "posts_fts s JOIN posts p ON p.rowid = s.rowid \
                 JOIN group_members m ON m.group_id = p.room_id AND m.user_id = $1 AND m.removed_at IS NULL",
                "posts_fts MATCH $2",
                phrase,
            ),
            // CROSS JOIN fixes SQLite's join order: the member's rooms first, then their posts.
            (crate::Backend::Sqlite, false) => (
                "group_members m CROSS JOIN posts p ON p.room_id = m.group_id",
                "m.user_id = $1 AND m.removed_at IS NULL AND p.body LIKE $2 ESCAPE '\\'",
                like_pattern(text),
            ),
            (crate::Backend::Postgres, _) => (
                "group_members m JOIN posts p ON p.room_id = m.group_id",
                "m.user_id = $1 AND m.removed_at IS NULL AND p.body ILIKE $2 ESCAPE '\\'",
                like_pattern(text),
            ),
        };
        let sql = format!(
            "SELECT {POST_COLUMNS}, pt.name AS room_name FROM {from} \
             JOIN patient_groups g ON g.id = p.room_id JOIN patients pt ON pt.id = g.patient_id \
             JOIN users u ON u.id = p.author_id LEFT JOIN facilities f ON f.id = u.facility_id \
             WHERE {cond} AND p.deleted_at IS NULL AND p.part IN ('pro', 'shared') ORDER BY p.seq DESC LIMIT $3"
        );
        let mut hits = self.search_rows(&sql, user_id, &arg, limit).await?;
        // Boards are few and small beside the patients' groups: their posts are scanned.
        let boards = format!(
            "SELECT {POST_COLUMNS}, b.name AS room_name FROM board_members m \
             JOIN posts p ON p.room_id = m.board_id JOIN boards b ON b.id = m.board_id \
             JOIN users u ON u.id = p.author_id LEFT JOIN facilities f ON f.id = u.facility_id \
             WHERE m.user_id = $1 AND m.removed_at IS NULL AND p.part = 'board' AND p.deleted_at IS NULL \
             AND p.body {like} $2 ESCAPE '\\' ORDER BY p.seq DESC LIMIT $3",
            like = if self.backend() == crate::Backend::Postgres { "ILIKE" } else { "LIKE" }
        );
        hits.extend(self.search_rows(&boards, user_id, &like_pattern(text), limit).await?);
        hits.sort_by_key(|h| std::cmp::Reverse(h.post.seq));
        hits.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(hits)
    }

    async fn search_rows(&self, sql: &str, user_id: &str, arg: &str, limit: i64) -> Result<Vec<SearchHit>> {
        on_read!(self, |c| sqlx::query(sql)
            .bind(user_id)
            .bind(arg)
            .bind(limit)
            .fetch_all(c)
            .await?
            .iter()
            .map(|r| Ok(SearchHit { post: row_to_post(r)?, room_name: r.text("room_name")? }))
            .collect())
    }
}
