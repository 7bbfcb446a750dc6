//! R11.1: the audit log — chained, append-only, fail closed, searchable and exportable by the center.

use crate::helpers::*;

both!(r11_1_tampering_with_any_row_is_named, |srv: Srv| async move {
    let _w = world(&srv).await;
    let n = srv.store.audit_count().await.unwrap();
    assert!(n > 15, "the story left {n} rows");
    assert_eq!(srv.store.audit_verify().await.unwrap(), Ok(n));
    // The triggers refuse UPDATE and DELETE.
    let err = raw_sql(&srv, "UPDATE audit_log SET reason = 'x' WHERE seq = 5").await.unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    let err = raw_sql(&srv, "DELETE FROM audit_log WHERE seq = 5").await.unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    // Someone with the database but not the key drops the trigger and edits a row.
    let target = n / 2;
    let drop_trigger = match srv.backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    raw_sql(&srv, drop_trigger).await.unwrap();
    raw_sql(&srv, &format!("UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = {target}")).await.unwrap();
    let broken = srv.store.audit_verify().await.unwrap().unwrap_err();
    assert_eq!(broken.seq(), target);
    assert!(broken.to_string().contains("altered"), "{broken}");
});

both!(r11_1_deleted_row_is_found, |srv: Srv| async move {
    let _w = world(&srv).await;
    let drop_trigger = match srv.backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_delete",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    raw_sql(&srv, drop_trigger).await.unwrap();
    raw_sql(&srv, "DELETE FROM audit_log WHERE seq = 7").await.unwrap();
    assert_eq!(srv.store.audit_verify().await.unwrap().unwrap_err().seq(), 8);
});

both!(r11_1_fail_closed_when_the_log_cannot_be_written, |srv: Srv| async move {
    let w = world(&srv).await;
    let block = match srv.backend {
        Backend::Sqlite => "CREATE TRIGGER audit_blocked BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit storage full'); END;",
        Backend::Postgres => "CREATE FUNCTION audit_blocked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit storage full'; END; $$; \
             CREATE TRIGGER audit_blocked BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_blocked();",
    };
    raw_sql(&srv, block).await.unwrap();
    let r = w.admin_a.post_form(&format!("/users/{}/suspend", w.nurse_id), &[("reason", "紛失")]).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("記録を残せないため操作を中止しました"));
    assert!(r.body.contains("受付番号"));
    let nurse = srv.store.user_by_id(&w.nurse_id).await.unwrap().unwrap();
    assert_eq!(nurse.status, kumanet_core::people::UserStatus::Approved, "nothing done without its audit row");
    // A read of someone else's data is not served either.
    assert_eq!(w.center.get(&format!("/center/users/{}", w.nurse_id)).await.status, 503);
    let unblock = match srv.backend {
        Backend::Sqlite => "DROP TRIGGER audit_blocked",
        Backend::Postgres => "DROP TRIGGER audit_blocked ON audit_log",
    };
    raw_sql(&srv, unblock).await.unwrap();
    let r = w.admin_a.post_form(&format!("/users/{}/suspend", w.nurse_id), &[("reason", "紛失")]).await;
    assert_eq!(r.status, 200);
    assert!(srv.store.audit_verify().await.unwrap().is_ok());
});

both!(r11_1_rows_say_who_when_where_what_and_the_center_searches_and_exports, |srv: Srv| async move {
    let w = world(&srv).await;
    let logins = audit_rows(&srv, "auth.login").await;
    let nurse_login = logins.iter().find(|r| r.record.actor_user_id.as_deref() == Some(w.nurse_id.as_str())).unwrap();
    assert_eq!(nurse_login.record.actor_role.as_deref(), Some("staff"));
    assert_eq!(nurse_login.record.actor_facility_id.as_deref(), Some(w.fac_a.as_str()));
    assert_eq!(nurse_login.record.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(nurse_login.record.ts, T0, "UTC microseconds from the server's clock");
    assert_eq!(nurse_login.record.result, "ok");
    // The center's search page, filtered by action.
    let page = w.center.get("/center/audit?action=auth.login").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ログイン") && page.body.contains("看護 太郎"), "{}", page.body);
    assert_eq!(page.body.matches("<tr class=\"result-").count(), logins.len(), "filtered to logins");
    // By the person's login id, as the center knows them.
    let mine = srv
        .store
        .audit_search(&kumanet_store::AuditFilter {
            actor_user_id: Some(w.nurse_id.clone()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let page = w.center.get("/center/audit?user=nurse.a").await;
    assert_eq!(page.body.matches("<tr class=\"result-").count(), mine);
    // Export.
    let csv = w.center.get("/center/audit.csv?action=auth.login").await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.body.starts_with("\u{feff}seq,ts_utc,actor_user_id"));
    assert_eq!(csv.body.lines().count(), logins.len() + 1);
    assert!(csv.body.contains(&nurse_login.entry_hash));
    // Reading and exporting the log are logged too.
    assert!(!audit_rows(&srv, "audit.viewed").await.is_empty());
    assert_eq!(audit_rows(&srv, "audit.exported").await.len(), 1);
});
