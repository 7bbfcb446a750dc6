//! The JSON API of the 施設管理者: staff, and the change, deletion, suspension and password reset
//! of a facility's users (R6.1, R6.3).

use axum::body::Bytes;
use axum::extract::State;
use kumanet_core::people::Role;
use kumanet_store::Facility;
use serde_json::json;

use super::{body, created, ok, ApiResult};
use crate::request::{Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, ChangeForm, ReasonForm};
use crate::service::PersonForm;
use crate::App;

pub(super) async fn create_person(app: &App, ctx: &Ctx, facility: Facility, role: Role, bytes: &Bytes) -> ApiResult {
    let f: PersonForm = body(bytes)?;
    let issued = admin::create_person(app, ctx, &facility, role, &f).await?;
    created(json!({
        "user_id": issued.user_id,
        "login_id": issued.login_id,
        "one_time_password": issued.password.expose(),
        "status": if role == Role::Staff { "pending" } else { "approved" },
    }))
}

pub async fn staff_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    bytes: Bytes,
) -> ApiResult {
    create_person(&app, &ctx, r, Role::Staff, &bytes).await
}

pub async fn staff(State(app): State<App>, ctx: Ctx, TargetFacility(facility): TargetFacility) -> ApiResult {
    ok(admin::view_staff(&app, &ctx, &facility, true).await?.staff)
}

pub async fn user_change(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ChangeForm = body(&bytes)?;
    created(json!({ "application_id": admin::file_change(&app, &ctx, &u, &f).await? }))
}

pub async fn user_deletion(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    created(json!({ "application_id": admin::file_deletion(&app, &ctx, &u, &f).await? }))
}

pub async fn user_suspend(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    ok(json!({ "sessions_ended": admin::suspend(&app, &ctx, &u, &f).await? }))
}

pub async fn user_reset(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    ok(json!({ "one_time_password": admin::reset_password(&app, &ctx, &u, &f).await? }))
}
