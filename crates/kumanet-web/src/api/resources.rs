//! The JSON twins of the directory pages (R12.1, R12.2): search, an entry, new and changed
//! entries, and the CSV import (`text/csv` body; `?mode=dry_run|all|valid_only`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use kumanet_core::policy::directory::{days_label, is_stale, EntryInput, Term};
use kumanet_store::DirectoryEntry;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ApiResult;
use crate::error::{ApiError, WebError};
use crate::request::{Ctx, Resource};
use crate::service::directory::{self as dir, ImportMode, RowAction, SearchForm, PAGE};
use crate::App;

fn term(terms: &[Term], code: &str) -> Value {
    if code.is_empty() {
        Value::Null
    } else {
        json!({ "code": code, "label": Term::label_of(terms, code) })
    }
}

fn entry_json(e: &DirectoryEntry, kinds: &[Term], areas: &[Term], today: &str) -> Value {
    json!({
        "id": e.id, "kind": term(kinds, &e.f.kind), "name": e.f.name, "kana": e.f.kana, "address": e.f.address,
        "area": term(areas, &e.f.area), "phone": e.f.phone, "fax": e.f.fax, "email": e.f.email, "web": e.f.web,
        "days": days_label(e.f.days), "hours": e.f.hours, "services": e.f.services, "capacity": e.f.capacity,
        "vacancies": e.f.vacancies, "notes": e.f.notes, "confirmed_on": e.f.confirmed_on,
        "stale": is_stale(e.f.confirmed_on.as_deref(), today),
        "facility": e.f.facility_id.as_ref().map(|id| json!({ "id": id, "name": e.facility_name })),
    })
}

/// R12.1: `q`, `kind`, `area`, `day` (0 = Monday), `vacancy=1`, `sort=name`, `page`.
pub async fn search(State(app): State<App>, ctx: Ctx, Query(f): Query<SearchForm>) -> ApiResult {
    let (kinds, areas) = dir::terms(&app).await?;
    let (results, total) = app.store.search_directory(&f.query(&kinds, &areas, PAGE)).await?;
    let today = dir::today(&ctx);
    Ok(Json(json!({
        "total": total, "page": f.page.unwrap_or(1).clamp(1, 10_000), "per_page": PAGE,
        "results": results.iter().map(|e| entry_json(e, &kinds, &areas, &today)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The region's kinds and areas: the codes the search takes.
pub async fn terms(State(app): State<App>) -> ApiResult {
    let (kinds, areas) = dir::terms(&app).await?;
    Ok(Json(json!({ "kinds": kinds, "areas": areas })).into_response())
}

pub async fn entry(State(app): State<App>, ctx: Ctx, Resource(e): Resource) -> ApiResult {
    let (kinds, areas) = dir::terms(&app).await?;
    Ok(Json(entry_json(&e, &kinds, &areas, &dir::today(&ctx))).into_response())
}

pub async fn create(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let input: EntryInput = super::body(&bytes)?;
    let id = dir::create(&app, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "resource_id": id }))).into_response())
}

pub async fn update(State(app): State<App>, ctx: Ctx, Resource(e): Resource, bytes: Bytes) -> ApiResult {
    let input: EntryInput = super::body(&bytes)?;
    dir::update(&app, &ctx, &e, &input).await?;
    Ok(Json(json!({ "resource_id": e.id })).into_response())
}

#[derive(Deserialize, Default)]
pub struct ImportQuery {
    #[serde(default)]
    mode: String,
}

/// R12.2: the CSV file as the body; every row's outcome with its line and reasons.
pub async fn import(State(app): State<App>, ctx: Ctx, Query(q): Query<ImportQuery>, bytes: Bytes) -> ApiResult {
    let mode = ImportMode::from_code(&q.mode)
        .ok_or_else(|| ApiError(WebError::BadRequest("mode は dry_run、all、valid_only のいずれかです。".into())))?;
    let r = dir::import(&app, &ctx, &bytes, mode).await?;
    Ok(Json(json!({
        "encoding": r.encoding, "created": r.created, "updated": r.updated, "refused": r.refused, "written": r.written,
        "rows": r.rows.iter().map(|row| json!({
            "line": row.line, "name": row.name,
            "action": match &row.action { RowAction::Create => "create", RowAction::Update(_) => "update", RowAction::Refuse => "refuse" },
            "errors": row.errors.iter().map(|(c, m)| json!({ "column": c, "message": m })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Request bodies for the OpenAPI document.
pub fn request_schema(method: &str, path: &str) -> Option<Value> {
    let fields = [
        "kind",
        "name",
        "kana",
        "address",
        "area",
        "phone",
        "fax",
        "email",
        "web",
        "days",
        "hours",
        "services",
        "capacity",
        "vacancies",
        "notes",
        "confirmed_on",
        "facility_id",
    ];
    let props: serde_json::Map<String, Value> =
        fields.iter().map(|f| (f.to_string(), json!({ "type": "string" }))).collect();
    match (method, path) {
        ("POST", "/api/v1/resources") | ("PUT", "/api/v1/resources/{resource_id}") => Some(
            json!({ "type": "object", "additionalProperties": false, "properties": props, "required": ["kind", "name"] }),
        ),
        _ => None,
    }
}
