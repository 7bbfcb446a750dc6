//! The JSON API under `/api/v1`: the same operations as the pages, through the same services and
//! the same gate. Unknown fields are refused. Described at `/api/v1/openapi.json`, generated from
//! the route table so the document cannot miss a route.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kumanet_core::audit::AuditAction;
use kumanet_core::people::{Role, UserStatus};
use kumanet_core::policy::settings::Settings;
use kumanet_store::{UserListItem, UserQuery};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{ApiError, WebError};
use crate::gate::{Ctx, Resolved};
use crate::html::center::AuditQuery;
use crate::service::accounts::{self, AcceptForm, LoginForm, LoginRefused, PasswordForm};
use crate::service::admin::{self, audit_view, ChangeForm, DecisionForm, FacilityForm, PolicyForm, ReasonForm};
use crate::service::PersonForm;
use crate::App;

type ApiResult = Result<Response, ApiError>;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(WebError::BadRequest(format!("JSONを読み取れませんでした(未知の項目や型の誤りは受け付けません): {e}")))
    })
}

fn ok<T: Serialize>(v: T) -> ApiResult {
    Ok(Json(v).into_response())
}

fn created<T: Serialize>(v: T) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

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

pub async fn login(State(app): State<App>, Extension(ctx): Extension<Ctx>, bytes: Bytes) -> ApiResult {
    let f: LoginForm = body(&bytes)?;
    match accounts::login(&app, &ctx, &f).await? {
        Ok(token) => {
            let mut resp = Json(json!({ "ok": true })).into_response();
            if let Ok(v) = HeaderValue::from_str(&app.cookie(app.session_cookie(), &token)) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(refused) => {
            let code = match refused {
                LoginRefused::Invalid => "invalid_credentials",
                LoginRefused::Locked => "locked",
                LoginRefused::IssuedExpired => "issued_password_expired",
            };
            Ok((StatusCode::UNAUTHORIZED, Json(json!({ "code": code, "message": refused.message() }))).into_response())
        }
    }
}

pub async fn logout(State(app): State<App>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    accounts::logout(&app, &ctx).await?;
    let mut resp = Json(json!({ "ok": true })).into_response();
    if let Ok(v) = HeaderValue::from_str(&app.clear_cookie(app.session_cookie())) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Who is signed in, what they must do first, and the CSRF token for later writes.
pub async fn session(Extension(ctx): Extension<Ctx>) -> ApiResult {
    let Some(u) = &ctx.user else { return Err(ApiError(WebError::Denied(kumanet_core::authz::Denied::NotSignedIn))) };
    let must_change =
        kumanet_core::policy::login::must_change_password(u.password_issued, u.password_expires_at, ctx.now);
    let policy_ok = match &ctx.actor {
        kumanet_core::authz::Actor::User(a) => a.policy_accepted,
        kumanet_core::authz::Actor::Anonymous => false,
    };
    ok(json!({
        "user": u,
        "csrf_token": ctx.csrf,
        "must_change_password": must_change,
        "policy_accepted": policy_ok,
        "current_policy_version": ctx.policy_version,
        "idle_timeout_minutes": ctx.settings.idle_timeout_minutes,
    }))
}

pub async fn password(State(app): State<App>, Extension(ctx): Extension<Ctx>, bytes: Bytes) -> ApiResult {
    let f: PasswordForm = body(&bytes)?;
    accounts::change_password(&app, &ctx, &f).await?;
    ok(json!({ "ok": true }))
}

pub async fn policy(State(app): State<App>) -> ApiResult {
    let p = app.store.current_policy().await?.ok_or(WebError::NotFound)?;
    ok(p)
}

pub async fn policy_accept(State(app): State<App>, Extension(ctx): Extension<Ctx>, bytes: Bytes) -> ApiResult {
    let f: AcceptForm = body(&bytes)?;
    accounts::accept_policy(&app, &ctx, &f).await?;
    ok(json!({ "ok": true, "version": f.version }))
}

#[derive(serde::Deserialize, Default)]
pub struct Q {
    #[serde(default)]
    q: String,
}

pub async fn directory(State(app): State<App>, Extension(ctx): Extension<Ctx>, Query(q): Query<Q>) -> ApiResult {
    let text = q.q.trim().to_string();
    let people = app
        .store
        .users(&UserQuery {
            text: (!text.is_empty()).then_some(text),
            status: Some(UserStatus::Approved),
            limit: 200,
            ..UserQuery::default()
        })
        .await?;
    audit_view(&app, &ctx, AuditAction::DirectoryViewed, None, json!({ "results": people.len(), "api": true })).await?;
    ok(people.into_iter().map(person_view).collect::<Vec<_>>())
}

pub async fn facilities(State(app): State<App>) -> ApiResult {
    ok(app.store.facilities().await?)
}

pub async fn facility_create(State(app): State<App>, Extension(ctx): Extension<Ctx>, bytes: Bytes) -> ApiResult {
    let f: FacilityForm = body(&bytes)?;
    let id = admin::create_facility(&app, &ctx, &f).await?;
    created(app.store.facility(&id).await?)
}

pub async fn facility_update(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let current = r.facility.ok_or(WebError::NotFound)?;
    let f: FacilityForm = body(&bytes)?;
    admin::update_facility(&app, &ctx, &current, &f).await?;
    ok(app.store.facility(&current.id).await?)
}

async fn create_person(app: &App, ctx: &Ctx, r: Resolved, role: Role, bytes: &Bytes) -> ApiResult {
    let facility = r.facility.ok_or(WebError::NotFound)?;
    let f: PersonForm = body(bytes)?;
    let issued = admin::create_person(app, ctx, &facility, role, &f).await?;
    created(json!({
        "user_id": issued.user_id,
        "login_id": issued.login_id,
        "one_time_password": issued.password,
        "status": if role == Role::Staff { "pending" } else { "approved" },
    }))
}

pub async fn admin_create(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    create_person(&app, &ctx, r, Role::FacilityAdmin, &bytes).await
}

pub async fn staff_create(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    create_person(&app, &ctx, r, Role::Staff, &bytes).await
}

pub async fn staff(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
) -> ApiResult {
    let facility = r.facility.ok_or(WebError::NotFound)?;
    let staff = app
        .store
        .users(&UserQuery { facility_id: Some(facility.id.clone()), limit: 1000, ..UserQuery::default() })
        .await?;
    audit_view(
        &app,
        &ctx,
        AuditAction::StaffListed,
        Some(("facility", &facility.id)),
        json!({ "count": staff.len(), "api": true }),
    )
    .await?;
    ok(staff)
}

pub async fn users(State(app): State<App>, Extension(ctx): Extension<Ctx>, Query(q): Query<Q>) -> ApiResult {
    let text = q.q.trim().to_string();
    let people = app
        .store
        .users(&UserQuery { text: (!text.is_empty()).then_some(text), limit: 500, ..UserQuery::default() })
        .await?;
    audit_view(
        &app,
        &ctx,
        AuditAction::UserViewed,
        None,
        json!({ "list": true, "results": people.len(), "api": true }),
    )
    .await?;
    ok(people)
}

pub async fn user(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
) -> ApiResult {
    let u = r.user.ok_or(WebError::NotFound)?;
    audit_view(&app, &ctx, AuditAction::UserViewed, Some(("user", &u.id)), json!({ "api": true })).await?;
    let applications = app.store.applications_of_user(&u.id).await?;
    ok(json!({ "user": u, "applications": applications.into_iter().map(|a| a.application).collect::<Vec<_>>() }))
}

pub async fn user_change(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let u = r.user.ok_or(WebError::NotFound)?;
    let f: ChangeForm = body(&bytes)?;
    created(json!({ "application_id": admin::file_change(&app, &ctx, &u, &f).await? }))
}

pub async fn user_deletion(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let u = r.user.ok_or(WebError::NotFound)?;
    let f: ReasonForm = body(&bytes)?;
    created(json!({ "application_id": admin::file_deletion(&app, &ctx, &u, &f).await? }))
}

pub async fn user_suspend(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let u = r.user.ok_or(WebError::NotFound)?;
    let f: ReasonForm = body(&bytes)?;
    ok(json!({ "sessions_ended": admin::suspend(&app, &ctx, &u, &f).await? }))
}

pub async fn user_reset(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let u = r.user.ok_or(WebError::NotFound)?;
    let f: ReasonForm = body(&bytes)?;
    ok(json!({ "one_time_password": admin::reset_password(&app, &ctx, &u, &f).await? }))
}

pub async fn user_resume(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let u = r.user.ok_or(WebError::NotFound)?;
    let f: ReasonForm = body(&bytes)?;
    admin::resume(&app, &ctx, &u, &f).await?;
    ok(json!({ "ok": true }))
}

pub async fn applications(State(app): State<App>) -> ApiResult {
    ok(app.store.pending_applications().await?)
}

pub async fn application_decide(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(r): Extension<Resolved>,
    bytes: Bytes,
) -> ApiResult {
    let item = r.application.ok_or(WebError::NotFound)?;
    let f: DecisionForm = body(&bytes)?;
    let state = admin::decide_application(&app, &ctx, &item, &f).await?;
    ok(json!({ "state": state.code() }))
}

pub async fn settings(Extension(ctx): Extension<Ctx>) -> ApiResult {
    ok(ctx.settings)
}

pub async fn settings_update(State(app): State<App>, Extension(ctx): Extension<Ctx>, bytes: Bytes) -> ApiResult {
    let s: Settings = body(&bytes)?;
    admin::update_settings(&app, &ctx, &s).await?;
    ok(s)
}

pub async fn policy_publish(State(app): State<App>, Extension(ctx): Extension<Ctx>, bytes: Bytes) -> ApiResult {
    let f: PolicyForm = body(&bytes)?;
    created(json!({ "version": admin::publish_policy(&app, &ctx, &f).await? }))
}

pub async fn audit(State(app): State<App>, Extension(ctx): Extension<Ctx>, Query(q): Query<AuditQuery>) -> ApiResult {
    let rows = app.store.audit_search(&crate::html::center::filter_for(&app, &q, 500).await?).await?;
    audit_view(&app, &ctx, AuditAction::AuditViewed, None, json!({ "results": rows.len(), "api": true })).await?;
    ok(rows)
}

/// Request bodies of the API, by route: (method, path) → (summary, schema).
fn request_schema(method: &str, path: &str) -> Option<Value> {
    let s = |props: &[&str], required: &[&str]| {
        let p: serde_json::Map<String, Value> =
            props.iter().map(|k| (k.to_string(), json!({ "type": "string" }))).collect();
        json!({ "type": "object", "additionalProperties": false, "properties": p, "required": required })
    };
    let person =
        s(&["login_id", "name", "kana", "profession", "email", "phone"], &["login_id", "name", "kana", "profession"]);
    Some(match (method, path) {
        ("POST", "/api/v1/login") => s(&["login_id", "password"], &["login_id", "password"]),
        ("POST", "/api/v1/password") => {
            s(&["current", "password", "password_confirm"], &["current", "password", "password_confirm"])
        }
        ("POST", "/api/v1/policy/accept") => {
            json!({ "type": "object", "additionalProperties": false, "required": ["version", "agree", "pledge"],
            "properties": { "version": { "type": "integer" }, "agree": { "type": "string" }, "pledge": { "type": "string" } } })
        }
        ("POST", "/api/v1/facilities") | ("PUT", "/api/v1/facilities/{facility_id}") => {
            s(&["name", "kana", "kind", "address", "phone"], &["name", "kana", "kind", "address", "phone"])
        }
        ("POST", "/api/v1/facilities/{facility_id}/admins") | ("POST", "/api/v1/facilities/{facility_id}/staff") => {
            person
        }
        ("POST", "/api/v1/users/{user_id}/change") => {
            s(&["name", "kana", "profession", "email", "phone", "reason"], &["name", "kana", "profession", "reason"])
        }
        ("POST", "/api/v1/applications/{application_id}") => s(&["decision", "note"], &["decision"]),
        ("POST", "/api/v1/policy/versions") => s(&["purpose", "body"], &["purpose", "body"]),
        ("PUT", "/api/v1/settings") => json!({ "type": "object", "additionalProperties": false,
            "required": ["region_name", "idle_timeout_minutes", "session_lifetime_hours", "password_max_age_days", "lockout_threshold", "lockout_minutes"],
            "properties": { "region_name": { "type": "string" }, "idle_timeout_minutes": { "type": "integer", "minimum": 1, "maximum": 60 },
              "session_lifetime_hours": { "type": "integer", "minimum": 1, "maximum": 24 }, "password_max_age_days": { "type": "integer", "minimum": 1, "maximum": 60 },
              "lockout_threshold": { "type": "integer", "minimum": 3, "maximum": 100 }, "lockout_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 } } }),
        (_, p) if p.starts_with("/api/v1/users/") => s(&["reason"], &["reason"]),
        _ => return None,
    })
}

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for def in crate::routes::route_table() {
        if !def.path.starts_with("/api/v1/") {
            continue;
        }
        let method = def.method.as_str().to_ascii_lowercase();
        let params: Vec<Value> = def
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "operationId": format!("{:?}", def.action),
            "summary": format!("{:?}", def.action),
            "parameters": params,
            "responses": {
                "200": { "description": "成功" },
                "201": { "description": "作成しました" },
                "401": { "description": "ログインが必要です", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "403": { "description": "権限がありません(監査ログに記録されます)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "404": { "description": "見つかりません" },
                "422": { "description": "入力内容の誤り", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        if let Some(schema) = request_schema(def.method.as_str(), def.path) {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
        }
        if def.method.as_str() != "GET" && def.path != "/api/v1/login" {
            if let Some(a) = op["parameters"].as_array_mut() {
                a.push(
                    json!({ "name": "X-CSRF-Token", "in": "header", "required": true, "schema": { "type": "string" },
                    "description": "GET /api/v1/session の csrf_token" }),
                );
            }
        }
        let entry = paths.entry(def.path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Kumanet API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "くまねっとのJSON API。画面と同じ操作を、同じ権限チェックと監査ログのもとで提供します。認証はログインで発行されるセッションCookieです。" },
        "paths": paths,
        "components": { "schemas": { "Error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" },
            "fields": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } },
            "request_id": { "type": "string" } } } } }
    })
}

pub async fn openapi() -> impl IntoResponse {
    Json(openapi_document())
}
