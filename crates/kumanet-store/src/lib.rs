//! Storage behind the core. One SQL implementation for SQLite (the embedded default) and
//! PostgreSQL (several nodes, one database). Each query is written once; `on_read!` and `on_tx!`
//! expand its body for the engine chosen at start-up. Methods speak the domain, never SQL.
//!
//! Writes go through [`Tx`]: the business change and its audit row commit together or not at all
//! (R11.1, fail closed).

mod attachments;
mod audit;
mod batch;
mod boards;
mod db;
mod directory;
mod facilities;
mod head;
mod notices;
mod patients;
mod policy;
mod posts;
mod records;
mod sessions;
mod throttle;
mod users;

pub use attachments::{AttachmentMeta, NewAttachment};
pub use audit::{AuditFilter, NewAudit};
pub use batch::TxFuture;
pub use boards::{Board, BoardContext, BoardInvitation, BoardMember, BoardSummary, BOARD_MANAGER, BOARD_MEMBER};
pub use db::{Backend, Listener, Store, StoreOptions, Tx, MIGRATIONS};
pub use directory::{search_text, DirectoryEntry, DirectoryQuery};
pub use notices::NoticeTarget;
pub use patients::PatientContext;
pub use posts::{NewPost, PostAck, PostMeta, PostVersion, PostView, ReadMark, SearchHit};
pub use records::*;
pub use throttle::{EndedLock, KnownDevice};
pub use users::UserQuery;

/// The one error type of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the string names the constraint or column.
    #[error("unique constraint: {0}")]
    Unique(String),
    #[error("not found")]
    NotFound,
    #[error("stored data is not what it should be: {0}")]
    Corrupt(String),
    #[error("database check failed at start-up: {0}")]
    Startup(String),
    /// A write refused by its own rule inside a batch (the message is for the user).
    #[error("refused: {0}")]
    Refused(String),
    /// The shared write transaction could not be committed (or the writer has stopped).
    #[error("batch: {0}")]
    Batch(String),
    #[error(transparent)]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e {
            if d.is_unique_violation() {
                let name = d.constraint().map(str::to_string).unwrap_or_else(|| d.message().to_string());
                return StoreError::Unique(name);
            }
        }
        StoreError::Db(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
