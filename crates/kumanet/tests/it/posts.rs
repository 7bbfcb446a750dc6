//! Posts over HTTP on both databases (第10条): compose → preview → 確定 with author, time and hash
//! (R10.6), the soft limit (R10.3), the other-patient warning (R10.4), history, tombstones, 了解,
//! read marks and unread counts, and live updates that stop for a removed member.

use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::patients::{create_group, invite_and_join, record_consent, register_patient, team, Team, PNG};

/// A patient with consent and a group of the doctor and the pharmacist; a second patient of the
/// same doctor who is not in that group.
pub async fn care_room(srv: &Srv) -> (Team, String, String, String) {
    let t = team(srv).await;
    let patient = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    assert_eq!(record_consent(&t.doctor, &patient, Some(PNG)).await.status, 303);
    let group = create_group(&t.doctor, &patient).await;
    invite_and_join(srv, &t.doctor, &group, &t.pharmacist, &t.pharmacist_id).await;
    let other = register_patient(&t.doctor, "妻沼 二郎", "めぬま じろう").await;
    (t, patient, group, other)
}

fn details(row: &kumanet_store::AuditRow) -> serde_json::Value {
    serde_json::from_str(&row.record.details).unwrap()
}

/// Preview then confirm; the id of the new post.
pub async fn post(c: &Client, group: &str, body: &str) -> String {
    let r = c.post_form(&format!("/groups/{group}/posts/preview"), &[("body", body)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("確定前の確認"));
    let r = c.post_form(&format!("/groups/{group}/posts"), &[("body", body)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().rsplit("#post-").next().unwrap().to_string()
}

both!(r10_6_r10_3_confirmed_posts_keep_author_time_hash_and_every_version, |srv: Srv| async move {
    let (t, patient, group, _) = care_room(&srv).await;
    // The preview escapes markup, links addresses and does not record anything yet.
    let text = "本日訪問。褥瘡は改善傾向です。\n資料 https://example.jp/care?id=1 <script>alert(1)</script>";
    let r = t.doctor.post_form(&format!("/groups/{group}/posts/preview"), &[("body", text)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("&#60;script&#62;alert(1)"), "{}", r.body);
    assert!(!r.body.contains("<script>alert"));
    assert!(r.body.contains(r#"<a href="https://example.jp/care?id=1""#), "{}", r.body);
    assert!(srv
        .store
        .posts(&group, kumanet_core::policy::post::Part::Professional, None, 50)
        .await
        .unwrap()
        .is_empty());
    // Empty: a Japanese message next to the field, nothing recorded.
    let r = t.doctor.post_form(&format!("/groups/{group}/posts"), &[("body", "  \n ")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("本文を入力してください。"));
    // R10.3: past the soft limit the preview advises, and the post can still be confirmed.
    let long = "経過観察。".repeat(81);
    let r = t.doctor.post_form(&format!("/groups/{group}/posts/preview"), &[("body", &long)]).await;
    assert!(r.body.contains("405文字です。400文字を超えています。"), "{}", r.body);
    let long_id = post(&t.doctor, &group, &long).await;
    assert!(!long_id.is_empty());
    // R10.6: confirmed with author, time and the SHA-256 of the stored text.
    let id = post(&t.doctor, &group, text).await;
    let stored = srv.store.post(&id).await.unwrap().unwrap();
    assert_eq!(stored.author_id, t.doctor_id);
    assert_eq!(stored.created_at, T0);
    let stored_text = text.replace("\r\n", "\n");
    assert_eq!(stored.body_sha256, hex::encode(Sha256::digest(stored_text.as_bytes())));
    let confirmed = audit_rows(&srv, "post.confirmed").await;
    assert_eq!(confirmed.len(), 2);
    let row = confirmed.iter().find(|r| details(r)["post_id"] == id.as_str()).unwrap();
    assert_eq!(row.record.target_id.as_deref(), Some(patient.as_str()));
    assert_eq!(details(row)["sha256"], stored.body_sha256);
    // Unread for the pharmacist until the group page is opened; then "既読 1" for the doctor.
    assert_eq!(
        srv.store.unread_counts(&t.pharmacist_id).await.unwrap(),
        vec![(group.clone(), "熊谷 一郎".to_string(), 2)]
    );
    let home = t.pharmacist.get("/").await;
    assert!(home.body.contains("未読 2"), "{}", home.body);
    let page = t.pharmacist.get(&format!("/groups/{group}")).await;
    assert!(page.body.contains("褥瘡は改善傾向です。"));
    assert!(srv.store.unread_counts(&t.pharmacist_id).await.unwrap().is_empty());
    let page = t.doctor.get(&format!("/groups/{group}")).await;
    assert!(page.body.contains("既読 1"), "{}", page.body);
    // Only the author edits, through the same preview and confirmation; every version stays.
    assert_eq!(t.pharmacist.get(&format!("/posts/{id}/edit")).await.status, 403);
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}"), &[("body", "改ざん")]).await.status, 403);
    let edit = t.doctor.get(&format!("/posts/{id}/edit")).await;
    assert!(edit.body.contains("褥瘡は改善傾向です。"));
    let r = t.doctor.post_form(&format!("/posts/{id}/preview"), &[("body", "本日訪問。褥瘡は治癒しました。")]).await;
    assert_eq!(r.status, 200);
    let r = t.doctor.post_form(&format!("/posts/{id}"), &[("body", "本日訪問。褥瘡は治癒しました。")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let history = t.pharmacist.get(&format!("/posts/{id}")).await;
    assert_eq!(history.status, 200);
    assert!(history.body.contains("版1") && history.body.contains("版2"));
    assert!(history.body.contains("褥瘡は改善傾向です。") && history.body.contains("褥瘡は治癒しました。"));
    assert!(history.body.contains(&stored.body_sha256));
    // R11.1: the edit form and the history are both views of the post.
    let viewed = audit_rows(&srv, "post.viewed").await;
    assert_eq!(viewed.len(), 2);
    assert_eq!(details(&viewed[1])["edit"], true);
    assert_eq!(details(&audit_rows(&srv, "post.edited").await[0])["version"], 2);
    // 了解: once per person, shown with the name.
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}/ack"), &[]).await.status, 303);
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}/ack"), &[]).await.status, 303);
    assert_eq!(audit_rows(&srv, "post.acked").await.len(), 1);
    let page = t.doctor.get(&format!("/posts/{id}")).await;
    assert!(page.body.contains("了解(2026年11月24日(火) 14:05)"), "{}", page.body);
    // A tombstone: "削除されました" for everybody; the text stays in the database for the audit.
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}/delete"), &[]).await.status, 403);
    assert_eq!(t.doctor.post_form(&format!("/posts/{id}/delete"), &[]).await.status, 303);
    let page = t.pharmacist.get(&format!("/groups/{group}")).await;
    assert!(page.body.contains("削除されました"));
    assert!(!page.body.contains("褥瘡は治癒しました。"));
    let versions = srv.store.post_versions(&id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].body, "本日訪問。褥瘡は治癒しました。");
    assert_eq!(t.doctor.post_form(&format!("/posts/{id}"), &[("body", "復活")]).await.status, 409);
    // R4.3: after withdrawal, read-only: no new post, no 了解; the timeline is still readable.
    let r = t.doctor.post_form(&format!("/patients/{patient}/consent/withdraw"), &[("note", "本人より撤回")]).await;
    assert_eq!(r.status, 303);
    let r = t.doctor.post_form(&format!("/groups/{group}/posts"), &[("body", "追記")]).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("同意は撤回されています"), "{}", r.body);
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{long_id}/ack"), &[]).await.status, 403);
    assert!(t.pharmacist.get(&format!("/groups/{group}")).await.body.contains("経過観察。"));
});

both!(r10_4_naming_another_visible_patient_is_warned_before_confirming, |srv: Srv| async move {
    let (t, _, group, other) = care_room(&srv).await;
    for text in ["妻沼二郎さんの薬も確認", "妻沼 二郎さんの薬", "二郎 妻沼 様", "めぬま じろうさん", "メヌマジロウ"]
    {
        let r = t.doctor.post_form(&format!("/groups/{group}/posts/preview"), &[("body", text)]).await;
        assert!(r.body.contains("別の患者さんの名前が含まれています。"), "{text}: {}", r.body);
        assert!(r.body.contains("「妻沼 二郎」さん"), "{text}");
    }
    // Confirming without the deliberate check: refused and shown again; nothing is recorded.
    let text = "妻沼二郎さんの薬も確認しました";
    let r = t.doctor.post_form(&format!("/groups/{group}/posts"), &[("body", text)]).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("別の患者さんの名前が含まれています。"));
    assert!(audit_rows(&srv, "post.confirmed").await.is_empty());
    // Confirmed deliberately: recorded, with the warning in the audit row.
    let r = t.doctor.post_form(&format!("/groups/{group}/posts"), &[("body", text), ("acknowledged", &other)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let row = &audit_rows(&srv, "post.confirmed").await[0];
    assert_eq!(details(row)["warned_patient_ids"][0], other.as_str());
    // The patient of the group itself, and ordinary words, do not warn.
    let r = t
        .doctor
        .post_form(&format!("/groups/{group}/posts/preview"), &[("body", "熊谷一郎さん、二郎さんと散歩")])
        .await;
    assert!(!r.body.contains("別の患者さんの名前"), "{}", r.body);
    // The pharmacist cannot see 妻沼さん: no warning (and so no leak of the name).
    let r = t.pharmacist.post_form(&format!("/groups/{group}/posts/preview"), &[("body", text)]).await;
    assert!(!r.body.contains("別の患者さんの名前"));
    // The API: the confirmation step is explicit, the warning is a 409 with the names.
    let path = format!("/api/v1/groups/{group}/posts");
    let r = t.doctor.api("POST", &path, serde_json::json!({ "body": "本日訪問" })).await;
    assert_eq!(r.status, 400);
    let r = t.doctor.api("POST", &path, serde_json::json!({ "body": text, "confirm": true })).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["code"], "other_patient_named");
    assert_eq!(r.json()["draft"]["warnings"][0]["name"], "妻沼 二郎");
    let r = t
        .doctor
        .api("POST", &path, serde_json::json!({ "body": text, "confirm": true, "acknowledged_patient_ids": [other] }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["post_id"].as_str().unwrap().to_string();
    let r = t.pharmacist.get(&format!("/api/v1/groups/{group}/posts")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["posts"].as_array().unwrap().len(), 2);
    let r = t.pharmacist.api("POST", &format!("/api/v1/posts/{id}/ack"), serde_json::json!({})).await;
    assert_eq!(r.status, 204);
    let r = t.doctor.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(r.json()["acks"][0]["user_id"], t.pharmacist_id.as_str());
    assert_eq!(r.json()["versions"].as_array().unwrap().len(), 1);
    let r = t
        .doctor
        .api("PUT", &format!("/api/v1/posts/{id}"), serde_json::json!({ "body": "訂正", "confirm": true }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.doctor.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(r.json()["versions"].as_array().unwrap().len(), 2);
    assert_eq!(t.doctor.api("DELETE", &format!("/api/v1/posts/{id}"), serde_json::json!({})).await.status, 204);
    assert_eq!(t.doctor.get(&format!("/api/v1/posts/{id}")).await.json()["body"], serde_json::Value::Null);
});

both!(live_updates_reach_open_pages_and_stop_for_a_removed_member, |srv: Srv| async move {
    let (t, _, group, _) = care_room(&srv).await;
    let mut doctor_live = t.doctor.events(&format!("/groups/{group}/live")).await;
    let mut pharmacist_live = t.pharmacist.events(&format!("/groups/{group}/live")).await;
    assert_eq!(audit_rows(&srv, "live.opened").await.len(), 2);
    let id = post(&t.doctor, &group, "今夜から痛み止めを変更します").await;
    let data = pharmacist_live.until("post", "今夜から痛み止めを変更します", 5).await.expect("the post arrives live");
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["mine"], false);
    // Rendered for the pharmacist: a 了解 button, no edit link.
    assert!(v["html"].as_str().unwrap().contains("ack-button"));
    assert!(!v["html"].as_str().unwrap().contains("edit-link"));
    // The pharmacist reads and acknowledges: the doctor's page sees both marks.
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}/read"), &[]).await.status, 204);
    doctor_live.until("post", "既読 1", 5).await.expect("the read mark arrives live");
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}/ack"), &[]).await.status, 303);
    doctor_live.until("post", "了解: ", 5).await.expect("了解 arrives live");
    // The family's part hears nothing of the professionals' part.
    let mut shared_live = t.doctor.events(&format!("/groups/{group}/shared/live")).await;
    post(&t.doctor, &group, "専門職だけの連絡").await;
    assert!(shared_live.until("post", "専門職だけの連絡", 1).await.is_none());
    // Removed from the group: the open page is told at once and the stream ends.
    let r = t.doctor.post_form(&format!("/groups/{group}/members/{}/remove", t.pharmacist_id), &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(pharmacist_live.first_not_post(5).await, "closed");
    assert!(pharmacist_live.next(2).await.is_none());
    assert!(pharmacist_live.ended, "the removed member's stream is closed");
    assert_eq!(t.pharmacist.head_of(&format!("/groups/{group}/live")).await.status, 403);
});

/// The draft attachment ids a preview page carries.
pub fn draft_ids(page: &str) -> String {
    let at = page.find(r#"name="attachments" value=""#).expect("the preview carries the attachments") + 26;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Pixels clearly darker in `marked` than in `plain` (same size), as a fraction.
pub fn darker_fraction(plain: &[u8], marked: &[u8]) -> f64 {
    let a = image::load_from_memory(plain).unwrap().to_luma8();
    let b = image::load_from_memory(marked).unwrap().to_luma8();
    assert_eq!(a.dimensions(), b.dimensions());
    let darker = a.pixels().zip(b.pixels()).filter(|(p, q)| i32::from(p.0[0]) - i32::from(q.0[0]) > 40).count();
    darker as f64 / f64::from(a.width() * a.height())
}

both!(r9_3_attachments_lose_gps_are_watermarked_inline_and_audited, |srv: Srv| async move {
    let (t, _, group, _) = care_room(&srv).await;
    let photo = kumanet_media::fixtures::gps_tagged_jpeg(640, 480).unwrap();
    assert!(contains(&photo, b"Exif\0\0") && contains(&photo, b"WGS-84"));
    // Not an image or a PDF: refused with a clear message, the text kept.
    let r = t
        .doctor
        .post_multipart(
            &format!("/groups/{group}/posts/preview"),
            &[("body", "褥瘡の写真です")],
            Some(("file", "memo.txt", "image/jpeg", b"just text, named .jpg")),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("JPEG・PNG・PDFのファイルだけ添付できます。"), "{}", r.body);
    assert!(r.body.contains("褥瘡の写真です"));
    // The photo: kept as a draft of the author's, shown in the preview.
    let r = t
        .doctor
        .post_multipart(
            &format!("/groups/{group}/posts/preview"),
            &[("body", "仙骨部の褥瘡の写真です")],
            Some(("file", "IMG_0001.jpg", "image/jpeg", &photo)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = draft_ids(&r.body);
    assert!(r.body.contains(&format!("/attachments/{id}/thumb")));
    let uploaded = audit_rows(&srv, "attachment.uploaded").await;
    assert_eq!(details(&uploaded[0])["exif_removed"], true);
    // Stored without EXIF or the position.
    let stored = srv.store.attachment_page(&id, 1).await.unwrap().unwrap();
    assert!(!contains(&stored, b"Exif") && !contains(&stored, b"WGS-84") && !contains(&stored, b"xmpmeta"));
    // Before 確定 only the author sees it, even the other members cannot.
    assert_eq!(t.doctor.get(&format!("/attachments/{id}/thumb")).await.status, 200);
    assert_eq!(t.pharmacist.get(&format!("/attachments/{id}/thumb")).await.status, 403);
    let r = t
        .doctor
        .post_form(&format!("/groups/{group}/posts"), &[("body", "仙骨部の褥瘡の写真です"), ("attachments", &id)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The other member sees it inline, watermarked with their own name, never as a download.
    let page = t.pharmacist.get(&format!("/groups/{group}")).await;
    assert!(page.body.contains(&format!("/attachments/{id}/thumb")));
    let before = audit_rows(&srv, "attachment.viewed").await.len();
    let r = t.pharmacist.send("GET", &format!("/attachments/{id}/pages/1"), None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "image/jpeg");
    assert_eq!(r.headers["content-disposition"], "inline");
    assert!(r.headers["cache-control"].to_str().unwrap().contains("no-store"));
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(audit_rows(&srv, "attachment.viewed").await.len(), before + 1);
    let served = t.pharmacist.get_bytes(&format!("/attachments/{id}/pages/1")).await;
    assert!(!contains(&served, b"Exif") && !contains(&served, b"WGS-84"));
    assert!(darker_fraction(&stored, &served) > 0.01, "the watermark is burned in");
    // Watermarked per viewer: the doctor's view differs from the pharmacist's.
    let doctors = t.doctor.get_bytes(&format!("/attachments/{id}/pages/1")).await;
    assert_ne!(doctors, served);
    // The viewer page shows the pages inline; no route offers the file itself.
    let view = t.pharmacist.get(&format!("/attachments/{id}")).await;
    assert!(view.body.contains(&format!("/attachments/{id}/pages/1")));
    assert!(!view.body.contains("download"));
    assert_eq!(t.pharmacist.get(&format!("/attachments/{id}/pages/2")).await.status, 404);
    // Not a member: refused, and the refusal is in the log.
    assert_eq!(t.w.nurse.get(&format!("/attachments/{id}/pages/1")).await.status, 403);
    // A PDF: its pages are rendered on the server and shown as images.
    let pdf = kumanet_media::fixtures::two_page_pdf();
    let r = t
        .doctor
        .post_multipart(
            &format!("/groups/{group}/posts/preview"),
            &[("body", "退院時サマリーです")],
            Some(("file", "summary.pdf", "application/pdf", &pdf)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pdf_id = draft_ids(&r.body);
    assert!(r.body.contains("PDF 2ページ"));
    let r = t
        .doctor
        .post_form(&format!("/groups/{group}/posts"), &[("body", "退院時サマリーです"), ("attachments", &pdf_id)])
        .await;
    assert_eq!(r.status, 303);
    for n in 1..=2 {
        let r = t.pharmacist.send("GET", &format!("/attachments/{pdf_id}/pages/{n}"), None, &[]).await;
        assert_eq!((r.status, r.headers["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    }
});

both!(search_finds_japanese_substrings_in_ones_own_groups_only, |srv: Srv| async move {
    let (t, _, group, other) = care_room(&srv).await;
    let bathing = post(&t.doctor, &group, "入浴介助は水曜日の午後に変更します").await;
    post(&t.doctor, &group, "本日は発熱のため入浴中止").await;
    let r = t.pharmacist.post_form(&format!("/groups/{group}/shared/posts"), &[("body", "お薬を一包化しました")]).await;
    assert_eq!(r.status, 303);
    // A group the pharmacist is not in.
    assert_eq!(record_consent(&t.doctor, &other, Some(PNG)).await.status, 303);
    let other_group = create_group(&t.doctor, &other).await;
    post(&t.doctor, &other_group, "入浴サービスの見学予定").await;
    let count = |body: &str| body.matches("class=\"result\"").count();
    // Two characters (a scan of one's rooms), one character, and four (the trigram index).
    let r = t.pharmacist.get(&format!("/search?q={}", urlencode("入浴"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(count(&r.body), 2, "{}", r.body);
    assert!(r.body.contains("<mark>入浴</mark>介助は水曜日"));
    assert!(!r.body.contains("見学予定"), "another group's post must not be found");
    assert_eq!(count(&t.pharmacist.get(&format!("/search?q={}", urlencode("浴"))).await.body), 2);
    let r = t.pharmacist.get(&format!("/search?q={}", urlencode("入浴介助"))).await;
    assert_eq!(count(&r.body), 1);
    assert!(r.body.contains(&format!("#post-{bathing}")));
    assert_eq!(count(&t.pharmacist.get(&format!("/search?q={}", urlencode("一包化"))).await.body), 1);
    assert_eq!(count(&t.doctor.get(&format!("/search?q={}", urlencode("入浴"))).await.body), 3);
    // Edits and deletions are reflected.
    let r = t.doctor.post_form(&format!("/posts/{bathing}"), &[("body", "シャワー浴は水曜日の午後に変更します")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(count(&t.pharmacist.get(&format!("/search?q={}", urlencode("入浴介助"))).await.body), 0);
    assert_eq!(count(&t.pharmacist.get(&format!("/search?q={}", urlencode("シャワー浴"))).await.body), 1);
    assert_eq!(t.doctor.post_form(&format!("/posts/{bathing}/delete"), &[]).await.status, 303);
    assert_eq!(count(&t.pharmacist.get(&format!("/search?q={}", urlencode("シャワー浴"))).await.body), 0);
    // Audited, but not the words themselves.
    let rows = audit_rows(&srv, "post.searched").await;
    assert!(rows.len() >= 7);
    assert!(rows.iter().all(|r| !r.record.details.contains("入浴") && !r.record.details.contains("浴")));
    assert_eq!(details(&rows[0])["query_hmac"].as_str().unwrap().len(), 64);
    // The API, and a query that is too long.
    let r = t.doctor.get(&format!("/api/v1/search?q={}", urlencode("入浴"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 2);
    assert_eq!(r.json()["results"][0]["snippet"][0]["match"], true);
    let r = t.doctor.get(&format!("/search?q={}", urlencode(&"あ".repeat(101)))).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("100文字以内"));
});

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap().trim_start_matches('=').to_string()
}

both!(r11_3_concurrent_posts_share_commits_and_every_one_is_kept_in_order, |srv: Srv| async move {
    let (t, _, group, _) = care_room(&srv).await;
    let doctor = std::sync::Arc::new(t.doctor);
    let pharmacist = std::sync::Arc::new(t.pharmacist);
    let path = format!("/api/v1/groups/{group}/posts");
    let mut tasks = Vec::new();
    for i in 0..48 {
        let c = if i % 2 == 0 { doctor.clone() } else { pharmacist.clone() };
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let r = c.api("POST", &path, serde_json::json!({ "body": format!("同時投稿 {i}"), "confirm": true })).await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["seq"].as_i64().unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 48, "every acknowledged post has its own number");
    let stored = srv.store.posts(&group, kumanet_core::policy::post::Part::Professional, None, 100).await.unwrap();
    assert_eq!(stored.len(), 48);
    assert_eq!(audit_rows(&srv, "post.confirmed").await.len(), 48);
    // The audit chain is whole although the posts shared their transactions.
    assert!(srv.store.audit_verify().await.unwrap().is_ok());
    // A write refused inside a batch (an attachment that is not a draft of the author's) leaves
    // nothing behind and does not disturb the others.
    let r = doctor.api("POST", &path, serde_json::json!({ "body": "単独", "confirm": true })).await;
    assert_eq!(r.status, 201);
    let r = doctor
        .post_form(&format!("/groups/{group}/posts"), &[("body", "存在しない添付"), ("attachments", "nope")])
        .await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("添付ファイルを確認できませんでした"), "{}", r.body);
    assert_eq!(audit_rows(&srv, "post.confirmed").await.len(), 49);
    assert!(srv.store.audit_verify().await.unwrap().is_ok());
});
