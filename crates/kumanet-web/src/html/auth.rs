//! Login, logout, password change and policy acceptance (R1.1, R1.2, R8.1–R8.6, R9.2).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_store::PolicyVersion;
use serde::Deserialize;

use super::{parse_form, render, Chrome, FormState};
use crate::error::WebError;
use crate::request::Ctx;
use crate::service::accounts::{self, AcceptForm, LoginForm, PasswordForm};
use crate::service::default_purpose;
use crate::session_cookies::{login_client, set_login_cookies, set_refused_status};
use crate::App;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    purpose: String,
    notice: Option<&'static str>,
    error: Option<String>,
    login_id: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    reason: String,
}

async fn login_page(
    app: &App,
    ctx: &Ctx,
    notice: Option<&'static str>,
    error: Option<String>,
    login_id: String,
) -> Result<Response, WebError> {
    // R1.2: the purpose is stated on the login page.
    let purpose = match app.store.current_policy().await? {
        Some(p) => p.purpose,
        None => default_purpose(&ctx.settings.region_name),
    };
    Ok(render(&LoginPage { chrome: Chrome::new(ctx, "ログイン"), purpose, notice, error, login_id }))
}

pub async fn login_get(State(app): State<App>, ctx: Ctx, Query(q): Query<LoginQuery>) -> Result<Response, WebError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let notice = match q.reason.as_str() {
        "idle" => Some("一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"),
        "expired" => Some("ログインしてから一定時間が経過したため、ログアウトしました。もう一度ログインしてください。"),
        "logout" => Some("ログアウトしました。"),
        "password" => Some("パスワードを変更しました。新しいパスワードでログインしてください。"),
        _ => None,
    };
    login_page(&app, &ctx, notice, None, String::new()).await
}

pub async fn login_post(
    State(app): State<App>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: LoginForm = parse_form(&body)?;
    let outcome = match accounts::login(&app, &ctx, &f, &login_client(&app, &headers)).await {
        Err(WebError::Invalid(_)) => {
            let msg = "ログインIDとパスワードを入力してください。".to_string();
            let mut resp = login_page(&app, &ctx, None, Some(msg), f.login_id.trim().to_string()).await?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(resp);
        }
        other => other?,
    };
    match outcome {
        Ok(ok) => {
            let mut resp = Redirect::to("/").into_response();
            set_login_cookies(&app, &mut resp, &ok);
            Ok(resp)
        }
        Err(refused) => {
            let mut resp =
                login_page(&app, &ctx, None, Some(refused.message().to_string()), f.login_id.trim().to_string())
                    .await?;
            set_refused_status(&mut resp, &refused);
            Ok(resp)
        }
    }
}

/// R8.4: one click from every page; the server session ends.
pub async fn logout_post(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    accounts::logout(&app, &ctx).await?;
    let mut resp = Redirect::to("/login?reason=logout").into_response();
    if let Ok(v) = HeaderValue::from_str(&app.clear_cookie(app.session_cookie())) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    forced: bool,
    expired: bool,
    form: FormState,
}

fn password_page(ctx: &Ctx, form: FormState) -> Response {
    let (forced, expired) = match &ctx.user {
        Some(u) => (u.password_issued, u.password_expires_at.is_some_and(|t| ctx.now >= t)),
        None => (false, false),
    };
    render(&PasswordPage { chrome: Chrome::new(ctx, "パスワードの変更"), forced, expired, form })
}

pub async fn password_get(ctx: Ctx) -> Response {
    password_page(&ctx, FormState::default())
}

pub async fn password_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: PasswordForm = parse_form(&body)?;
    match accounts::change_password(&app, &ctx, &f).await {
        Ok(_) => Ok(Redirect::to("/").into_response()),
        Err(WebError::Invalid(errors)) => {
            let mut resp = password_page(&ctx, FormState::from_pairs(&body, errors));
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    policy: PolicyVersion,
    accepted: bool,
    form: FormState,
    /// The pledge (様式3) is for professionals, not for patients and families.
    needs_pledge: bool,
}

async fn policy_page(app: &App, ctx: &Ctx, form: FormState) -> Result<Response, WebError> {
    let policy = app.store.current_policy().await?.ok_or(WebError::NotFound)?;
    let accepted = match &ctx.user {
        Some(u) => app.store.accepted_policy_version(&u.id).await?.is_some_and(|v| v >= policy.version),
        None => false,
    };
    let needs_pledge = ctx.user.as_ref().is_some_and(|u| u.role != kumanet_core::people::Role::PatientFamily);
    Ok(render(&PolicyPage { chrome: Chrome::new(ctx, "運用ポリシー"), policy, accepted, form, needs_pledge }))
}

pub async fn policy_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    policy_page(&app, &ctx, FormState::default()).await
}

pub async fn policy_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: AcceptForm = parse_form(&body)?;
    match accounts::accept_policy(&app, &ctx, &f).await {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(WebError::Invalid(errors)) => {
            let mut resp = policy_page(&app, &ctx, FormState::from_pairs(&body, errors)).await?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}
