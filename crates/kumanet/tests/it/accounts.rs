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

/// One login attempt through the page: the answer and the Argon2 verifications it cost.
async fn attempt(srv: &Srv, c: &Client, login_id: &str, password: &str) -> (Resp, u64) {
    let before = srv.app.hasher.verifications();
    let r = c.post_form("/login", &[("login_id", login_id), ("password", password)]).await;
    (r, srv.app.hasher.verifications() - before)
}

/// The same through the API.
async fn api_attempt(srv: &Srv, c: &Client, login_id: &str, password: &str) -> (Resp, u64) {
    let before = srv.app.hasher.verifications();
    let r = c.api("POST", "/api/v1/login", serde_json::json!({ "login_id": login_id, "password": password })).await;
    (r, srv.app.hasher.verifications() - before)
}

const WRONG: &str = "wrong password 1!";

both!(r8_6_r11_1_ten_failures_lock_the_id_and_tell_the_admin_and_the_user, |srv: Srv| async move {
    let w = world(&srv).await;
    let stranger = Client::from_address(&srv, [127, 0, 0, 2]);
    for i in 1..=9 {
        let (r, cost) = attempt(&srv, &stranger, "nurse.a", WRONG).await;
        assert_eq!((r.status, cost), (401, 1), "attempt {i}");
        assert!(r.body.contains("ログインIDまたはパスワードが正しくありません。"));
        // A minute between attempts: past this address's delay, which doubles after the third.
        srv.clock.advance(MICROS_PER_MINUTE);
    }
    let (r, cost) = attempt(&srv, &stranger, "nurse.a", WRONG).await;
    assert_eq!((r.status, cost), (429, 1), "the 10th failure locks");
    assert!(r.body.contains("このIDでのログインを一時的に制限しています"), "{}", r.body);
    assert_eq!(r.headers["retry-after"], "900");
    // Locked for every browser the user has not logged in on, at any address: even the right
    // password is not checked.
    let (r, cost) = attempt(&srv, &Client::new(&srv), "nurse.a", PASSWORD).await;
    assert_eq!((r.status, cost), (429, 0));
    let locked = audit_rows(&srv, "auth.locked").await;
    assert_eq!(locked.len(), 1);
    let row = &locked[0].record;
    assert_eq!(row.target_id.as_deref(), Some(w.nurse_id.as_str()));
    assert_eq!(row.ip.as_deref(), Some("127.0.0.2"));
    assert!(row.details.contains("\"scope\":\"id\"") && row.details.contains("\"failures\":10"), "{}", row.details);
    // R8.6: the facility admin is told, and so is the user (whose session is still open).
    let home = w.admin_a.get("/").await;
    assert!(
        home.body.contains("看護 太郎さん(ログインID: nurse.a)のIDで、ログインの失敗が10回続いたため"),
        "{}",
        home.body
    );
    let home = w.nurse.get("/").await;
    assert!(home.body.contains("あなたのID(ログインID: nurse.a)で、ログインの失敗が10回続きました"), "{}", home.body);
    // R11.1: after 15 minutes the lock ends, is written down, and the right password works again.
    srv.clock.advance(15 * MICROS_PER_MINUTE);
    let (_, r) = login(&srv, "nurse.a", PASSWORD).await;
    assert_eq!(r.status, 303);
    let ended = audit_rows(&srv, "auth.unlocked").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].record.target_id.as_deref(), Some(w.nurse_id.as_str()));
    assert_eq!(ended[0].record.reason.as_deref(), Some("expired"));
});

// ASVS 6.3.8, R8.6: an ID that does not exist and one that does — approved, with an issued
// password not yet changed, or suspended (tried with its right password) — get the same answer
// at the same cost, attempt by attempt, through every state: fresh, some failures, held back by
// the address's delay, locked, and after the lock.
both!(r8_6_asvs_6_3_8_unknown_and_known_ids_answer_alike_in_every_state, |srv: Srv| async move {
    let w = world(&srv).await;
    let staff = format!("/facilities/{}/staff", w.fac_a);
    create_person(&srv, &w.admin_a, &staff, "new.starter", "nurse").await;
    let (gone_id, gone_pw) = create_person(&srv, &w.admin_a, &staff, "gone.away", "nurse").await;
    approve_all(&srv, &w.center).await;
    let r = w.admin_a.post_form(&format!("/users/{gone_id}/suspend"), &[("reason", "退職")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let known = [("nurse.a", WRONG.to_string()), ("new.starter", WRONG.to_string()), ("gone.away", gone_pw)];
    // What happens between two steps: nothing (so the address's delay holds attempts back), a
    // minute (past it), and once the lock's 15 minutes.
    let mut waits = vec![0, 0, 0];
    waits.extend([MICROS_PER_MINUTE; 8]);
    waits.extend([0, 15 * MICROS_PER_MINUTE, 0]);
    let normalize = |body: &str, id: &str| {
        body.replace(id, "ID").lines().filter(|l| !l.contains("name=\"csrf\"")).collect::<Vec<_>>().join("\n")
    };
    let mut seen = std::collections::BTreeSet::new();
    for (id, password) in &known {
        let unknown = format!("no.{}", id.replace('.', "-"));
        let stranger = Client::from_address(&srv, [127, 0, 0, 2]);
        for (step, wait) in waits.iter().enumerate() {
            let (a, cost_a) = attempt(&srv, &stranger, &unknown, password).await;
            let (b, cost_b) = attempt(&srv, &stranger, id, password).await;
            let (ja, api_cost_a) = api_attempt(&srv, &stranger, &unknown, password).await;
            let (jb, api_cost_b) = api_attempt(&srv, &stranger, id, password).await;
            let at = format!("{id}, step {step}");
            assert_eq!((a.status, cost_a), (b.status, cost_b), "{at}");
            assert_eq!(normalize(&a.body, &unknown), normalize(&b.body, id), "{at}");
            assert_eq!(a.headers.get("retry-after"), b.headers.get("retry-after"), "{at}");
            assert_eq!((ja.status, api_cost_a, ja.json()), (jb.status, api_cost_b, jb.json()), "{at}");
            assert_eq!(ja.headers.get("retry-after"), jb.headers.get("retry-after"), "{at}");
            assert!(cost_b <= 1 && api_cost_b <= 1, "{at}: at most one Argon2 verification an attempt");
            seen.insert((b.status, cost_b));
            seen.insert((jb.status, api_cost_b));
            srv.clock.advance(*wait);
        }
        // Fresh for the next ID.
        srv.clock.advance(kumanet_core::MICROS_PER_DAY);
    }
    // The steps went through every kind of answer: checked and refused, held back without a
    // check, and the failure that locks.
    for expected in [(401, 1), (429, 0), (429, 1)] {
        assert!(seen.contains(&expected), "never saw {expected:?}: {seen:?}");
    }
});

fn median(mut v: Vec<std::time::Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

/// 20 attempts each on an unknown and a known ID, interleaved; the median time of each. Fresh: a
/// day between rounds, when everything earlier is forgotten, so each attempt is a first one.
async fn timed_attempts(srv: &Srv, c: &Client, fresh: bool) -> (f64, f64) {
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        if fresh {
            srv.clock.advance(kumanet_core::MICROS_PER_DAY);
        }
        for (id, times) in [("nobody.here", &mut unknown), ("nurse.a", &mut known)] {
            let started = std::time::Instant::now();
            let (r, cost) = attempt(srv, c, id, WRONG).await;
            times.push(started.elapsed());
            assert_eq!((r.status, cost), if fresh { (401, 1) } else { (429, 0) }, "{id}");
        }
    }
    (median(unknown), median(known))
}

// ASVS 6.3.8, R8.6: 20 attempts each on an ID that does not exist and on one that does cost the
// same — one Argon2 verification each while fresh, none while held back — and take about as long
// (medians of interleaved attempts, a generous ratio: the verification counts are the exact proof).
both!(r8_6_asvs_6_3_8_an_attempt_costs_the_same_for_unknown_and_known_ids, |srv: Srv| async move {
    let _w = world(&srv).await;
    let stranger = Client::from_address(&srv, [127, 0, 0, 3]);
    let (fresh_unknown, fresh_known) = timed_attempts(&srv, &stranger, true).await;
    // Lock both, a minute between failures.
    for _ in 0..10 {
        srv.clock.advance(MICROS_PER_MINUTE);
        attempt(&srv, &stranger, "nobody.here", WRONG).await;
        attempt(&srv, &stranger, "nurse.a", WRONG).await;
    }
    let (held_unknown, held_known) = timed_attempts(&srv, &stranger, false).await;
    eprintln!(
        "login medians ({:?}): fresh unknown {:.1} ms, known {:.1} ms; held back unknown {:.1} ms, known {:.1} ms",
        srv.backend,
        fresh_unknown * 1e3,
        fresh_known * 1e3,
        held_unknown * 1e3,
        held_known * 1e3
    );
    let ratio = |a: f64, b: f64| a.max(b) / a.min(b);
    assert!(ratio(fresh_unknown, fresh_known) < 2.5, "fresh: {fresh_unknown} s vs {fresh_known} s");
    assert!(ratio(held_unknown, held_known) < 4.0, "held back: {held_unknown} s vs {held_known} s");
});

// R8.6 (ASVS 6.1.1, OWASP device cookies): a stranger's failures elsewhere do not keep the user
// out of a browser the user has logged in on; that browser keeps its own count.
both!(r8_6_a_strangers_failures_do_not_keep_the_user_out_of_a_known_device, |srv: Srv| async move {
    let w = world(&srv).await;
    // Logging in made the nurse's browser a known device: a long-lived cookie, only its hash kept.
    let (c, r) = login(&srv, "nurse.a", PASSWORD).await;
    let set = r.set_cookies().into_iter().find(|s| s.starts_with("__Host-kumanet_device=")).expect("device cookie");
    for attr in ["Path=/", "Max-Age=34560000", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Domain"), "{set}");
    let token = c.cookie("__Host-kumanet_device").unwrap();
    assert_eq!(token.len(), 64, "256 random bits");
    let devices = srv.store.known_devices(&w.nurse_id).await.unwrap();
    assert!(devices.iter().any(|d| d.device_hash == kumanet_web::passwords::token_hash(&token)));
    assert!(devices.iter().all(|d| d.device_hash != token), "only the hash is stored");
    // Logging out ends the session, not the device.
    let device = w.nurse;
    device.post_form("/logout", &[]).await;
    assert!(device.cookie("__Host-kumanet_device").is_some());

    // A stranger's failures hold back the stranger's own address first, not the user's.
    let stranger = Client::from_address(&srv, [127, 0, 0, 2]);
    for _ in 0..4 {
        assert_eq!(attempt(&srv, &stranger, "nurse.a", WRONG).await.0.status, 401);
    }
    assert_eq!(attempt(&srv, &stranger, "nurse.a", WRONG).await.0.status, 429, "the stranger's address waits");
    login_ok(&srv, "nurse.a", PASSWORD).await;
    // Then the ID is locked against every browser the user has not logged in on.
    let mut tries = 0;
    while audit_rows(&srv, "auth.locked").await.is_empty() {
        srv.clock.advance(MICROS_PER_MINUTE);
        attempt(&srv, &stranger, "nurse.a", WRONG).await;
        tries += 1;
        assert!(tries <= 10, "the ID locks within the threshold");
    }
    let (r, _) = attempt(&srv, &Client::new(&srv), "nurse.a", PASSWORD).await;
    assert_eq!(r.status, 429, "a new browser, even at the user's address, is held back");
    // The known device gets in.
    let (r, cost) = attempt(&srv, &device, "nurse.a", PASSWORD).await;
    assert_eq!((r.status, cost), (303, 1), "{}", r.body);
    let logins = audit_rows(&srv, "auth.login").await;
    assert!(logins[0].record.details.contains("\"known_device\":true"), "{}", logins[0].record.details);
    device.post_form("/logout", &[]).await;
    // The device counts its own failures: ten lock it too (told to the admin like the ID's lock).
    for i in 1..=10 {
        let (r, cost) = attempt(&srv, &device, "nurse.a", WRONG).await;
        assert_eq!((r.status, cost), (if i == 10 { 429 } else { 401 }, 1), "failure {i} on the device");
    }
    let locks = audit_rows(&srv, "auth.locked").await;
    assert_eq!(locks.len(), 2);
    assert!(locks[0].record.details.contains("\"scope\":\"device\""), "{}", locks[0].record.details);
    assert!(w.admin_a.get("/").await.body.contains("その端末からのログインを15分間止めました"));
    let (r, cost) = attempt(&srv, &device, "nurse.a", PASSWORD).await;
    assert_eq!((r.status, cost), (429, 0), "locked device, locked ID");
    // Both locks run out, and each end is written down.
    srv.clock.advance(15 * MICROS_PER_MINUTE);
    assert_eq!(attempt(&srv, &device, "nurse.a", PASSWORD).await.0.status, 303);
    assert_eq!(audit_rows(&srv, "auth.unlocked").await.len(), 2);
});

// R8.4, ASVS 7.4.3: changing one's password ends the user's other sessions (and forgets the
// other browsers as known devices); the session it was changed in stays. Audited.
both!(r8_4_a_password_change_ends_the_other_sessions, |srv: Srv| async move {
    let w = world(&srv).await;
    let phone = login_ok(&srv, "nurse.a", PASSWORD).await;
    let tablet = login_ok(&srv, "nurse.a", PASSWORD).await;
    assert_eq!(phone.get("/profile").await.status, 200);
    assert_eq!(srv.store.session_count(&w.nurse_id).await.unwrap(), 3);
    assert_eq!(change_password(&w.nurse, PASSWORD, PASSWORD2).await.status, 303);
    assert_eq!(w.nurse.get("/profile").await.status, 200, "the current session stays");
    assert_eq!(phone.get("/profile").await.location(), "/login");
    assert_eq!(tablet.api("GET", "/api/v1/session", serde_json::json!({})).await.status, 401);
    assert_eq!(w.admin_a.get("/profile").await.status, 200, "other users are not touched");
    let row = &audit_rows(&srv, "auth.password_changed").await[0].record;
    assert!(row.details.contains("\"other_sessions_ended\":2"), "{}", row.details);
    let devices = srv.store.known_devices(&w.nurse_id).await.unwrap();
    let mine = kumanet_web::passwords::token_hash(&w.nurse.cookie("__Host-kumanet_device").unwrap());
    assert_eq!(devices.iter().map(|d| d.device_hash.clone()).collect::<Vec<_>>(), vec![mine]);
    // The same through the API.
    const THIRD: &str = "夕焼けの丘で4匹の猫が眠っている。";
    let api = login_ok(&srv, "nurse.a", PASSWORD2).await;
    let r = api
        .api(
            "POST",
            "/api/v1/password",
            serde_json::json!({ "current": PASSWORD2, "password": THIRD, "password_confirm": THIRD }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["other_sessions_ended"], 1);
    assert_eq!(w.nurse.get("/profile").await.location(), "/login");
    assert_eq!(api.get("/profile").await.status, 200);
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
    // The center finds suspended IDs by their status, on the page and through the API alike.
    let page = w.center.get("/center/users?status=suspended").await;
    assert!(page.body.contains("nurse.a"), "{}", page.body);
    assert!(!w.center.get("/center/users?status=pending").await.body.contains("nurse.a"));
    let listed = w.center.get("/api/v1/users?status=suspended").await.json();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["user"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [w.nurse_id.as_str()]);
    let pending = w.center.get("/api/v1/users?status=pending").await.json();
    assert!(pending.as_array().unwrap().iter().all(|p| p["user"]["status"] == "pending"));
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
