//! The regional resource directory in the browser (R12.1, R12.2, R5.2): the center imports a CSV
//! file of 210 entries written in Shift_JIS with three bad rows; the dry run names exactly those
//! rows; only the valid rows are imported; a search for 入浴 on Wednesdays in the north finds
//! exactly the expected entries; the doctor opens a pharmacy's entry and invites its pharmacist,
//! listed there, to his patient's group.

use serde_json::json;

use crate::browser::{browser, excerpt};
use crate::directory::{directory_csv, row, shift_jis};
use crate::helpers::*;
use crate::patients::{create_group, record_consent, register_patient, team, PNG};

both!(r12_1_r12_2_r5_2_browser_import_search_and_invite_from_the_directory, |srv: Srv| async move {
    let t = team(&srv).await;
    let patient = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    assert_eq!(record_consent(&t.doctor, &patient, Some(PNG)).await.status, 303);
    let group = create_group(&t.doctor, &patient).await;
    let pharmacy = srv.store.user_by_id(&t.pharmacist_id).await.unwrap().unwrap().facility_id.unwrap();
    let (text, bad_lines) = directory_csv(210);
    let files = TempDir::new("directory");
    let file = files.path().join("resources.csv");
    std::fs::write(&file, shift_jis(&text)).unwrap();

    let Some(b) = browser(&srv).await else { return };
    // ---- The center: the dry run names exactly the bad rows, then the valid rows go in ----
    assert_eq!(b.login("center", PASSWORD).await, "/");
    b.go("/resources").await;
    assert!(b.has("#no-results").await, "an empty directory says so");
    b.go("/center/resources/import").await;
    let input = b.el("#file").await;
    b.post(&format!("/element/{input}/value"), json!({ "text": file.to_str().unwrap() })).await.unwrap();
    b.click_and_load("#dry-run").await;
    assert!(b.text("#report h2").await.contains("Shift_JIS"), "{}", excerpt(&b.source().await));
    assert_eq!(b.text("#created").await, "210");
    assert_eq!(b.text("#refused").await, "3");
    let named: Vec<u64> = b
        .exec(
            "return [...document.querySelectorAll('#refused-rows tr[data-line]')].map(r => +r.dataset.line);",
            json!([]),
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(named, bad_lines, "the dry run names exactly the bad rows");
    assert!(b.text("#refused-rows").await.contains("「空き」: 空きは定員以下で入力してください。"));
    assert!(srv.store.search_directory(&Default::default()).await.unwrap().1 == 0, "nothing written yet");
    b.click_and_load("#import-valid").await;
    assert_eq!(b.text("#written").await, "210", "{}", excerpt(&b.source().await));
    // The pharmacy's entry is linked to its Kumanet facility.
    b.go("/resources/new").await;
    b.choose("#kind", "薬局").await;
    b.fill("#name", "あおば薬局").await;
    b.fill("#services", "在宅訪問、無菌調剤").await;
    b.choose("#facility_id", &pharmacy).await;
    b.click_and_load("#save-resource").await;
    let entry_page = b.path().await;
    assert!(entry_page.starts_with("/resources/"), "{}", excerpt(&b.source().await));
    b.logout().await;

    // ---- The doctor searches: 入浴, Wednesdays, the north ----
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go("/resources").await;
    b.fill("#q", "入浴").await;
    b.choose("#day", "2").await;
    b.choose("#area", "north").await;
    b.click_and_load("#search-button").await;
    let expected = (0..210).filter(|i| row(*i).bathing && row(*i).wednesday && row(*i).area == 0).count();
    assert_eq!(b.text("#total").await, expected.to_string(), "{}", excerpt(&b.source().await));
    let shown = b.exec("return document.querySelectorAll('#results li.resource').length;", json!([])).await;
    assert_eq!(shown.as_u64(), Some(expected.min(20) as u64));
    assert!(b.text("#results").await.contains("入浴"));

    // ---- From the pharmacy's entry to an invitation to his patient's group ----
    b.go(&entry_page).await;
    let staff = format!("#staff li[data-user=\"{}\"]", t.pharmacist_id);
    assert!(b.has(&staff).await, "the pharmacy's staff on Kumanet are listed");
    b.choose(&format!("{staff} select"), &group).await;
    b.click_and_load(&format!("{staff} button")).await;
    assert!(b.path().await.starts_with(&format!("/groups/{group}")), "{}", b.path().await);
    b.fill("form.invite[data-login=\"ph.p\"] input[name=\"reason\"]", "訪問薬剤管理指導").await;
    b.click_and_load("form.invite[data-login=\"ph.p\"] button").await;
    let invitations = srv.store.pending_invitations_for(&t.pharmacist_id).await.unwrap();
    assert_eq!(invitations.len(), 1, "the pharmacist is invited");
    assert_eq!(invitations[0].group_id, group);
});
