//! The JSON API of the 在宅医療支援センター: facilities, their admins, the approval queue (R4.1),
//! users, settings, policy versions and the audit log (R11.1).

use axum::body::Bytes;
use axum::extract::{Query, State};
use kumanet_core::people::Role;
use kumanet_core::policy::settings::Settings;
use serde_json::json;

use super::facility::create_person;
use super::{body, created, ok, ApiResult};
use crate::request::{ApplicationRef, Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, DecisionForm, FacilityForm, PolicyForm, ReasonForm};
use crate::App;

pub async fn facilities(State(app): State<App>) -> ApiResult {
    ok(app.store.facilities().await?)
}

pub async fn facility_create(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: FacilityForm = body(&bytes)?;
    let id = admin::create_facility(&app, &ctx, &f).await?;
    created(app.store.facility(&id).await?)
}

pub async fn facility_update(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(current): TargetFacility,
    bytes: Bytes,
) -> ApiResult {
    let f: FacilityForm = body(&bytes)?;
    admin::update_facility(&app, &ctx, &current, &f).await?;
    ok(app.store.facility(&current.id).await?)
}

pub async fn admin_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    bytes: Bytes,
) -> ApiResult {
    create_person(&app, &ctx, r, Role::FacilityAdmin, &bytes).await
}

/// The region's users; `?q=` searches name, kana or ID, `?status=` narrows to one status.
pub async fn users(State(app): State<App>, ctx: Ctx, Query(q): Query<admin::UsersQuery>) -> ApiResult {
    ok(admin::list_users(&app, &ctx, &q, true).await?)
}

pub async fn user(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser) -> ApiResult {
    let v = admin::view_user(&app, &ctx, &u, true).await?;
    ok(json!({ "user": u, "applications": v.applications.into_iter().map(|a| a.application).collect::<Vec<_>>() }))
}

pub async fn user_resume(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    admin::resume(&app, &ctx, &u, &f).await?;
    ok(json!({ "ok": true }))
}

pub async fn applications(State(app): State<App>) -> ApiResult {
    ok(app.store.pending_applications().await?)
}

pub async fn application_decide(
    State(app): State<App>,
    ctx: Ctx,
    ApplicationRef(item): ApplicationRef,
    bytes: Bytes,
) -> ApiResult {
    let f: DecisionForm = body(&bytes)?;
    let state = admin::decide_application(&app, &ctx, &item, &f).await?;
    ok(json!({ "state": state.code() }))
}

pub async fn settings(ctx: Ctx) -> ApiResult {
    ok(ctx.settings)
}

pub async fn settings_update(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let s: Settings = body(&bytes)?;
    admin::update_settings(&app, &ctx, &s).await?;
    ok(s)
}

pub async fn policy_publish(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: PolicyForm = body(&bytes)?;
    created(json!({ "version": admin::publish_policy(&app, &ctx, &f).await? }))
}

pub async fn audit(State(app): State<App>, ctx: Ctx, Query(q): Query<admin::AuditQuery>) -> ApiResult {
    ok(admin::search_audit(&app, &ctx, &q, 500, true).await?)
}
