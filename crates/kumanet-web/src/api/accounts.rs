//! The JSON API of one's own account: login and logout (R8.6), the session, the password
//! (R8.2) and the operating policy (R6.2).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kumanet_store::{PolicyVersion, User};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{Answer, Answered, Documented, Done, JsonBody, Reply, Schemas};
use crate::error::{ApiError, WebError};
use crate::request::Ctx;
use crate::service::accounts::{self, AcceptForm, LoginForm, LoginRefused, PasswordForm};
use crate::session_cookies::{login_client, set_login_cookies, set_refused_status};
use crate::App;

/// R8.6: the same answers as the page: 200 with the session and device cookies, 401
/// `invalid_credentials` or `issued_password_expired`, 429 `login_throttled` with `Retry-After`.
pub async fn login(
    State(app): State<App>,
    ctx: Ctx,
    headers: HeaderMap,
    JsonBody(f): JsonBody<LoginForm>,
) -> Answered<LoginAnswer> {
    match accounts::login(&app, &ctx, &f, &login_client(&app, &headers)).await? {
        Ok(logged_in) => {
            let mut resp = Json(Done { ok: true }).into_response();
            set_login_cookies(&app, &mut resp, &logged_in);
            Ok(LoginAnswer(resp))
        }
        Err(refused) => {
            let mut body = json!({ "code": refused.code(), "message": refused.message() });
            if let LoginRefused::Throttled { retry_after_s } = refused {
                body["retry_after_seconds"] = retry_after_s.into();
            }
            let mut resp = Json(body).into_response();
            set_refused_status(&mut resp, &refused);
            Ok(LoginAnswer(resp))
        }
    }
}

/// The answer to a login: the cookies and `{ "ok": true }`, or a refusal that does not tell
/// whether the ID exists.
pub struct LoginAnswer(Response);

impl IntoResponse for LoginAnswer {
    fn into_response(self) -> Response {
        self.0
    }
}

impl Documented for LoginAnswer {
    fn answers(schemas: &mut Schemas) -> Vec<Answer> {
        let mut answers = Reply::<Done>::answers(schemas);
        answers[0].description = "ログインしました(セッションCookieと端末Cookieを設定します)";
        answers
    }
}

/// The session cookie is cleared.
pub async fn logout(State(app): State<App>, ctx: Ctx) -> Answered<LogoutAnswer> {
    accounts::logout(&app, &ctx).await?;
    let mut resp = Json(Done { ok: true }).into_response();
    if let Ok(v) = HeaderValue::from_str(&app.clear_cookie(app.session_cookie())) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(LogoutAnswer(resp))
}

/// `{ "ok": true }`, with the session cookie cleared.
pub struct LogoutAnswer(Response);

impl IntoResponse for LogoutAnswer {
    fn into_response(self) -> Response {
        self.0
    }
}

impl Documented for LogoutAnswer {
    fn answers(schemas: &mut Schemas) -> Vec<Answer> {
        Reply::<Done>::answers(schemas)
    }
}

/// Who is signed in, what they must do first, and the CSRF token for later writes.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub user: User,
    /// Send it back as `X-CSRF-Token` with every write.
    pub csrf_token: String,
    pub must_change_password: bool,
    pub policy_accepted: bool,
    pub current_policy_version: Option<i64>,
    pub idle_timeout_minutes: u32,
}

pub async fn session(ctx: Ctx) -> Answered<Reply<SessionView>> {
    let Some(u) = &ctx.user else { return Err(ApiError(WebError::Denied(kumanet_core::authz::Denied::NotSignedIn))) };
    let must_change =
        kumanet_core::policy::login::must_change_password(u.password_issued, u.password_expires_at, ctx.now);
    let policy_ok = match &ctx.actor {
        kumanet_core::authz::Actor::User(a) => a.policy_accepted,
        kumanet_core::authz::Actor::Anonymous => false,
    };
    Ok(Reply(SessionView {
        user: u.clone(),
        csrf_token: ctx.csrf.clone(),
        must_change_password: must_change,
        policy_accepted: policy_ok,
        current_policy_version: ctx.policy_version,
        idle_timeout_minutes: ctx.settings.idle_timeout_minutes,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    pub ok: bool,
    /// R8.2: the other sessions of the user, ended by the change.
    pub other_sessions_ended: u64,
}

pub async fn password(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(f): JsonBody<PasswordForm>,
) -> Answered<Reply<PasswordChanged>> {
    let ended = accounts::change_password(&app, &ctx, &f).await?;
    Ok(Reply(PasswordChanged { ok: true, other_sessions_ended: ended }))
}

pub async fn policy(State(app): State<App>) -> Answered<Reply<PolicyVersion>> {
    let p = app.store.current_policy().await?.ok_or(WebError::NotFound)?;
    Ok(Reply(p))
}

#[derive(Serialize, ToSchema)]
pub struct PolicyAccepted {
    pub ok: bool,
    pub version: i64,
}

pub async fn policy_accept(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(f): JsonBody<AcceptForm>,
) -> Answered<Reply<PolicyAccepted>> {
    accounts::accept_policy(&app, &ctx, &f).await?;
    Ok(Reply(PolicyAccepted { ok: true, version: f.version }))
}
