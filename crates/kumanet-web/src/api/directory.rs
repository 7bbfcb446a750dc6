//! The JSON API of the staff directory (who can be invited).

use axum::extract::{Query, State};
use kumanet_store::UserListItem;
use serde::Serialize;

use super::{ok, ApiResult};
use crate::query::TextQuery;
use crate::request::Ctx;
use crate::service::admin;
use crate::App;

/// A person as other users see them (directory).
#[derive(Serialize)]
struct PersonView {
    id: String,
    name: String,
    kana: String,
    profession: Option<&'static str>,
    facility_id: Option<String>,
    facility_name: Option<String>,
}

fn person_view(i: UserListItem) -> PersonView {
    PersonView {
        id: i.user.id,
        name: i.user.name,
        kana: i.user.kana,
        profession: i.user.profession.map(|p| p.code()),
        facility_id: i.user.facility_id,
        facility_name: i.facility_name,
    }
}

pub async fn directory(State(app): State<App>, ctx: Ctx, Query(q): Query<TextQuery>) -> ApiResult {
    let people = admin::search_staff_directory(&app, &ctx, &q.q, true).await?;
    ok(people.into_iter().map(person_view).collect::<Vec<_>>())
}
