//! The regional resource directory's pages (Ayamu; R12.1, R12.2): search with filters, an entry
//! with the facility's staff on Kumanet (and the way to invite one to a patient's group), the
//! entry form, CSV import with its dry run, CSV export, what is out of date, kinds and areas.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_core::audit::AuditAction;
use kumanet_core::authz::{decide, Action, Target};
use kumanet_core::people::{Role, UserStatus};
use kumanet_core::policy::directory::{days_label, is_stale, EntryInput, Term, DAY_LABELS};
use kumanet_store::{DirectoryEntry, Facility, UserListItem, UserQuery};
use serde::Deserialize;

use super::facility::unprocessable;
use super::posts::CsrfOnly;
use super::{parse_form, render, Chrome, FormState};
use crate::error::{FieldErrors, WebError};
use crate::request::{Ctx, Resource};
use crate::service::directory::{self as dir, ImportMode, ImportReport, RowAction, SearchForm, TermsForm, PAGE};
use crate::App;

/// Names for codes, and what a viewer may do, for the templates.
pub struct Terms {
    pub kinds: Vec<Term>,
    pub areas: Vec<Term>,
    pub today: String,
}

impl Terms {
    async fn load(app: &App, ctx: &Ctx) -> Result<Terms, WebError> {
        let (kinds, areas) = dir::terms(app).await?;
        Ok(Terms { kinds, areas, today: dir::today(ctx) })
    }
    pub fn kind(&self, code: &str) -> String {
        Term::label_of(&self.kinds, code).to_string()
    }
    pub fn area(&self, code: &str) -> String {
        Term::label_of(&self.areas, code).to_string()
    }
    pub fn days(&self, days: &i64) -> String {
        days_label(*days)
    }
    pub fn stale(&self, e: &DirectoryEntry) -> bool {
        is_stale(e.f.confirmed_on.as_deref(), &self.today)
    }
    pub fn confirmed(&self, e: &DirectoryEntry) -> String {
        e.f.confirmed_on.as_deref().map_or_else(|| "未確認".to_string(), crate::jst::ymd)
    }
}

#[derive(Template)]
#[template(path = "resources/search.html")]
struct SearchPage {
    chrome: Chrome,
    t: Terms,
    f: SearchForm,
    results: Vec<DirectoryEntry>,
    total: i64,
    page: i64,
    pages: i64,
    can_create: bool,
    center: bool,
    day_labels: [&'static str; 7],
}

impl SearchPage {
    /// The same search on another page (or as CSV).
    fn link(&self, base: &str, page: i64) -> String {
        let pairs = [
            ("q", self.f.q.as_str()),
            ("kind", self.f.kind.as_str()),
            ("area", self.f.area.as_str()),
            ("day", self.f.day.as_str()),
            ("vacancy", self.f.vacancy.as_str()),
            ("sort", self.f.sort.as_str()),
            ("facility", self.f.facility.as_str()),
        ];
        let mut q: Vec<(&str, String)> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.to_string())).collect();
        if page > 1 {
            q.push(("page", page.to_string()));
        }
        match serde_urlencoded::to_string(&q) {
            Ok(s) if !s.is_empty() => format!("{base}?{s}"),
            _ => base.to_string(),
        }
    }
    fn day_selected(&self, i: &usize) -> bool {
        self.f.day == i.to_string()
    }
    /// `text` with the searched words marked: (piece, is a match).
    fn marked(&self, text: &str) -> Vec<(String, bool)> {
        mark_words(text, &kumanet_core::policy::directory::search_words(&self.f.q))
    }
}

/// Every occurrence of any of `words` in `text` marked (exact characters, longest word first).
pub fn mark_words(text: &str, words: &[String]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut words: Vec<Vec<char>> =
        words.iter().map(|w| w.chars().collect()).filter(|w: &Vec<char>| !w.is_empty()).collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some(w) = words.iter().find(|w| chars[i..].starts_with(w)) {
            out.push((w.iter().collect(), true));
            i += w.len();
        } else {
            match out.last_mut() {
                Some((s, false)) => s.push(chars[i]),
                _ => out.push((chars[i].to_string(), false)),
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn r12_1_searched_words_are_marked() {
        let words = vec!["入浴".to_string(), "送迎".to_string()];
        assert_eq!(
            super::mark_words("入浴・送迎あり", &words),
            vec![("入浴".into(), true), ("・".into(), false), ("送迎".into(), true), ("あり".into(), false)]
        );
        assert_eq!(super::mark_words("食事", &words), vec![("食事".to_string(), false)]);
    }
}

fn may(ctx: &Ctx, action: Action, target: &Target) -> bool {
    decide(&ctx.actor, action, target).is_ok()
}

/// R12.1: words (any Japanese substring, one character and up), kind, area, day and vacancy.
pub async fn search_get(State(app): State<App>, ctx: Ctx, Query(f): Query<SearchForm>) -> Result<Response, WebError> {
    let t = Terms::load(&app, &ctx).await?;
    let (results, total) = app.store.search_directory(&f.query(&t.kinds, &t.areas, PAGE)).await?;
    let pages = ((total + PAGE - 1) / PAGE).max(1);
    Ok(render(&SearchPage {
        chrome: Chrome::new(&ctx, "地域資源をさがす"),
        page: f.page.unwrap_or(1).clamp(1, pages),
        pages,
        can_create: may(&ctx, Action::CreateResource, &Target::None),
        center: may(&ctx, Action::ImportResources, &Target::None),
        day_labels: DAY_LABELS,
        t,
        f,
        results,
        total,
    }))
}

/// R12.2: a search as CSV, in the import's own columns (public directory data).
pub async fn export_get(State(app): State<App>, ctx: Ctx, Query(f): Query<SearchForm>) -> Result<Response, WebError> {
    let (kinds, areas) = dir::terms(&app).await?;
    let mut q = f.query(&kinds, &areas, 20_000);
    q.offset = 0;
    let (entries, _) = app.store.search_directory(&q).await?;
    let body = dir::export_csv(&entries, &kinds, &areas);
    let name = format!("attachment; filename=\"resources-{}.csv\"", dir::today(&ctx));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)], body)
        .into_response())
}

#[derive(Template)]
#[template(path = "resources/show.html")]
struct ShowPage {
    chrome: Chrome,
    t: Terms,
    e: DirectoryEntry,
    staff: Vec<UserListItem>,
    /// The patients' groups the viewer manages: where a staff member can be invited.
    groups: Vec<(String, String)>,
    can_edit: bool,
}

/// An entry, and the facility's staff on Kumanet (R12.1 → R5.2).
pub async fn show_get(State(app): State<App>, ctx: Ctx, Resource(e): Resource) -> Result<Response, WebError> {
    let staff: Vec<UserListItem> = match &e.f.facility_id {
        Some(fid) => app
            .store
            .users(&UserQuery {
                facility_id: Some(fid.clone()),
                status: Some(UserStatus::Approved),
                limit: 200,
                ..UserQuery::default()
            })
            .await?
            .into_iter()
            .filter(|u| matches!(u.user.role, Role::Staff | Role::FacilityAdmin))
            .collect(),
        None => Vec::new(),
    };
    let u = ctx.user.as_ref().ok_or(WebError::NotFound)?;
    let groups =
        if staff.is_empty() { Vec::new() } else { app.store.managed_groups(&u.id, u.facility_id.as_deref()).await? };
    if !groups.is_empty() {
        // The list names patients: a view of patient information (R11.1).
        crate::service::admin::audit_view(
            &app,
            &ctx,
            AuditAction::PatientsListed,
            None,
            serde_json::json!({ "resource_id": e.id, "results": groups.len() }),
        )
        .await?;
    }
    Ok(render(&ShowPage {
        chrome: Chrome::new(&ctx, &e.f.name),
        t: Terms::load(&app, &ctx).await?,
        can_edit: may(&ctx, Action::EditResource, &Target::Resource { facility_id: e.f.facility_id.clone() }),
        e,
        staff,
        groups,
    }))
}

#[derive(Deserialize)]
pub struct InviteQuery {
    #[serde(default)]
    group: String,
    #[serde(default)]
    invitee: String,
}

/// From an entry's staff to a patient's group: the group page, with that person ready to invite.
/// The group's own page decides and records the invitation (R5.2, R10.1).
pub async fn invite_get(Query(q): Query<InviteQuery>) -> Result<Response, WebError> {
    let ok = |s: &str| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !ok(&q.group) || !ok(&q.invitee) {
        return Err(WebError::BadRequest("招待するグループを選んでください。".into()));
    }
    Ok(Redirect::to(&format!("/groups/{}?invitee={}#invite", q.group, q.invitee)).into_response())
}

#[derive(Template)]
#[template(path = "resources/form.html")]
struct FormPage {
    chrome: Chrome,
    t: Terms,
    action: String,
    form: FormState,
    /// The center names the facility an entry belongs to; a facility admin's are their own.
    facilities: Vec<Facility>,
}

async fn form_page(
    app: &App,
    ctx: &Ctx,
    title: &str,
    action: String,
    input: &EntryInput,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let values = [
        ("kind", &input.kind),
        ("name", &input.name),
        ("kana", &input.kana),
        ("address", &input.address),
        ("area", &input.area),
        ("phone", &input.phone),
        ("fax", &input.fax),
        ("email", &input.email),
        ("web", &input.web),
        ("days", &input.days),
        ("hours", &input.hours),
        ("services", &input.services),
        ("capacity", &input.capacity),
        ("vacancies", &input.vacancies),
        ("notes", &input.notes),
        ("confirmed_on", &input.confirmed_on),
        ("facility_id", &input.facility_id),
    ];
    let form = FormState { values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), errors };
    let failed = form.has_errors();
    let center = ctx.user.as_ref().is_some_and(|u| u.role == Role::Center);
    let resp = render(&FormPage {
        chrome: Chrome::new(ctx, title),
        t: Terms::load(app, ctx).await?,
        action,
        form,
        facilities: if center { app.store.facilities().await? } else { Vec::new() },
    });
    Ok(if failed { unprocessable(resp) } else { resp })
}

pub async fn new_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let input = EntryInput { confirmed_on: dir::today(&ctx), ..EntryInput::default() };
    form_page(&app, &ctx, "地域資源の登録", "/resources".into(), &input, FieldErrors::default()).await
}

pub async fn create_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let input: EntryInput = parse_form(&body)?;
    match dir::create(&app, &ctx, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/resources/{id}")).into_response()),
        Err(WebError::Invalid(errors)) => {
            form_page(&app, &ctx, "地域資源の登録", "/resources".into(), &input, errors).await
        }
        Err(e) => Err(e),
    }
}

pub async fn edit_get(State(app): State<App>, ctx: Ctx, Resource(e): Resource) -> Result<Response, WebError> {
    let (kinds, areas) = dir::terms(&app).await?;
    let input = dir::input_of(&e, &kinds, &areas);
    form_page(&app, &ctx, "地域資源の変更", format!("/resources/{}", e.id), &input, FieldErrors::default()).await
}

pub async fn update_post(
    State(app): State<App>,
    ctx: Ctx,
    Resource(e): Resource,
    body: Bytes,
) -> Result<Response, WebError> {
    let input: EntryInput = parse_form(&body)?;
    match dir::update(&app, &ctx, &e, &input).await {
        Ok(()) => Ok(Redirect::to(&format!("/resources/{}", e.id)).into_response()),
        Err(WebError::Invalid(errors)) => {
            form_page(&app, &ctx, "地域資源の変更", format!("/resources/{}", e.id), &input, errors).await
        }
        Err(e) => Err(e),
    }
}

/// R12.2: "this entry is as it says, today".
pub async fn confirm_post(
    State(app): State<App>,
    ctx: Ctx,
    Resource(e): Resource,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: CsrfOnly = parse_form(&body)?;
    dir::confirm(&app, &ctx, &e).await?;
    Ok(Redirect::to(&format!("/resources/{}", e.id)).into_response())
}

#[derive(Template)]
#[template(path = "resources/import.html")]
struct ImportPage {
    chrome: Chrome,
    report: Option<ImportReport>,
    /// The file's text, carried to the next step so it need not be chosen again.
    content: String,
    mode: &'static str,
    error: Option<String>,
}

impl ImportPage {
    fn action_label(&self, a: &RowAction) -> &'static str {
        match a {
            RowAction::Create => "新規",
            RowAction::Update(_) => "変更",
            RowAction::Refuse => "取り込めません",
        }
    }
}

pub async fn import_get(ctx: Ctx) -> Result<Response, WebError> {
    Ok(render(&ImportPage {
        chrome: Chrome::new(&ctx, "地域資源のCSV取り込み"),
        report: None,
        content: String::new(),
        mode: "dry_run",
        error: None,
    }))
}

/// The file (or the text carried from the dry run) and the mode, from a multipart form.
async fn read_import(req: Request) -> Result<(Vec<u8>, String), WebError> {
    let bad = |_| WebError::BadRequest("送信内容を読み取れませんでした。".into());
    let mut mp = Multipart::from_request(req, &()).await.map_err(|_| bad(()))?;
    let (mut bytes, mut mode) = (Vec::new(), String::new());
    while let Some(field) = mp.next_field().await.map_err(|_| bad(()))? {
        match field.name().unwrap_or("") {
            "file" => {
                let b = field.bytes().await.map_err(|_| bad(()))?;
                if !b.is_empty() {
                    bytes = b.to_vec();
                }
            }
            "content" => {
                let t = field.text().await.map_err(|_| bad(()))?;
                if bytes.is_empty() && !t.is_empty() {
                    bytes = t.into_bytes();
                }
            }
            "mode" => mode = field.text().await.map_err(|_| bad(()))?,
            _ => {}
        }
    }
    Ok((bytes, mode))
}

/// R12.2: the dry run names every row that would be created, changed or refused (line, column,
/// reason); nothing is written unless the whole file is valid or only the valid rows are asked for.
pub async fn import_post(State(app): State<App>, ctx: Ctx, req: Request) -> Result<Response, WebError> {
    let (bytes, mode) = read_import(req).await?;
    let mode =
        ImportMode::from_code(&mode).ok_or_else(|| WebError::BadRequest("取り込み方を選んでください。".into()))?;
    let chrome = Chrome::new(&ctx, "地域資源のCSV取り込み");
    match dir::import(&app, &ctx, &bytes, mode).await {
        Ok(report) => {
            let content = dir::decode(&bytes).map(|(t, _)| t).unwrap_or_default();
            Ok(render(&ImportPage {
                chrome,
                report: Some(report),
                content,
                mode: match mode {
                    ImportMode::DryRun => "dry_run",
                    ImportMode::All => "all",
                    ImportMode::ValidOnly => "valid_only",
                },
                error: None,
            }))
        }
        Err(WebError::Invalid(e)) => Ok(unprocessable(render(&ImportPage {
            chrome,
            report: None,
            content: String::new(),
            mode: "dry_run",
            error: e.get("file").map(str::to_string),
        }))),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "resources/stale.html")]
struct StalePage {
    chrome: Chrome,
    t: Terms,
    entries: Vec<DirectoryEntry>,
}

/// R12.2: entries not confirmed for a year, for the center to follow up.
pub async fn stale_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let entries = app.store.stale_directory_entries(&dir::stale_cutoff(&ctx)).await?;
    Ok(render(&StalePage {
        chrome: Chrome::new(&ctx, "1年以上確認されていない地域資源"),
        t: Terms::load(&app, &ctx).await?,
        entries,
    }))
}

#[derive(Template)]
#[template(path = "resources/terms.html")]
struct TermsPage {
    chrome: Chrome,
    t: Terms,
    form: FormState,
}

impl TermsPage {
    fn lines(&self, terms: &[Term]) -> String {
        terms.iter().map(|t| t.label.as_str()).collect::<Vec<_>>().join("\n")
    }
}

pub async fn terms_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    Ok(render(&TermsPage {
        chrome: Chrome::new(&ctx, "地域資源の種別と地区"),
        t: Terms::load(&app, &ctx).await?,
        form: FormState::default(),
    }))
}

pub async fn terms_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: TermsForm = parse_form(&body)?;
    match dir::update_terms(&app, &ctx, &f).await {
        Ok(()) => Ok(Redirect::to("/center/resources/terms").into_response()),
        Err(WebError::Invalid(errors)) => Ok(unprocessable(render(&TermsPage {
            chrome: Chrome::new(&ctx, "地域資源の種別と地区"),
            t: Terms::load(&app, &ctx).await?,
            form: FormState::from_pairs(&body, errors),
        }))),
        Err(e) => Err(e),
    }
}
