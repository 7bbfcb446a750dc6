//! The JSON API for patients, consent, groups, invitations and the family (R3.1, R4.1, R4.3, R5.1–R5.3,
//! R10.1, R10.5): the same services, the same gate and the same audit rows as the pages.

use serde_json::json;

use crate::helpers::*;
use crate::patients::{team, PNG};

/// Standard base64 with padding, as an API client would send a scan.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Patient data is never cached (R9.3).
fn no_store(r: &Resp) {
    assert_eq!(r.headers["cache-control"], "no-store", "{}", r.body);
}

fn fields(r: &Resp) -> Vec<String> {
    r.json()["fields"]
        .as_array()
        .map_or(Vec::new(), |a| a.iter().map(|f| f["field"].as_str().unwrap_or_default().to_string()).collect())
}

/// Audit rows written by the API (their details say so).
fn api_audits(rows: &[kumanet_store::AuditRow]) -> usize {
    rows.iter()
        .filter(|r| serde_json::from_str::<serde_json::Value>(&r.record.details).is_ok_and(|d| d["api"] == true))
        .count()
}

both!(r3_1_r4_1_r5_2_r5_3_api_patients_consent_group_and_family, |srv: Srv| async move {
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foob"), "Zm9vYg==");
    let t = team(&srv).await;

    // R3.1: the attending physician registers through the API; unknown fields are refused.
    let form = json!({
        "name": "熊谷 一郎", "kana": "くまがや いちろう", "birth_date": "1940-04-01", "sex": "male",
        "address": "熊谷市宮町1-1", "basis": "home_visits", "basis_reason": "",
    });
    let mut unknown = form.clone();
    unknown["diagnosis"] = json!("認知症");
    let r = t.doctor.api("POST", "/api/v1/patients", unknown).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["code"], "bad_request");
    assert_eq!(t.nurse_n.api("POST", "/api/v1/patients", form.clone()).await.status, 403, "only doctors");
    let r = t.doctor.api("POST", "/api/v1/patients", json!({ "name": "熊谷 一郎", "kana": "kumagaya" })).await;
    assert_eq!(r.status, 422);
    assert_eq!(fields(&r), ["kana", "birth_date", "sex", "address", "basis"]);
    // Issue 18: a problem the core names carries its code, worded by the one message table.
    let kana = &r.json()["fields"][0];
    assert_eq!(
        (kana["code"].as_str(), kana["message"].as_str()),
        (Some("not_kana"), Some("ふりがなはひらがなかカタカナで入力してください。"))
    );
    let r = t.doctor.api("POST", "/api/v1/patients", json!({ "name": "熊".repeat(65) })).await;
    assert_eq!(r.json()["fields"][0]["code"], "too_long", "{}", r.body);
    let r = t.doctor.api("POST", "/api/v1/patients", form).await;
    assert_eq!(r.status, 201, "{}", r.body);
    no_store(&r);
    let p = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["attending_id"], t.doctor_id.as_str());
    assert_eq!(r.json()["basis"], "home_visits");

    // The list: the attending physician's, searchable; nobody else's.
    let r = t.doctor.get("/api/v1/patients?q=くまがや").await;
    assert_eq!(r.status, 200);
    no_store(&r);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(r.json()[0]["name"], "熊谷 一郎");
    assert_eq!(t.doctor.get("/api/v1/patients?q=さいたま").await.json(), json!([]));
    assert_eq!(t.nurse_n.get("/api/v1/patients").await.json(), json!([]));
    assert_eq!(t.nurse_n.get(&format!("/api/v1/patients/{p}")).await.status, 403);
    assert_eq!(api_audits(&audit_rows(&srv, "patient.listed").await), 3);

    // R4.1: no group before consent, refused with a stable code and audited.
    let r = t.doctor.api("POST", &format!("/api/v1/patients/{p}/group"), json!({})).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "no_consent");
    let denied = audit_rows(&srv, "access.denied").await;
    assert!(denied
        .iter()
        .any(|d| d.record.reason.as_deref() == Some("no_consent") && d.record.target_id.as_deref() == Some(&p)));
    let r = t.doctor.get(&format!("/api/v1/patients/{p}")).await;
    assert_eq!(r.status, 200);
    no_store(&r);
    assert_eq!(r.json()["consent_state"], "missing");
    assert_eq!(r.json()["consents"], json!([]));
    assert_eq!(r.json()["group_id"], json!(null));

    // The consent (様式1) with its scan in base64: bad base64 and a non-image are refused.
    let consent = |scan: &str| {
        json!({
            "consenter": "family", "consenter_name": "熊谷 花子", "relationship": "長女",
            "consented_on": "2026-11-20", "scope": "", "scan_base64": scan,
        })
    };
    let path = format!("/api/v1/patients/{p}/consent");
    let r = t.doctor.api("POST", &path, consent("not base64!")).await;
    assert_eq!(r.status, 422);
    assert_eq!(fields(&r), ["scan_base64"]);
    let r = t.doctor.api("POST", &path, consent(&base64(b"<svg onload=alert(1)></svg>"))).await;
    assert_eq!(r.status, 422);
    assert_eq!(fields(&r), ["scan"]);
    let r = t.doctor.api("POST", &path, consent(&base64(PNG))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    no_store(&r);
    assert_eq!(r.json()["scan_type"], "image/png");
    assert_eq!(r.json()["explained_by"], t.doctor_id.as_str());
    assert_eq!(r.json()["relationship"], "長女");
    let consent_id = r.json()["id"].as_str().unwrap().to_string();
    // R9.3: the image is kept only as its cleaned copy, never as sent.
    assert!(srv.store.consent_scan(&consent_id).await.unwrap().is_none(), "the scan is not kept as sent");
    let page = srv.store.consent_scan_page(&consent_id, 1).await.unwrap().unwrap();
    assert!(page.starts_with(b"\x89PNG") && page != PNG, "a re-encoded PNG");
    assert_eq!(r.json()["scan_pages"], 1);
    let r = t.doctor.get(&format!("/api/v1/patients/{p}")).await;
    assert_eq!(r.json()["consent_state"], "given");
    assert_eq!(r.json()["consents"].as_array().unwrap().len(), 1);
    assert!(r.json()["consents"][0].get("scan").is_none() && !r.body.contains(&base64(PNG)), "no scan bytes");
    assert_eq!(api_audits(&audit_rows(&srv, "patient.viewed").await), 2);

    // R4.1, R5.1: the group, once; asking again names the same group.
    let r = t.doctor.api("POST", &format!("/api/v1/patients/{p}/group"), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.json()["group_id"].as_str().unwrap().to_string();
    let r = t.doctor.api("POST", &format!("/api/v1/patients/{p}/group"), json!({})).await;
    assert_eq!((r.status, r.json()["group_id"].as_str()), (200, Some(g.as_str())));

    // R5.2, R10.1: the visiting nurse is invited, sees why, and must confirm it is appropriate.
    let r = t
        .doctor
        .api(
            "POST",
            &format!("/api/v1/groups/{g}/invitations"),
            json!({ "invitee_id": t.nurse_n_id, "reason": "週2回の訪問看護" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let inv = r.json()["invitation_id"].as_str().unwrap().to_string();
    let r = t.nurse_n.get("/api/v1/invitations").await;
    assert_eq!(r.status, 200);
    no_store(&r);
    assert_eq!(r.json()[0]["id"], inv.as_str());
    assert_eq!(r.json()[0]["patient_name"], "熊谷 一郎");
    assert_eq!(r.json()[0]["reason"], "週2回の訪問看護");
    assert_eq!(t.pharmacist.get("/api/v1/invitations").await.json(), json!([]));
    let r = t.nurse_n.get(&format!("/api/v1/invitations/{inv}")).await;
    assert_eq!((r.status, r.json()["expired"].as_bool()), (200, Some(false)));
    no_store(&r);
    assert_eq!(t.nurse_n.get(&format!("/api/v1/groups/{g}")).await.status, 403, "not before joining");
    let answer = format!("/api/v1/invitations/{inv}");
    let r = t.nurse_n.api("POST", &answer, json!({ "decision": "accept" })).await;
    assert_eq!(r.status, 422);
    assert_eq!(fields(&r), ["appropriate"]);
    assert_eq!(
        t.nurse_n.api("POST", &answer, json!({ "decision": "accept", "appropriate": "false" })).await.status,
        422
    );
    assert_eq!(
        t.pharmacist.api("POST", &answer, json!({ "decision": "accept", "appropriate": "on" })).await.status,
        403,
        "someone else's invitation"
    );
    let r = t.nurse_n.api("POST", &answer, json!({ "decision": "accept", "appropriate": "on" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({ "state": "accepted", "group_id": g }));
    let r = t.nurse_n.get(&format!("/api/v1/groups/{g}")).await;
    assert_eq!(r.status, 200);
    no_store(&r);
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 2);
    assert_eq!((r.json()["manager"].as_bool(), r.json()["member"].as_bool()), (Some(false), Some(true)));
    assert!(r.json().get("invitations").is_none(), "the managers' part is for managers");

    // R5.3: proposal, every professional's vote, then the account.
    let family = json!({ "login_id": "kumagaya.family", "name": "熊谷 花子", "kana": "くまがや はなこ", "relationship": "長女" });
    let accounts = format!("/api/v1/groups/{g}/family/accounts");
    let r = t.doctor.api("POST", &accounts, family.clone()).await;
    assert_eq!(r.status, 409, "no account before the agreement");
    let proposal = format!("/api/v1/groups/{g}/family/proposal");
    assert_eq!(t.nurse_n.api("POST", &proposal, json!({ "note": "x" })).await.status, 403, "managers propose");
    assert_eq!(t.doctor.api("POST", &proposal, json!({ "note": "" })).await.status, 422);
    let r = t.doctor.api("POST", &proposal, json!({ "note": "介護の様子を共有するため" })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["family_proposal"]["reason"], "介護の様子を共有するため");
    let vote = format!("/api/v1/groups/{g}/family/vote");
    let r = t.doctor.api("POST", &vote, json!({ "decision": "agree", "comment": "" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["agreement"]["met"], false);
    let r = t.nurse_n.api("POST", &vote, json!({ "decision": "object" })).await;
    assert_eq!((r.status, fields(&r)), (422, vec!["comment".to_string()]));
    let r = t.nurse_n.api("POST", &vote, json!({ "decision": "agree", "comment": "賛成です" })).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["agreement"]["agree"], 2);
    assert_eq!(r.json()["agreement"]["met"], true);
    let r = t.doctor.get(&format!("/api/v1/groups/{g}")).await;
    assert_eq!(r.json()["manager"], true);
    assert_eq!(r.json()["invitations"], json!([]));
    assert_eq!(r.json()["family_proposal"]["votes"].as_array().unwrap().len(), 2);
    assert_eq!(r.json()["agreement"]["met"], true);
    assert_eq!(r.json()["my_vote"], "agree");
    let r = t.doctor.api("POST", &accounts, family.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    no_store(&r);
    assert_eq!(r.json()["login_id"], "kumagaya.family");
    let issued = r.json()["one_time_password"].as_str().unwrap().to_string();
    assert_eq!(t.doctor.api("POST", &accounts, family).await.status, 422, "the login id is taken");

    // The family account, entirely through the API: login, new password, policy, then the shared part only.
    let fam = Client::new(&srv);
    let r = fam.api("POST", "/api/v1/login", json!({ "login_id": "kumagaya.family", "password": issued })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shared = format!("/api/v1/groups/{g}/shared");
    assert_eq!(fam.get(&shared).await.json()["code"], "password_change_required");
    let r = fam
        .api(
            "POST",
            "/api/v1/password",
            json!({ "current": issued, "password": PASSWORD, "password_confirm": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(fam.get(&shared).await.json()["code"], "policy_acceptance_required");
    let version = fam.get("/api/v1/session").await.json()["current_policy_version"].as_i64().unwrap();
    let r = fam.api("POST", "/api/v1/policy/accept", json!({ "version": version, "agree": "on" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = fam.get(&shared).await;
    assert_eq!(r.status, 200, "{}", r.body);
    no_store(&r);
    let mut professions: Vec<String> =
        r.json()["members"].as_array().unwrap().iter().map(|m| m["profession"].as_str().unwrap().to_string()).collect();
    professions.sort();
    assert_eq!(professions, ["doctor", "nurse"]);
    assert_eq!(r.json()["family_members"], json!([{ "name": "熊谷 花子", "relationship": "長女" }]));
    assert!(!r.body.contains("ひまわりクリニック") && !r.body.contains("さくら訪問看護"), "no facilities");
    assert!(!r.body.contains("user_id") && !r.body.contains(&t.doctor_id), "no ids of the professionals");
    for path in [format!("/api/v1/groups/{g}"), format!("/api/v1/patients/{p}"), "/api/v1/patients".to_string()] {
        let r = fam.get(&path).await;
        assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")), "{path}");
    }
    assert_eq!(api_audits(&audit_rows(&srv, "group.shared_viewed").await), 1);
    assert_eq!(audit_rows(&srv, "family.joined").await.len(), 1);

    // R10.5: the nurse leaves in one step, the manager approves in one step; access ends.
    let r = t.nurse_n.api("POST", &format!("/api/v1/groups/{g}/leave"), json!({ "note": "担当が変わりました" })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t.doctor.get(&format!("/api/v1/groups/{g}")).await;
    assert_eq!(r.json()["removal_requests"][0]["reason"], "担当が変わりました");
    let r = t.doctor.api("POST", &format!("/api/v1/groups/{g}/members/{}/remove", t.nurse_n_id), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(t.nurse_n.get(&format!("/api/v1/groups/{g}")).await.status, 403);

    // R4.3: withdrawal needs a note; then nothing new is shared, nothing is deleted.
    let withdraw = format!("/api/v1/patients/{p}/consent/withdraw");
    assert_eq!(t.doctor.api("POST", &withdraw, json!({ "note": "" })).await.status, 422);
    let r = t.doctor.api("POST", &withdraw, json!({ "note": "11月24日 長女より電話で撤回" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["withdrawn_at"].is_i64());
    let r = t
        .doctor
        .api(
            "POST",
            &format!("/api/v1/groups/{g}/invitations"),
            json!({ "invitee_id": t.pharmacist_id, "reason": "服薬の確認" }),
        )
        .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("consent_withdrawn")));
    let r = t.doctor.get(&format!("/api/v1/groups/{g}")).await;
    assert_eq!((r.status, r.json()["read_only"].as_bool()), (200, Some(true)));

    // R5.1: delegation to the visiting-nurse station; its staff see the patient again.
    let delegation = format!("/api/v1/patients/{p}/delegation");
    assert_eq!(t.doctor.api("POST", &delegation, json!({})).await.status, 400, "facility_id is required");
    let r = t.doctor.api("POST", &delegation, json!({ "facility_id": "no-such-facility" })).await;
    assert_eq!((r.status, fields(&r)), (422, vec!["facility_id".to_string()]));
    let r = t.doctor.api("POST", &delegation, json!({ "facility_id": t.fac_n })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.nurse_n.get(&format!("/api/v1/patients/{p}")).await;
    assert_eq!(r.status, 200);
    assert_eq!((r.json()["manager"].as_bool(), r.json()["attending"].as_bool()), (Some(true), Some(false)));

    // Every one of these operations was written down, as on the pages.
    for (action, n) in [
        ("patient.registered", 1),
        ("consent.recorded", 1),
        ("group.created", 1),
        ("invitation.accepted", 1),
        ("family.voted", 2),
        ("group.member_removed", 1),
        ("consent.withdrawn", 1),
        ("patient.delegation", 1),
    ] {
        assert_eq!(audit_rows(&srv, action).await.len(), n, "{action}");
    }
    assert!(api_audits(&audit_rows(&srv, "group.viewed").await) >= 4);
});
