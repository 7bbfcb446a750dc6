//! The JSON twins of the directory pages (R12.1, R12.2): search, an entry, new and changed
//! entries, and the CSV import (`text/csv` body; `?mode=dry_run|all|valid_only`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use kumanet_core::policy::directory::{days_label, is_stale, EntryInput, Term};
use kumanet_store::DirectoryEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Answered, Created, JsonBody, Reply};
use crate::error::{ApiError, WebError};
use crate::request::{Ctx, Resource};
use crate::service::directory::{self as dir, ImportMode, RowAction, SearchForm, PAGE};
use crate::App;

fn term(terms: &[Term], code: &str) -> Option<Term> {
    (!code.is_empty()).then(|| Term { code: code.to_string(), label: Term::label_of(terms, code).to_string() })
}

/// An entry of the regional resource directory (R12.1), with its kind and area named.
#[derive(Serialize, ToSchema)]
pub struct EntryJson {
    pub id: String,
    pub kind: Option<Term>,
    pub name: String,
    pub kana: String,
    pub address: String,
    pub area: Option<Term>,
    pub phone: String,
    pub fax: String,
    pub email: String,
    pub web: String,
    /// The days it is open, in Japanese (月・火…).
    pub days: String,
    pub hours: String,
    pub services: Vec<String>,
    pub capacity: Option<i64>,
    pub vacancies: Option<i64>,
    pub notes: String,
    /// YYYY-MM-DD, Japan's calendar.
    pub confirmed_on: Option<String>,
    /// R12.2: not confirmed for a year.
    pub stale: bool,
    pub facility: Option<EntryFacility>,
}

/// The facility an entry is linked to.
#[derive(Serialize, ToSchema)]
pub struct EntryFacility {
    pub id: String,
    pub name: Option<String>,
}

fn entry_json(e: &DirectoryEntry, kinds: &[Term], areas: &[Term], today: &str) -> EntryJson {
    let f = &e.f;
    EntryJson {
        id: e.id.clone(),
        kind: term(kinds, &f.kind),
        name: f.name.clone(),
        kana: f.kana.clone(),
        address: f.address.clone(),
        area: term(areas, &f.area),
        phone: f.phone.clone(),
        fax: f.fax.clone(),
        email: f.email.clone(),
        web: f.web.clone(),
        days: days_label(f.days),
        hours: f.hours.clone(),
        services: f.services.clone(),
        capacity: f.capacity,
        vacancies: f.vacancies,
        notes: f.notes.clone(),
        confirmed_on: f.confirmed_on.clone(),
        stale: is_stale(f.confirmed_on.as_deref(), today),
        facility: f.facility_id.as_ref().map(|id| EntryFacility { id: id.clone(), name: e.facility_name.clone() }),
    }
}

#[derive(Serialize, ToSchema)]
pub struct EntryPage {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub results: Vec<EntryJson>,
}

/// R12.1: `q`, `kind`, `area`, `day` (0 = Monday), `vacancy=1`, `sort=name`, `page`.
pub async fn search(State(app): State<App>, ctx: Ctx, Query(f): Query<SearchForm>) -> Answered<Reply<EntryPage>> {
    let (kinds, areas) = dir::terms(&app).await?;
    let (results, total) = app.store.search_directory(&f.query(&kinds, &areas, PAGE)).await?;
    let today = dir::today(&ctx);
    Ok(Reply(EntryPage {
        total,
        page: f.page.unwrap_or(1).clamp(1, 10_000),
        per_page: PAGE,
        results: results.iter().map(|e| entry_json(e, &kinds, &areas, &today)).collect(),
    }))
}

/// The region's kinds and areas: the codes the search takes.
#[derive(Serialize, ToSchema)]
pub struct Terms {
    pub kinds: Vec<Term>,
    pub areas: Vec<Term>,
}

pub async fn terms(State(app): State<App>) -> Answered<Reply<Terms>> {
    let (kinds, areas) = dir::terms(&app).await?;
    Ok(Reply(Terms { kinds, areas }))
}

pub async fn entry(State(app): State<App>, ctx: Ctx, Resource(e): Resource) -> Answered<Reply<EntryJson>> {
    let (kinds, areas) = dir::terms(&app).await?;
    Ok(Reply(entry_json(&e, &kinds, &areas, &dir::today(&ctx))))
}

#[derive(Serialize, ToSchema)]
pub struct ResourceRef {
    pub resource_id: String,
}

pub async fn create(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(input): JsonBody<EntryInput>,
) -> Answered<Created<ResourceRef>> {
    Ok(Created(ResourceRef { resource_id: dir::create(&app, &ctx, &input).await? }))
}

pub async fn update(
    State(app): State<App>,
    ctx: Ctx,
    Resource(e): Resource,
    JsonBody(input): JsonBody<EntryInput>,
) -> Answered<Reply<ResourceRef>> {
    dir::update(&app, &ctx, &e, &input).await?;
    Ok(Reply(ResourceRef { resource_id: e.id }))
}

#[derive(Deserialize, Default)]
pub struct ImportQuery {
    #[serde(default)]
    mode: String,
}

/// What an import found, row by row, and what it wrote (R12.2).
#[derive(Serialize, ToSchema)]
pub struct ImportJson {
    /// The file's encoding as read (UTF-8 or Shift_JIS).
    pub encoding: String,
    pub created: usize,
    pub updated: usize,
    pub refused: usize,
    pub written: usize,
    pub rows: Vec<ImportRowJson>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRowJson {
    pub line: u64,
    pub name: String,
    /// create, update or refuse
    pub action: String,
    pub errors: Vec<ColumnError>,
}

#[derive(Serialize, ToSchema)]
pub struct ColumnError {
    pub column: String,
    pub message: String,
}

/// R12.2: the CSV file as the body; every row's outcome with its line and reasons.
pub async fn import(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<ImportQuery>,
    bytes: Bytes,
) -> Answered<Reply<ImportJson>> {
    let mode = ImportMode::from_code(&q.mode)
        .ok_or_else(|| ApiError(WebError::BadRequest("mode は dry_run、all、valid_only のいずれかです。".into())))?;
    let r = dir::import(&app, &ctx, &bytes, mode).await?;
    Ok(Reply(ImportJson {
        encoding: r.encoding.to_string(),
        created: r.created,
        updated: r.updated,
        refused: r.refused,
        written: r.written,
        rows: r
            .rows
            .iter()
            .map(|row| ImportRowJson {
                line: row.line,
                name: row.name.clone(),
                action: match &row.action {
                    RowAction::Create => "create",
                    RowAction::Update(_) => "update",
                    RowAction::Refuse => "refuse",
                }
                .into(),
                errors: row.errors.iter().map(|(c, m)| ColumnError { column: c.clone(), message: m.clone() }).collect(),
            })
            .collect(),
    }))
}
