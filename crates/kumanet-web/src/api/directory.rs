//! The JSON API of the staff directory (who can be invited).

use axum::extract::{Query, State};
use kumanet_core::people::Profession;
use kumanet_store::UserListItem;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Answered, Reply};
use crate::query::TextQuery;
use crate::request::Ctx;
use crate::service::admin;
use crate::App;

/// A person as other users see them (directory).
#[derive(Serialize, ToSchema)]
pub struct PersonView {
    id: String,
    name: String,
    kana: String,
    profession: Option<Profession>,
    facility_id: Option<String>,
    facility_name: Option<String>,
}

fn person_view(i: UserListItem) -> PersonView {
    PersonView {
        id: i.user.id,
        name: i.user.name,
        kana: i.user.kana,
        profession: i.user.profession,
        facility_id: i.user.facility_id,
        facility_name: i.facility_name,
    }
}

pub async fn directory(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<TextQuery>,
) -> Answered<Reply<Vec<PersonView>>> {
    let people = admin::search_staff_directory(&app, &ctx, &q.q, true).await?;
    Ok(Reply(people.into_iter().map(person_view).collect()))
}
