//! R10.7 for patient data: every route about one patient, group or invitation × the care-team roles,
//! on a patient with consent and on one whose consent was withdrawn (R4.3); and R5.4: every route of
//! a bulletin board, and the post routes on a board's post, × the same roles. A route without a row
//! here fails; every 403 must leave an `access.denied` row.

use crate::helpers::*;
use crate::patients::{create_group, invite_and_join, record_consent, register_patient, team, PNG};
use kumanet_web::Find;

const ROLES: [&str; 10] = [
    "anonymous",
    "pending",
    "attending",
    "delegate",
    "member",
    "non_member",
    "removed_member",
    "admin_same",
    "center",
    "family",
];

/// Per role, in the order of `ROLES`: A allowed · L login required · D denied (403).
fn expected(method: &str, path: &str) -> Option<&'static str> {
    const VIEW: &str = "LDAAADDDDD";
    const MANAGE: &str = "LDAADDDDDD";
    const SHARED: &str = "LDAAADDDDA";
    Some(match (method, path) {
        ("GET", "/patients/{patient_id}" | "/groups/{group_id}") => VIEW,
        ("GET", "/patients/{patient_id}/consent" | "/patients/{patient_id}/consent/form") => MANAGE,
        (
            "GET",
            "/patients/{patient_id}/consent/{consent_id}/scan"
            | "/patients/{patient_id}/consent/{consent_id}/scan/{page}",
        ) => MANAGE,
        ("POST", "/patients/{patient_id}/consent" | "/patients/{patient_id}/consent/withdraw") => MANAGE,
        ("POST", "/patients/{patient_id}/group" | "/groups/{group_id}/invitations") => MANAGE,
        ("POST", "/groups/{group_id}/members/{user_id}/remove") => MANAGE,
        ("POST", "/patients/{patient_id}/delegation") => "LDADDDDDDD",
        ("POST", "/groups/{group_id}/leave") => "LDDDADDDDD",
        ("GET" | "POST", "/invitations/{invitation_id}") => "LDDDDADDDD",
        // R5.3: the shared part is the only thing a patient or family member reaches.
        ("GET", "/groups/{group_id}/shared") => "LDAAADDDDA",
        ("POST", "/groups/{group_id}/family/proposal" | "/groups/{group_id}/family/accounts") => MANAGE,
        ("POST", "/groups/{group_id}/family/vote") => "LDADADDDDD",
        // The JSON API: the same actions through the same gate, so the same rows as the pages.
        ("GET", "/api/v1/patients/{patient_id}" | "/api/v1/groups/{group_id}") => VIEW,
        ("POST", "/api/v1/patients/{patient_id}/consent" | "/api/v1/patients/{patient_id}/consent/withdraw") => MANAGE,
        ("POST", "/api/v1/patients/{patient_id}/group" | "/api/v1/groups/{group_id}/invitations") => MANAGE,
        ("POST", "/api/v1/groups/{group_id}/members/{user_id}/remove") => MANAGE,
        ("POST", "/api/v1/patients/{patient_id}/delegation") => "LDADDDDDDD",
        ("POST", "/api/v1/groups/{group_id}/leave") => "LDDDADDDDD",
        ("GET" | "POST", "/api/v1/invitations/{invitation_id}") => "LDDDDADDDD",
        ("GET", "/api/v1/groups/{group_id}/shared") => "LDAAADDDDA",
        ("POST", "/api/v1/groups/{group_id}/family/proposal" | "/api/v1/groups/{group_id}/family/accounts") => MANAGE,
        ("POST", "/api/v1/groups/{group_id}/family/vote") => "LDADADDDDD",
        // Posts (R10.6): members and managers post and read; the family in the shared part only.
        ("POST", "/groups/{group_id}/posts/preview" | "/groups/{group_id}/posts") => VIEW,
        ("GET", "/groups/{group_id}/live") => VIEW,
        ("POST", "/groups/{group_id}/shared/posts/preview" | "/groups/{group_id}/shared/posts") => SHARED,
        ("GET", "/groups/{group_id}/shared/live") => SHARED,
        ("GET", "/api/v1/groups/{group_id}/posts") => VIEW,
        ("POST", "/api/v1/groups/{group_id}/posts/check" | "/api/v1/groups/{group_id}/posts") => VIEW,
        ("GET", "/api/v1/groups/{group_id}/shared/posts") => SHARED,
        ("POST", "/api/v1/groups/{group_id}/shared/posts/check" | "/api/v1/groups/{group_id}/shared/posts") => SHARED,
        // The post of the matrix is the member's, in the shared part: the author edits, the
        // managers may delete, every viewer acknowledges and reads.
        ("GET", "/posts/{post_id}" | "/api/v1/posts/{post_id}") => SHARED,
        ("GET", "/posts/{post_id}/edit") => "LDDDADDDDD",
        ("POST", "/posts/{post_id}/preview" | "/posts/{post_id}") => "LDDDADDDDD",
        ("PUT", "/api/v1/posts/{post_id}") => "LDDDADDDDD",
        ("POST", "/posts/{post_id}/delete") | ("DELETE", "/api/v1/posts/{post_id}") => VIEW,
        ("POST", "/posts/{post_id}/ack" | "/posts/{post_id}/read" | "/api/v1/posts/{post_id}/ack") => SHARED,
        ("POST", "/api/v1/posts/{post_id}/read") => SHARED,
        // R9.3: the post's attachment, for whoever sees the post.
        ("GET", "/attachments/{attachment_id}" | "/attachments/{attachment_id}/thumb") => SHARED,
        ("GET", "/attachments/{attachment_id}/pages/{page}") => SHARED,
        _ => return None,
    })
}

/// R5.4, per role on the board of the matrix: the attending physician started it (manager); the
/// delegate's nurse and the pharmacist are members (the pharmacist wrote its post, with a photo);
/// the non-member has an invitation waiting; the removed member was removed; the facility admin,
/// the center and the family are not members.
fn board_expected(method: &str, path: &str) -> Option<&'static str> {
    const MEMBERS: &str = "LDAAADDDDD";
    const MANAGER: &str = "LDADDDDDDD";
    const INVITEE: &str = "LDDDDADDDD";
    Some(match (method, path) {
        ("GET", "/boards/{board_id}" | "/boards/{board_id}/live" | "/api/v1/boards/{board_id}") => MEMBERS,
        ("GET", "/api/v1/boards/{board_id}/posts") => MEMBERS,
        ("POST", "/boards/{board_id}/posts/preview" | "/boards/{board_id}/posts" | "/boards/{board_id}/leave") => {
            MEMBERS
        }
        ("POST", "/api/v1/boards/{board_id}/posts/check" | "/api/v1/boards/{board_id}/posts") => MEMBERS,
        ("POST", "/api/v1/boards/{board_id}/leave") => MEMBERS,
        ("POST", "/boards/{board_id}/invitations" | "/boards/{board_id}/members/{user_id}/remove") => MANAGER,
        ("POST", "/api/v1/boards/{board_id}/invitations" | "/api/v1/boards/{board_id}/members/{user_id}/remove") => {
            MANAGER
        }
        ("GET" | "POST", "/board-invitations/{invitation_id}" | "/api/v1/board-invitations/{invitation_id}") => INVITEE,
        // The board's post: members read, acknowledge and see its photo; the author edits; the
        // author and the manager delete.
        ("GET", "/posts/{post_id}" | "/api/v1/posts/{post_id}") => MEMBERS,
        ("POST", "/posts/{post_id}/ack" | "/posts/{post_id}/read") => MEMBERS,
        ("POST", "/api/v1/posts/{post_id}/ack" | "/api/v1/posts/{post_id}/read") => MEMBERS,
        ("GET", "/posts/{post_id}/edit") | ("POST", "/posts/{post_id}/preview" | "/posts/{post_id}") => "LDDDADDDDD",
        ("PUT", "/api/v1/posts/{post_id}") => "LDDDADDDDD",
        ("POST", "/posts/{post_id}/delete") | ("DELETE", "/api/v1/posts/{post_id}") => "LDADADDDDD",
        ("GET", p) if p.starts_with("/attachments/") => MEMBERS,
        _ => return None,
    })
}

/// After withdrawal nothing new is shared: no group, no invitation, no joining (R4.3).
fn after_withdrawal(method: &str, path: &str, normal: &'static str) -> &'static str {
    match (method, path) {
        ("POST", "/groups/{group_id}/invitations" | "/patients/{patient_id}/group") => "LDDDDDDDDD",
        ("POST", "/patients/{patient_id}/consent/withdraw") => "LDDDDDDDDD",
        ("GET" | "POST", "/invitations/{invitation_id}") => "LDDDDDDDDD",
        ("POST", "/groups/{group_id}/family/proposal" | "/groups/{group_id}/family/accounts") => "LDDDDDDDDD",
        ("POST", "/groups/{group_id}/family/vote") => "LDDDDDDDDD",
        // The family account belongs to the first patient's group only.
        ("GET", "/groups/{group_id}/shared") => "LDAAADDDDD",
        ("POST", "/api/v1/groups/{group_id}/invitations" | "/api/v1/patients/{patient_id}/group") => "LDDDDDDDDD",
        ("POST", "/api/v1/patients/{patient_id}/consent/withdraw") => "LDDDDDDDDD",
        ("GET" | "POST", "/api/v1/invitations/{invitation_id}") => "LDDDDDDDDD",
        ("POST", "/api/v1/groups/{group_id}/family/proposal" | "/api/v1/groups/{group_id}/family/accounts") => {
            "LDDDDDDDDD"
        }
        ("POST", "/api/v1/groups/{group_id}/family/vote") => "LDDDDDDDDD",
        ("GET", "/api/v1/groups/{group_id}/shared") => "LDAAADDDDD",
        // R4.3: no new post, edit, deletion or 了解; reading (and read marks) go on.
        (
            "POST",
            "/groups/{group_id}/posts/preview"
            | "/groups/{group_id}/posts"
            | "/groups/{group_id}/shared/posts/preview"
            | "/groups/{group_id}/shared/posts"
            | "/api/v1/groups/{group_id}/posts/check"
            | "/api/v1/groups/{group_id}/posts"
            | "/api/v1/groups/{group_id}/shared/posts/check"
            | "/api/v1/groups/{group_id}/shared/posts"
            | "/posts/{post_id}/preview"
            | "/posts/{post_id}"
            | "/posts/{post_id}/delete"
            | "/posts/{post_id}/ack"
            | "/api/v1/posts/{post_id}/ack",
        )
        | ("GET", "/posts/{post_id}/edit")
        | ("PUT" | "DELETE", "/api/v1/posts/{post_id}") => "LDDDDDDDDD",
        ("GET", "/groups/{group_id}/shared/live" | "/api/v1/groups/{group_id}/shared/posts") => "LDAAADDDDD",
        ("GET", "/posts/{post_id}" | "/api/v1/posts/{post_id}") => "LDAAADDDDD",
        ("POST", "/posts/{post_id}/read" | "/api/v1/posts/{post_id}/read") => "LDAAADDDDD",
        ("GET", p) if p.starts_with("/attachments/") => "LDAAADDDDD",
        _ => normal,
    }
}

/// Pages redirect to the login; the API answers 401 and 403 with a JSON code.
fn classify(api: bool, r: &Resp) -> char {
    match r.status {
        401 => 'L',
        403 => 'D',
        _ if api => 'A',
        303 | 302 if r.location().starts_with("/login") => 'L',
        _ => 'A',
    }
}

struct Case {
    patient: String,
    group: String,
    consent: String,
    invitation: String,
    post: String,
    attachment: String,
}

both!(r10_7_r4_3_every_patient_route_times_every_care_team_role, |srv: Srv| async move {
    let t = team(&srv).await;
    let (_, pw) =
        create_person(&srv, &t.w.admin_a, &format!("/facilities/{}/staff", t.w.fac_a), "pending.p", "nurse").await;
    let pending = activate(&srv, "pending.p", &pw).await;
    let b_admin = login_ok(&srv, "admin.b", PASSWORD).await;
    let fac_b = srv.store.user_by_login("admin.b").await.unwrap().unwrap().facility_id.unwrap();
    let (removed_id, pw) =
        create_person(&srv, &b_admin, &format!("/facilities/{fac_b}/staff"), "ph.b", "pharmacist").await;
    // Approve everyone but the pending ID.
    for item in srv.store.pending_applications().await.unwrap() {
        if item.user.login_id != "pending.p" {
            let r =
                t.w.center
                    .post_form(
                        &format!("/center/applications/{}", item.application.id),
                        &[("decision", "approve"), ("note", "")],
                    )
                    .await;
            assert_eq!(r.status, 303);
        }
    }
    let removed = activate(&srv, "ph.b", &pw).await;
    let mut cases = Vec::new();
    for (name, kana) in [("熊谷 一郎", "くまがや いちろう"), ("妻沼 二郎", "めぬま じろう")] {
        let patient = register_patient(&t.doctor, name, kana).await;
        assert_eq!(record_consent(&t.doctor, &patient, Some(PNG)).await.status, 303);
        let consent = srv.store.latest_consent(&patient).await.unwrap().unwrap().id;
        assert_eq!(
            t.doctor.post_form(&format!("/patients/{patient}/delegation"), &[("facility_id", &t.fac_n)]).await.status,
            303
        );
        let group = create_group(&t.doctor, &patient).await;
        invite_and_join(&srv, &t.doctor, &group, &t.pharmacist, &t.pharmacist_id).await;
        invite_and_join(&srv, &t.doctor, &group, &removed, &removed_id).await;
        assert_eq!(t.doctor.post_form(&format!("/groups/{group}/members/{removed_id}/remove"), &[]).await.status, 303);
        let r = t
            .doctor
            .post_form(&format!("/groups/{group}/invitations"), &[("invitee_id", &t.w.nurse_id), ("reason", "訪問")])
            .await;
        assert_eq!(r.status, 303);
        let invitation = srv
            .store
            .pending_invitations_for(&t.w.nurse_id)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.group_id == group)
            .unwrap()
            .id;
        // A post of the member (the pharmacist) in the part shared with the family, with a photo.
        let r = t
            .pharmacist
            .post_multipart(
                &format!("/groups/{group}/shared/posts/preview"),
                &[("body", "お薬カレンダーを新しくしました")],
                Some(("file", "calendar.png", "image/png", PNG)),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let attachment = crate::posts::draft_ids(&r.body);
        let r = t
            .pharmacist
            .post_form(
                &format!("/groups/{group}/shared/posts"),
                &[("body", "お薬カレンダーを新しくしました"), ("attachments", &attachment)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let post = r.location().rsplit("#post-").next().unwrap().to_string();
        cases.push(Case { patient, group, consent, invitation, post, attachment });
    }
    // R5.3 for the first patient: proposed, agreed by both active professionals, account made.
    let g = &cases[0].group;
    assert_eq!(
        t.doctor
            .post_form(&format!("/groups/{g}/family/proposal"), &[("note", "介護の様子を共有するため")])
            .await
            .status,
        303
    );
    for c in [&t.doctor, &t.pharmacist] {
        assert_eq!(
            c.post_form(&format!("/groups/{g}/family/vote"), &[("decision", "agree"), ("comment", "")]).await.status,
            303
        );
    }
    let r = t
        .doctor
        .post_form(
            &format!("/groups/{g}/family/accounts"),
            &[
                ("login_id", "kumagaya.family"),
                ("name", "熊谷 花子"),
                ("kana", "くまがや はなこ"),
                ("relationship", "長女"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let family = activate(&srv, "kumagaya.family", &r.by_id("issued-password").unwrap()).await;
    // The second patient's consent is withdrawn.
    let r = t
        .doctor
        .post_form(&format!("/patients/{}/consent/withdraw", cases[1].patient), &[("note", "本人より撤回")])
        .await;
    assert_eq!(r.status, 303);

    let anonymous = Client::new(&srv);
    let clients = [
        &anonymous,
        &pending,
        &t.doctor,
        &t.nurse_n,
        &t.pharmacist,
        &t.w.nurse,
        &removed,
        &t.w.admin_a,
        &t.w.center,
        &family,
    ];
    let b = board_case(&srv, &t, &removed, &removed_id).await;
    let routes: Vec<_> = kumanet_web::route_table()
        .into_iter()
        .filter(|r| {
            matches!(
                r.find,
                Find::Patient
                    | Find::Group
                    | Find::Invitation
                    | Find::Post
                    | Find::Attachment
                    | Find::Board
                    | Find::BoardInvitation
            )
        })
        .collect();
    assert!(routes.len() >= 30, "patient routes: {}", routes.len());
    let mut missing = Vec::new();
    // (variant, method, route, expected, path)
    let mut jobs: Vec<(&str, &str, &str, &str, String)> = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        for route in &routes {
            let method = route.method.as_str();
            if matches!(route.find, Find::Board | Find::BoardInvitation) {
                continue;
            }
            let Some(normal) = expected(method, route.path) else {
                if n == 0 {
                    missing.push(format!("{method} {}", route.path));
                }
                continue;
            };
            let exp = if n == 1 { after_withdrawal(method, route.path, normal) } else { normal };
            let path = route
                .path
                .replace("{patient_id}", &case.patient)
                .replace("{group_id}", &case.group)
                .replace("{consent_id}", &case.consent)
                .replace("{invitation_id}", &case.invitation)
                .replace("{post_id}", &case.post)
                .replace("{attachment_id}", &case.attachment)
                .replace("{page}", "1")
                .replace("{user_id}", "nobody");
            jobs.push((if n == 0 { "consent" } else { "withdrawn" }, method, route.path, exp, path));
        }
    }
    // R5.4: the board's routes and the routes of its post; leaving last (members are put back).
    let mut board_routes: Vec<_> = routes
        .iter()
        .filter(|r| matches!(r.find, Find::Board | Find::BoardInvitation | Find::Post | Find::Attachment))
        .collect();
    board_routes.sort_by_key(|r| r.path.ends_with("/leave"));
    for route in board_routes {
        let method = route.method.as_str();
        let Some(exp) = board_expected(method, route.path) else {
            missing.push(format!("[board] {method} {}", route.path));
            continue;
        };
        let path = route
            .path
            .replace("{board_id}", &b.board)
            .replace("{invitation_id}", &b.invitation)
            .replace("{post_id}", &b.post)
            .replace("{attachment_id}", &b.attachment)
            .replace("{page}", "1")
            .replace("{user_id}", "nobody");
        jobs.push(("board", method, route.path, exp, path));
    }
    let mut wrong = Vec::new();
    let mut cells = 0;
    for (variant, method, route_path, exp, path) in &jobs {
        for (i, client) in clients.iter().enumerate() {
            let denied_before = audit_rows(&srv, "access.denied").await.len();
            let seq_before = audit_head_seq(&srv).await;
            let api = path.starts_with("/api/");
            let r = if path.ends_with("/live") {
                // A live stream never ends: its status is the answer.
                client.head_of(path).await
            } else if *method == "GET" {
                client.get(path).await
            } else if api {
                client.api(method, path, serde_json::json!({})).await
            } else {
                client.post_form(path, &[]).await
            };
            let got = classify(api, &r);
            let want = exp.as_bytes()[i] as char;
            cells += 1;
            if got != want {
                wrong.push(format!(
                    "[{variant}] {method} {route_path} as {}: expected {want}, got {got} ({})",
                    ROLES[i], r.status
                ));
            }
            if got == 'D' && audit_rows(&srv, "access.denied").await.len() != denied_before + 1 {
                wrong.push(format!("[{variant}] {method} {route_path} as {}: refusal not audited", ROLES[i]));
            }
            // R11.1: every allowed read of patient information (and of a board's) writes exactly
            // one audit row. A board invitation shows the board's name only.
            let invitation_to_board = route_path.contains("board-invitations");
            if got == 'A' && *method == "GET" && !path.ends_with("/live") && !invitation_to_board {
                let rows = audit_since(&srv, seq_before).await;
                if rows.len() != 1 {
                    let actions: Vec<_> = rows.iter().map(|r| r.record.action.as_str()).collect();
                    wrong.push(format!(
                        "[{variant}] {method} {route_path} as {}: {} audit rows {actions:?}",
                        ROLES[i],
                        rows.len()
                    ));
                }
            }
        }
        if *variant == "board" && path.ends_with("/leave") {
            // The members who left come back for the next cells.
            let mut tx = srv.store.begin().await.unwrap();
            for u in [&t.nurse_n_id, &t.pharmacist_id] {
                tx.add_board_member(&b.board, u, kumanet_store::BOARD_MEMBER, T0).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    }
    assert!(missing.is_empty(), "patient routes without a row in the matrix: {missing:#?}");
    assert!(wrong.is_empty(), "{} of {cells} cells differ:\n{}", wrong.len(), wrong.join("\n"));
    assert!(jobs.iter().any(|j| j.0 == "board" && j.2 == "/boards/{board_id}"), "the board's routes were walked");
    // Refusals about a patient name the patient in the audit log; about a board, the board.
    let denied = audit_rows(&srv, "access.denied").await;
    assert!(denied
        .iter()
        .any(|r| r.record.target_type.as_deref() == Some("board")
            && r.record.target_id.as_deref() == Some(b.board.as_str())));
    assert!(denied.iter().any(|r| r.record.target_type.as_deref() == Some("patient")
        && r.record.target_id.as_deref() == Some(cases[0].patient.as_str())));
});

struct BoardCase {
    board: String,
    invitation: String,
    post: String,
    attachment: String,
}

/// R5.4: a board started by the attending physician, with the delegate's nurse and the pharmacist
/// as members, an invitation waiting for the non-member, a removed member, and a post of the
/// pharmacist with a photo.
async fn board_case(srv: &Srv, t: &crate::patients::Team, removed: &Client, removed_id: &str) -> BoardCase {
    let r = t.doctor.post_form("/boards", &[("name", "北地区 多職種連携の会"), ("purpose", "研修と連絡")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let board = r.location().trim_start_matches("/boards/").to_string();
    for (c, id) in [(&t.nurse_n, &t.nurse_n_id), (&t.pharmacist, &t.pharmacist_id), (removed, &removed_id.to_string())]
    {
        let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", id)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let inv = srv.store.pending_board_invitations_for(id).await.unwrap().pop().unwrap().id;
        let r = c.post_form(&format!("/board-invitations/{inv}"), &[("decision", "accept")]).await;
        assert_eq!((r.status, r.location()), (303, format!("/boards/{board}").as_str()));
    }
    assert_eq!(t.doctor.post_form(&format!("/boards/{board}/members/{removed_id}/remove"), &[]).await.status, 303);
    let r = t.doctor.post_form(&format!("/boards/{board}/invitations"), &[("invitee_id", &t.w.nurse_id)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let invitation = srv.store.pending_board_invitations_for(&t.w.nurse_id).await.unwrap().pop().unwrap().id;
    let r = t
        .pharmacist
        .post_multipart(
            &format!("/boards/{board}/posts/preview"),
            &[("body", "研修会の案内です")],
            Some(("file", "flyer.png", "image/png", PNG)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attachment = crate::posts::draft_ids(&r.body);
    let r = t
        .pharmacist
        .post_form(&format!("/boards/{board}/posts"), &[("body", "研修会の案内です"), ("attachments", &attachment)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let post = r.location().rsplit("#post-").next().unwrap().to_string();
    BoardCase { board, invitation, post, attachment }
}
