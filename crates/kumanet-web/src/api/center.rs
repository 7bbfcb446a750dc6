//! The JSON API of the 在宅医療支援センター: facilities, their admins, the approval queue (R4.1),
//! users, settings, policy versions and the audit log (R11.1).

use axum::body::Bytes;
use axum::extract::{Query, State};
use kumanet_core::people::ApplicationState;
use kumanet_core::people::Role;
use kumanet_core::policy::settings::Settings;
use kumanet_store::{Application, ApplicationItem, AuditRow, Facility, User, UserListItem};
use serde::Serialize;
use utoipa::ToSchema;

use super::facility::{create_person, Issued};
use super::{body, done, Answered, Created, Done, Reply};
use crate::error::WebError;
use crate::request::{ApplicationRef, Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, DecisionForm, FacilityForm, PolicyForm, ReasonForm};
use crate::App;

pub async fn facilities(State(app): State<App>) -> Answered<Reply<Vec<Facility>>> {
    Ok(Reply(app.store.facilities().await?))
}

pub async fn facility_create(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> Answered<Created<Facility>> {
    let f: FacilityForm = body(&bytes)?;
    let id = admin::create_facility(&app, &ctx, &f).await?;
    Ok(Created(app.store.facility(&id).await?.ok_or(WebError::NotFound)?))
}

pub async fn facility_update(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(current): TargetFacility,
    bytes: Bytes,
) -> Answered<Reply<Facility>> {
    let f: FacilityForm = body(&bytes)?;
    admin::update_facility(&app, &ctx, &current, &f).await?;
    Ok(Reply(app.store.facility(&current.id).await?.ok_or(WebError::NotFound)?))
}

pub async fn admin_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    bytes: Bytes,
) -> Answered<Created<Issued>> {
    create_person(&app, &ctx, r, Role::FacilityAdmin, &bytes).await
}

/// The region's users; `?q=` searches name, kana or ID, `?status=` narrows to one status.
pub async fn users(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<admin::UsersQuery>,
) -> Answered<Reply<Vec<UserListItem>>> {
    Ok(Reply(admin::list_users(&app, &ctx, &q, true).await?))
}

/// A user with the applications filed about them (R6.1, R6.3).
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    pub user: User,
    pub applications: Vec<Application>,
}

pub async fn user(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser) -> Answered<Reply<UserDetail>> {
    let v = admin::view_user(&app, &ctx, &u, true).await?;
    Ok(Reply(UserDetail { user: u, applications: v.applications.into_iter().map(|a| a.application).collect() }))
}

pub async fn user_resume(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    bytes: Bytes,
) -> Answered<Reply<Done>> {
    let f: ReasonForm = body(&bytes)?;
    admin::resume(&app, &ctx, &u, &f).await?;
    done()
}

pub async fn applications(State(app): State<App>) -> Answered<Reply<Vec<ApplicationItem>>> {
    Ok(Reply(app.store.pending_applications().await?))
}

pub async fn application_decide(
    State(app): State<App>,
    ctx: Ctx,
    ApplicationRef(item): ApplicationRef,
    bytes: Bytes,
) -> Answered<Reply<Decided>> {
    let f: DecisionForm = body(&bytes)?;
    let state = admin::decide_application(&app, &ctx, &item, &f).await?;
    Ok(Reply(Decided { state }))
}

/// The center's decision on an application (R4.1).
#[derive(Serialize, ToSchema)]
pub struct Decided {
    pub state: ApplicationState,
}

pub async fn settings(ctx: Ctx) -> Answered<Reply<Settings>> {
    Ok(Reply(ctx.settings))
}

pub async fn settings_update(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> Answered<Reply<Settings>> {
    let s: Settings = body(&bytes)?;
    admin::update_settings(&app, &ctx, &s).await?;
    Ok(Reply(s))
}

/// The version number of a newly published operating policy (R6.2).
#[derive(Serialize, ToSchema)]
pub struct Published {
    pub version: i64,
}

pub async fn policy_publish(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> Answered<Created<Published>> {
    let f: PolicyForm = body(&bytes)?;
    Ok(Created(Published { version: admin::publish_policy(&app, &ctx, &f).await? }))
}

pub async fn audit(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<admin::AuditQuery>,
) -> Answered<Reply<Vec<AuditRow>>> {
    Ok(Reply(admin::search_audit(&app, &ctx, &q, 500, true).await?))
}
