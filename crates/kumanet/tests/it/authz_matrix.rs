//! R10.7: every route of the router × every role, against the expected table. A route without a
//! row here fails the test; every 403 must leave an `access.denied` row in the audit log.

use crate::helpers::*;

const ROLES: [&str; 9] = [
    "anonymous",
    "must_change_pw",
    "no_policy",
    "pending",
    "suspended",
    "staff",
    "admin_same",
    "admin_other",
    "center",
];

/// Expected outcome per role, in the order of `ROLES`:
/// A allowed · L login required · P password change first · Y policy first · D denied (403).
fn expected(method: &str, path: &str) -> Option<&'static str> {
    const PUBLIC: &str = "AAAAAAAAA";
    const SIGNED_IN: &str = "LAAALAAAA";
    const POLICY: &str = "LPAALAAAA";
    const HOME: &str = "LPYALAAAA";
    const APPROVED: &str = "LPYDLAAAA";
    const FACILITY_VIEW: &str = "LPYDLDADA";
    const ADMIN_SAME: &str = "LPYDLDADD";
    const ADMIN_SAME_OR_CENTER: &str = "LPYDLDADA";
    const CENTER: &str = "LPYDLDDDA";
    Some(match (method, path) {
        ("GET", "/healthz" | "/static/app.css" | "/static/app.js" | "/setup" | "/login" | "/api/v1/openapi.json") => {
            PUBLIC
        }
        ("POST", "/setup" | "/login" | "/api/v1/login") => PUBLIC,
        ("POST", "/logout" | "/api/v1/logout") => SIGNED_IN,
        ("GET", "/password" | "/api/v1/session") | ("POST", "/password" | "/api/v1/password") => SIGNED_IN,
        ("GET", "/policy" | "/api/v1/policy") | ("POST", "/policy" | "/api/v1/policy/accept") => POLICY,
        ("GET", "/" | "/profile") | ("POST", "/profile/notices") => HOME,
        ("GET", "/directory" | "/api/v1/directory" | "/patients" | "/invitations") => APPROVED,
        ("GET", "/search" | "/api/v1/search") => APPROVED,
        // R5.4: any approved ID lists its boards and starts one (an empty form is refused with 422).
        ("GET" | "POST", "/boards" | "/api/v1/boards") => APPROVED,
        // R12.1, R12.2: the directory; the entry of the matrix belongs to facility A.
        ("GET", "/resources" | "/resources.csv" | "/resources/invite" | "/api/v1/resources") => APPROVED,
        ("GET", "/api/v1/resources/terms") => APPROVED,
        ("GET", "/resources/{resource_id}" | "/api/v1/resources/{resource_id}") => APPROVED,
        ("GET", "/resources/new") | ("POST", "/resources" | "/api/v1/resources") => "LPYDLDAAA",
        ("GET", "/resources/{resource_id}/edit")
        | ("POST", "/resources/{resource_id}" | "/resources/{resource_id}/confirm")
        | ("PUT", "/api/v1/resources/{resource_id}") => ADMIN_SAME_OR_CENTER,
        ("POST", "/api/v1/resources/import") => CENTER,
        ("GET", "/api/v1/patients" | "/api/v1/invitations") => APPROVED,
        // R5.1: only doctors register patients; none of these roles is one (see patients_matrix).
        ("GET", "/patients/new") | ("POST", "/patients" | "/api/v1/patients") => "LPYDLDDDD",
        ("GET", "/facilities/{facility_id}/staff" | "/api/v1/facilities/{facility_id}/staff") => FACILITY_VIEW,
        ("GET", "/facilities/{facility_id}/staff/new")
        | ("POST", "/facilities/{facility_id}/staff" | "/api/v1/facilities/{facility_id}/staff") => ADMIN_SAME,
        ("GET", "/users/{user_id}/change" | "/users/{user_id}/deletion") => ADMIN_SAME,
        ("POST", "/users/{user_id}/change" | "/users/{user_id}/deletion" | "/users/{user_id}/password-reset") => {
            ADMIN_SAME
        }
        (
            "POST",
            "/api/v1/users/{user_id}/change"
            | "/api/v1/users/{user_id}/deletion"
            | "/api/v1/users/{user_id}/password-reset",
        ) => ADMIN_SAME,
        ("POST", "/users/{user_id}/suspend" | "/api/v1/users/{user_id}/suspend") => ADMIN_SAME_OR_CENTER,
        // The target is the nurse herself in the "staff" column: she may print her own forms.
        ("GET", "/users/{user_id}/forms") => "LPYDLAADA",
        (_, p) if p.starts_with("/center/") => CENTER,
        (
            "GET",
            "/api/v1/facilities"
            | "/api/v1/users"
            | "/api/v1/users/{user_id}"
            | "/api/v1/applications"
            | "/api/v1/settings"
            | "/api/v1/audit",
        ) => CENTER,
        (
            "POST",
            "/api/v1/facilities"
            | "/api/v1/facilities/{facility_id}/admins"
            | "/api/v1/applications/{application_id}"
            | "/api/v1/policy/versions"
            | "/api/v1/users/{user_id}/resume",
        ) => CENTER,
        ("PUT", "/api/v1/facilities/{facility_id}" | "/api/v1/settings") => CENTER,
        _ => return None,
    })
}

fn classify(api: bool, r: &Resp) -> char {
    match r.status {
        303 | 302 | 307 => match r.location() {
            "/login?reason=logout" => 'A',
            l if l.starts_with("/login") => 'L',
            "/password" => 'P',
            "/policy" => 'Y',
            _ => 'A',
        },
        401 => 'L',
        403 if api => match r.json()["code"].as_str() {
            Some("password_change_required") => 'P',
            Some("policy_acceptance_required") => 'Y',
            _ => 'D',
        },
        403 => 'D',
        _ => 'A',
    }
}

both!(r10_7_every_route_times_every_role, |srv: Srv| async move {
    let w = world(&srv).await;
    // Roles beyond the world's: an ID that must change its password, one that has not accepted the
    // policy, one pending approval, one suspended (all staff of facility A).
    let (_, must_change_pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "must.change", "nurse").await;
    approve_all(&srv, &w.center).await;
    let must_change = login_ok(&srv, "must.change", &must_change_pw).await;
    let (_, pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "no.policy", "pharmacist").await;
    approve_all(&srv, &w.center).await;
    let no_policy = login_ok(&srv, "no.policy", &pw).await;
    assert_eq!(change_password(&no_policy, &pw, PASSWORD).await.status, 303);
    let (susp_id, pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "suspended.one", "helper").await;
    approve_all(&srv, &w.center).await;
    let suspended = activate(&srv, "suspended.one", &pw).await;
    assert_eq!(
        w.admin_a.post_form(&format!("/users/{susp_id}/suspend"), &[("reason", "端末の紛失")]).await.status,
        200
    );
    let (_, pw) =
        create_person(&srv, &w.admin_a, &format!("/facilities/{}/staff", w.fac_a), "pending.one", "care_manager").await;
    let pending = activate(&srv, "pending.one", &pw).await;
    let application = srv.store.pending_applications().await.unwrap().first().unwrap().application.id.clone();
    let r = w
        .center
        .post_form("/resources", &[("kind", "薬局"), ("name", "あおば薬局 本店"), ("facility_id", w.fac_a.as_str())])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let resource = r.location().trim_start_matches("/resources/").to_string();

    let anonymous = Client::new(&srv);
    let clients =
        [&anonymous, &must_change, &no_policy, &pending, &suspended, &w.nurse, &w.admin_a, &w.admin_b, &w.center];
    let logins =
        ["", "must.change", "no.policy", "pending.one", "suspended.one", "nurse.a", "admin.a", "admin.b", "center"];
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    let mut routes = kumanet_web::route_table();
    // Logging out ends the session the other cells need: do it last.
    routes.sort_by_key(|r| r.path.ends_with("logout"));
    let mut cells = 0;
    for route in &routes {
        let method = route.method.as_str();
        if matches!(
            route.find,
            kumanet_web::Find::Patient
                | kumanet_web::Find::Group
                | kumanet_web::Find::Invitation
                | kumanet_web::Find::Post
                | kumanet_web::Find::Attachment
                | kumanet_web::Find::Board
                | kumanet_web::Find::BoardInvitation
        ) {
            continue; // decided per patient or board: tests/it/patients_matrix.rs
        }
        let Some(exp) = expected(method, route.path) else {
            missing.push(format!("{method} {}", route.path));
            continue;
        };
        let path = route
            .path
            .replace("{facility_id}", &w.fac_a)
            .replace("{user_id}", &w.nurse_id)
            .replace("{application_id}", &application)
            .replace("{resource_id}", &resource);
        let api = path.starts_with("/api/");
        if route.path.ends_with("logout") {
            // Each logout cell needs a live session: sign everyone in again first.
            for (i, client) in clients.iter().enumerate().skip(1) {
                let pw = if i == 1 { must_change_pw.as_str() } else { PASSWORD };
                client.post_form("/login", &[("login_id", logins[i]), ("password", pw)]).await;
            }
        }
        for (i, client) in clients.iter().enumerate() {
            let denied_before = audit_rows(&srv, "access.denied").await.len();
            let r = if method == "GET" {
                client.get(&path).await
            } else if api {
                client.api(method, &path, serde_json::json!({})).await
            } else {
                client.post_form(&path, &[]).await
            };
            let got = classify(api, &r);
            let want = exp.as_bytes()[i] as char;
            cells += 1;
            if got != want {
                wrong.push(format!(
                    "{method} {} as {}: expected {want}, got {got} ({})",
                    route.path, ROLES[i], r.status
                ));
            }
            if got == 'D' {
                let after = audit_rows(&srv, "access.denied").await.len();
                if after != denied_before + 1 {
                    wrong.push(format!("{method} {} as {}: refusal not audited", route.path, ROLES[i]));
                }
            }
        }
    }
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:#?}");
    assert!(wrong.is_empty(), "{} of {cells} cells differ:\n{}", wrong.len(), wrong.join("\n"));
    assert!(cells >= 9 * 60, "the matrix covers {cells} cells");
});
