//! Patients, consent and groups over HTTP on both databases (R3.1, R4.1–R4.3, R5.1, R5.2, R10.1, R10.5).

use crate::helpers::*;

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// The people around one patient.
pub struct Team {
    pub w: World,
    pub doctor: Client,
    pub doctor_id: String,
    pub fac_n: String,
    pub nurse_n: Client,
    pub nurse_n_id: String,
    pub pharmacist: Client,
    pub pharmacist_id: String,
}

pub async fn team(srv: &Srv) -> Team {
    let w = world(srv).await;
    let (doctor_id, pw) =
        create_person(srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "dr.a", "doctor").await;
    let fac_n = create_facility(&w.center, "さくら訪問看護ステーション", "visiting_nursing").await;
    let (_, admin_pw) =
        create_person(srv, &w.center, &format!("/center/facilities/{fac_n}/admins"), "admin.n", "nurse").await;
    let admin_n = activate(srv, "admin.n", &admin_pw).await;
    let (nurse_n_id, nurse_pw) =
        create_person(srv, &admin_n, &format!("/facilities/{fac_n}/staff"), "nurse.n", "nurse").await;
    let fac_p = create_facility(&w.center, "あおば薬局", "pharmacy").await;
    let (_, admin_p_pw) =
        create_person(srv, &w.center, &format!("/center/facilities/{fac_p}/admins"), "admin.p", "pharmacist").await;
    let admin_p = activate(srv, "admin.p", &admin_p_pw).await;
    let (pharmacist_id, ph_pw) =
        create_person(srv, &admin_p, &format!("/facilities/{fac_p}/staff"), "ph.p", "pharmacist").await;
    approve_all(srv, &w.center).await;
    let doctor = activate(srv, "dr.a", &pw).await;
    let nurse_n = activate(srv, "nurse.n", &nurse_pw).await;
    let pharmacist = activate(srv, "ph.p", &ph_pw).await;
    Team { w, doctor, doctor_id, fac_n, nurse_n, nurse_n_id, pharmacist, pharmacist_id }
}

pub async fn register_patient(doctor: &Client, name: &str, kana: &str) -> String {
    let r = doctor
        .post_form(
            "/patients",
            &[
                ("name", name),
                ("kana", kana),
                ("birth_date", "1940-04-01"),
                ("sex", "male"),
                ("address", "熊谷市宮町1-1"),
                ("basis", "home_visits"),
                ("basis_reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().rsplit('/').next().unwrap().to_string()
}

pub async fn record_consent(doctor: &Client, patient: &str, scan: Option<&[u8]>) -> Resp {
    let fields = [
        ("consenter", "family"),
        ("consenter_name", "熊谷 花子"),
        ("relationship", "長女"),
        ("consented_on", "2026-11-20"),
        ("scope", ""),
    ];
    doctor
        .post_multipart(
            &format!("/patients/{patient}/consent"),
            &fields,
            scan.map(|b| ("scan", "form1.png", "image/png", b)),
        )
        .await
}

pub async fn create_group(doctor: &Client, patient: &str) -> String {
    let r = doctor.post_form(&format!("/patients/{patient}/group"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().rsplit('/').next().unwrap().to_string()
}

pub async fn invite_and_join(srv: &Srv, by: &Client, group: &str, who: &Client, who_id: &str) {
    let r = by
        .post_form(&format!("/groups/{group}/invitations"), &[("invitee_id", who_id), ("reason", "訪問と服薬の確認")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let inv = srv.store.pending_invitations_for(who_id).await.unwrap().remove(0);
    let r = who.post_form(&format!("/invitations/{}", inv.id), &[("decision", "accept"), ("appropriate", "on")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

both!(r3_1_r5_1_doctor_registers_and_only_the_care_team_sees_the_patient, |srv: Srv| async move {
    let t = team(&srv).await;
    // Not a doctor: refused.
    let r = t.w.nurse.post_form("/patients", &[("name", "x")]).await;
    assert_eq!(r.status, 403);
    // Bad input: every reason next to its field, what was typed kept.
    let r = t
        .doctor
        .post_form(
            "/patients",
            &[
                ("name", "熊谷 一郎"),
                ("kana", "kumagaya"),
                ("birth_date", "2999-01-01"),
                ("sex", ""),
                ("address", ""),
                ("basis", "judged_necessary"),
                ("basis_reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    for m in [
        "ひらがなかカタカナ",
        "生年月日を正しい日付",
        "性別を選んでください",
        "住所を入力してください",
        "必要と認めた理由を入力してください",
    ] {
        assert!(r.body.contains(m), "missing: {m}");
    }
    assert!(r.body.contains("value=\"熊谷 一郎\""));
    let p = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    let page = t.doctor.get(&format!("/patients/{p}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("熊谷 一郎") && page.body.contains("主治医の訪問診療・往診等を受けている"));
    assert!(page.body.contains("同意書がまだ記録されていません"));
    // Visible to the attending physician only (searchable by kana), not to others.
    assert!(t.doctor.get("/patients?q=くまがや").await.body.contains("熊谷 一郎"));
    let listed = audit_rows(&srv, "patient.listed").await.len();
    assert!(t.doctor.get("/").await.body.contains("熊谷 一郎"), "the home page lists the doctor's patients");
    assert_eq!(audit_rows(&srv, "patient.listed").await.len(), listed + 1, "R11.1: and that view is audited");
    assert!(!t.doctor.get("/patients?q=さいたま").await.body.contains("熊谷 一郎"));
    assert!(!t.nurse_n.get("/patients").await.body.contains("熊谷 一郎"));
    assert_eq!(t.nurse_n.get(&format!("/patients/{p}")).await.status, 403);
    assert_eq!(t.w.center.get(&format!("/patients/{p}")).await.status, 403, "not even the center");
    // R5.1: delegated to the visiting-nurse station, its staff see and manage it.
    let r = t.doctor.post_form(&format!("/patients/{p}/delegation"), &[("facility_id", &t.fac_n)]).await;
    assert_eq!(r.status, 303);
    assert!(t.nurse_n.get("/patients").await.body.contains("熊谷 一郎"));
    assert_eq!(t.nurse_n.get(&format!("/patients/{p}/consent/form")).await.status, 200);
    // Only the attending physician delegates.
    assert_eq!(t.nurse_n.post_form(&format!("/patients/{p}/delegation"), &[("facility_id", "")]).await.status, 403);
    // Taken back.
    assert_eq!(t.doctor.post_form(&format!("/patients/{p}/delegation"), &[("facility_id", "")]).await.status, 303);
    assert_eq!(t.nurse_n.get(&format!("/patients/{p}")).await.status, 403);
    assert_eq!(audit_rows(&srv, "patient.registered").await.len(), 1);
    assert_eq!(audit_rows(&srv, "patient.delegation").await.len(), 2);
    assert!(!audit_rows(&srv, "patient.viewed").await.is_empty());
});

both!(r4_1_r4_2_r4_3_consent_gates_sharing_and_withdrawal_freezes_the_group, |srv: Srv| async move {
    let t = team(&srv).await;
    let p = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    // R4.1: no group before consent — refused in Japanese and audited.
    let r = t.doctor.post_form(&format!("/patients/{p}/group"), &[]).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("同意書(様式1)が登録されていないため"));
    let denied = audit_rows(&srv, "access.denied").await;
    assert_eq!(denied[0].record.reason.as_deref(), Some("no_consent"));
    assert_eq!(denied[0].record.target_id.as_deref(), Some(p.as_str()));
    // R4.2: the printable form, pre-filled.
    let form = t.doctor.get(&format!("/patients/{p}/consent/form")).await;
    assert!(form.body.contains("様式1") && form.body.contains("在宅医療における個人情報使用同意書"));
    assert!(form.by_id("form1-patient").unwrap().contains("熊谷 一郎(くまがや いちろう)"));
    // A scan must be a PDF, JPEG or PNG.
    let r = record_consent(&t.doctor, &p, Some(b"<svg onload=alert(1)></svg>")).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("PDF・JPEG・PNGのいずれか"));
    assert!(r.body.contains("value=\"長女\""), "what was typed is kept");
    // Recorded, with the scan.
    let r = record_consent(&t.doctor, &p, Some(PNG)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let consent = srv.store.latest_consent(&p).await.unwrap().unwrap();
    assert_eq!(consent.explained_by, t.doctor_id);
    assert_eq!((consent.consenter_name.as_str(), consent.relationship.as_str()), ("熊谷 花子", "長女"));
    // R9.3: shown as its cleaned pages, each a watermarked JPEG, inline, never cached.
    let scan_url = format!("/patients/{p}/consent/{}/scan", consent.id);
    let scan = t.doctor.get(&scan_url).await;
    assert_eq!(scan.status, 200);
    assert!(scan.body.contains(&format!("src=\"{scan_url}/1\"")), "{}", scan.body);
    let page = t.doctor.send("GET", &format!("{scan_url}/1"), None, &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "image/jpeg");
    assert_eq!(page.headers["content-disposition"], "inline");
    assert!(page.headers["cache-control"].to_str().unwrap().contains("no-store"));
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(t.doctor.get(&format!("{scan_url}/2")).await.status, 404);
    let group = create_group(&t.doctor, &p).await;
    invite_and_join(&srv, &t.doctor, &group, &t.pharmacist, &t.pharmacist_id).await;
    assert_eq!(t.pharmacist.get(&format!("/groups/{group}")).await.status, 200);
    // R7.1: the pharmacy's admin sees which of their staff are in which patient's group.
    let admin_p = login_ok(&srv, "admin.p", PASSWORD).await;
    let fac_p = srv.store.user_by_login("admin.p").await.unwrap().unwrap().facility_id.unwrap();
    let staff = admin_p.get(&format!("/facilities/{fac_p}/staff")).await;
    assert!(staff.body.contains("参加しているグループ: 熊谷 一郎さん"), "{}", staff.body);
    // The visiting-nurse station's staff are in no group here: nothing listed for its admin.
    let admin_n = login_ok(&srv, "admin.n", PASSWORD).await;
    let staff_n = admin_n.get(&format!("/facilities/{}/staff", t.fac_n)).await;
    assert_eq!(staff_n.status, 200);
    assert!(!staff_n.body.contains("参加しているグループ"));
    assert_eq!(t.pharmacist.get(&scan_url).await.status, 403, "members see the record, managers the scan");
    assert_eq!(t.pharmacist.get(&format!("{scan_url}/1")).await.status, 403);
    // R4.3: withdrawal — a note is required; then the group is read-only at once, nothing deleted.
    assert_eq!(t.doctor.post_form(&format!("/patients/{p}/consent/withdraw"), &[("note", "")]).await.status, 422);
    let r = t
        .doctor
        .post_form(&format!("/patients/{p}/consent/withdraw"), &[("note", "11月24日 長女より電話で撤回")])
        .await;
    assert_eq!(r.status, 303);
    let page = t.pharmacist.get(&format!("/groups/{group}")).await;
    assert_eq!(page.status, 200, "reading stays possible");
    assert!(page.body.contains("id=\"read-only\""));
    let r = t
        .doctor
        .post_form(&format!("/groups/{group}/invitations"), &[("invitee_id", &t.nurse_n_id), ("reason", "訪問看護")])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("同意は撤回されています"));
    assert_eq!(srv.store.consents(&p).await.unwrap().len(), 1, "the record stays");
    assert_eq!(srv.store.members(&group).await.unwrap().len(), 2, "members stay");
    assert_eq!(audit_rows(&srv, "consent.withdrawn").await.len(), 1);
});

both!(r5_2_r10_1_r10_5_invitation_self_check_removal_and_leaving, |srv: Srv| async move {
    let t = team(&srv).await;
    let p = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    assert_eq!(record_consent(&t.doctor, &p, None).await.status, 303);
    let group = create_group(&t.doctor, &p).await;
    // Invite from the directory: the candidates are found by kana.
    let page = t.doctor.get(&format!("/groups/{group}?q=かんご")).await;
    assert!(page.body.contains("data-login=\"nurse.n\""), "{}", page.body);
    let r = t
        .doctor
        .post_form(
            &format!("/groups/{group}/invitations"),
            &[("invitee_id", &t.nurse_n_id), ("reason", "週2回の訪問看護")],
        )
        .await;
    assert_eq!(r.status, 303);
    let again = t
        .doctor
        .post_form(&format!("/groups/{group}/invitations"), &[("invitee_id", &t.nurse_n_id), ("reason", "重複")])
        .await;
    assert_eq!(again.status, 409, "already waiting for an answer: 409, as on boards");
    // The invitee sees who, which patient and why; must confirm before joining.
    assert!(t.nurse_n.get("/").await.body.contains("id=\"invitations-waiting\""));
    let inv = srv.store.pending_invitations_for(&t.nurse_n_id).await.unwrap().remove(0);
    let page = t.nurse_n.get(&format!("/invitations/{}", inv.id)).await;
    assert_eq!(page.by_id("invited-patient").unwrap(), "熊谷 一郎さん");
    // R11.1: reading an invitation is reading about the patient: audited.
    let read = audit_rows(&srv, "invitation.viewed").await;
    assert_eq!(read[0].record.target_id.as_deref(), Some(p.as_str()));
    assert_eq!(page.by_id("invitation-reason").unwrap(), "週2回の訪問看護");
    assert!(page.by_id("inviter").unwrap().contains("ひまわりクリニック"));
    assert_eq!(t.nurse_n.get(&format!("/groups/{group}")).await.status, 403, "not before joining");
    let r = t.nurse_n.post_form(&format!("/invitations/{}", inv.id), &[("decision", "accept")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("ふさわしいかを確認"));
    // Someone else cannot answer it.
    assert_eq!(
        t.pharmacist
            .post_form(&format!("/invitations/{}", inv.id), &[("decision", "accept"), ("appropriate", "on")])
            .await
            .status,
        403
    );
    let r = t
        .nurse_n
        .post_form(&format!("/invitations/{}", inv.id), &[("decision", "accept"), ("appropriate", "on")])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(t.nurse_n.get(&format!("/groups/{group}")).await.status, 200);
    // A declined invitation does not make a member.
    invite_and_join(&srv, &t.doctor, &group, &t.pharmacist, &t.pharmacist_id).await;
    // R10.5: the pharmacist is no longer in charge: one step, and the manager approves in one step.
    let r = t.pharmacist.post_form(&format!("/groups/{group}/leave"), &[("note", "担当薬局が変わりました")]).await;
    assert_eq!(r.status, 200);
    let page = t.doctor.get(&format!("/groups/{group}")).await;
    assert!(page.body.contains("担当薬局が変わりました"));
    let r = t.doctor.post_form(&format!("/groups/{group}/members/{}/remove", t.pharmacist_id), &[]).await;
    assert_eq!(r.status, 303);
    // Access ends at the next request.
    assert_eq!(t.pharmacist.get(&format!("/groups/{group}")).await.status, 403);
    assert_eq!(t.pharmacist.get(&format!("/patients/{p}")).await.status, 403);
    assert!(!t.pharmacist.get("/patients").await.body.contains("熊谷 一郎"));
    // Invitations expire after 14 days.
    let r = t
        .doctor
        .post_form(&format!("/groups/{group}/invitations"), &[("invitee_id", &t.w.nurse_id), ("reason", "x")])
        .await;
    assert_eq!(r.status, 303);
    let inv = srv.store.pending_invitations_for(&t.w.nurse_id).await.unwrap().remove(0);
    srv.clock.advance(14 * kumanet_core::MICROS_PER_DAY + 1);
    let nurse = login_ok(&srv, "nurse.a", PASSWORD).await;
    let r =
        nurse.post_form(&format!("/invitations/{}", inv.id), &[("decision", "accept"), ("appropriate", "on")]).await;
    assert_eq!(r.status, 409, "an expired invitation: the state forbids it");
    assert!(r.body.contains("有効期限(14日)が切れています"));
    // An expired invitation is no longer waiting, is marked on the group page, and a new one can be sent.
    assert!(!nurse.get("/").await.body.contains("id=\"invitations-waiting\""));
    assert!(nurse.get("/invitations").await.body.contains("id=\"no-invitations\""));
    let doctor = login_ok(&srv, "dr.a", PASSWORD).await;
    assert!(doctor.get(&format!("/groups/{group}")).await.body.contains("期限切れ(もう一度招待できます)"));
    let r = doctor
        .post_form(
            &format!("/groups/{group}/invitations"),
            &[("invitee_id", &t.w.nurse_id), ("reason", "再度のお願い")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(nurse.get("/").await.body.contains("id=\"invitations-waiting\""));
    assert_eq!(audit_rows(&srv, "group.member_removed").await.len(), 1);
    assert_eq!(audit_rows(&srv, "invitation.accepted").await.len(), 2);
});

both!(r5_3_the_family_joins_only_after_the_professionals_agree, |srv: Srv| async move {
    let t = team(&srv).await;
    let p = register_patient(&t.doctor, "熊谷 一郎", "くまがや いちろう").await;
    assert_eq!(record_consent(&t.doctor, &p, None).await.status, 303);
    let group = create_group(&t.doctor, &p).await;
    invite_and_join(&srv, &t.doctor, &group, &t.pharmacist, &t.pharmacist_id).await;
    let account = |login: &'static str| {
        vec![("login_id", login), ("name", "熊谷 花子"), ("kana", "くまがや はなこ"), ("relationship", "長女")]
    };
    // No account without a proposal and the agreement.
    let r = t.doctor.post_form(&format!("/groups/{group}/family/accounts"), &account("kumagaya.family")).await;
    assert_eq!(r.status, 409, "the state forbids it: 409 like every such refusal");
    assert!(r.body.contains("合意(参加中の専門職全員の合意)がまだ得られていない"));
    // Only a manager proposes, with a reason.
    assert_eq!(t.pharmacist.post_form(&format!("/groups/{group}/family/proposal"), &[("note", "x")]).await.status, 403);
    assert_eq!(t.doctor.post_form(&format!("/groups/{group}/family/proposal"), &[("note", "")]).await.status, 422);
    assert_eq!(
        t.doctor
            .post_form(&format!("/groups/{group}/family/proposal"), &[("note", "介護の様子を共有するため")])
            .await
            .status,
        303
    );
    // Each professional agrees or objects; objecting needs a comment.
    assert_eq!(
        t.doctor
            .post_form(&format!("/groups/{group}/family/vote"), &[("decision", "agree"), ("comment", "")])
            .await
            .status,
        303
    );
    let r = t
        .pharmacist
        .post_form(&format!("/groups/{group}/family/vote"), &[("decision", "object"), ("comment", "")])
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("反対の場合は、理由をコメントに書いてください"));
    let r = t
        .pharmacist
        .post_form(
            &format!("/groups/{group}/family/vote"),
            &[("decision", "object"), ("comment", "服薬の話し合いが先です")],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = t.doctor.get(&format!("/groups/{group}")).await;
    assert!(page.by_id("agreement-state").unwrap().contains("賛成 1 ・ 反対 1 / 専門職 2人"));
    assert!(!page.body.contains("id=\"create-family\""));
    assert_eq!(
        t.doctor.post_form(&format!("/groups/{group}/family/accounts"), &account("kumagaya.family")).await.status,
        409
    );
    // The objection is withdrawn after the discussion: the rule is met.
    assert_eq!(
        t.pharmacist
            .post_form(&format!("/groups/{group}/family/vote"), &[("decision", "agree"), ("comment", "話し合いました")])
            .await
            .status,
        303
    );
    let page = t.doctor.get(&format!("/groups/{group}")).await;
    assert!(page.body.contains("<strong>合意が得られました</strong>"));
    let r = t.doctor.post_form(&format!("/groups/{group}/family/accounts"), &account("kumagaya.family")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("くまねっと ご利用のご案内") && r.body.contains("熊谷 一郎さんの在宅療養"),
        "a printable letter"
    );
    let pw = r.by_id("issued-password").unwrap();
    // The family account: same password rules, then only the shared part of this one group.
    let family = login_ok(&srv, "kumagaya.family", &pw).await;
    assert_eq!(family.get("/").await.location(), "/password");
    assert_eq!(change_password(&family, &pw, PASSWORD).await.status, 303);
    let policy = family.get("/policy").await;
    assert!(!policy.body.contains("name=\"pledge\""), "the pledge (様式3) is for professionals");
    let v = family.get("/api/v1/session").await.json()["current_policy_version"].as_i64().unwrap().to_string();
    assert_eq!(family.post_form("/policy", &[("version", &v), ("agree", "on")]).await.status, 303);
    let home = family.get("/").await;
    assert!(home.body.contains(&format!("href=\"/groups/{group}/shared\"")));
    assert!(!home.body.contains("href=\"/directory\"") && !home.body.contains("href=\"/patients\""));
    let shared = family.get(&format!("/groups/{group}/shared")).await;
    assert_eq!(shared.status, 200);
    assert!(shared.body.contains("薬剤師") && shared.body.contains("医師"), "members by profession");
    assert!(!shared.body.contains("あおば薬局") && !shared.body.contains("ひまわりクリニック"), "no facilities");
    for path in [
        format!("/groups/{group}"),
        format!("/patients/{p}"),
        "/directory".to_string(),
        "/patients".to_string(),
        "/invitations".to_string(),
    ] {
        assert_eq!(family.get(&path).await.status, 403, "{path}");
    }
    // R5.2, R5.3: the family account cannot be invited as a professional member (it was
    // accepted before the rule moved into core).
    let family_id = srv.store.user_by_login("kumagaya.family").await.unwrap().unwrap().id;
    let r = t
        .doctor
        .post_form(&format!("/groups/{group}/invitations"), &[("invitee_id", &family_id), ("reason", "介護の記録")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("招待できるのは、承認済みの施設の職員です。"));
    // A second family account is not possible with the same login id.
    let r = t.doctor.post_form(&format!("/groups/{group}/family/accounts"), &account("kumagaya.family")).await;
    assert_eq!(r.status, 422);
    assert_eq!(audit_rows(&srv, "family.joined").await.len(), 1);
    assert_eq!(audit_rows(&srv, "family.voted").await.len(), 3);
});
