//! The facility admin's pages (第6条, 第7条): staff list, new IDs, change and deletion
//! notifications (様式2), suspension, password reissue.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kumanet_core::audit::AuditAction;
use kumanet_core::people::{Profession, Role};
use kumanet_store::{ApplicationItem, Facility, User, UserListItem, UserQuery};

use super::{options, parse_form, render, Chrome, FormState, Opt};
use crate::error::WebError;
use crate::request::{Ctx, TargetFacility, TargetUser};
use crate::service::admin::{self, audit_view, ChangeForm, Issued, ReasonForm};
use crate::service::PersonForm;
use crate::App;

#[derive(Template)]
#[template(path = "facility/staff.html")]
struct StaffPage {
    chrome: Chrome,
    facility: Facility,
    staff: Vec<UserListItem>,
    pending: Vec<ApplicationItem>,
    can_manage: bool,
    /// R7.1: which of the staff are in which patient's group.
    memberships: Vec<(String, String, String)>,
}

impl StaffPage {
    fn groups_of(&self, user_id: &str) -> Vec<&str> {
        self.memberships.iter().filter(|(u, _, _)| u == user_id).map(|(_, _, name)| name.as_str()).collect()
    }
}

pub async fn staff_get(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(facility): TargetFacility,
) -> Result<Response, WebError> {
    let admin::StaffView { staff, memberships } = admin::view_staff(&app, &ctx, &facility, false).await?;
    let mut pending = Vec::new();
    for item in app.store.pending_applications().await? {
        if item.application.facility_id.as_deref() == Some(facility.id.as_str()) {
            pending.push(item);
        }
    }
    let can_manage = ctx.user.as_ref().is_some_and(|u| u.role == Role::FacilityAdmin);
    Ok(render(&StaffPage {
        chrome: Chrome::new(&ctx, "職員の管理"),
        facility,
        staff,
        pending,
        can_manage,
        memberships,
    }))
}

#[derive(Template)]
#[template(path = "facility/person_new.html")]
pub struct PersonNewPage {
    pub chrome: Chrome,
    pub heading: String,
    pub action: String,
    pub facility: Facility,
    pub form: FormState,
    pub professions: Vec<Opt>,
    pub note: String,
}

pub fn person_new_page(ctx: &Ctx, facility: Facility, admin: bool, form: FormState) -> Response {
    let (heading, action, note) = if admin {
        (
            "施設管理者の登録".to_string(),
            format!("/center/facilities/{}/admins", facility.id),
            "施設管理者のIDはセンターの登録と同時に有効になります。初回パスワードは一度だけ表示されます。".to_string(),
        )
    } else {
        (
            "職員IDの作成".to_string(),
            format!("/facilities/{}/staff", facility.id),
            "作成と同時に在宅医療支援センターへ利用申込(様式2)が届きます。センターが承認するまで、このIDは患者情報に触れられません。初回パスワードは一度だけ表示されます。".to_string(),
        )
    };
    render(&PersonNewPage {
        chrome: Chrome::new(ctx, &heading),
        heading,
        action,
        facility,
        form,
        professions: options(Profession::ALL, Profession::code, Profession::label),
        note,
    })
}

pub async fn staff_new_get(ctx: Ctx, TargetFacility(facility): TargetFacility) -> Result<Response, WebError> {
    Ok(person_new_page(&ctx, facility, false, FormState::default()))
}

#[derive(Template)]
#[template(path = "issued.html")]
pub struct IssuedPage {
    pub chrome: Chrome,
    pub issued: Issued,
    pub back: String,
    pub pending: bool,
}

pub async fn staff_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(facility): TargetFacility,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: PersonForm = parse_form(&body)?;
    match admin::create_person(&app, &ctx, &facility, Role::Staff, &f).await {
        Ok(issued) => Ok(render(&IssuedPage {
            chrome: Chrome::new(&ctx, "IDを作成しました"),
            issued,
            back: format!("/facilities/{}/staff", facility.id),
            pending: true,
        })),
        Err(WebError::Invalid(errors)) => {
            Ok(unprocessable(person_new_page(&ctx, facility, false, FormState::from_pairs(&body, errors))))
        }
        Err(e) => Err(e),
    }
}

pub fn unprocessable(mut resp: Response) -> Response {
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    resp
}

#[derive(Template)]
#[template(path = "facility/change.html")]
struct ChangePage {
    chrome: Chrome,
    user: User,
    form: FormState,
    professions: Vec<Opt>,
}

fn change_page(ctx: &Ctx, user: User, form: FormState) -> Response {
    render(&ChangePage {
        chrome: Chrome::new(ctx, "変更届(様式2)"),
        user,
        form,
        professions: options(Profession::ALL, Profession::code, Profession::label),
    })
}

pub async fn change_get(ctx: Ctx, TargetUser(u): TargetUser) -> Result<Response, WebError> {
    let form = FormState::with(&[
        ("name", &u.name),
        ("kana", &u.kana),
        ("profession", u.profession.map_or("", |p| p.code())),
        ("email", &u.email),
        ("phone", &u.phone),
    ]);
    Ok(change_page(&ctx, u, form))
}

pub async fn change_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: ChangeForm = parse_form(&body)?;
    match admin::file_change(&app, &ctx, &u, &f).await {
        Ok(_) => Ok(done(&ctx, &u, "変更届を提出しました", "在宅医療支援センターが承認すると、変更が反映されます。")),
        Err(WebError::Invalid(errors)) => Ok(unprocessable(change_page(&ctx, u, FormState::from_pairs(&body, errors)))),
        Err(e) => Err(e),
    }
}

fn done(ctx: &Ctx, u: &User, heading: &str, message: &str) -> Response {
    let back = u.facility_id.as_ref().map(|f| format!("/facilities/{f}/staff")).unwrap_or_else(|| "/".into());
    super::message(ctx, heading, message, &[(&back, "職員一覧へ戻る")])
}

#[derive(Template)]
#[template(path = "facility/deletion.html")]
struct DeletionPage {
    chrome: Chrome,
    user: User,
    form: FormState,
}

pub async fn deletion_get(ctx: Ctx, TargetUser(user): TargetUser) -> Result<Response, WebError> {
    Ok(render(&DeletionPage { chrome: Chrome::new(&ctx, "削除届(様式2)"), user, form: FormState::default() }))
}

pub async fn deletion_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: ReasonForm = parse_form(&body)?;
    match admin::file_deletion(&app, &ctx, &u, &f).await {
        Ok(_) => Ok(done(
            &ctx,
            &u,
            "削除届を提出しました",
            "在宅医療支援センターが承認すると、IDが削除され、すべてのログインが終了します。急ぐ場合は先に利用停止してください。",
        )),
        Err(WebError::Invalid(errors)) => Ok(unprocessable(render(&DeletionPage {
            chrome: Chrome::new(&ctx, "削除届(様式2)"),
            user: u,
            form: FormState::from_pairs(&body, errors),
        }))),
        Err(e) => Err(e),
    }
}

pub async fn suspend_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: ReasonForm = parse_form(&body)?;
    match admin::suspend(&app, &ctx, &u, &f).await {
        Ok(n) => Ok(done(
            &ctx,
            &u,
            "利用を停止しました",
            &format!("{}さんのIDを停止し、ログイン中の{}件の接続を終了しました。", u.name, n),
        )),
        Err(WebError::Invalid(_)) => Ok(unprocessable(super::message(
            &ctx,
            "停止の理由を入力してください",
            "利用停止には理由の入力が必要です。職員一覧から、理由を入力してもう一度操作してください。",
            &[(&format!("/facilities/{}/staff", u.facility_id.clone().unwrap_or_default()), "職員一覧へ戻る")],
        ))),
        Err(e) => Err(e),
    }
}

pub async fn reset_post(
    State(app): State<App>,
    ctx: Ctx,
    TargetUser(u): TargetUser,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: ReasonForm = parse_form(&body)?;
    let password = admin::reset_password(&app, &ctx, &u, &f).await?;
    Ok(render(&IssuedPage {
        chrome: Chrome::new(&ctx, "パスワードを再発行しました"),
        issued: Issued {
            user_id: u.id.clone(),
            login_id: u.login_id.clone(),
            name: u.name.clone(),
            password: password.into(),
        },
        back: format!("/facilities/{}/staff", u.facility_id.clone().unwrap_or_default()),
        pending: false,
    })
    .into_response())
}

#[derive(Template)]
#[template(path = "facility/forms.html")]
struct FormsPage {
    chrome: Chrome,
    user: User,
    facility: Option<Facility>,
    admin_name: String,
    applications: Vec<ApplicationItem>,
    region: String,
}

/// R6.2: the printable, pre-filled 様式2 (application / change / deletion) and 様式3 (pledge),
/// as filed electronically.
pub async fn forms_get(State(app): State<App>, ctx: Ctx, TargetUser(user): TargetUser) -> Result<Response, WebError> {
    let facility = match &user.facility_id {
        Some(f) => app.store.facility(f).await?,
        None => None,
    };
    let admin_name = match &facility {
        Some(f) => app
            .store
            .users(&UserQuery {
                facility_id: Some(f.id.clone()),
                status: Some(kumanet_core::people::UserStatus::Approved),
                limit: 1000,
                ..UserQuery::default()
            })
            .await?
            .into_iter()
            .find(|i| i.user.role == Role::FacilityAdmin)
            .map(|i| i.user.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let applications = app.store.applications_of_user(&user.id).await?;
    if ctx.user.as_ref().is_some_and(|u| u.id != user.id) {
        audit_view(&app, &ctx, AuditAction::UserViewed, Some(("user", &user.id)), serde_json::json!({ "forms": true }))
            .await?;
    }
    Ok(render(&FormsPage {
        chrome: Chrome::new(&ctx, "様式2・様式3"),
        user,
        facility,
        admin_name,
        applications,
        region: ctx.settings.region_name.clone(),
    }))
}
