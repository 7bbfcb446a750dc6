//! The JSON API of the 施設管理者: staff, and the change, deletion, suspension and password reset
//! of a facility's users (R6.1, R6.3).

use axum::extract::State;
use kumanet_core::people::Role;
use kumanet_core::people::UserStatus;
use kumanet_store::Facility;
use kumanet_store::UserListItem;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Answered, Created, JsonBody, Reply};
use crate::request::{Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, ChangeForm, ReasonForm};
use crate::service::PersonForm;
use crate::App;

/// A new ID (R6.1): its one-time password, shown once, and whether the center must approve it.
#[derive(Serialize, ToSchema)]
pub struct Issued {
    pub user_id: String,
    pub login_id: String,
    pub one_time_password: String,
    pub status: UserStatus,
}

pub(super) async fn create_person(
    app: &App,
    ctx: &Ctx,
    facility: Facility,
    role: Role,
    f: &PersonForm,
) -> Answered<Created<Issued>> {
    let issued = admin::create_person(app, ctx, &facility, role, f).await?;
    Ok(Created(Issued {
        user_id: issued.user_id,
        login_id: issued.login_id,
        one_time_password: issued.password.expose().to_string(),
        status: if role == Role::Staff { UserStatus::Pending } else { UserStatus::Approved },
    }))
}

pub async fn staff_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    JsonBody(f): JsonBody<PersonForm>,
) -> Answered<Created<Issued>> {
    create_person(&app, &ctx, r, Role::Staff, &f).await
}

pub async fn staff(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(facility): TargetFacility,
) -> Answered<Reply<Vec<UserListItem>>> {
    Ok(Reply(admin::view_staff(&app, &ctx, &facility, true).await?.staff))
}

pub async fn user_change(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    JsonBody(f): JsonBody<ChangeForm>,
) -> Answered<Created<Filed>> {
    Ok(Created(Filed { application_id: admin::file_change(&app, &ctx, &u, &f).await? }))
}

pub async fn user_deletion(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    JsonBody(f): JsonBody<ReasonForm>,
) -> Answered<Created<Filed>> {
    Ok(Created(Filed { application_id: admin::file_deletion(&app, &ctx, &u, &f).await? }))
}

pub async fn user_suspend(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    JsonBody(f): JsonBody<ReasonForm>,
) -> Answered<Reply<Suspended>> {
    Ok(Reply(Suspended { sessions_ended: admin::suspend(&app, &ctx, &u, &f).await? }))
}

pub async fn user_reset(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    JsonBody(f): JsonBody<ReasonForm>,
) -> Answered<Reply<PasswordReset>> {
    Ok(Reply(PasswordReset { one_time_password: admin::reset_password(&app, &ctx, &u, &f).await? }))
}

/// An application filed with the center (様式2: a change or a deletion, R6.3).
#[derive(Serialize, ToSchema)]
pub struct Filed {
    pub application_id: String,
}

/// R6.3: the user's sessions were ended with the suspension.
#[derive(Serialize, ToSchema)]
pub struct Suspended {
    pub sessions_ended: u64,
}

/// R8.3: a new one-time password, to be changed at the next login.
#[derive(Serialize, ToSchema)]
pub struct PasswordReset {
    pub one_time_password: String,
}
