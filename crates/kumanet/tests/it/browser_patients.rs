//! The patient's way through Kumanet, in the browser: a doctor registers a patient, prints the
//! pre-filled consent form (様式1), records the signed consent, opens the patient's group and
//! invites a nurse of another facility, who confirms it is appropriate before joining; the
//! professionals agree that the patient's daughter takes part, she gets a printed letter with a
//! one-time password and sees only the shared part of the group; then the consent is withdrawn and
//! the group becomes read-only, while the family still reads the shared part. R4.1, R4.2, R4.3,
//! R5.1, R5.3, R10.1.
//!
//! Uses the WebDriver client of `browser.rs` (same skip rules: without Chromium the suite is
//! skipped loudly, except on CI). The PDF check needs `pdftotext` (poppler-utils), required on CI.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use crate::browser::{browser, excerpt, Browser, WAIT};
use crate::helpers::*;

const PATIENT: &str = "熊谷 一郎";
const PATIENT_KANA: &str = "くまがや いちろう";
const BIRTH_DATE: &str = "1940-04-01";
/// The birth date as the pages show it (`jst::ymd`), and the age on T0 (2026-11-24).
const BIRTH_DATE_SHOWN: &str = "1940年4月1日";
const BIRTH_DATE_AND_AGE: &str = "1940年4月1日(86歳)";
const REASON: &str = "週2回の訪問看護";
const WITHDRAWAL: &str = "11月24日 本人より電話で撤回の申し出";
const NO_CONSENT: &str = "同意書(様式1)が登録されていないため";
const FAMILY_REASON: &str = "ご家族の介護の様子をチームで共有するため";
const OBJECTION: &str = "服薬の話し合いが先です";
const FAMILY_LOGIN: &str = "kumagaya.family";
const FAMILY_NAME: &str = "熊谷 花子";
const FAMILY_KANA: &str = "くまがや はなこ";
const FAMILY_RELATIONSHIP: &str = "長女";
const FORBIDDEN: &str = "この操作はできません";
const LATE_OBJECTION: &str = "撤回後の反対";

/// A 1×1 PNG (a real, decodable image), as a phone camera's scan would be uploaded.
const PNG_1X1: [u8; 70] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0xF8, 0xFF, 0xFF, 0x3F, 0x03, 0x00, 0x08, 0xFC, 0x02, 0xFE, 0x78, 0xC4, 0xB2,
    0xB0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// Standard base64 (the WebDriver print answer), without a dependency.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// Wait until the document that was on screen when `mark_page` ran has been replaced and the new
/// one has loaded.
async fn wait_for_new_page(b: &Browser, what: &str) {
    let started = Instant::now();
    loop {
        let fresh = b
            .post(
                "/execute/sync",
                json!({ "script": "return !window.__kumanetOldPage && document.readyState === 'complete';", "args": [] }),
            )
            .await;
        if fresh == Ok(json!(true)) {
            return;
        }
        assert!(started.elapsed() < WAIT, "{what} did not load a new page (still on {})", b.path().await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn mark_page(b: &Browser) {
    b.exec("window.__kumanetOldPage = true;", json!([])).await;
}

/// Send a form made by hand (not on the page), with the page's CSRF token and `fields`, as a user
/// with the browser's developer tools could; waits for the answer page.
async fn submit_by_hand(b: &Browser, action: &str, fields: &[(&str, &str)]) {
    mark_page(b).await;
    b.exec(
        "const csrf = document.querySelector('form[action=\"/logout\"] input[name=csrf]').value; \
         const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0]; \
         for (const [name, value] of [['csrf', csrf], ...arguments[1]]) { \
         const i = document.createElement('input'); i.type = 'hidden'; i.name = name; i.value = value; \
         f.appendChild(i); } \
         document.body.appendChild(f); f.submit();",
        json!([action, fields]),
    )
    .await;
    wait_for_new_page(b, &format!("the hand-made form to {action}")).await;
}

/// The answers to the family proposal of a group: (user, agree, comment).
async fn family_votes(srv: &Srv, gid: &str) -> Vec<(String, bool, String)> {
    let proposal = srv.store.family_proposal(gid).await.unwrap().expect("the proposal is stored");
    proposal.votes.into_iter().map(|v| (v.user_id, v.agree, v.comment)).collect()
}

/// The HTTP status of the page on screen (Navigation Timing).
async fn status(b: &Browser) -> i64 {
    b.exec("return performance.getEntriesByType('navigation')[0].responseStatus;", json!([]))
        .await
        .as_i64()
        .unwrap_or(0)
}

/// Click a submit button of a form with `data-confirm`: the page asks with `window.confirm`; the
/// user says OK. Returns the question asked.
async fn click_confirm_and_load(b: &Browser, css: &str) -> String {
    mark_page(b).await;
    let id = b.el(css).await;
    // The click may answer before or with the open dialog, depending on the driver.
    let _ = b.post(&format!("/element/{id}/click"), json!({})).await;
    let started = Instant::now();
    let question = loop {
        match b.get("/alert/text").await {
            Ok(Value::String(text)) => break text,
            other => assert!(started.elapsed() < WAIT, "clicking {css} asked nothing: {other:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    b.post("/alert/accept", json!({})).await.unwrap_or_else(|e| panic!("accept the question of {css}: {e}"));
    wait_for_new_page(b, &format!("confirming {css}")).await;
    question
}

/// Set a `<input type=date>` as a date picker would (the typed format depends on the locale),
/// and check the field holds the ISO date the form sends.
async fn set_date(b: &Browser, css: &str, iso: &str) {
    b.el(css).await;
    b.exec(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([css, iso]),
    )
    .await;
    assert_eq!(b.value(css).await, iso, "{css} holds the date");
}

fn without_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Print the page on screen with the WebDriver print command and keep the PDF as `name` in `dir`.
async fn print_to_pdf(b: &Browser, dir: &Path, name: &str) -> PathBuf {
    let pdf = b.post("/print", json!({})).await.unwrap_or_else(|e| panic!("print {name} to PDF: {e}"));
    let pdf = base64_decode(pdf.as_str().expect("the PDF comes as base64"));
    assert!(pdf.starts_with(b"%PDF-"), "the print of {name} is a PDF");
    let file = dir.join(name);
    std::fs::write(&file, &pdf).unwrap();
    file
}

/// The text of a PDF through `pdftotext`, or `None` (said loudly) when poppler-utils is missing
/// outside CI. `what` names the printed page for that message.
fn pdf_text(pdf: &Path, what: &str) -> Option<String> {
    let program = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].into_iter().find(|p| Path::new(p).is_file());
    let Some(program) = program else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI requires pdftotext to check the printed {what}: apt-get install poppler-utils");
        }
        skipped(&format!("the printed {what}'s text is not checked (apt-get install poppler-utils)"));
        return None;
    };
    let out = std::process::Command::new(program).arg(pdf).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

both!(r4_1_r4_2_r4_3_r5_1_r5_3_r10_1_browser_patient_consent_and_group, |srv: Srv| async move {
    // ---- The region, through HTTP: a doctor in facility A, a nurse of a visiting nursing station ----
    let w = world(&srv).await;
    let (dr_id, pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "dr.a", "doctor").await;
    approve_all(&srv, &w.center).await;
    activate(&srv, "dr.a", &pw).await;
    let fac_n = create_facility(&w.center, "さくら訪問看護", "visiting_nursing").await;
    let (_, pw) =
        create_person(&srv, &w.center, &format!("/center/facilities/{fac_n}/admins"), "admin.n", "nurse").await;
    let admin_n = activate(&srv, "admin.n", &pw).await;
    let (nurse_n_id, pw) =
        create_person(&srv, &admin_n, &format!("/facilities/{fac_n}/staff"), "nurse.n", "nurse").await;
    approve_all(&srv, &w.center).await;
    activate(&srv, "nurse.n", &pw).await;

    let Some(b) = browser(&srv).await else { return };
    let files = TempDir::new("patients");

    // ---- R5.1, R3.1: the doctor registers the patient ----
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go("/patients").await;
    b.click_and_load("#new-patient").await;
    assert_eq!(b.path().await, "/patients/new");
    b.fill("#f-name", PATIENT).await;
    b.fill("#f-kana", PATIENT_KANA).await;
    set_date(&b, "#f-birth_date", BIRTH_DATE).await;
    b.choose("#f-sex", "male").await;
    b.fill("#f-address", "熊谷市宮町1-1-1").await;
    b.choose("#f-basis", "home_visits").await;
    b.click_and_load("#register-patient").await;
    let path = b.path().await;
    let page = b.source().await;
    let pid = path
        .strip_prefix("/patients/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .unwrap_or_else(|| panic!("the patient's page, not {path}: {}", excerpt(&page)))
        .to_string();
    let patient_page = format!("/patients/{pid}");
    let stored = srv.store.patient(&pid).await.unwrap().expect("the patient is stored");
    assert_eq!((stored.name.as_str(), stored.kana.as_str()), (PATIENT, PATIENT_KANA));
    assert_eq!(stored.birth_date, BIRTH_DATE);
    assert_eq!(stored.attending_id, dr_id, "R5.1: the registering doctor is the attending physician");
    let main = b.text("main").await;
    assert!(
        main.contains(PATIENT) && main.contains(BIRTH_DATE_AND_AGE),
        "the birth date in Japanese, with the age: {main}"
    );
    assert!(b.text("#consent-state").await.contains("同意書がまだ記録されていません"), "R4.1: no consent yet");
    assert!(!b.has("#create-group").await, "R4.1: no group button before the consent");

    // ---- R4.1: a group before the consent is refused, even for a form made by hand ----
    let denied_before = audit_rows(&srv, "access.denied").await.len();
    submit_by_hand(&b, &format!("/patients/{pid}/group"), &[]).await;
    let page = b.source().await;
    assert_eq!(status(&b).await, 403, "R4.1: refused: {}", excerpt(&page));
    assert!(page.contains(NO_CONSENT), "R4.1: the refusal says why: {}", excerpt(&page));
    assert!(b.text("h1").await.contains("この操作はできません"));
    let denied = audit_rows(&srv, "access.denied").await;
    assert_eq!(denied.len(), denied_before + 1, "R10.7: the refusal is in the audit log");
    let row = &denied.last().unwrap().record;
    assert_eq!(row.reason.as_deref(), Some("no_consent"));
    assert_eq!(row.actor_user_id.as_deref(), Some(dr_id.as_str()));
    assert_eq!((row.target_type.as_deref(), row.target_id.as_deref()), (Some("patient"), Some(pid.as_str())));
    assert!(audit_rows(&srv, "group.created").await.is_empty(), "no group was made");

    // ---- R4.2: the pre-filled 様式1, printed ----
    b.go(&patient_page).await;
    b.click_and_load("#print-form1").await;
    assert_eq!(b.path().await, format!("/patients/{pid}/consent/form"));
    let on_form = b.text("#form1-patient").await;
    assert!(on_form.contains(PATIENT) && on_form.contains(PATIENT_KANA), "R4.2: pre-filled: {on_form}");
    let form = b.text("#form1").await;
    assert!(form.contains("様式1") && form.contains(BIRTH_DATE_SHOWN) && form.contains("ひまわりクリニック"), "{form}");
    let pdf_file = print_to_pdf(&b, files.path(), "form1.pdf").await;
    if let Some(text) = pdf_text(&pdf_file, "様式1") {
        let text = without_whitespace(&text);
        assert!(text.contains("様式1"), "R4.2: the printed form is 様式1: {text}");
        assert!(text.contains("熊谷一郎"), "R4.2: the printed form names the patient: {text}");
    }

    // ---- R4.1: the signed consent, with the scan ----
    b.go(&patient_page).await;
    b.click_and_load("#record-consent").await;
    assert_eq!(b.path().await, format!("/patients/{pid}/consent"));
    assert_eq!(b.value("#f-consenter").await, "patient", "the patient is proposed as the consenter");
    assert_eq!(b.value("#f-consenter_name").await, PATIENT, "the consenter's name is prefilled");
    assert_eq!(b.value("#f-consented_on").await, kumanet_web::jst::iso_date_jst(T0), "today is prefilled");
    let scan = files.path().join("form1-signed.png");
    std::fs::write(&scan, PNG_1X1).unwrap();
    let scan_path = scan.to_str().expect("a UTF-8 temp path").to_string();
    let input = b.el("#f-scan").await;
    b.post(&format!("/element/{input}/value"), json!({ "text": scan_path }))
        .await
        .unwrap_or_else(|e| panic!("attach the scan: {e}"));
    assert!(b.value("#f-scan").await.ends_with("form1-signed.png"), "the scan is attached");
    b.click_and_load("#save-consent").await;
    assert_eq!(b.path().await, patient_page, "{}", excerpt(&b.source().await));
    assert!(b.text("#consent-state").await.contains("同意が記録されています"), "R4.1: consent recorded");
    let consents = srv.store.consents(&pid).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].explained_by, dr_id, "R4.1: the doctor is recorded as the one who explained");
    assert_eq!(consents[0].consenter_name, PATIENT);
    assert_eq!(consents[0].scan_type.as_deref(), Some("image/png"));
    assert_eq!(consents[0].scan_pages, 1, "R9.3: the scan is kept as its cleaned page");
    assert!(srv.store.consent_scan(&consents[0].id).await.unwrap().is_none(), "R9.3: not kept as sent");
    // The manager opens the scan from the patient's page: its page, a watermarked JPEG, inline,
    // not cached, sandboxed.
    let scan_url = format!("/patients/{pid}/consent/{}/scan", consents[0].id);
    let link = format!("a[href=\"{scan_url}\"]");
    assert!(b.has(&link).await, "R4.1: the scan is linked from the patient's page");
    let head = b
        .post(
            "/execute/async",
            json!({
                "script": "const done = arguments[arguments.length - 1]; \
                    fetch(arguments[0]).then(r => r.arrayBuffer().then(body => done({ status: r.status, \
                    type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), \
                    cache: r.headers.get('cache-control'), csp: r.headers.get('content-security-policy'), \
                    length: body.byteLength }))).catch(e => done({ error: String(e) }));",
                "args": [format!("{scan_url}/1")],
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("fetch the scan: {e}"));
    assert_eq!(head["status"], json!(200), "{head}");
    assert_eq!(head["type"], json!("image/jpeg"), "{head}");
    assert_eq!(head["disposition"], json!("inline"), "R9.3: shown, not downloaded: {head}");
    assert!(head["cache"].as_str().unwrap_or("").contains("no-store"), "R9.3: never cached: {head}");
    let scan_csp = head["csp"].as_str().unwrap_or("").to_string();
    b.click_and_load(&link).await;
    assert_eq!(b.path().await, scan_url);
    let width = b
        .post(
            "/execute/async",
            json!({
                "script": "const done = arguments[arguments.length - 1]; \
                    const img = document.querySelector('img.page'); \
                    if (!img) { done(-1); } else { img.decode().then(() => done(img.naturalWidth), () => done(-2)); }",
                "args": [],
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("the scan's page: {e}"));
    assert_eq!(width, json!(1), "the scan's page is the 1×1 image that was sent, cleaned");
    b.go(&patient_page).await;

    // ---- R5.1, R10.1: the group, and an invitation to the nurse of the other facility ----
    b.click_and_load("#create-group").await;
    let path = b.path().await;
    let gid = path.strip_prefix("/groups/").unwrap_or_else(|| panic!("the group page, not {path}")).to_string();
    assert!(b.has(&format!("li[data-member=\"{dr_id}\"]")).await, "the attending doctor is a member");
    b.fill("#q", "かんご").await;
    b.click_and_load("form.search button[type=submit]").await;
    let invite = "form.invite[data-login=\"nurse.n\"]";
    assert!(b.text(invite).await.contains("さくら訪問看護"), "the candidate shows her facility");
    b.fill(&format!("{invite} input[name=reason]"), REASON).await;
    b.click_and_load(&format!("{invite} button[type=submit]")).await;
    assert_eq!(b.path().await, format!("/groups/{gid}"), "{}", excerpt(&b.source().await));
    assert!(b.text("main").await.contains(REASON), "the pending invitation is listed with its reason");
    b.logout().await;

    // ---- R10.1: the nurse sees who invites her, to which patient and why, and confirms ----
    assert_eq!(b.login("nurse.n", PASSWORD).await, "/");
    b.click_and_load("#invitations-waiting").await;
    assert_eq!(b.path().await, "/invitations");
    b.click_and_load("main a[href^=\"/invitations/\"]").await;
    let invitation_page = b.path().await;
    assert!(invitation_page.starts_with("/invitations/"), "{invitation_page}");
    let inviter = b.text("#inviter").await;
    assert!(inviter.contains("看護 太郎") && inviter.contains("ひまわりクリニック"), "the inviting doctor: {inviter}");
    assert_eq!(b.text("#invited-patient").await, format!("{PATIENT}さん"));
    assert_eq!(b.text("#invitation-reason").await, REASON);
    // Without the self-check (第10条(1)) she does not join.
    b.click_and_load("#accept-invitation").await;
    assert_eq!(b.path().await, invitation_page, "R10.1: not accepted without the confirmation");
    assert_eq!(status(&b).await, 422);
    assert!(b.has("#e-appropriate").await, "R10.1: the reason is next to the checkbox");
    assert!(!srv.store.is_member(&gid, &nurse_n_id).await.unwrap());
    b.tick("#f-appropriate").await;
    b.click_and_load("#accept-invitation").await;
    assert_eq!(b.path().await, format!("/groups/{gid}"), "{}", excerpt(&b.source().await));
    assert!(b.has(&format!("li[data-member=\"{nurse_n_id}\"]")).await, "R10.1: she is a member now");
    assert!(b.text("main").await.contains("メンバー(2人)"));
    assert!(srv.store.is_member(&gid, &nurse_n_id).await.unwrap());
    let accepted = audit_rows(&srv, "invitation.accepted").await;
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].record.details.contains("\"confirmed_appropriate\":true"), "{}", accepted[0].record.details);
    b.logout().await;

    // ---- R5.3: the doctor proposes that the family take part; a reason is required ----
    let group_page = format!("/groups/{gid}");
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go(&group_page).await;
    assert!(!b.has("#agreement-state").await, "R5.3: nothing proposed yet");
    assert_eq!(b.value("#f-note").await, "", "the reason starts empty");
    b.click_and_load("#propose-family").await;
    assert_eq!(status(&b).await, 422, "R5.3: no proposal without a reason: {}", excerpt(&b.source().await));
    let section = b.text("#family-section").await;
    assert!(section.contains("参加が必要・有効と考える理由を入力してください"), "the reason is asked for: {section}");
    assert!(b.has("#propose-family").await && !b.has("#agreement-state").await, "still not proposed");
    assert!(srv.store.family_proposal(&gid).await.unwrap().is_none(), "nothing is stored");
    b.fill("#f-note", FAMILY_REASON).await;
    b.click_and_load("#propose-family").await;
    assert_eq!(b.path().await, group_page, "{}", excerpt(&b.source().await));
    assert!(b.text("#family-section").await.contains(FAMILY_REASON), "the proposal is shown with its reason");
    assert!(!b.has("#propose-family").await, "proposed once");
    let state = b.text("#agreement-state").await;
    assert!(state.contains("賛成 0 ・ 反対 0 / 専門職 2人"), "R5.3: nobody has answered yet: {state}");
    assert_eq!(audit_rows(&srv, "family.proposed").await.len(), 1);

    // ---- R5.3: the doctor agrees; one answer is not the agreement of every professional ----
    b.click_and_load("#vote-agree").await;
    assert_eq!(b.path().await, group_page, "{}", excerpt(&b.source().await));
    let state = b.text("#agreement-state").await;
    assert!(state.contains("賛成 1 ・ 反対 0 / 専門職 2人"), "R5.3: the doctor's answer is counted: {state}");
    assert!(!state.contains("合意が得られました"), "R5.3: the nurse has not answered: {state}");
    assert!(!b.has("#create-family").await, "R5.3: no account before the agreement");
    assert!(b.text("#family-section").await.contains("あなたの意見: 賛成"), "the doctor sees his answer");
    b.logout().await;

    // ---- R5.3: the nurse objects; an objection needs a comment ----
    assert_eq!(b.login("nurse.n", PASSWORD).await, "/");
    b.go(&group_page).await;
    assert!(b.text("#family-section").await.contains(FAMILY_REASON), "the nurse sees why it is proposed");
    assert!(!b.has("#create-family").await, "only a manager creates the account");
    b.click_and_load("#vote-object").await;
    assert_eq!(status(&b).await, 422, "R5.3: no objection without a comment: {}", excerpt(&b.source().await));
    assert!(b.text("#e-comment").await.contains("反対の場合は、理由をコメントに書いてください"));
    assert!(b.text("#agreement-state").await.contains("賛成 1 ・ 反対 0"), "the refused answer is not counted");
    b.fill("#f-comment", OBJECTION).await;
    b.click_and_load("#vote-object").await;
    assert_eq!(b.path().await, group_page, "{}", excerpt(&b.source().await));
    let state = b.text("#agreement-state").await;
    assert!(state.contains("賛成 1 ・ 反対 1 / 専門職 2人"), "R5.3: the objection is counted: {state}");
    assert!(b.text("#family-section").await.contains(OBJECTION), "the objection is shown with its comment");
    b.logout().await;

    // The doctor: still no account form while the nurse objects.
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go(&group_page).await;
    let state = b.text("#agreement-state").await;
    assert!(state.contains("賛成 1 ・ 反対 1") && !state.contains("合意が得られました"), "{state}");
    assert!(!b.has("#create-family").await, "R5.3: no account while a professional objects");
    b.logout().await;

    // ---- R5.3: after talking it over the nurse agrees: her answer replaces the objection ----
    assert_eq!(b.login("nurse.n", PASSWORD).await, "/");
    b.go(&group_page).await;
    assert!(b.text("#family-section").await.contains("あなたの意見: 反対"), "she sees her objection");
    b.fill("#f-comment", "話し合いで納得しました").await;
    b.click_and_load("#vote-agree").await;
    assert_eq!(b.path().await, group_page, "{}", excerpt(&b.source().await));
    let state = b.text("#agreement-state").await;
    assert!(state.contains("賛成 2 ・ 反対 0 / 専門職 2人"), "R5.3: answering again replaces the answer: {state}");
    assert!(state.contains("合意が得られました"), "{state}");
    assert!(!b.has("#create-family").await, "only a manager creates the account");
    let proposal = srv.store.family_proposal(&gid).await.unwrap().expect("the proposal is stored");
    assert_eq!(proposal.votes.len(), 2, "one answer per professional");
    assert!(proposal.votes.iter().all(|v| v.agree), "both agree now");
    assert_eq!(audit_rows(&srv, "family.voted").await.len(), 3, "every answer is in the audit log");
    b.logout().await;

    // ---- R5.3: the doctor creates the family's account and prints the letter ----
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go(&group_page).await;
    assert!(b.text("#agreement-state").await.contains("合意が得られました"), "R5.3: every professional agreed");
    b.fill("#f-login_id", FAMILY_LOGIN).await;
    b.fill("#f-name", FAMILY_NAME).await;
    b.fill("#f-kana", FAMILY_KANA).await;
    b.fill("#f-relationship", FAMILY_RELATIONSHIP).await;
    b.click_and_load("#create-family").await;
    let page = b.source().await;
    assert_eq!(status(&b).await, 200, "the letter: {}", excerpt(&page));
    assert_eq!(b.text("#issued-login").await, FAMILY_LOGIN);
    let family_pw = b.text("#issued-password").await;
    assert!(family_pw.len() >= 8, "a one-time password: {family_pw:?}");
    let letter = b.text("#family-letter").await;
    assert!(letter.contains(&format!("{FAMILY_NAME} 様")) && letter.contains(PATIENT), "the letter: {letter}");
    let family_user = srv.store.user_by_login(FAMILY_LOGIN).await.unwrap().expect("the family account is stored");
    assert_eq!(family_user.role, kumanet_core::people::Role::PatientFamily);
    assert_eq!(srv.store.family_group_of(&family_user.id).await.unwrap().as_deref(), Some(gid.as_str()));
    assert!(!srv.store.is_member(&gid, &family_user.id).await.unwrap(), "R5.3: not a professional member");
    assert_eq!(audit_rows(&srv, "family.joined").await.len(), 1);
    let pdf_file = print_to_pdf(&b, files.path(), "family-letter.pdf").await;
    if let Some(text) = pdf_text(&pdf_file, "family letter") {
        let text = without_whitespace(&text);
        assert!(text.contains("ご利用のご案内"), "R5.3: the printed letter is the invitation: {text}");
        assert!(text.contains(FAMILY_LOGIN), "R5.3: the printed letter gives the login id: {text}");
    }
    b.logout().await;

    // ---- R5.3, R8.1, R1.1: the family's first login; then only the shared part ----
    assert_eq!(b.login(FAMILY_LOGIN, &family_pw).await, "/password", "R8.1: the one-time password must be changed");
    b.go("/").await;
    assert_eq!(b.path().await, "/password", "R8.1: home is closed until the password is changed");
    b.fill("#f-current", &family_pw).await;
    b.fill("#f-password", PASSWORD).await;
    b.fill("#f-password_confirm", PASSWORD).await;
    b.click_and_load("#change-password").await;
    assert_eq!(b.path().await, "/policy", "R1.1: the policy comes after the password");
    assert!(b.has("#accept-policy").await && b.has("#f-agree").await, "the policy asks for acceptance");
    assert!(!b.has("#f-pledge").await, "R5.3: the pledge (様式3) is for professionals, not for the family");
    b.tick("#f-agree").await;
    b.click_and_load("#accept-policy").await;
    assert_eq!(b.path().await, "/", "{}", excerpt(&b.source().await));
    let family_pledge = srv.store.user_by_login(FAMILY_LOGIN).await.unwrap().expect("stored").pledge_signed_at;
    let family_policy_details: Vec<String> = audit_rows(&srv, "policy.accepted")
        .await
        .into_iter()
        .filter(|r| r.record.actor_user_id.as_deref() == Some(family_user.id.as_str()))
        .map(|r| r.record.details)
        .collect();
    assert_eq!(family_policy_details.len(), 1, "R1.1: her acceptance is in the audit log");
    assert!(!b.has("#pending-approval").await, "the family account is not waiting for an approval");
    b.click_and_load("#open-shared").await;
    let shared_page = format!("/groups/{gid}/shared");
    assert_eq!(b.path().await, shared_page);
    let shared = b.text("#shared-part").await;
    assert!(shared.contains("医師") && shared.contains("看護師"), "R5.3: the team by profession: {shared}");
    assert!(
        !shared.contains("ひまわりクリニック") && !shared.contains("さくら訪問看護"),
        "R5.3: no facility names in the shared part: {shared}"
    );
    assert!(!b.has(&format!("main a[href=\"{group_page}\"]")).await, "no way to the professionals' part");
    for path in [group_page.clone(), "/patients".to_string()] {
        b.go(&path).await;
        let page = b.source().await;
        assert_eq!(status(&b).await, 403, "R5.3: the family does not open {path}: {}", excerpt(&page));
        assert!(b.text("h1").await.contains(FORBIDDEN), "{path}: {}", excerpt(&page));
        assert!(!page.contains(REASON) && !page.contains(FAMILY_REASON), "{path} shows nothing of the group");
    }
    b.go("/").await;
    b.logout().await;

    // ---- R4.3: the consent is withdrawn; the group becomes read-only ----
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go(&patient_page).await;
    // The note is required.
    let question = click_confirm_and_load(&b, "#withdraw-consent").await;
    assert!(question.contains("同意の撤回を記録します"), "the confirm question: {question}");
    assert_eq!(status(&b).await, 422);
    assert!(b.has("#e-note").await, "R4.3: the withdrawal needs a note");
    assert!(b.text("#consent-state").await.contains("同意が記録されています"), "not withdrawn yet");
    b.fill("#f-note", WITHDRAWAL).await;
    click_confirm_and_load(&b, "#withdraw-consent").await;
    assert_eq!(b.path().await, patient_page, "{}", excerpt(&b.source().await));
    assert!(b.text("#consent-state").await.contains("同意は撤回されています"), "R4.3: withdrawn");
    assert!(b.text("main").await.contains(WITHDRAWAL), "the note is shown with the consent");
    assert!(!b.has("#withdraw-consent").await);
    b.click_and_load("#open-group").await;
    assert_eq!(b.path().await, format!("/groups/{gid}"));
    assert!(b.has("#read-only").await, "R4.3: the group is read-only");
    assert!(!b.has("#q").await, "R4.3: no invite search any more");
    assert!(!b.has("form.invite").await);
    assert!(b.has(&format!("li[data-member=\"{nurse_n_id}\"]")).await, "R4.3: nothing is deleted");
    b.go("/").await;
    b.logout().await;

    // ---- R4.3, R5.3: after the withdrawal the family still reads the shared part ----
    assert_eq!(b.login(FAMILY_LOGIN, PASSWORD).await, "/", "the family logs in with her own password");
    b.click_and_load("#open-shared").await;
    assert_eq!(b.path().await, shared_page);
    assert_eq!(status(&b).await, 200, "R4.3: reading stays: {}", excerpt(&b.source().await));
    let shared = b.text("#shared-part").await;
    assert!(shared.contains("医師") && shared.contains("看護師"), "R4.3: reading stays: {shared}");
    b.go("/").await;
    b.logout().await;

    // The doctor still sees the family member in the read-only group; nothing more can be decided.
    assert_eq!(b.login("dr.a", PASSWORD).await, "/");
    b.go(&group_page).await;
    assert!(b.has("#read-only").await, "R4.3: the group is read-only");
    let section = b.text("#family-section").await;
    assert!(
        section.contains(&format!("{FAMILY_NAME}({FAMILY_RELATIONSHIP}) が参加しています")),
        "R4.3: the family member is still listed: {section}"
    );
    assert!(!b.has("#vote-agree").await && !b.has("#create-family").await, "R4.3: no new decisions");
    // Nor does the server take an answer sent by hand: the group is read-only (閲覧のみ).
    let votes_before = family_votes(&srv, &gid).await;
    submit_by_hand(&b, &format!("/groups/{gid}/family/vote"), &[("decision", "object"), ("comment", LATE_OBJECTION)])
        .await;
    let late_vote = (status(&b).await, b.path().await, family_votes(&srv, &gid).await);
    b.go("/").await;
    b.logout().await;

    b.quit().await;

    // Checked last, so that the whole story above runs even while these fail; every failure is said.
    let mut wrong = Vec::new();
    if late_vote.0 != 403 || late_vote.2 != votes_before {
        wrong.push(format!(
            "R4.3, R5.3: after the withdrawal the group is read-only (閲覧のみ), so an answer to the family proposal \
             sent by hand must be refused (403) and the answers kept; but kumanet-core authz.rs decide_patient lets \
             any member vote without sharing(p.consent) (`VoteFamily => p.actor_is_member`), and \
             service/patients.rs vote_family does not look at the consent either: status {} on {}, answers {:?} -> \
             {:?}",
            late_vote.0, late_vote.1, votes_before, late_vote.2
        ));
    }
    if family_pledge.is_some() || family_policy_details.iter().any(|d| d.contains("\"pledge\":true")) {
        wrong.push(format!(
            "R5.3, R6.2: the family was never shown the pledge (様式3), so none may be recorded; but \
             service/accounts.rs accept_policy calls sign_pledge for every role and writes \"pledge\": true in the \
             policy.accepted audit row (her profile then says 誓約書(様式3) … に誓約): pledge_signed_at \
             {family_pledge:?}, audit details {family_policy_details:?}"
        ));
    }
    if !scan_csp.split(';').any(|d| d.trim() == "sandbox") {
        wrong.push(format!(
            "R4.1, R9.3: an uploaded scan (it may be a PDF) must be served sandboxed, as html/patients.rs scan_get \
             sets (`default-src 'none'; sandbox`), but gate::security_headers replaced that \
             Content-Security-Policy with the site-wide one: {scan_csp:?}"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
});
