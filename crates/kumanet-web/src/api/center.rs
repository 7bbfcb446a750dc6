//! The JSON API of the 在宅医療支援センター: facilities, their admins, the approval queue (R4.1),
//! users, settings, policy versions and the audit log (R11.1).

use axum::extract::{Query, State};
use kumanet_core::people::ApplicationState;
use kumanet_core::people::Role;
use kumanet_core::policy::settings::Settings;
use kumanet_store::{Application, ApplicationItem, AuditRow, Facility, User, UserListItem};
use serde::Serialize;
use utoipa::ToSchema;

use super::facility::{create_person, Issued};
use super::{done, Answered, Created, Done, JsonBody, Reply};
use crate::error::WebError;
use crate::request::{ApplicationRef, Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, DecisionForm, FacilityForm, PolicyForm, ReasonForm};
use crate::service::PersonForm;
use crate::App;

pub async fn facilities(State(app): State<App>) -> Answered<Reply<Vec<Facility>>> {
    Ok(Reply(app.store.facilities().await?))
}

pub async fn facility_create(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(f): JsonBody<FacilityForm>,
) -> Answered<Created<Facility>> {
    let id = admin::create_facility(&app, &ctx, &f).await?;
    Ok(Created(app.store.facility(&id).await?.ok_or(WebError::NotFound)?))
}

pub async fn facility_update(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(current): TargetFacility,
    JsonBody(f): JsonBody<FacilityForm>,
) -> Answered<Reply<Facility>> {
    admin::update_facility(&app, &ctx, &current, &f).await?;
    Ok(Reply(app.store.facility(&current.id).await?.ok_or(WebError::NotFound)?))
}

pub async fn admin_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    JsonBody(f): JsonBody<PersonForm>,
) -> Answered<Created<Issued>> {
    create_person(&app, &ctx, r, Role::FacilityAdmin, &f).await
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
    JsonBody(f): JsonBody<ReasonForm>,
) -> Answered<Reply<Done>> {
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
    JsonBody(f): JsonBody<DecisionForm>,
) -> Answered<Reply<Decided>> {
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

pub async fn settings_update(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(s): JsonBody<Settings>,
) -> Answered<Reply<Settings>> {
    admin::update_settings(&app, &ctx, &s).await?;
    Ok(Reply(s))
}

/// The version number of a newly published operating policy (R6.2).
#[derive(Serialize, ToSchema)]
pub struct Published {
    pub version: i64,
}

pub async fn policy_publish(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(f): JsonBody<PolicyForm>,
) -> Answered<Created<Published>> {
    Ok(Created(Published { version: admin::publish_policy(&app, &ctx, &f).await? }))
}

pub async fn audit(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<admin::AuditQuery>,
) -> Answered<Reply<Vec<AuditRow>>> {
    Ok(Reply(admin::search_audit(&app, &ctx, &q, 500, true).await?))
}
