//! Start-up on both engines: migrations are idempotent, the health check answers, SQLite runs
//! with WAL, synchronous=FULL and foreign keys, and every response carries the security headers.

use crate::helpers::*;
use kumanet_store::{Store, StoreOptions};

both!(reopening_migrates_nothing_and_healthz_answers, |srv: Srv| async move {
    let again = Store::open(
        &StoreOptions {
            url: srv.database_url.clone(),
            pg_schema: srv.pg_schema.clone(),
            max_connections: 2,
            audit_head_file: None,
        },
        b"integration-test-audit-key-32-bytes!".to_vec(),
    )
    .await
    .expect("a second start opens the same database");
    assert!(again.migrate().await.unwrap().is_empty(), "nothing left to apply");
    again.ping().await.unwrap();
    again.close().await;
    let c = Client::new(&srv);
    let h = c.get("/healthz").await;
    assert_eq!((h.status, h.body.as_str()), (200, "ok"));
    if srv.backend == Backend::Sqlite {
        let mode: String = {
            let out = std::process::Command::new("sqlite3")
                .arg(srv.data_dir.join("kumanet.db"))
                .arg("PRAGMA journal_mode;")
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        assert_eq!(mode, "wal");
    }
});

both!(r9_3_every_response_carries_no_store_and_a_strict_csp, |srv: Srv| async move {
    let w = world(&srv).await;
    for (client, path) in
        [(&w.center, "/center/audit"), (&w.nurse, "/"), (&w.nurse, "/api/v1/session"), (&w.admin_a, "/nowhere")]
    {
        let r = client.get(path).await;
        let h = |k: &str| r.headers.get(k).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert_eq!(h("cache-control"), "no-store", "{path}");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "same-origin", "no-referrer would make browsers send Origin: null");
        let csp = h("content-security-policy");
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && csp.contains("frame-ancestors 'none'")
        );
    }
    let missing = w.nurse.get("/nowhere").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("お探しのページは見つかりませんでした。"));
    // Pages carry no inline script.
    let home = w.nurse.get("/").await;
    assert!(!home.body.contains("<script>") && home.body.contains("<script src=\"/static/app.js\" defer></script>"));
    // R8.4: a signed-in page reloads itself after the idle limit (the screen is cleared).
    assert!(home.body.contains("<body data-idle-seconds=\"900\">"));
    assert!(Client::new(&srv).get("/login").await.body.contains("<body>"), "not on the login page");
});

both!(r9_2_only_pages_with_an_anonymous_form_mint_the_pre_login_token, |srv: Srv| async move {
    // A browser asks for the stylesheet and script in parallel with the page; if they minted a
    // token of their own, the form's token would no longer match the cookie.
    let c = Client::new(&srv);
    for path in ["/static/app.css", "/static/app.js", "/healthz", "/api/v1/openapi.json", "/"] {
        assert!(c.get(path).await.set_cookies().is_empty(), "{path} sets no cookie");
    }
    let page = c.get("/login").await;
    let minted = c.cookie("__Host-kumanet_csrf").expect("the login page mints it");
    assert!(page.body.contains(&format!("name=\"csrf\" value=\"{minted}\"")));
    assert!(c.get("/static/app.css").await.set_cookies().is_empty());
    assert!(c.get("/login").await.set_cookies().is_empty(), "an existing token is kept");
    // Without the cookie, a login post is refused.
    let fresh = Client::new(&srv);
    let r = fresh
        .send(
            "POST",
            "/login",
            Some(("application/x-www-form-urlencoded", format!("login_id=a&password=b&csrf={minted}"))),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
});
