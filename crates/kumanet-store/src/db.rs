use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Postgres, Row, Sqlite, Transaction};

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
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/kumanet.db` or `postgres://…`.
    pub url: String,
    /// PostgreSQL only: the schema to use (tests give each run its own).
    pub pg_schema: Option<String>,
    pub max_connections: u32,
}

#[derive(Clone)]
pub struct Store {
    pub(crate) db: Arc<Db>,
    pub(crate) audit_key: Arc<Vec<u8>>,
    /// Group commit (see `batch.rs`): started with the first batched write.
    pub(crate) batcher: Arc<crate::batch::Batcher>,
}

pub(crate) enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A write transaction. Dropped without `commit`, it rolls back.
pub struct Tx {
    pub(crate) inner: TxInner,
    pub(crate) audit_key: Arc<Vec<u8>>,
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

/// Run `$body` with `$c` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::db::TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
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
pub(crate) async fn begin_on(db: &Db, audit_key: &Arc<Vec<u8>>) -> Result<Tx> {
    let inner = match db {
        Db::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await?),
        Db::Postgres(p) => TxInner::Postgres(p.begin().await?),
    };
    Ok(Tx { inner, audit_key: audit_key.clone() })
}

impl Store {
    /// Open the database chosen by the URL's scheme, check its settings and run the migrations.
    pub async fn open(opts: &StoreOptions, audit_key: Vec<u8>) -> Result<Store> {
        let db = if opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://") {
            let mut connect = PgConnectOptions::from_str(&opts.url)?;
            if let Some(schema) = &opts.pg_schema {
                connect = connect.options([("search_path", schema.as_str())]);
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
        let store = Store { db: Arc::new(db), audit_key: Arc::new(audit_key), batcher: Arc::default() };
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
        for (name, sqlite_sql, pg_sql) in MIGRATIONS {
            let mut tx = self.begin().await?;
            if let TxInner::Postgres(t) = &mut tx.inner {
                sqlx::query("SELECT pg_advisory_xact_lock(7310001)").execute(&mut **t).await?;
            }
            let done: Option<i64> =
                on_tx!(tx, |c| sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM schema_migrations WHERE name = $1")
                    .bind(*name)
                    .fetch_optional(c)
                    .await?);
            if done.is_some() {
                continue;
            }
            match &mut tx.inner {
                TxInner::Sqlite(t) => {
                    sqlx::raw_sql(sqlite_sql).execute(&mut **t).await?;
                }
                TxInner::Postgres(t) => {
                    sqlx::raw_sql(pg_sql).execute(&mut **t).await?;
                }
            }
            on_tx!(tx, |c| sqlx::query("INSERT INTO schema_migrations (name, applied_at) VALUES ($1, 0)")
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
        begin_on(&self.db, &self.audit_key).await
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
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
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
        match &mut self.inner {
            TxInner::Sqlite(_) => Ok(false),
            TxInner::Postgres(t) => {
                sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&mut **t).await?;
                Ok(true)
            }
        }
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
