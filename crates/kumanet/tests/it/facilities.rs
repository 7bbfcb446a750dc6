//! Facilities and IDs (第6条): approval, change and deletion notifications, no self-withdrawal,
//! and the center's settings (R6.1–R6.4, R11.2).

use crate::helpers::*;
use kumanet_core::people::UserStatus;
use kumanet_core::MICROS_PER_MINUTE;

both!(r6_2_center_approval_opens_the_id, |srv: Srv| async move {
    let w = world(&srv).await;
    let (id, pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "pt.new", "physical_therapist")
            .await;
    let c = activate(&srv, "pt.new", &pw).await;
    let home = c.get("/").await;
    assert!(home.body.contains("id=\"pending-approval\""));
    assert_eq!(c.get("/directory").await.status, 403);
    assert!(c.get("/profile").await.body.contains("承認待ち"));
    let queue = w.center.get("/center/applications").await;
    assert!(queue.body.contains("data-login=\"pt.new\""), "{}", queue.body);
    assert!(queue.body.contains("利用申込"));
    approve_all(&srv, &w.center).await;
    assert_eq!(srv.store.user_by_id(&id).await.unwrap().unwrap().status, UserStatus::Approved);
    assert_eq!(c.get("/directory").await.status, 200);
    assert!(w.center.get("/center/applications").await.body.contains("id=\"queue-empty\""));
    assert_eq!(audit_rows(&srv, "application.approved").await.len(), 2);
    // The printable, pre-filled 様式2 and 様式3, for the admin and for the person.
    let forms = w.admin_a.get(&format!("/users/{id}/forms")).await;
    assert_eq!(forms.status, 200);
    for text in [
        "様式2",
        "利用申込書 兼 変更届",
        "様式3",
        "誓約書",
        "看護 太郎",
        "pt.new",
        "理学療法士",
        "ひまわりクリニック",
        "利用申込",
    ] {
        assert!(forms.body.contains(text), "forms lack {text}");
    }
    assert!(forms.by_id("pledge-date").unwrap().contains("2026年11月24日(火) 14:05 にアプリ上で誓約済み"));
    assert_eq!(c.get(&format!("/users/{id}/forms")).await.status, 200, "one's own forms");
    assert_eq!(w.nurse.get(&format!("/users/{id}/forms")).await.status, 403, "not a colleague's");
});

both!(r6_3_change_and_deletion_are_filed_and_processed_by_the_center, |srv: Srv| async move {
    let w = world(&srv).await;
    let r = w
        .admin_a
        .post_form(
            &format!("/users/{}/change", w.nurse_id),
            &[
                ("name", "看護 花子"),
                ("kana", "かんご はなこ"),
                ("profession", "nurse"),
                ("email", ""),
                ("phone", ""),
                ("reason", "改姓"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(srv.store.user_by_id(&w.nurse_id).await.unwrap().unwrap().name, "看護 太郎", "not before approval");
    approve_all(&srv, &w.center).await;
    assert_eq!(srv.store.user_by_id(&w.nurse_id).await.unwrap().unwrap().name, "看護 花子");
    // Deletion: filed once (a second is refused), then the center deletes the ID and its sessions.
    let r = w.admin_a.post_form(&format!("/users/{}/deletion", w.nurse_id), &[("reason", "退職")]).await;
    assert_eq!(r.status, 200);
    let again = w.admin_a.post_form(&format!("/users/{}/deletion", w.nurse_id), &[("reason", "退職")]).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("すでにセンターの審査待ちです"));
    assert_eq!(w.nurse.get("/").await.status, 200, "still in until the center processes it");
    approve_all(&srv, &w.center).await;
    assert_eq!(srv.store.user_by_id(&w.nurse_id).await.unwrap().unwrap().status, UserStatus::Deleted);
    assert_eq!(w.nurse.get("/").await.location(), "/login");
    assert_eq!(login(&srv, "nurse.a", PASSWORD).await.1.status, 401);
    // A rejection needs a reason.
    let (_, _) = create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "x.y", "nurse").await;
    let app = srv.store.pending_applications().await.unwrap().remove(0).application.id;
    let r = w.center.post_form(&format!("/center/applications/{app}"), &[("decision", "reject"), ("note", "")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("差戻しの理由を入力してください"));
});

both!(r6_4_no_self_withdrawal_and_one_login_id_per_person, |srv: Srv| async move {
    let w = world(&srv).await;
    let r = w.admin_a.post_form(&format!("/users/{}/deletion", w.admin_a_id), &[("reason", "やめたい")]).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("ご自身のIDの削除・停止はできません"));
    let denied = audit_rows(&srv, "access.denied").await;
    assert_eq!(denied[0].record.reason.as_deref(), Some("self_withdrawal"));
    // R6.1: one person, one ID — a login id is unique, said next to the field.
    let r = w
        .admin_a
        .post_form(
            &format!("/facilities/{}/staff", w.fac_a),
            &[
                ("login_id", "nurse.a"),
                ("name", "別人"),
                ("kana", "べつじん"),
                ("profession", "nurse"),
                ("email", ""),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("このログインIDはすでに使われています"));
    assert!(r.body.contains("value=\"別人\""), "what was typed is kept");
});

both!(r11_2_center_settings_are_bounded_and_take_effect, |srv: Srv| async move {
    let w = world(&srv).await;
    let form = |idle: &'static str, age: &'static str| {
        vec![
            ("region_name", "熊谷市"),
            ("idle_timeout_minutes", idle),
            ("session_lifetime_hours", "12"),
            ("password_max_age_days", age),
            ("lockout_threshold", "10"),
            ("lockout_minutes", "15"),
            ("family_agreement", "all"),
            ("post_soft_limit", "400"),
        ]
    };
    let r = w.center.post_form("/center/settings", &form("5", "61")).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("パスワードの有効期間は1〜60の範囲で指定してください。"));
    let r = w.center.post_form("/center/settings", &form("5", "30")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("設定を保存しました"));
    assert_eq!(audit_rows(&srv, "settings.updated").await.len(), 1);
    let c = login_ok(&srv, "nurse.a", PASSWORD).await;
    srv.clock.advance(5 * MICROS_PER_MINUTE + 1);
    assert_eq!(c.get("/").await.location(), "/login?reason=idle", "the new idle limit applies");
    let center = login_ok(&srv, "center", PASSWORD).await;
    let api = center
        .api(
            "PUT",
            "/api/v1/settings",
            serde_json::json!({
                "region_name": "熊谷市", "idle_timeout_minutes": 15, "session_lifetime_hours": 12,
                "password_max_age_days": 90, "lockout_threshold": 10, "lockout_minutes": 15
            }),
        )
        .await;
    assert_eq!(api.status, 422);
    assert_eq!(api.json()["fields"][0]["field"], "password_max_age_days");
});

both!(r6_1_api_creates_staff_and_the_openapi_document_lists_every_api_route, |srv: Srv| async move {
    let w = world(&srv).await;
    let r = w
        .admin_a
        .api(
            "POST",
            &format!("/api/v1/facilities/{}/staff", w.fac_a),
            serde_json::json!({
                "login_id": "api.nurse", "name": "API 看護", "kana": "えーぴーあい かんご", "profession": "nurse"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["status"], "pending");
    assert_eq!(r.json()["one_time_password"].as_str().unwrap().len(), 19);
    let bad = w
        .admin_a
        .api(
            "POST",
            &format!("/api/v1/facilities/{}/staff", w.fac_a),
            serde_json::json!({
                "login_id": "1x", "name": "", "kana": "abc", "profession": "wizard"
            }),
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<String> =
        bad.json()["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["login_id", "name", "kana", "profession"]);
    let doc = Client::new(&srv).get("/api/v1/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for route in kumanet_web::route_table() {
        if route.path.starts_with("/api/v1/") {
            let m = route.method.as_str().to_ascii_lowercase();
            assert!(doc["paths"][route.path][&m].is_object(), "{} {} missing from OpenAPI", m, route.path);
        }
    }
});
