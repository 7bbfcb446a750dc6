//! First run: the center creates its account and names the region, with the one-time URL.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use kumanet_core::people::Profession;
use serde::Deserialize;

use super::facility::unprocessable;
use super::{options, parse_form, render, Chrome, FormState, Opt};
use crate::error::WebError;
use crate::request::Ctx;
use crate::service::accounts::{self, SetupForm};
use crate::App;

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    form: FormState,
    professions: Vec<Opt>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn page(ctx: &Ctx, token: String, form: FormState) -> Response {
    render(&SetupPage {
        chrome: Chrome::new(ctx, "初期設定"),
        token,
        form,
        professions: options(Profession::ALL, Profession::code, Profession::label),
    })
}

pub async fn setup_get(State(app): State<App>, ctx: Ctx, Query(q): Query<TokenQuery>) -> Result<Response, WebError> {
    if app.store.center_exists().await? {
        return Ok(super::message(
            &ctx,
            "初期設定は完了しています",
            "ログインしてご利用ください。",
            &[("/login", "ログインへ")],
        ));
    }
    if !app.store.setup_token_valid(&crate::passwords::token_hash(q.token.trim()), ctx.now).await? {
        return Err(WebError::BadRequest(
            "初期設定用のURLが無効です(使用済みか、24時間の期限切れです)。サーバーを再起動すると新しいURLが表示されます。".into(),
        ));
    }
    Ok(page(&ctx, q.token, FormState::with(&[("profession", "clerk")])))
}

pub async fn setup_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: SetupForm = parse_form(&body)?;
    match accounts::setup(&app, &ctx, &f).await {
        Ok(()) => Ok(super::message(
            &ctx,
            "初期設定が完了しました",
            "センターのアカウントを作成しました。設定したログインIDとパスワードでログインしてください。",
            &[("/login", "ログインへ")],
        )),
        Err(WebError::Invalid(errors)) => {
            Ok(unprocessable(page(&ctx, f.token.expose().to_string(), FormState::from_pairs(&body, errors))))
        }
        Err(e) => Ok(e.into_response()),
    }
}
