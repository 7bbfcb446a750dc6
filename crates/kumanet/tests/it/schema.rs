//! One product on two databases: after every migration, SQLite and PostgreSQL hold the same
//! tables with the same columns (issue 18, part 7). Only the search index differs by design:
//! SQLite's FTS5 tables; PostgreSQL indexes the posts themselves with pg_trgm.

use std::collections::BTreeSet;
use std::str::FromStr;

use crate::helpers::*;

/// SQLite's own tables and the FTS5 index with its shadow tables.
fn sqlite_only(table: &str) -> bool {
    table.starts_with("sqlite_") || table.contains("_fts")
}

async fn sqlite_columns(srv: &Srv) -> BTreeSet<(String, String)> {
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&srv.database_url).unwrap();
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().filter(|(t, _)| !sqlite_only(t)).collect()
}

async fn postgres_columns(srv: &Srv) -> BTreeSet<(String, String)> {
    let opts = sqlx::postgres::PgConnectOptions::from_str(&srv.database_url).unwrap();
    let pool = sqlx::PgPool::connect_with(opts).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'",
    )
    .bind(srv.pg_schema.as_deref().unwrap())
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_hold_the_same_tables_and_columns() {
    let lite = spawn(Backend::Sqlite).await.unwrap();
    let Some(pg) = spawn(Backend::Postgres).await else { return };
    let a = sqlite_columns(&lite).await;
    let b = postgres_columns(&pg).await;
    assert!(a.len() > 100, "{} columns read from SQLite", a.len());
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_postgres: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migrated schemas differ:\n only in SQLite: {only_sqlite:?}\n only in PostgreSQL: {only_postgres:?}"
    );
}
