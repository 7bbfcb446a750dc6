//! Accounts: login, sessions, passwords, lock-out, policy acceptance (R1.1, R1.2, R6.1, R6.3,
//! R8.1–R8.4, R8.6, R9.2).

use crate::helpers::*;
use kumanet_core::{MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

both!(r9_2_r8_4_session_cookie_and_login_form, |srv: Srv| async move {
    let w = world(&srv).await;
    let c = Client::new(&srv);
    let page = c.get("/login").await;
    // R9.2: the form does not invite the browser to save the password.
    assert!(page.body.contains("<form method=\"post\" action=\"/login\" class=\"card\" autocomplete=\"off\">"));
    assert!(page.body.contains("id=\"f-password\" name=\"password\" type=\"password\" autocomplete=\"off\""));
    // R1.2: the purpose is stated on the login page.
    assert!(page.body.contains("id=\"purpose\""), "{}", page.body);
    assert!(page.body.contains("同意を得て登録された患者さんの療養を支えるための情報共有にのみ使用します"));
    let r = c.post_form("/login", &[("login_id", "nurse.a"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 303);
    let set = r.set_cookies().into_iter().find(|s| s.starts_with("__Host-kumanet_session=")).expect("session cookie");
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Max-Age") && !set.contains("Expires"), "a browser-session cookie: {set}");
    let token = c.cookie("__Host-kumanet_session").unwrap();
    assert!(token.len() >= 32, "at least 128 bits of token");
    // Only the token's hash is stored.
    assert!(srv.store.session(&token).await.unwrap().is_none());
    // A new token at every login.
    let again = login_ok(&srv, "nurse.a", PASSWORD).await;
    assert_ne!(again.cookie("__Host-kumanet_session").unwrap(), token);
    // R8.4: logout ends the server session; the old cookie no longer works.
    let stolen = Client::new(&srv);
    stolen.set_cookie("__Host-kumanet_session", &token);
    assert_eq!(stolen.get("/profile").await.status, 200);
    let out = c.post_form("/logout", &[]).await;
    assert_eq!(out.location(), "/login?reason=logout");
    assert_eq!(stolen.get("/profile").await.location(), "/login");
    assert_eq!(audit_rows(&srv, "auth.logout").await.len(), 1);
    drop(w);
});

both!(r8_6_ten_failures_lock_and_tell_the_admin, |srv: Srv| async move {
    let w = world(&srv).await;
    for i in 0..9 {
        let (_, r) = login(&srv, "nurse.a", "wrong password 1!").await;
        assert_eq!(r.status, 401, "attempt {i}");
        assert!(r.body.contains("ログインIDまたはパスワードが正しくありません。"));
    }
    let (_, r) = login(&srv, "nurse.a", "wrong password 1!").await;
    assert!(r.body.contains("一時的にロックされています"), "the 10th failure locks");
    // Locked: even the right password is refused.
    let (_, r) = login(&srv, "nurse.a", PASSWORD).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("一時的にロックされています"));
    assert_eq!(audit_rows(&srv, "auth.locked").await.len(), 1);
    // The facility admin is told.
    let home = w.admin_a.get("/").await;
    assert!(home.body.contains("ロックされました"), "admin notified: {}", home.body);
    // After 15 minutes the right password works again.
    srv.clock.advance(15 * MICROS_PER_MINUTE);
    let (_, r) = login(&srv, "nurse.a", PASSWORD).await;
    assert_eq!(r.status, 303);
});

both!(r8_6_per_address_limit_answers_429, |srv: Srv| async move {
    drop(srv);
    let web = kumanet_web::WebConfig { login_attempts_per_minute: 3, ..test_web_config() };
    let backend = if std::thread::current().name().unwrap_or("").ends_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let Some(srv) = spawn_with(backend, web).await else { return };
    let c = Client::new(&srv);
    for _ in 0..3 {
        let r = c.post_form("/login", &[("login_id", "nobody"), ("password", "x")]).await;
        assert_eq!(r.status, 401);
    }
    let r = c.post_form("/login", &[("login_id", "nobody"), ("password", "x")]).await;
    assert_eq!(r.status, 429);
    assert!(r.body.contains("ログインの試行が多すぎます"));
    assert_eq!(audit_rows(&srv, "auth.rate_limited").await.len(), 1);
    srv.clock.advance(61 * MICROS_PER_SECOND);
    assert_eq!(c.post_form("/login", &[("login_id", "nobody"), ("password", "x")]).await.status, 401);
});

both!(r8_3_unknown_id_and_wrong_password_look_the_same, |srv: Srv| async move {
    let _w = world(&srv).await;
    let (_, a) = login(&srv, "nobody.here", "Some password 1!").await;
    let (_, b) = login(&srv, "nurse.a", "Some password 1!").await;
    assert_eq!(a.status, b.status);
    let strip = |s: &str| s.replace("nobody.here", "X").replace("nurse.a", "X");
    let no_csrf = |s: String| s.lines().filter(|l| !l.contains("name=\"csrf\"")).collect::<Vec<_>>().join("\n");
    assert_eq!(no_csrf(strip(&a.body)), no_csrf(strip(&b.body)));
    // R8.3: stored as Argon2id with the required parameters; no password in clear anywhere.
    let u = srv.store.user_by_login("nurse.a").await.unwrap().unwrap();
    assert!(u.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    let all =
        srv.store.audit_search(&kumanet_store::AuditFilter { limit: 100_000, ..Default::default() }).await.unwrap();
    for row in all {
        let text = format!("{:?}", row.record);
        assert!(
            !text.contains(PASSWORD) && !text.contains("Some password 1!"),
            "password in audit row {}",
            row.record.seq
        );
    }
});

both!(r8_1_r8_2_password_change_rules_and_history, |srv: Srv| async move {
    let w = world(&srv).await;
    let c = &w.nurse;
    // Too short, with the reason in plain Japanese next to the field; what was typed is not echoed.
    let r = change_password(c, PASSWORD, "Ab1!").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("パスワードが短すぎます"));
    assert!(r.body.contains("id=\"e-password\""));
    // The user's own words.
    let r = change_password(c, PASSWORD, "nurse.a-の合言葉は7つ!").await;
    assert_eq!(r.status, 422, "login id inside is refused");
    // Wrong current password.
    let r = change_password(c, "not my password 9!", PASSWORD2).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("現在のパスワードが正しくありません"));
    // Similar to the current one.
    let similar = "月と8つの星が見える夜です!";
    let r = change_password(c, PASSWORD, similar).await;
    assert_eq!(r.status, 422, "{}", r.body);
    // A good one: accepted; a 13+ character password never expires.
    assert_eq!(change_password(c, PASSWORD, PASSWORD2).await.status, 303);
    let u = srv.store.user_by_login("nurse.a").await.unwrap().unwrap();
    assert_eq!(u.password_expires_at, None);
    // R8.2: going back to a previous password is refused (history).
    let r = change_password(c, PASSWORD2, PASSWORD).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("過去10回分"), "{}", r.body);
    // A strong 8–12 character password expires after the configured period (R8.1).
    let short = "Kq7#vZp2mX";
    let r = change_password(c, PASSWORD2, short).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let u = srv.store.user_by_login("nurse.a").await.unwrap().unwrap();
    assert_eq!(u.password_expires_at, Some(u.password_set_at + 60 * 24 * MICROS_PER_HOUR));
    srv.clock.advance(60 * 24 * MICROS_PER_HOUR);
    assert_eq!(c.get("/").await.location(), "/login?reason=expired", "that session ended long ago");
    let c = login_ok(&srv, "nurse.a", short).await;
    assert_eq!(c.get("/").await.location(), "/password", "an expired password must be changed first");
});

both!(r6_1_issued_password_single_use_and_expires_after_72_hours, |srv: Srv| async move {
    let w = world(&srv).await;
    let (_, pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "late.starter", "nurse").await;
    let (_, pw2) = create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "on.time", "nurse").await;
    // Before it is changed, every page leads to the password change.
    let c = login_ok(&srv, "late.starter", &pw).await;
    assert_eq!(c.get("/").await.location(), "/password");
    assert_eq!(c.get("/directory").await.location(), "/password");
    srv.clock.advance(72 * MICROS_PER_HOUR + MICROS_PER_SECOND);
    let (_, r) = login(&srv, "late.starter", &pw).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("有効期限(72時間)が切れています"));
    // A password issued by a reset is valid 72 hours from the reset; once changed, it is gone for good.
    let admin = login_ok(&srv, "admin.a", PASSWORD).await;
    let on_time = srv.store.user_by_login("on.time").await.unwrap().unwrap();
    let r = admin.post_form(&format!("/users/{}/password-reset", on_time.id), &[("reason", "再発行")]).await;
    let pw2_new = r.by_id("issued-password").expect("reissued");
    assert_ne!(pw2_new, pw2);
    assert_eq!(login(&srv, "on.time", &pw2).await.1.status, 401, "the old issued password stopped working");
    activate(&srv, "on.time", &pw2_new).await;
    let pw2 = pw2_new;
    let (_, r) = login(&srv, "on.time", &pw2).await;
    assert_eq!(r.status, 401);
});

both!(r8_4_idle_timeout_and_absolute_lifetime, |srv: Srv| async move {
    let _w = world(&srv).await;
    let c = login_ok(&srv, "nurse.a", PASSWORD).await;
    srv.clock.advance(14 * MICROS_PER_MINUTE + 59 * MICROS_PER_SECOND);
    assert_eq!(c.get("/profile").await.status, 200, "activity at 14:59 keeps the session");
    srv.clock.advance(15 * MICROS_PER_MINUTE + MICROS_PER_SECOND);
    let r = c.get("/profile").await;
    assert_eq!(r.location(), "/login?reason=idle");
    assert!(c.get("/login?reason=idle").await.body.contains("一定時間操作がなかったため"));
    assert_eq!(audit_rows(&srv, "auth.idle_expired").await.len(), 1);
    // Absolute lifetime: 12 hours however active.
    let c = login_ok(&srv, "nurse.a", PASSWORD).await;
    for _ in 0..(12 * 6 + 5) {
        srv.clock.advance(10 * MICROS_PER_MINUTE);
        if c.get("/profile").await.status != 200 {
            break;
        }
    }
    assert_eq!(audit_rows(&srv, "auth.session_expired").await.len(), 1);
    assert_eq!(c.get("/profile").await.location(), "/login", "the ended session is gone");
});

both!(r6_3_suspension_ends_open_sessions_at_once, |srv: Srv| async move {
    let w = world(&srv).await;
    assert_eq!(w.nurse.get("/profile").await.status, 200);
    let second = login_ok(&srv, "nurse.a", PASSWORD).await;
    let r = w.admin_a.post_form(&format!("/users/{}/suspend", w.nurse_id), &[("reason", "スマートフォンの紛失")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("2件の接続を終了しました"), "{}", r.body);
    assert_eq!(w.nurse.get("/profile").await.location(), "/login");
    assert_eq!(second.api("GET", "/api/v1/session", serde_json::json!({})).await.status, 401);
    let (_, r) = login(&srv, "nurse.a", PASSWORD).await;
    assert_eq!(r.status, 401, "a suspended ID cannot log in");
    // The center lifts it.
    let r =
        w.center.post_form(&format!("/center/users/{}/resume", w.nurse_id), &[("reason", "端末が見つかった")]).await;
    assert_eq!(r.status, 303);
    login_ok(&srv, "nurse.a", PASSWORD).await;
});

both!(r1_1_a_new_policy_version_is_accepted_again, |srv: Srv| async move {
    let w = world(&srv).await;
    assert_eq!(w.nurse.get("/").await.status, 200);
    let r = w
        .center
        .post_form("/center/policy", &[("purpose", "改定した利用目的です。"), ("body", "第2版の本文です。")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // At the next request, everyone is asked again — the center too.
    assert_eq!(w.nurse.get("/").await.location(), "/policy");
    assert_eq!(w.center.get("/center/audit").await.location(), "/policy");
    let p = w.nurse.get("/policy").await;
    assert!(p.body.contains("第2版の本文です。") && p.body.contains("第2版"));
    // Without ticking the boxes: refused with the reasons.
    let r = w.nurse.post_form("/policy", &[("version", "2")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("運用ポリシーに同意いただく必要があります"));
    accept_policy(&w.nurse).await;
    assert_eq!(w.nurse.get("/").await.status, 200);
    let login_page = Client::new(&srv).get("/login").await;
    assert!(login_page.body.contains("改定した利用目的です。"), "R1.2: the current purpose on the login page");
    assert_eq!(audit_rows(&srv, "policy.published").await.len(), 1);
});

both!(r9_2_csrf_and_origin_are_checked, |srv: Srv| async move {
    let w = world(&srv).await;
    let path = format!("/users/{}/suspend", w.nurse_id);
    // No token.
    let r = w.admin_a.send("POST", &path, Some(("application/x-www-form-urlencoded", "reason=x".into())), &[]).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("別のサイトからの送信"));
    // Right token, foreign Origin.
    let csrf = w.admin_a.csrf().await;
    let body = format!("reason=x&csrf={csrf}");
    let r = w
        .admin_a
        .send("POST", &path, Some(("application/x-www-form-urlencoded", body)), &[("origin", "https://evil.example")])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        srv.store.user_by_id(&w.nurse_id).await.unwrap().unwrap().status,
        kumanet_core::people::UserStatus::Approved
    );
    // A forged post is refused before anything is decided: no audit row for it.
    let denied = audit_rows(&srv, "access.denied").await.len();
    let r = w
        .nurse
        .send("POST", "/center/settings", Some(("application/x-www-form-urlencoded", "region_name=x".into())), &[])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("別のサイトからの送信"));
    assert_eq!(audit_rows(&srv, "access.denied").await.len(), denied);
    // JSON API: unknown fields are refused (no mass assignment).
    let r = w
        .center
        .api(
            "POST",
            "/api/v1/facilities",
            serde_json::json!({
                "name": "x", "kana": "えっくす", "kind": "clinic", "address": "a", "phone": "1", "approved": true
            }),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("未知の項目"));
});
