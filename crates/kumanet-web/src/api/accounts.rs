//! The JSON API of one's own account: login and logout (R8.6), the session, the password
//! (R8.2) and the operating policy (R6.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::{body, ok, ApiResult};
use crate::error::{ApiError, WebError};
use crate::request::Ctx;
use crate::service::accounts::{self, AcceptForm, LoginForm, LoginRefused, PasswordForm};
use crate::session_cookies::{login_client, set_login_cookies, set_refused_status};
use crate::App;

/// R8.6: the same answers as the page: 200 with the session and device cookies, 401
/// `invalid_credentials` or `issued_password_expired`, 429 `login_throttled` with `Retry-After`.
pub async fn login(State(app): State<App>, ctx: Ctx, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let f: LoginForm = body(&bytes)?;
    match accounts::login(&app, &ctx, &f, &login_client(&app, &headers)).await? {
        Ok(logged_in) => {
            let mut resp = Json(json!({ "ok": true })).into_response();
            set_login_cookies(&app, &mut resp, &logged_in);
            Ok(resp)
        }
        Err(refused) => {
            let mut body = json!({ "code": refused.code(), "message": refused.message() });
            if let LoginRefused::Throttled { retry_after_s } = refused {
                body["retry_after_seconds"] = retry_after_s.into();
            }
            let mut resp = Json(body).into_response();
            set_refused_status(&mut resp, &refused);
            Ok(resp)
        }
    }
}

pub async fn logout(State(app): State<App>, ctx: Ctx) -> ApiResult {
    accounts::logout(&app, &ctx).await?;
    let mut resp = Json(json!({ "ok": true })).into_response();
    if let Ok(v) = HeaderValue::from_str(&app.clear_cookie(app.session_cookie())) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Who is signed in, what they must do first, and the CSRF token for later writes.
pub async fn session(ctx: Ctx) -> ApiResult {
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

pub async fn password(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: PasswordForm = body(&bytes)?;
    let ended = accounts::change_password(&app, &ctx, &f).await?;
    ok(json!({ "ok": true, "other_sessions_ended": ended }))
}

pub async fn policy(State(app): State<App>) -> ApiResult {
    let p = app.store.current_policy().await?.ok_or(WebError::NotFound)?;
    ok(p)
}

pub async fn policy_accept(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: AcceptForm = body(&bytes)?;
    accounts::accept_policy(&app, &ctx, &f).await?;
    ok(json!({ "ok": true, "version": f.version }))
}
