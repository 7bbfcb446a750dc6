//! A bulletin board in the browser (R5.4, R12.3): the doctor starts a board and invites the
//! pharmacist from the staff directory; she accepts from her invitations; the doctor's draft naming
//! a patient is warned about before 確定 (patient information does not belong on a board); the
//! post reaches her open page live, her 了解 reaches his live; removed, her page stops receiving.

use crate::browser::{browser, excerpt};
use crate::browser_posts::{
    click_confirm_and_load, compose, mark_document, post_id_in_url, still_same_page, wait_live, wait_text, STOPPED,
    TWO_BROWSERS,
};
use crate::helpers::*;
use crate::patients::{register_patient, team};

const BOARD: &str = "北地区 多職種連携の会";
const NAMING_PATIENT: &str = "熊谷一郎さんの退院前カンファレンスについて";
const NOTICE: &str = "12月の研修会は第2水曜 18時からです。";

both!(r5_4_r12_3_browser_board_invitation_warning_live_post_ack_and_removal, |srv: Srv| async move {
    let t = team(&srv).await;
    register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    let pharmacist_name = srv.store.user_by_login("ph.p").await.unwrap().expect("the pharmacist").name;

    let _two = TWO_BROWSERS.lock().await;
    let Some(dr) = browser(&srv).await else { return };
    let Some(ph) = browser(&srv).await else { return };
    assert_eq!(dr.login("dr.a", PASSWORD).await, "/");
    assert_eq!(ph.login("ph.p", PASSWORD).await, "/");

    // ---- The doctor starts a board from the menu ----
    dr.go("/boards").await;
    assert!(dr.has("#no-boards").await, "an empty list says so");
    dr.fill("#name", BOARD).await;
    dr.fill("#purpose", "研修会と地区の連絡").await;
    dr.click_and_load("#create-board").await;
    let board_page = dr.path().await;
    assert!(board_page.starts_with("/boards/"), "{}", excerpt(&dr.source().await));
    let board = board_page.trim_start_matches("/boards/").to_string();
    assert!(dr.text("h1").await.contains(BOARD));
    assert!(dr.text("#members").await.contains("管理者"));

    // ---- He finds the pharmacist in the staff directory and invites her ----
    dr.fill("#q", "かんご").await;
    dr.click_and_load("#invite button.secondary").await;
    dr.click_and_load("form.invite[data-login=\"ph.p\"] button").await;
    assert!(dr.path().await.starts_with(&board_page));
    assert!(dr.text("#pending-invitations").await.contains(&pharmacist_name));

    // ---- She accepts from her invitations ----
    ph.go("/").await;
    ph.click_and_load("#invitations-waiting").await;
    assert_eq!(ph.path().await, "/invitations");
    ph.click_and_load("a[href^=\"/board-invitations/\"]").await;
    assert!(ph.text("main").await.contains(BOARD));
    ph.click_and_load("#accept").await;
    assert_eq!(ph.path().await, board_page, "{}", excerpt(&ph.source().await));
    wait_live(&ph, "the pharmacist").await;
    mark_document(&ph).await;

    // ---- The doctor names a patient: warned before 確定, nothing posted ----
    dr.go(&board_page).await;
    compose(&dr, NAMING_PATIENT, None).await;
    assert!(dr.text("#name-warning").await.contains("掲示板には患者さんの情報を書かないでください"));
    assert!(dr.text("#name-warning").await.contains("「熊谷 一郎」さん"));
    let board_posts = || srv.store.posts(&board, kumanet_core::policy::post::Part::Board, None, 50);
    assert!(board_posts().await.unwrap().is_empty(), "nothing is posted before 確定");
    // He writes it without the patient instead, checks again, and confirms.
    dr.fill("#body", NOTICE).await;
    dr.click_and_load("#recheck-button").await;
    assert!(!dr.has("#name-warning").await, "no warning once the name is gone");
    dr.click_and_load("#confirm-button").await;
    let id = post_id_in_url(&dr).await;
    let card = format!("#post-{id}");
    assert!(dr.text(&card).await.contains(NOTICE));
    wait_live(&dr, "the doctor").await;
    mark_document(&dr).await;

    // ---- Her open page shows it live; her 了解 reaches his page live ----
    wait_text(&ph, &card, NOTICE, "the board post appears live on the pharmacist's page").await;
    assert!(still_same_page(&ph).await, "without a reload");
    ph.click_and_load(&format!("{card} .ack-button")).await;
    assert!(ph.path().await.starts_with(&board_page));
    wait_text(&dr, &format!("{card} .acks"), &format!("了解: {pharmacist_name}"), "了解 appears live").await;
    assert!(still_same_page(&dr).await, "了解 came without reloading the doctor's page");
    wait_live(&ph, "the pharmacist").await;

    // ---- Removed by the manager: her page is told and stops receiving ----
    let question =
        click_confirm_and_load(&dr, &format!("#members li[data-member=\"{}\"] button", t.pharmacist_id)).await;
    assert!(question.contains(&pharmacist_name), "{question}");
    wait_text(&ph, "#live-state", STOPPED, "the removed member's page says it stopped").await;
    assert!(!dr.has(&format!("#members li[data-member=\"{}\"]", t.pharmacist_id)).await, "she is no longer listed");
    ph.go(&board_page).await;
    assert!(ph.text("main").await.contains("権限がありません"), "{}", excerpt(&ph.source().await));
});
