//! R11.1: the audit chain's head — the newest row's sequence number and hash — kept in a file
//! outside the database, beside the audit key, and rewritten after every commit that appended
//! to the chain. Whoever can change the database but not that file can still delete the newest
//! rows and leave a shorter chain that verifies; `audit verify` and `serve` compare the database
//! with the file and find it.
//!
//! The file is replaced atomically (write, then rename) but not synced: after a power cut it may
//! name an older row than the database holds, which is fine (the rows after it are still
//! checked by the chain); it never names a row that was not committed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kumanet_core::audit::ChainHead;

use crate::db::on_read;
use crate::{Result, Store, StoreError};

pub(crate) struct HeadFile {
    path: Option<PathBuf>,
    /// The sequence number the file holds (it only moves forward).
    saved: Mutex<i64>,
}

impl HeadFile {
    pub(crate) fn new(path: Option<PathBuf>) -> HeadFile {
        HeadFile { path, saved: Mutex::new(0) }
    }

    /// What the file says; None when there is no file (or nothing readable in it).
    fn read(&self) -> Option<ChainHead> {
        let text = std::fs::read_to_string(self.path.as_ref()?).ok()?;
        let head = ChainHead::parse(&text);
        if head.is_none() {
            tracing::warn!("the audit head file holds no head; it is written anew");
        }
        head
    }

    /// After a commit: record `head` unless the file already names a later row. A failure to
    /// write (a full disk) is logged; the next commit tries again.
    pub(crate) fn advance(&self, head: ChainHead) {
        let Some(path) = &self.path else { return };
        let Ok(mut saved) = self.saved.lock() else { return };
        if head.seq <= *saved {
            return;
        }
        match write_atomically(path, &head.to_line()) {
            Ok(()) => *saved = head.seq,
            Err(e) => tracing::warn!("cannot write the audit head file {}: {e}", path.display()),
        }
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("head-new");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(text.as_bytes())?;
    drop(f);
    std::fs::rename(&tmp, path)
}

impl Store {
    /// The newest row of the audit log in the database.
    pub async fn audit_head(&self) -> Result<Option<ChainHead>> {
        let row: Option<(i64, String)> =
            on_read!(self, |c| sqlx::query_as("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(c)
                .await?);
        Ok(row.map(|(seq, hash)| ChainHead { seq, hash }))
    }

    /// The head kept outside the database, if this store keeps one and it exists.
    pub fn audit_head_file(&self) -> Option<ChainHead> {
        self.head.read()
    }

    /// Before serving: the row the head file names must be in the database with the hash it
    /// recorded; if not, the newest rows were deleted (or the database is an older copy) and the
    /// server does not start over the evidence. Then the file is brought up to the database's
    /// head (written for the first time if there was none).
    pub async fn check_audit_head(&self) -> Result<()> {
        if self.head.path.is_none() {
            return Ok(());
        }
        if let Some(kept) = self.head.read() {
            let hash: Option<String> =
                on_read!(self, |c| sqlx::query_scalar("SELECT entry_hash FROM audit_log WHERE seq = $1")
                    .bind(kept.seq)
                    .fetch_optional(c)
                    .await?);
            let last = self.audit_head().await?.map_or(0, |h| h.seq);
            match hash {
                Some(h) if h == kept.hash => {
                    if let Ok(mut saved) = self.head.saved.lock() {
                        *saved = kept.seq;
                    }
                }
                Some(_) => {
                    return Err(StoreError::Startup(format!(
                        "the audit log's row seq={} is not the one recorded in the audit head file: the log was \
                         rewritten from there. Run `kumanet audit verify` and restore the database from a backup",
                        kept.seq
                    )))
                }
                None => {
                    return Err(StoreError::Startup(format!(
                        "the audit log ends at seq={last} but the audit head file records seq={}: the newest rows \
                         were deleted, or this database is an older copy. Run `kumanet audit verify` and restore \
                         the database from a backup",
                        kept.seq
                    )))
                }
            }
        }
        if let Some(now) = self.audit_head().await? {
            self.head.advance(now);
        }
        Ok(())
    }
}
