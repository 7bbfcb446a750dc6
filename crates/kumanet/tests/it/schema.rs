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

both!(store_story_people_sessions_patients_consent_and_group, |srv: Srv| async move {
    use kumanet_core::people::{FacilityKind, Profession, Role, UserStatus};
    use kumanet_core::policy::patient::{ConsentState, Consenter, EligibilityBasis, Sex};
    use kumanet_core::secret::Secret;
    use kumanet_store::{ConsentScan, NewConsent, NewFacility, NewPatient, NewUser, Session};
    // The store's own functions, called directly, as the services call them: the same story
    // must read back the same on both engines (atuin's story test per backend).
    let store = &srv.store;
    let now = 1_700_000_000_000_000;
    let mut tx = store.begin().await.unwrap();
    tx.insert_facility(
        &NewFacility {
            id: "fac-story".into(),
            name: "ものがたり診療所".into(),
            kana: "ものがたりしんりょうじょ".into(),
            kind: FacilityKind::Clinic,
            address: "熊谷市".into(),
            phone: "048-000-0000".into(),
        },
        now,
    )
    .await
    .unwrap();
    tx.insert_user(
        &NewUser {
            id: "u-story".into(),
            login_id: "dr.story".into(),
            name: "物語 太郎".into(),
            kana: "ものがたり たろう".into(),
            role: Role::Staff,
            profession: Some(Profession::Doctor),
            facility_id: Some("fac-story".into()),
            email: String::new(),
            phone: String::new(),
            status: UserStatus::Approved,
            password_hash: Secret::new("$argon2id$story"),
            password_issued: false,
            password_expires_at: None,
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let u = store.user_by_login("dr.story").await.unwrap().unwrap();
    assert_eq!((u.id.as_str(), u.name.as_str(), u.password_hash.expose()), ("u-story", "物語 太郎", "$argon2id$story"));
    assert_eq!(u.facility_id.as_deref(), Some("fac-story"));

    // A session: found by its hash with its user, touched, deleted.
    let mut tx = store.begin().await.unwrap();
    tx.insert_session(&Session {
        token_hash: Secret::new("hash-story"),
        user_id: u.id.clone(),
        csrf_token: Secret::new("csrf-story"),
        ip: "127.0.0.1".into(),
        created_at: now,
        last_seen_at: now,
        device_hash: None,
    })
    .await
    .unwrap();
    tx.touch_session("hash-story", now + 5).await.unwrap();
    tx.commit().await.unwrap();
    let (s, su) = store.session("hash-story").await.unwrap().unwrap();
    assert_eq!((s.last_seen_at, s.csrf_token.expose(), su.id.as_str()), (now + 5, "csrf-story", "u-story"));
    assert_eq!(store.session_count(&u.id).await.unwrap(), 1);
    let mut tx = store.begin().await.unwrap();
    tx.delete_session("hash-story").await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.session("hash-story").await.unwrap().is_none());

    // A patient, a consent with two cleaned pages, a group with its member; then withdrawal.
    let mut tx = store.begin().await.unwrap();
    tx.insert_patient(
        &NewPatient {
            id: "p-story".into(),
            name: "熊谷 物語".into(),
            kana: "くまがや ものがたり".into(),
            birth_date: "1940-04-01".into(),
            sex: Sex::Female,
            address: "熊谷市".into(),
            attending_id: u.id.clone(),
            basis: EligibilityBasis::HomeVisits,
            basis_reason: String::new(),
            created_by: u.id.clone(),
        },
        now,
    )
    .await
    .unwrap();
    tx.insert_consent(
        &NewConsent {
            id: "c-story".into(),
            patient_id: "p-story".into(),
            explained_by: u.id.clone(),
            consenter: Consenter::Patient,
            consenter_name: "熊谷 物語".into(),
            relationship: "本人".into(),
            consented_on: "2026-12-01".into(),
            scope: "共有".into(),
            scan: Some(ConsentScan {
                mime: "application/pdf",
                original: Some(b"%PDF-story".to_vec()),
                pages: vec![b"page-1".to_vec(), b"page-2".to_vec()],
            }),
            recorded_by: u.id.clone(),
        },
        now + 10,
    )
    .await
    .unwrap();
    tx.insert_group("g-story", "p-story", &u.id, now + 20).await.unwrap();
    tx.add_member("g-story", &u.id, now + 20).await.unwrap();
    tx.commit().await.unwrap();
    let c = store.latest_consent("p-story").await.unwrap().unwrap();
    assert_eq!((c.scan_type.as_deref(), c.scan_pages, c.recorded_at), (Some("application/pdf"), 2, now + 10));
    assert_eq!(store.consent_scan_page("c-story", 2).await.unwrap().unwrap(), b"page-2");
    assert!(store.consent_scan_page("c-story", 3).await.unwrap().is_none());
    assert_eq!(
        store.consent_scan("c-story").await.unwrap().unwrap(),
        (b"%PDF-story".to_vec(), "application/pdf".into())
    );
    let ctx = store.patient_context("p-story", &u.id).await.unwrap().unwrap();
    assert_eq!((ctx.consent, ctx.is_member, ctx.is_family), (ConsentState::Given, true, false));
    assert_eq!(ctx.group.map(|g| g.id), Some("g-story".to_string()));
    assert!(store.is_member("g-story", &u.id).await.unwrap());
    assert_eq!(store.members("g-story").await.unwrap().len(), 1);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.withdraw_consent("c-story", &u.id, "本人より電話", now + 30).await.unwrap());
    assert!(!tx.withdraw_consent("c-story", &u.id, "二度目", now + 31).await.unwrap(), "only once");
    tx.commit().await.unwrap();
    let ctx = store.patient_context("p-story", &u.id).await.unwrap().unwrap();
    assert_eq!(ctx.consent, ConsentState::Withdrawn);
    // A transaction dropped without commit leaves nothing behind.
    {
        let mut tx = store.begin().await.unwrap();
        tx.add_member("g-story", "u-nobody", now + 40).await.ok();
    }
    assert_eq!(store.members("g-story").await.unwrap().len(), 1);
});
