//! Bulletin boards over HTTP on both databases (R5.4, R12.3): started by any approved professional,
//! joined by invitation, the same posts, 了解, read marks and live updates as a group's, the
//! patient-name warning on every patient the author can see, search, and leaving and removal.

use crate::helpers::*;
use crate::patients::{register_patient, team, Team};

fn details(row: &kumanet_store::AuditRow) -> serde_json::Value {
    serde_json::from_str(&row.record.details).unwrap()
}

/// A board started by the doctor; the pharmacist invited and joined.
pub async fn board_of_two(srv: &Srv) -> (Team, String) {
    let t = team(srv).await;
    let (board, _) = board_with(srv, &t).await;
    (t, board)
}

/// A board started by the team's doctor with the pharmacist as a member: (board, invitation).
pub async fn board_with(srv: &Srv, t: &Team) -> (String, String) {
    let r = t.doctor.post_form("/boards", &[("name", "北地区 多職種連携の会"), ("purpose", "研修会と連絡")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let board = r.location().trim_start_matches("/boards/").to_string();
    let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", &t.pharmacist_id)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let inv = srv.store.pending_board_invitations_for(&t.pharmacist_id).await.unwrap().pop().unwrap().id;
    let r = t.pharmacist.post_form(&format!("/board-invitations/{inv}"), &[("decision", "accept")]).await;
    assert_eq!((r.status, r.location()), (303, format!("/boards/{board}").as_str()));
    (board, inv)
}

/// Preview then confirm on a board; the id of the new post.
async fn board_post(c: &Client, board: &str, body: &str) -> String {
    let r = c.post_form(&format!("/boards/{board}/posts/preview"), &[("body", body)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("確定前の確認"));
    let r = c.post_form(&format!("/boards/{board}/posts"), &[("body", body)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().rsplit("#post-").next().unwrap().to_string()
}

both!(r5_4_r12_3_boards_are_joined_by_invitation_and_kept_by_their_members, |srv: Srv| async move {
    let t = team(&srv).await;
    // A board needs a name and a purpose: Japanese messages, what was typed kept, nothing made.
    let r = t.doctor.post_form("/boards", &[("name", "  "), ("purpose", "研修会の連絡")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("掲示板の名前を入力してください。"), "{}", r.body);
    assert!(r.body.contains("研修会の連絡"));
    assert!(srv.store.boards_of(&t.doctor_id).await.unwrap().is_empty());
    let r = t.doctor.post_form("/boards", &[("name", "北地区 多職種連携の会"), ("purpose", "研修会と連絡")]).await;
    assert_eq!(r.status, 303);
    let board = r.location().trim_start_matches("/boards/").to_string();
    assert_eq!(board.len(), 32, "an opaque id: {board}");
    let r = t.doctor.get("/boards").await;
    assert!(r.body.contains("北地区 多職種連携の会") && r.body.contains("管理者"), "{}", r.body);
    // Not a member yet: the pharmacist sees nothing of it, and the refusal names the board.
    assert_eq!(t.pharmacist.get(&format!("/boards/{board}")).await.status, 403);
    let denied = audit_rows(&srv, "access.denied").await;
    assert_eq!(denied.last().unwrap().record.target_id.as_deref(), Some(board.as_str()));
    // Invited: on the home page and the invitations page; then joined.
    let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", &t.pharmacist_id)]).await;
    assert_eq!(r.status, 303);
    let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", &t.pharmacist_id)]).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("返事待ちです"), "{}", r.body);
    assert!(t.pharmacist.get("/").await.body.contains("返事待ちの招待が1件あります"));
    let r = t.pharmacist.get("/invitations").await;
    assert!(r.body.contains("掲示板「北地区 多職種連携の会」"), "{}", r.body);
    let inv = srv.store.pending_board_invitations_for(&t.pharmacist_id).await.unwrap().pop().unwrap().id;
    assert_eq!(t.nurse_n.get(&format!("/board-invitations/{inv}")).await.status, 403);
    let r = t.pharmacist.post_form(&format!("/board-invitations/{inv}"), &[("decision", "maybe")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("参加するか辞退するかを選んでください。"));
    let r = t.pharmacist.post_form(&format!("/board-invitations/{inv}"), &[("decision", "accept")]).await;
    assert_eq!(r.status, 303);
    let r = t.pharmacist.post_form(&format!("/board-invitations/{inv}"), &[("decision", "accept")]).await;
    assert_eq!(r.status, 409, "an invitation is answered once");
    let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", &t.pharmacist_id)]).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("すでにこの掲示板のメンバーです"));
    // A family account or an unknown id is not invited.
    let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", "nobody")]).await;
    assert_eq!(r.status, 422);
    // Members post; only managers invite.
    let r = t.pharmacist.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", &t.nurse_n_id)]).await;
    assert_eq!(r.status, 403);
    let id = board_post(&t.pharmacist, &board, "12月の研修会は第2水曜です").await;
    let r = t.doctor.get(&format!("/boards/{board}")).await;
    assert!(r.body.contains("12月の研修会は第2水曜です") && r.body.contains(&format!("post-{id}")));
    let r = t.doctor.get(&format!("/api/v1/boards/{board}/posts")).await;
    assert_eq!(r.json()["posts"][0]["part"], "board");
    // The doctor read it by opening the board.
    assert_eq!(r.json()["posts"][0]["read_by"].as_array().unwrap().len(), 1);
    // The audit log names the board, never a patient.
    let row = audit_rows(&srv, "post.confirmed").await.pop().unwrap();
    assert_eq!(
        (row.record.target_type.as_deref(), row.record.target_id.as_deref()),
        (Some("board"), Some(board.as_str()))
    );
    for action in ["board.created", "board.invited", "board.invitation_accepted", "board.viewed"] {
        assert!(!audit_rows(&srv, action).await.is_empty(), "{action}");
    }
    // Search covers boards, marked as such.
    let r = t.pharmacist.get(&format!("/search?q={}", "第2水曜")).await;
    assert!(r.body.contains("掲示板「北地区 多職種連携の会」"), "{}", r.body);
    let r = t.pharmacist.get("/api/v1/search?q=%E7%A0%94%E4%BF%AE").await;
    assert_eq!(r.json()["results"][0]["board"], true);
    // The last manager cannot leave; a member can, and is then outside.
    let r = t.doctor.post_form(&format!("/boards/{board}/leave"), &[]).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("管理者が1人は必要です"));
    assert_eq!(t.pharmacist.post_form(&format!("/boards/{board}/leave"), &[]).await.status, 200);
    assert_eq!(t.pharmacist.get(&format!("/boards/{board}")).await.status, 403);
    assert_eq!(t.pharmacist.get(&format!("/posts/{id}")).await.status, 403);
    assert!(!t.pharmacist.get("/boards").await.body.contains(&format!("data-board=\"{board}\"")));
    assert!(t.doctor.get("/boards").await.body.contains(&format!("data-board=\"{board}\"")));
});

both!(r5_4_patient_names_are_warned_about_on_boards, |srv: Srv| async move {
    let (t, board) = board_of_two(&srv).await;
    let patient = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    // On a board every patient the author can see is warned about (there is no "own" patient).
    let text = "くまがや いちろうさんの退院調整について";
    let r = t.doctor.post_form(&format!("/boards/{board}/posts/preview"), &[("body", text)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("掲示板には患者さんの情報を書かないでください"), "{}", r.body);
    assert!(r.body.contains("「熊谷 一郎」さん"));
    let r = t.doctor.post_form(&format!("/boards/{board}/posts"), &[("body", text)]).await;
    assert_eq!(r.status, 409, "not confirmed deliberately: shown again");
    assert!(srv.store.posts(&board, kumanet_core::policy::post::Part::Board, None, 50).await.unwrap().is_empty());
    let path = format!("/api/v1/boards/{board}/posts");
    let r = t.doctor.api("POST", &path, serde_json::json!({ "body": text, "confirm": true })).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (409, Some("other_patient_named")));
    // The pharmacist cannot see the patient: no warning, and so no leak of the name.
    let r = t.pharmacist.post_form(&format!("/boards/{board}/posts/preview"), &[("body", text)]).await;
    assert!(!r.body.contains("患者さんの名前が含まれています"));
    // Confirmed deliberately: recorded, the warning in the audit row.
    let r = t.doctor.post_form(&format!("/boards/{board}/posts"), &[("body", text), ("acknowledged", &patient)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let row = audit_rows(&srv, "post.confirmed").await.pop().unwrap();
    assert_eq!(details(&row)["warned_patient_ids"][0], patient.as_str());
});

both!(r12_3_board_posts_arrive_live_with_acks_and_stop_for_a_removed_member, |srv: Srv| async move {
    let (t, board) = board_of_two(&srv).await;
    let mut doctor_live = t.doctor.events(&format!("/boards/{board}/live")).await;
    let mut pharmacist_live = t.pharmacist.events(&format!("/boards/{board}/live")).await;
    // Unread on the pharmacist's home page until she opens the board.
    let id = board_post(&t.doctor, &board, "会議室が変更になりました").await;
    let data = pharmacist_live.until("post", "会議室が変更になりました", 5).await.expect("the post arrives live");
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!((v["id"].as_str(), v["mine"].as_bool()), (Some(id.as_str()), Some(false)));
    assert!(v["html"].as_str().unwrap().contains("ack-button"));
    let home = t.pharmacist.get("/").await;
    assert!(home.body.contains("掲示板「北地区 多職種連携の会」") && home.body.contains("未読 1"), "{}", home.body);
    assert_eq!(t.pharmacist.post_form(&format!("/posts/{id}/read"), &[]).await.status, 204);
    doctor_live.until("post", "既読 1", 5).await.expect("the read mark arrives live");
    let r = t.pharmacist.post_form(&format!("/posts/{id}/ack"), &[]).await;
    assert_eq!((r.status, r.location()), (303, format!("/boards/{board}#post-{id}").as_str()));
    doctor_live.until("post", "了解: ", 5).await.expect("了解 arrives live");
    assert!(!t.pharmacist.get("/").await.body.contains("未読 1"));
    // Removed by the manager: the open page is told at once and the stream ends.
    let r = t.doctor.post_form(&format!("/boards/{board}/members/{}/remove", t.pharmacist_id), &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(pharmacist_live.first_not_post(5).await, "closed");
    assert!(pharmacist_live.next(2).await.is_none());
    assert_eq!(t.pharmacist.head_of(&format!("/boards/{board}/live")).await.status, 403);
    assert!(!audit_rows(&srv, "board.member_removed").await.is_empty());
});
