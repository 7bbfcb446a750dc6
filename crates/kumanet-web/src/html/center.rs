//! The center's pages (在宅医療支援センター): facilities and their admins, the approval queue,
//! users, policy versions, settings, and the audit log with CSV export (R11.1, R11.2).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::people::{FacilityKind, Role, UserStatus};
use kumanet_core::policy::patient::FamilyRule;
use kumanet_core::policy::settings::Settings;
use kumanet_store::{ApplicationItem, AuditRow, Facility, PolicyVersion, User, UserListItem, UserQuery};
use serde::Deserialize;

use super::facility::{person_new_page, unprocessable, IssuedPage};
use super::{jst, options, parse_form, render, Chrome, FormState, Opt};
use crate::error::{FieldErrors, WebError};
use crate::request::{ApplicationRef, Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, AuditQuery, DecisionForm, FacilityForm, PolicyForm};
use crate::service::PersonForm;
use crate::App;

#[derive(Template)]
#[template(path = "center/facilities.html")]
struct FacilitiesPage {
    chrome: Chrome,
    facilities: Vec<Facility>,
}

pub async fn facilities_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let facilities = app.store.facilities().await?;
    Ok(render(&FacilitiesPage { chrome: Chrome::new(&ctx, "施設"), facilities }))
}

#[derive(Template)]
#[template(path = "center/facility_form.html")]
struct FacilityFormPage {
    chrome: Chrome,
    action: String,
    facility_id: Option<String>,
    form: FormState,
    kinds: Vec<Opt>,
    admins: Vec<UserListItem>,
}

fn facility_form(ctx: &Ctx, facility_id: Option<String>, form: FormState, admins: Vec<UserListItem>) -> Response {
    let (heading, action) = match &facility_id {
        Some(id) => ("施設の編集".to_string(), format!("/center/facilities/{id}")),
        None => ("施設の登録".to_string(), "/center/facilities".to_string()),
    };
    render(&FacilityFormPage {
        chrome: Chrome::new(ctx, &heading),
        action,
        facility_id,
        form,
        kinds: options(FacilityKind::ALL, FacilityKind::code, FacilityKind::label),
        admins,
    })
}

pub async fn facility_new_get(ctx: Ctx) -> Response {
    facility_form(&ctx, None, FormState::default(), Vec::new())
}

pub async fn facility_create_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: FacilityForm = parse_form(&body)?;
    match admin::create_facility(&app, &ctx, &f).await {
        Ok(id) => Ok(Redirect::to(&format!("/center/facilities/{id}")).into_response()),
        Err(WebError::Invalid(errors)) => {
            Ok(unprocessable(facility_form(&ctx, None, FormState::from_pairs(&body, errors), Vec::new())))
        }
        Err(e) => Err(e),
    }
}

async fn admins_of(app: &App, facility_id: &str) -> Result<Vec<UserListItem>, WebError> {
    let all = app
        .store
        .users(&UserQuery { facility_id: Some(facility_id.to_string()), limit: 1000, ..UserQuery::default() })
        .await?;
    Ok(all.into_iter().filter(|i| i.user.role == Role::FacilityAdmin).collect())
}

pub async fn facility_edit_get(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(f): TargetFacility,
) -> Result<Response, WebError> {
    let form = FormState::with(&[
        ("name", &f.name),
        ("kana", &f.kana),
        ("kind", f.kind.code()),
        ("address", &f.address),
        ("phone", &f.phone),
    ]);
    let admins = admins_of(&app, &f.id).await?;
    Ok(facility_form(&ctx, Some(f.id), form, admins))
}

pub async fn facility_edit_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(current): TargetFacility,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: FacilityForm = parse_form(&body)?;
    match admin::update_facility(&app, &ctx, &current, &f).await {
        Ok(()) => Ok(Redirect::to("/center/facilities").into_response()),
        Err(WebError::Invalid(errors)) => {
            let admins = admins_of(&app, &current.id).await?;
            Ok(unprocessable(facility_form(&ctx, Some(current.id), FormState::from_pairs(&body, errors), admins)))
        }
        Err(e) => Err(e),
    }
}

pub async fn admin_new_get(ctx: Ctx, TargetFacility(facility): TargetFacility) -> Result<Response, WebError> {
    Ok(person_new_page(&ctx, facility, true, FormState::default()))
}

pub async fn admin_create_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(facility): TargetFacility,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: PersonForm = parse_form(&body)?;
    match admin::create_person(&app, &ctx, &facility, Role::FacilityAdmin, &f).await {
        Ok(issued) => Ok(render(&IssuedPage {
            chrome: Chrome::new(&ctx, "施設管理者を登録しました"),
            issued,
            back: format!("/center/facilities/{}", facility.id),
            pending: false,
        })),
        Err(WebError::Invalid(errors)) => {
            Ok(unprocessable(person_new_page(&ctx, facility, true, FormState::from_pairs(&body, errors))))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "center/applications.html")]
struct ApplicationsPage {
    chrome: Chrome,
    items: Vec<ApplicationItem>,
    error: Option<String>,
}

pub async fn applications_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let items = app.store.pending_applications().await?;
    Ok(render(&ApplicationsPage { chrome: Chrome::new(&ctx, "承認待ちの届出"), items, error: None }))
}

pub async fn application_post(
    State(app): State<App>,
    ctx: Ctx,
    ApplicationRef(item): ApplicationRef,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: DecisionForm = parse_form(&body)?;
    match admin::decide_application(&app, &ctx, &item, &f).await {
        Ok(_) => Ok(Redirect::to("/center/applications").into_response()),
        Err(WebError::Invalid(errors)) => {
            let items = app.store.pending_applications().await?;
            let error = errors
                .0
                .first()
                .map(|e| format!("{}さんの{}: {}", item.user.name, item.application.kind.label(), e.message));
            Ok(unprocessable(render(&ApplicationsPage {
                chrome: Chrome::new(&ctx, "承認待ちの届出"), items, error
            })))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "center/users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    status: String,
    statuses: Vec<Opt>,
    people: Vec<UserListItem>,
}

pub async fn users_get(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<admin::UsersQuery>,
) -> Result<Response, WebError> {
    let people = admin::list_users(&app, &ctx, &q, false).await?;
    Ok(render(&UsersPage {
        chrome: Chrome::new(&ctx, "利用者"),
        q: q.q.trim().to_string(),
        status: q.status,
        statuses: options(UserStatus::ALL, UserStatus::code, UserStatus::label),
        people,
    }))
}

#[derive(Template)]
#[template(path = "center/user.html")]
struct UserPage {
    chrome: Chrome,
    user: User,
    facility_name: String,
    applications: Vec<ApplicationItem>,
    sessions: i64,
}

pub async fn user_get(State(app): State<App>, ctx: Ctx, TargetUser(user): TargetUser) -> Result<Response, WebError> {
    let admin::UserView { facility_name, applications, sessions } = admin::view_user(&app, &ctx, &user, false).await?;
    Ok(render(&UserPage {
        chrome: Chrome::new(&ctx, "利用者の詳細"), user, facility_name, applications, sessions
    }))
}

pub async fn resume_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(user): TargetUser,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: admin::ReasonForm = parse_form(&body)?;
    admin::resume(&app, &ctx, &user, &f).await?;
    Ok(Redirect::to(&format!("/center/users/{}", user.id)).into_response())
}

#[derive(Template)]
#[template(path = "center/policy.html")]
struct PolicyEditPage {
    chrome: Chrome,
    versions: Vec<PolicyVersion>,
    form: FormState,
}

pub async fn policy_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let versions = app.store.policy_versions().await?;
    let form = match versions.first() {
        Some(p) => FormState::with(&[("purpose", &p.purpose), ("body", &p.body)]),
        None => FormState::default(),
    };
    Ok(render(&PolicyEditPage { chrome: Chrome::new(&ctx, "運用ポリシーの管理"), versions, form }))
}

pub async fn policy_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: PolicyForm = parse_form(&body)?;
    match admin::publish_policy(&app, &ctx, &f).await {
        Ok(v) => Ok(super::message(
            &ctx,
            "運用ポリシーを改定しました",
            &format!("第{v}版を公開しました。すべての利用者は、次の操作のときに改めて同意を求められます。"),
            &[("/policy", "新しい版を確認して同意する")],
        )),
        Err(WebError::Invalid(errors)) => {
            let versions = app.store.policy_versions().await?;
            Ok(unprocessable(render(&PolicyEditPage {
                chrome: Chrome::new(&ctx, "運用ポリシーの管理"),
                versions,
                form: FormState::from_pairs(&body, errors),
            })))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "center/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    form: FormState,
    saved: bool,
    rules: Vec<Opt>,
}

fn rules() -> Vec<Opt> {
    options(FamilyRule::ALL, FamilyRule::code, FamilyRule::label)
}

fn settings_form(s: &Settings) -> FormState {
    FormState::with(&[
        ("region_name", &s.region_name),
        ("idle_timeout_minutes", &s.idle_timeout_minutes.to_string()),
        ("session_lifetime_hours", &s.session_lifetime_hours.to_string()),
        ("password_max_age_days", &s.password_max_age_days.to_string()),
        ("lockout_threshold", &s.lockout_threshold.to_string()),
        ("lockout_minutes", &s.lockout_minutes.to_string()),
        ("family_agreement", s.family_agreement.code()),
        ("post_soft_limit", &s.post_soft_limit.to_string()),
    ])
}

pub async fn settings_get(ctx: Ctx) -> Response {
    render(&SettingsPage {
        chrome: Chrome::new(&ctx, "設定"),
        form: settings_form(&ctx.settings),
        saved: false,
        rules: rules(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    #[serde(default)]
    region_name: String,
    #[serde(default)]
    idle_timeout_minutes: String,
    #[serde(default)]
    session_lifetime_hours: String,
    #[serde(default)]
    password_max_age_days: String,
    #[serde(default)]
    lockout_threshold: String,
    #[serde(default)]
    lockout_minutes: String,
    #[serde(default)]
    family_agreement: String,
    #[serde(default)]
    post_soft_limit: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// Parse the settings form; a field that is not a number gets its own message.
pub fn parse_settings(f: &SettingsForm) -> Result<Settings, WebError> {
    let _ = &f.csrf;
    let mut errors = FieldErrors::default();
    let mut num = |field: &str, v: &str| -> u32 {
        v.trim().parse::<u32>().unwrap_or_else(|_| {
            errors.add(field, "半角数字で入力してください。");
            0
        })
    };
    let family_agreement = FamilyRule::from_code(f.family_agreement.trim());
    let s = Settings {
        region_name: f.region_name.trim().to_string(),
        idle_timeout_minutes: num("idle_timeout_minutes", &f.idle_timeout_minutes),
        session_lifetime_hours: num("session_lifetime_hours", &f.session_lifetime_hours),
        password_max_age_days: num("password_max_age_days", &f.password_max_age_days),
        lockout_threshold: num("lockout_threshold", &f.lockout_threshold),
        lockout_minutes: num("lockout_minutes", &f.lockout_minutes),
        family_agreement: family_agreement.unwrap_or(FamilyRule::All),
        post_soft_limit: num("post_soft_limit", &f.post_soft_limit),
    };
    if family_agreement.is_none() {
        errors.add("family_agreement", "患者・家族の参加に必要な合意を選んでください。");
    }
    errors.into_result()?;
    Ok(s)
}

pub async fn settings_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: SettingsForm = parse_form(&body)?;
    let result = match parse_settings(&f) {
        Ok(s) => admin::update_settings(&app, &ctx, &s).await.map(|()| s),
        Err(e) => Err(e),
    };
    match result {
        Ok(s) => Ok(render(&SettingsPage {
            chrome: Chrome::new(&ctx, "設定"),
            form: settings_form(&s),
            saved: true,
            rules: rules(),
        })),
        Err(WebError::Invalid(errors)) => Ok(unprocessable(render(&SettingsPage {
            chrome: Chrome::new(&ctx, "設定"),
            form: FormState::from_pairs(&body, errors),
            saved: false,
            rules: rules(),
        }))),
        Err(e) => Err(e),
    }
}

/// What kind of object an audit row is about, in Japanese.
pub fn target_label(t: &str) -> &'static str {
    match t {
        "user" => "利用者",
        "facility" => "施設",
        "application" => "届出",
        "policy" => "運用ポリシー",
        "settings" => "設定",
        _ => "その他",
    }
}

pub struct AuditLine {
    pub row: AuditRow,
    pub when: String,
    pub action_label: String,
    pub result_label: String,
    pub actor_name: String,
    pub target: String,
}

#[derive(Template)]
#[template(path = "center/audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    lines: Vec<AuditLine>,
    actions: Vec<Opt>,
    results: Vec<Opt>,
    next_before: Option<i64>,
    export_query: String,
}

async fn names(app: &App, rows: &[AuditRow]) -> Result<std::collections::HashMap<String, String>, WebError> {
    let mut m = std::collections::HashMap::new();
    for r in rows {
        if let Some(id) = &r.record.actor_user_id {
            if !m.contains_key(id) {
                let name =
                    app.store.user_by_id(id).await?.map(|u| format!("{} ({})", u.name, u.login_id)).unwrap_or_default();
                m.insert(id.clone(), name);
            }
        }
    }
    Ok(m)
}

/// R11.1: the center searches the log (and that search is itself logged).
pub async fn audit_get(State(app): State<App>, ctx: Ctx, Query(q): Query<AuditQuery>) -> Result<Response, WebError> {
    let rows = admin::search_audit(&app, &ctx, &q, 100, false).await?;
    let names = names(&app, &rows).await?;
    let next_before = if rows.len() == 100 { rows.last().map(|r| r.record.seq) } else { None };
    let lines = rows
        .into_iter()
        .map(|row| AuditLine {
            when: jst(row.record.ts),
            action_label: AuditAction::from_code(&row.record.action)
                .map_or(row.record.action.clone(), |a| a.label().to_string()),
            result_label: AuditResult::from_code(&row.record.result)
                .map_or(row.record.result.clone(), |a| a.label().to_string()),
            actor_name: row
                .record
                .actor_user_id
                .as_ref()
                .and_then(|id| names.get(id).cloned())
                .unwrap_or_else(|| "(未ログイン)".into()),
            target: row.record.target_type.as_deref().map(target_label).unwrap_or("").to_string(),
            row,
        })
        .collect();
    let export_query = serde_urlencoded::to_string([
        ("user", q.user.as_str()),
        ("action", q.action.as_str()),
        ("result", q.result.as_str()),
        ("from", q.from.as_str()),
        ("until", q.until.as_str()),
    ])
    .unwrap_or_default();
    Ok(render(&AuditPage {
        chrome: Chrome::new(&ctx, "監査ログ"),
        q,
        lines,
        actions: options(AuditAction::ALL, AuditAction::code, AuditAction::label),
        results: options(AuditResult::ALL, AuditResult::code, AuditResult::label),
        next_before,
        export_query,
    }))
}

/// R11.1: CSV export of the search (UTF-8 with BOM for Excel), with the chain hashes so it can be
/// checked offline. Shown inline as text: this is the log, not patient information.
pub async fn audit_csv_get(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let rows = admin::export_audit(&app, &ctx, &q).await?;
    let mut out = crate::spreadsheet::CsvWriter::new();
    out.row([
        "seq",
        "ts_utc",
        "actor_user_id",
        "actor_role",
        "actor_facility_id",
        "ip",
        "action",
        "target_type",
        "target_id",
        "result",
        "reason",
        "details",
        "prev_hash",
        "entry_hash",
    ]);
    for r in rows.iter().rev() {
        let x = &r.record;
        let cols = [
            x.seq.to_string(),
            crate::jst::iso_utc(x.ts),
            x.actor_user_id.clone().unwrap_or_default(),
            x.actor_role.clone().unwrap_or_default(),
            x.actor_facility_id.clone().unwrap_or_default(),
            x.ip.clone().unwrap_or_default(),
            x.action.clone(),
            x.target_type.clone().unwrap_or_default(),
            x.target_id.clone().unwrap_or_default(),
            x.result.clone(),
            x.reason.clone().unwrap_or_default(),
            x.details.clone(),
            r.prev_hash.clone(),
            r.entry_hash.clone(),
        ];
        out.row(cols);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"kumanet-audit.csv\""),
        ],
        out.finish(),
    )
        .into_response())
}
