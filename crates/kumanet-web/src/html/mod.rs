//! Server-rendered Japanese pages (askama). Phone width first; forms work without JavaScript;
//! a bad field shows its reason next to it and keeps what was typed.

pub mod auth;
pub mod boards;
pub mod center;
pub mod directory;
pub mod facility;
pub mod home;
pub mod patients;
pub mod posts;
pub mod setup;
pub mod system;

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::response::{Html, IntoResponse, Response};
use kumanet_core::people::{Role, UserStatus};
use serde::de::DeserializeOwned;

use crate::error::{FieldErrors, WebError};
use crate::request::Ctx;

/// What every page shows around its content: region, who is signed in, the menu, logout.
pub struct Chrome {
    pub title: String,
    pub region: String,
    pub user_name: Option<String>,
    pub role_label: String,
    pub csrf: String,
    pub nav: Vec<(String, &'static str)>,
    /// R8.4: seconds of inactivity after which the page reloads, so an unattended screen shows the
    /// login page instead of what was open (0 when nobody is signed in).
    pub idle_seconds: u32,
}

impl Chrome {
    pub fn new(ctx: &Ctx, title: &str) -> Chrome {
        let mut nav = Vec::new();
        let full = ctx.user.as_ref().is_some_and(|u| {
            u.status == UserStatus::Approved
                && !kumanet_core::policy::login::must_change_password(u.password_issued, u.password_expires_at, ctx.now)
        });
        if let (Some(u), true) = (&ctx.user, full && ctx.user.as_ref().is_some_and(|u| u.role == Role::PatientFamily)) {
            let _ = u;
            nav.push(("/".to_string(), "ホーム"));
            nav.push(("/profile".to_string(), "プロフィール"));
        } else if let (Some(u), true) = (&ctx.user, full) {
            nav.push(("/".to_string(), "ホーム"));
            nav.push(("/patients".to_string(), "患者さん"));
            nav.push(("/boards".to_string(), "掲示板"));
            nav.push(("/resources".to_string(), "地域資源"));
            nav.push(("/search".to_string(), "検索"));
            nav.push(("/invitations".to_string(), "招待"));
            nav.push(("/directory".to_string(), "職員名簿"));
            if u.role == Role::FacilityAdmin {
                if let Some(f) = &u.facility_id {
                    nav.push((format!("/facilities/{f}/staff"), "職員の管理"));
                }
            }
            if u.role == Role::Center {
                nav.push(("/center/applications".to_string(), "承認待ち"));
                nav.push(("/center/facilities".to_string(), "施設"));
                nav.push(("/center/users".to_string(), "利用者"));
                nav.push(("/center/policy".to_string(), "運用ポリシー"));
                nav.push(("/center/settings".to_string(), "設定"));
                nav.push(("/center/audit".to_string(), "監査ログ"));
            }
            nav.push(("/profile".to_string(), "プロフィール"));
        }
        Chrome {
            title: title.to_string(),
            region: if ctx.settings.region_name.is_empty() {
                "くまねっと".into()
            } else {
                ctx.settings.region_name.clone()
            },
            user_name: ctx.user.as_ref().map(|u| u.name.clone()),
            role_label: ctx.user.as_ref().map(|u| u.role.label().to_string()).unwrap_or_default(),
            csrf: ctx.csrf.clone(),
            nav,
            idle_seconds: if ctx.user.is_some() { ctx.settings.idle_timeout_minutes * 60 } else { 0 },
        }
    }
}

/// The values typed into a form and its problems, to show the form again.
#[derive(Default)]
pub struct FormState {
    pub values: HashMap<String, String>,
    pub errors: FieldErrors,
}

impl FormState {
    pub fn from_pairs(body: &Bytes, errors: FieldErrors) -> FormState {
        let values = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !k.contains("password") && k != "current" && k != "csrf")
            .collect();
        FormState { values, errors }
    }
    pub fn with(values: &[(&str, &str)]) -> FormState {
        FormState {
            values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            errors: FieldErrors::default(),
        }
    }
    /// The value typed (never a password).
    pub fn v(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    pub fn e(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
    pub fn checked(&self, field: &str) -> bool {
        self.values.contains_key(field)
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// Parse an urlencoded body; unknown fields are refused with a Japanese message.
pub fn parse_form<T: DeserializeOwned>(body: &Bytes) -> Result<T, WebError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| WebError::BadRequest("送信内容を読み取れませんでした。画面を開き直してください。".into()))
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => WebError::Internal(format!("template: {e}")).into_response(),
    }
}

/// A simple page that says what happened, with where to go next.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub message: String,
    pub links: Vec<(String, String)>,
}

pub fn message(ctx: &Ctx, heading: &str, message: &str, links: &[(&str, &str)]) -> Response {
    render(&MessagePage {
        chrome: Chrome::new(ctx, heading),
        heading: heading.to_string(),
        message: message.to_string(),
        links: links.iter().map(|(h, l)| (h.to_string(), l.to_string())).collect(),
    })
}

/// Options of a fixed list for a `<select>`: (code, label).
/// One option of a `<select>`.
pub struct Opt {
    pub code: &'static str,
    pub label: &'static str,
}

pub fn options<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> &'static str) -> Vec<Opt> {
    all.iter().map(|x| Opt { code: code(*x), label: label(*x) }).collect()
}

pub use crate::jst::{date as jst_date, datetime as jst};
