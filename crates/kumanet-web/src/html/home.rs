//! Home, one's own profile, and the staff directory.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use kumanet_core::people::{Role, UserStatus};
use kumanet_store::{Notification, UserListItem};
use serde::Deserialize;

use super::{jst, render, Chrome};
use crate::error::WebError;
use crate::request::Ctx;
use crate::App;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    /// Groups with posts the user has not read: (group, patient, count).
    unread: Vec<(String, String, i64)>,
    chrome: Chrome,
    name: String,
    approved: bool,
    pending_applications: usize,
    staff_link: Option<String>,
    resources_link: Option<String>,
    is_center: bool,
    notifications: Vec<Notification>,
    password_expires: Option<String>,
    patients: Vec<kumanet_store::Patient>,
    invitations: usize,
    /// R5.4: boards with posts the user has not read.
    boards: Vec<kumanet_store::BoardSummary>,
    /// R5.3: for a patient or family account, the shared part of their group.
    family_group: Option<String>,
}

pub async fn home_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let u = ctx.user.clone().ok_or(WebError::NotFound)?;
    let is_center = u.role == Role::Center;
    let pending_applications = if is_center { app.store.pending_applications().await?.len() } else { 0 };
    let staff_link = match (&u.role, &u.facility_id) {
        (Role::FacilityAdmin, Some(f)) => Some(format!("/facilities/{f}/staff")),
        _ => None,
    };
    // R12.2: a facility admin keeps the facility's own directory entries current.
    let resources_link = match (&u.role, &u.facility_id) {
        (Role::FacilityAdmin, Some(f)) if u.status == UserStatus::Approved => {
            Some(format!("/resources?facility={f}&sort=name"))
        }
        _ => None,
    };
    let notifications = app.store.notifications(&u.id, 20).await?;
    let family = u.role == Role::PatientFamily;
    let family_group = if family { app.store.family_group_of(&u.id).await? } else { None };
    let approved = u.status == UserStatus::Approved && !family;
    let unread = if approved { app.store.unread_counts(&u.id).await? } else { Vec::new() };
    let boards: Vec<_> = if approved {
        app.store.boards_of(&u.id).await?.into_iter().filter(|b| b.unread > 0).collect()
    } else {
        Vec::new()
    };
    let (patients, invitations) = if approved {
        let mut p = app.store.visible_patients(&u.id, u.facility_id.as_deref(), None).await?;
        p.truncate(20);
        if !p.is_empty() {
            // R11.1: the home page lists patients by name: that is a view of patient information.
            let details = serde_json::json!({ "home": true, "results": p.len() });
            crate::service::admin::audit_view(
                &app,
                &ctx,
                kumanet_core::audit::AuditAction::PatientsListed,
                None,
                details,
            )
            .await?;
        }
        (
            p,
            app.store
                .open_invitations_for(&u.id, ctx.now - kumanet_core::policy::patient::INVITATION_VALID_US)
                .await?
                .len()
                + crate::service::boards::open_invitations(&app, &ctx).await?.len(),
        )
    } else {
        (Vec::new(), 0)
    };
    Ok(render(&HomePage {
        chrome: Chrome::new(&ctx, "ホーム"),
        unread,
        name: u.name.clone(),
        approved: u.status == UserStatus::Approved,
        pending_applications,
        staff_link,
        resources_link,
        is_center,
        notifications,
        password_expires: u.password_expires_at.map(jst),
        patients,
        invitations,
        boards,
        family_group,
    }))
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    chrome: Chrome,
    item: UserListItem,
    pledge: Option<String>,
    notice_mode: kumanet_core::policy::notice::NoticeMode,
    modes: &'static [kumanet_core::policy::notice::NoticeMode],
    mail_on: bool,
    saved: bool,
}

pub async fn profile_get(
    State(app): State<App>,
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<ProfileQuery>,
) -> Result<Response, WebError> {
    let u = ctx.user.clone().ok_or(WebError::NotFound)?;
    let facility_name = match &u.facility_id {
        Some(f) => app.store.facility(f).await?.map(|f| f.name),
        None => None,
    };
    let pledge = u.pledge_signed_at.map(jst);
    Ok(render(&ProfilePage {
        chrome: Chrome::new(&ctx, "プロフィール"),
        notice_mode: app.store.notice_mode(&u.id).await?,
        modes: kumanet_core::policy::notice::NoticeMode::ALL,
        mail_on: app.mailer.is_some(),
        saved: q.saved.is_some(),
        item: UserListItem { user: u, facility_name },
        pledge,
    }))
}

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeForm {
    #[serde(default)]
    notice_mode: String,
    #[serde(default)]
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// How one is told of new posts by e-mail (the mail never holds patient information).
pub async fn notices_post(State(app): State<App>, ctx: Ctx, body: axum::body::Bytes) -> Result<Response, WebError> {
    let f: NoticeForm = super::parse_form(&body)?;
    let mode = kumanet_core::policy::notice::NoticeMode::from_code(f.notice_mode.trim())
        .ok_or_else(|| WebError::BadRequest("通知の受け取り方を選んでください。".into()))?;
    let mut tx = app.store.begin().await?;
    tx.set_notice_mode(ctx.user_id(), mode).await?;
    tx.audit(crate::request::AuditTarget::details(
        ctx.audit(kumanet_core::audit::AuditAction::NoticesChanged, kumanet_core::audit::AuditResult::Ok),
        serde_json::json!({ "mode": mode.code() }),
    ))
    .await?;
    tx.commit().await?;
    Ok(axum::response::IntoResponse::into_response(axum::response::Redirect::to("/profile?saved=1#notices")))
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    chrome: Chrome,
    q: String,
    people: Vec<UserListItem>,
}

/// The staff directory: approved IDs of the region (name, kana, facility, profession).
pub async fn directory_get(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<crate::query::TextQuery>,
) -> Result<Response, WebError> {
    let people = crate::service::admin::search_staff_directory(&app, &ctx, &q.q, false).await?;
    Ok(render(&DirectoryPage { chrome: Chrome::new(&ctx, "職員名簿"), q: q.q.trim().to_string(), people }))
}
