//! The patient's way through Kumanet, in the browser: a doctor registers a patient, prints the
//! pre-filled consent form (様式1), records the signed consent, opens the patient's group and
//! invites a nurse of another facility, who confirms it is appropriate before joining; then the
//! consent is withdrawn and the group becomes read-only. R4.1, R4.2, R4.3, R5.1, R10.1.
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
const REASON: &str = "週2回の訪問看護";
const WITHDRAWAL: &str = "11月24日 本人より電話で撤回の申し出";
const NO_CONSENT: &str = "同意書(様式1)が登録されていないため";

/// A 1×1 PNG (a real, decodable image), as a phone camera's scan would be uploaded.
const PNG_1X1: [u8; 70] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0xF8, 0xFF, 0xFF, 0x3F, 0x03, 0x00, 0x08, 0xFC, 0x02, 0xFE, 0x78, 0xC4, 0xB2,
    0xB0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A directory of this test's files, removed when dropped (also on panic).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("kumanet-patients-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

/// The text of a PDF through `pdftotext`, or `None` (said loudly) when poppler-utils is missing
/// outside CI.
fn pdf_text(pdf: &Path) -> Option<String> {
    let program = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].into_iter().find(|p| Path::new(p).is_file());
    let Some(program) = program else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI requires pdftotext to check the printed 様式1: apt-get install poppler-utils");
        }
        skipped("the printed 様式1's text is not checked (apt-get install poppler-utils)");
        return None;
    };
    let out = std::process::Command::new(program).arg(pdf).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

both!(r4_1_r4_2_r4_3_r5_1_r10_1_browser_patient_consent_and_group, |srv: Srv| async move {
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
    let files = TempDir::new();

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
    assert!(main.contains(PATIENT) && main.contains(BIRTH_DATE), "{main}");
    assert!(b.text("#consent-state").await.contains("同意書がまだ記録されていません"), "R4.1: no consent yet");
    assert!(!b.has("#create-group").await, "R4.1: no group button before the consent");

    // ---- R4.1: a group before the consent is refused, even for a form made by hand ----
    let denied_before = audit_rows(&srv, "access.denied").await.len();
    mark_page(&b).await;
    b.exec(
        "const csrf = document.querySelector('form[action=\"/logout\"] input[name=csrf]').value; \
         const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0]; \
         const i = document.createElement('input'); i.type = 'hidden'; i.name = 'csrf'; i.value = csrf; \
         f.appendChild(i); document.body.appendChild(f); f.submit();",
        json!([format!("/patients/{pid}/group")]),
    )
    .await;
    wait_for_new_page(&b, "the hand-made group form").await;
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
    assert!(form.contains("様式1") && form.contains(BIRTH_DATE) && form.contains("ひまわりクリニック"), "{form}");
    let pdf = b.post("/print", json!({})).await.unwrap_or_else(|e| panic!("print to PDF: {e}"));
    let pdf = base64_decode(pdf.as_str().expect("the PDF comes as base64"));
    assert!(pdf.starts_with(b"%PDF-"), "the print is a PDF");
    let pdf_file = files.path().join("form1.pdf");
    std::fs::write(&pdf_file, &pdf).unwrap();
    if let Some(text) = pdf_text(&pdf_file) {
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
    let (bytes, _) = srv.store.consent_scan(&consents[0].id).await.unwrap().expect("the scan is stored");
    assert_eq!(bytes, PNG_1X1, "the scan is stored as sent");
    // The manager opens the scan from the patient's page: an image, inline, not cached, sandboxed.
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
                "args": [scan_url],
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("fetch the scan: {e}"));
    assert_eq!(head["status"], json!(200), "{head}");
    assert_eq!(head["type"], json!("image/png"), "{head}");
    assert_eq!(head["disposition"], json!("inline"), "R9.3: shown, not downloaded: {head}");
    assert_eq!(head["cache"], json!("no-store"), "R9.3: never cached: {head}");
    assert_eq!(head["length"], json!(PNG_1X1.len()), "{head}");
    let scan_csp = head["csp"].as_str().unwrap_or("").to_string();
    b.click_and_load(&link).await;
    assert_eq!(b.path().await, scan_url);
    let width = b.exec("return document.images.length === 1 ? document.images[0].naturalWidth : -1;", json!([])).await;
    assert_eq!(width, json!(1), "the scan is the 1×1 image that was sent");
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

    b.quit().await;

    // Checked last, so that the whole story above runs even while this fails.
    assert!(
        scan_csp.split(';').any(|d| d.trim() == "sandbox"),
        "R4.1, R9.3: an uploaded scan (it may be a PDF) must be served sandboxed, as html/patients.rs scan_get sets \
         (`default-src 'none'; img-src 'self'; sandbox`), but gate::security_headers replaced that \
         Content-Security-Policy with the site-wide one: {scan_csp:?}"
    );
});
