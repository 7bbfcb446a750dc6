use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kumanet_core::audit::ChainHead;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Postgres, Row, Sqlite};

use crate::head::HeadFile;
use crate::{Result, StoreError};

/// Migrations, by name, for both engines: the same names in the same order, always.
pub const MIGRATIONS: &[(&str, &str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        "0002_patients",
        include_str!("../migrations/sqlite/0002_patients.sql"),
        include_str!("../migrations/postgres/0002_patients.sql"),
    ),
    (
        "0003_family",
        include_str!("../migrations/sqlite/0003_family.sql"),
        include_str!("../migrations/postgres/0003_family.sql"),
    ),
    (
        "0004_posts",
        include_str!("../migrations/sqlite/0004_posts.sql"),
        include_str!("../migrations/postgres/0004_posts.sql"),
    ),
    (
        "0005_attachments",
        include_str!("../migrations/sqlite/0005_attachments.sql"),
        include_str!("../migrations/postgres/0005_attachments.sql"),
    ),
    (
        "0006_search",
        include_str!("../migrations/sqlite/0006_search.sql"),
        include_str!("../migrations/postgres/0006_search.sql"),
    ),
    (
        "0007_notices",
        include_str!("../migrations/sqlite/0007_notices.sql"),
        include_str!("../migrations/postgres/0007_notices.sql"),
    ),
    (
        "0008_boards",
        include_str!("../migrations/sqlite/0008_boards.sql"),
        include_str!("../migrations/postgres/0008_boards.sql"),
    ),
    (
        "0009_directory",
        include_str!("../migrations/sqlite/0009_directory.sql"),
        include_str!("../migrations/postgres/0009_directory.sql"),
    ),
    (
        "0011_login_throttle",
        include_str!("../migrations/sqlite/0011_login_throttle.sql"),
        include_str!("../migrations/postgres/0011_login_throttle.sql"),
    ),
    (
        "0012_consent_scan_pages",
        include_str!("../migrations/sqlite/0012_consent_scan_pages.sql"),
        include_str!("../migrations/postgres/0012_consent_scan_pages.sql"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) enum Db {
    /// One writer connection (SQLite has one writer; it also keeps the audit chain in order)
    /// and a pool of readers that never wait for it (WAL).
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// Where the data lives and how to reach it.
#[derive(Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/kumanet.db` or `postgres://…`.
    pub url: String,
    /// PostgreSQL only: the schema to use (tests give each run its own).
    pub pg_schema: Option<String>,
    pub max_connections: u32,
    /// R11.1: the file that keeps the audit chain's head outside the database (beside the key);
    /// None keeps none.
    pub audit_head_file: Option<std::path::PathBuf>,
}

/// Printed without the password or query of the URL.
impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("url", &kumanet_core::secret::redact_url(&self.url))
            .field("pg_schema", &self.pg_schema)
            .field("max_connections", &self.max_connections)
            .field("audit_head_file", &self.audit_head_file)
            .finish()
    }
}

#[derive(Clone)]
pub struct Store {
    pub(crate) db: Arc<Db>,
    pub(crate) audit_key: Arc<Vec<u8>>,
    /// R11.1: the audit chain's head, written outside the database after every commit.
    pub(crate) head: Arc<HeadFile>,
    /// Group commit (see `batch.rs`): started with the first batched write.
    pub(crate) batcher: Arc<crate::batch::Batcher>,
}

/// A connection taken from the pool for one transaction.
pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// The transaction's connection, for one statement.
pub(crate) enum ConnRef<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

/// A write transaction. Dropped without `commit`, it rolls back.
///
/// R11.3: nothing is acknowledged that is not saved. The transaction is run by hand (BEGIN,
/// COMMIT, ROLLBACK on a connection of its own) so that its state is never guessed: a statement
/// that fails marks it failed, and a failed transaction runs no more statements and never
/// commits (PostgreSQL would answer COMMIT of an aborted transaction with a silent rollback;
/// SQLite may have rolled it back by itself after a full disk or an I/O error, and the next
/// statement would run outside any transaction). When COMMIT or ROLLBACK itself fails, the
/// connection's state is unknown, so the connection is closed rather than returned to the pool:
/// the next transaction starts on a fresh one, which is how the server recovers by itself once
/// the disk has room again.
pub struct Tx {
    conn: Option<Conn>,
    /// BEGIN ran and neither COMMIT nor ROLLBACK has yet.
    open: bool,
    /// A statement failed and was not undone (by a rollback to a savepoint).
    pub(crate) failed: bool,
    pub(crate) audit_key: Arc<Vec<u8>>,
    /// The newest audit row this transaction appended, for the head file once it commits.
    pub(crate) audit_head: Option<ChainHead>,
    head: Arc<HeadFile>,
}

/// Run `$body` with `$c` bound to a reader of the chosen engine.
macro_rules! on_read {
    ($store:expr, |$c:ident| $body:expr) => {
        match &*$store.db {
            $crate::db::Db::Sqlite { read, .. } => {
                let $c = read;
                $body
            }
            $crate::db::Db::Postgres(pool) => {
                let $c = pool;
                $body
            }
        }
    };
}

/// Run `$body` with `$c` bound to the transaction's connection. The transaction counts as
/// failed from before the statement until it has succeeded, so a `?` in the body that returns
/// early (or a caller that stops waiting) leaves it failed: it runs nothing more and never
/// commits.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {{
        let tx: &mut $crate::db::Tx = &mut *$tx;
        tx.statement_starts()?;
        let v = match tx.conn_mut()? {
            $crate::db::ConnRef::Sqlite($c) => $body,
            $crate::db::ConnRef::Postgres($c) => $body,
        };
        tx.failed = false;
        v
    }};
}
pub(crate) use {on_read, on_tx};

/// Reading a column the same way from either engine's row.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
}

macro_rules! row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get::<String, _>(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get::<Option<String>, _>(col)?)
            }
            fn int(&self, col: &str) -> Result<i64> {
                Ok(self.try_get::<i64, _>(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get::<Option<i64>, _>(col)?)
            }
        }
    };
}
row_ext!(SqliteRow);
row_ext!(PgRow);

/// A write transaction on `db` (the single writer on SQLite).
pub(crate) async fn begin_on(db: &Db, audit_key: &Arc<Vec<u8>>, head: &Arc<HeadFile>) -> Result<Tx> {
    let (conn, begin) = match db {
        // IMMEDIATE: take the write lock now, so a busy database fails here, not at COMMIT.
        Db::Sqlite { write, .. } => (Conn::Sqlite(write.acquire().await?), "BEGIN IMMEDIATE"),
        Db::Postgres(p) => (Conn::Postgres(p.acquire().await?), "BEGIN"),
    };
    let mut tx = Tx {
        conn: Some(conn),
        open: false,
        failed: false,
        audit_key: audit_key.clone(),
        audit_head: None,
        head: head.clone(),
    };
    if let Err(e) = tx.exec(begin).await {
        // A connection that cannot begin (one left inside a transaction, or a broken one) is
        // not given back to the pool.
        tx.discard();
        return Err(e);
    }
    tx.open = true;
    Ok(tx)
}

impl Store {
    /// Open the database chosen by the URL's scheme, check its settings and run the migrations.
    pub async fn open(opts: &StoreOptions, audit_key: Vec<u8>) -> Result<Store> {
        let db = if opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://") {
            // Named in pg_stat_activity: `kumanet`, or `kumanet <schema>` for a schema of its own.
            let mut connect = PgConnectOptions::from_str(&opts.url)?.application_name("kumanet");
            if let Some(schema) = &opts.pg_schema {
                connect =
                    connect.options([("search_path", schema.as_str())]).application_name(&format!("kumanet {schema}"));
            }
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await?;
            Db::Postgres(pool)
        } else {
            let connect = SqliteConnectOptions::from_str(&opts.url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let write = SqlitePoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(2))
                .connect_with(connect.read_only(true))
                .await?;
            Db::Sqlite { write, read }
        };
        let head = Arc::new(HeadFile::new(opts.audit_head_file.clone()));
        let store = Store { db: Arc::new(db), audit_key: Arc::new(audit_key), head, batcher: Arc::default() };
        store.check_engine().await?;
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        match &*self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// SQLite must run with WAL, synchronous=FULL and foreign keys on: checked, not assumed.
    async fn check_engine(&self) -> Result<()> {
        if let Db::Sqlite { write, .. } = &*self.db {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(write).await?;
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(write).await?;
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(write).await?;
            if !mode.eq_ignore_ascii_case("wal") || sync != 2 || fk != 1 {
                return Err(StoreError::Startup(format!(
                    "SQLite runs with journal_mode={mode}, synchronous={sync}, foreign_keys={fk}; \
                     Kumanet needs wal, 2 (FULL) and 1"
                )));
            }
        }
        Ok(())
    }

    /// Apply the migrations not yet applied, each in its own transaction. Idempotent.
    pub async fn migrate(&self) -> Result<Vec<&'static str>> {
        let create = "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)";
        match &*self.db {
            Db::Sqlite { write, .. } => {
                sqlx::query(create).execute(write).await?;
            }
            Db::Postgres(p) => {
                // Several nodes may start at once: one migrates, the others wait.
                sqlx::query(create).execute(p).await?;
            }
        }
        let mut applied = Vec::new();
        let tx_backend = self.backend();
        for (name, sqlite_sql, pg_sql) in MIGRATIONS {
            let mut tx = self.begin().await?;
            tx.pg_lock(7310001).await?;
            let done: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
                "SELECT CAST(1 AS BIGINT) FROM schema_migrations WHERE name = $1"
            )
            .bind(*name)
            .fetch_optional(c)
            .await?);
            if done.is_some() {
                continue;
            }
            on_tx!(&mut tx, |c| {
                let sql = if matches!(tx_backend, Backend::Sqlite) { *sqlite_sql } else { *pg_sql };
                sqlx::raw_sql(sql).execute(c).await?.rows_affected()
            });
            on_tx!(&mut tx, |c| sqlx::query("INSERT INTO schema_migrations (name, applied_at) VALUES ($1, 0)")
                .bind(*name)
                .execute(c)
                .await?
                .rows_affected());
            tx.commit().await?;
            applied.push(*name);
        }
        Ok(applied)
    }

    /// Begin a write transaction (on SQLite, on the one writer connection).
    pub async fn begin(&self) -> Result<Tx> {
        begin_on(&self.db, &self.audit_key, &self.head).await
    }

    /// GET /healthz: does the database answer?
    pub async fn ping(&self) -> Result<()> {
        let _: i64 = on_read!(self, |c| sqlx::query_scalar("SELECT CAST(1 AS BIGINT)").fetch_one(c).await?);
        Ok(())
    }

    pub async fn close(&self) {
        match &*self.db {
            Db::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    /// Before a statement: refused once one has failed; marked failed until it succeeds.
    pub(crate) fn statement_starts(&mut self) -> Result<()> {
        if self.failed {
            return Err(StoreError::Batch("an earlier statement of this transaction failed".into()));
        }
        self.failed = true;
        Ok(())
    }

    /// The connection for one statement (an error once the transaction has ended).
    pub(crate) fn conn_mut(&mut self) -> Result<ConnRef<'_>> {
        match self.conn.as_mut() {
            Some(Conn::Sqlite(c)) => Ok(ConnRef::Sqlite(c)),
            Some(Conn::Postgres(c)) => Ok(ConnRef::Postgres(c)),
            None => Err(StoreError::Batch("the transaction has ended".into())),
        }
    }

    /// A statement without parameters or results (transaction control, savepoints).
    pub(crate) async fn exec(&mut self, sql: &str) -> Result<()> {
        on_tx!(self, |c| sqlx::query(sql).execute(c).await?.rows_affected());
        Ok(())
    }

    /// PostgreSQL: an advisory lock held until the transaction ends (SQLite has one writer).
    pub(crate) async fn pg_lock(&mut self, key: i64) -> Result<()> {
        if let Some(Conn::Postgres(_)) = &self.conn {
            on_tx!(self, |c| sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(c)
                .await?
                .rows_affected());
        }
        Ok(())
    }

    /// R11.3: COMMIT, and only then report success. A transaction in which a statement failed
    /// is not committed; a COMMIT that fails closes the connection (its state is unknown).
    pub async fn commit(mut self) -> Result<()> {
        if self.failed {
            return Err(StoreError::Batch("a statement failed; the transaction was not committed".into()));
        }
        match self.exec("COMMIT").await {
            Ok(()) => {
                self.open = false;
                if let Some(h) = self.audit_head.take() {
                    self.head.advance(h);
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!("commit failed, the connection is discarded: {e}");
                self.discard();
                Err(e)
            }
        }
    }

    /// Close the connection instead of returning it to the pool; the transaction is over (the
    /// database rolls back what was not committed).
    pub(crate) fn discard(&mut self) {
        self.open = false;
        if let Some(conn) = self.conn.take() {
            close(conn);
        }
    }
}

impl Drop for Tx {
    /// Not committed: roll back, on a task of its own (drop cannot wait). If ROLLBACK fails, or
    /// there is no runtime to run it on, the connection is closed instead of reused.
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let Some(conn) = self.conn.take() else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.conn = Some(conn);
            self.discard();
            return;
        };
        rt.spawn(async move {
            let failed = match conn {
                Conn::Sqlite(mut c) => {
                    sqlx::query("ROLLBACK").execute(&mut *c).await.err().map(|e| (e, Conn::Sqlite(c)))
                }
                Conn::Postgres(mut c) => {
                    sqlx::query("ROLLBACK").execute(&mut *c).await.err().map(|e| (e, Conn::Postgres(c)))
                }
            };
            if let Some((e, conn)) = failed {
                tracing::warn!("rollback failed, the connection is discarded: {e}");
                close(conn);
            }
        });
    }
}

/// Close a connection when it is dropped instead of returning it to the pool.
fn close(conn: Conn) {
    match conn {
        Conn::Sqlite(mut c) => c.close_on_drop(),
        Conn::Postgres(mut c) => c.close_on_drop(),
    }
}

/// A PostgreSQL LISTEN connection: how several `kumanet serve` nodes hear each other's commits.
pub struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// The next notification's payload (the connection is re-established if it drops).
    pub async fn recv(&mut self) -> Result<String> {
        Ok(self.0.recv().await?.payload().to_string())
    }
}

impl Store {
    /// LISTEN on `channel`; None on SQLite, where one process is the whole system.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>> {
        match &*self.db {
            Db::Sqlite { .. } => Ok(None),
            Db::Postgres(pool) => {
                let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
                l.listen(channel).await?;
                Ok(Some(Listener(l)))
            }
        }
    }
}

impl Tx {
    /// NOTIFY on PostgreSQL, delivered to every listening node when (and only if) this commits.
    /// Returns false on SQLite, where the caller delivers after the commit itself.
    pub async fn pg_notify(&mut self, channel: &str, payload: &str) -> Result<bool> {
        if let Some(Conn::Sqlite(_)) = &self.conn {
            return Ok(false);
        }
        on_tx!(self, |c| sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(c)
            .await?
            .rows_affected());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// Both engines' migration folders hold the same names, and all of them are listed.
    #[test]
    fn migration_names_match_on_both_engines() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".sql").to_string())
                .collect();
            v.sort();
            v
        };
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| m.0.to_string()).collect();
        assert_eq!(names("sqlite"), listed);
        assert_eq!(names("postgres"), listed);
    }
}
