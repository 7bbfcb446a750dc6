//! Facilities and IDs (第6条, R6.1–R6.4): the center registers facilities and their admins and
//! decides applications; a facility admin creates staff IDs, files changes and deletions, and
//! suspends at once.

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::authz::Denied;
use kumanet_core::people::{ApplicationKind, ApplicationState, FacilityKind, Role, UserStatus};
use kumanet_core::policy::settings::Settings;
use kumanet_core::secret::Secret;
use kumanet_store::{
    ApplicationItem, AuditFilter, Facility, NewFacility, NewUser, ProfileChange, User, UserListItem, UserQuery,
};
use serde::Deserialize;

use super::{new_id, parse_person, required_text, PersonForm};
use crate::error::{FieldErrors, WebError};
use crate::passwords::issue_password;
use crate::request::{AuditTarget, Ctx};
use crate::App;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityForm {
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub kana: String,
    #[serde(default)]
    #[schema(required = true)]
    pub kind: String,
    #[serde(default)]
    #[schema(required = true)]
    pub address: String,
    #[serde(default)]
    #[schema(required = true)]
    pub phone: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

fn parse_facility(id: String, f: &FacilityForm) -> Result<NewFacility, WebError> {
    let mut errors = FieldErrors::default();
    let name = required_text(&f.name, "name", "施設名", 64, &mut errors);
    let kana = kumanet_core::people::parse_kana(&f.kana)
        .map_err(|p| errors.problem("kana", "ふりがな", &p))
        .unwrap_or_default();
    let kind = FacilityKind::from_code(f.kind.trim());
    if kind.is_none() {
        errors.add("kind", "施設の種類を一覧から選んでください。");
    }
    let address = required_text(&f.address, "address", "所在地", 128, &mut errors);
    let phone = required_text(&f.phone, "phone", "電話番号", 32, &mut errors);
    errors.into_result()?;
    Ok(NewFacility { id, name, kana, kind: kind.unwrap_or(FacilityKind::Other), address, phone })
}

fn unique_to_field(e: WebError, field: &str, message: &str) -> WebError {
    match e {
        WebError::Conflict(_) => {
            let mut errors = FieldErrors::default();
            errors.add(field, message);
            WebError::Invalid(errors)
        }
        other => other,
    }
}

pub async fn create_facility(app: &App, ctx: &Ctx, f: &FacilityForm) -> Result<String, WebError> {
    let id = new_id();
    let fac = parse_facility(id.clone(), f)?;
    let mut tx = app.store.begin().await?;
    tx.insert_facility(&fac, ctx.now)
        .await
        .map_err(|e| unique_to_field(e.into(), "name", "同じ名前の施設がすでに登録されています。"))?;
    tx.audit(
        ctx.audit(AuditAction::FacilityCreated, AuditResult::Ok)
            .on("facility", &id)
            .details(serde_json::json!({ "name": fac.name, "kind": fac.kind.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_facility(app: &App, ctx: &Ctx, current: &Facility, f: &FacilityForm) -> Result<(), WebError> {
    let fac = parse_facility(current.id.clone(), f)?;
    let mut tx = app.store.begin().await?;
    tx.update_facility(&fac, ctx.now)
        .await
        .map_err(|e| unique_to_field(e.into(), "name", "同じ名前の施設がすでに登録されています。"))?;
    tx.audit(ctx.audit(AuditAction::FacilityUpdated, AuditResult::Ok).on("facility", &fac.id).details(serde_json::json!({
        "before": { "name": current.name, "kind": current.kind.code(), "address": current.address, "phone": current.phone },
        "after": { "name": fac.name, "kind": fac.kind.code(), "address": fac.address, "phone": fac.phone },
    })))
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// A new ID and its one-time password, shown once to whoever issued it.
pub struct Issued {
    pub user_id: String,
    pub login_id: String,
    pub name: String,
    pub password: Secret,
}

/// R6.1: a facility admin creates a staff ID (pending the center's approval, R6.2, with the
/// application 様式2 filed at once); the center creates a facility admin (approved at once).
pub async fn create_person(
    app: &App,
    ctx: &Ctx,
    facility: &Facility,
    role: Role,
    f: &PersonForm,
) -> Result<Issued, WebError> {
    let mut errors = FieldErrors::default();
    let person = parse_person(f, true, &mut errors);
    errors.into_result()?;
    let Some(person) = person else { return Err(WebError::Internal("person parse".into())) };
    let login_id = person.login_id.as_ref().map(|l| l.as_str().to_string()).unwrap_or_default();
    let password = issue_password();
    let hash = app.hasher.hash(&password).await?;
    let user_id = new_id();
    let status = if role == Role::Staff { UserStatus::Pending } else { UserStatus::Approved };
    let now = ctx.now;
    let mut tx = app.store.begin().await?;
    tx.insert_user(
        &NewUser {
            id: user_id.clone(),
            login_id: login_id.clone(),
            name: person.name.clone(),
            kana: person.kana.clone(),
            role,
            profession: person.profession,
            facility_id: Some(facility.id.clone()),
            email: person.email.clone(),
            phone: person.phone.clone(),
            status,
            password_hash: hash.into(),
            password_issued: true,
            password_expires_at: None,
        },
        now,
    )
    .await
    .map_err(|e| {
        unique_to_field(e.into(), "login_id", "このログインIDはすでに使われています。別のIDにしてください。")
    })?;
    tx.audit(ctx.audit(AuditAction::UserCreated, AuditResult::Ok).on("user", &user_id).details(serde_json::json!({
        "role": role.code(), "facility_id": facility.id, "profession": person.profession.map(|p| p.code()),
    })))
    .await?;
    if role == Role::Staff {
        let app_id = new_id();
        let payload = serde_json::json!({ "login_id": login_id, "name": person.name, "profession": person.profession.map(|p| p.code()) });
        tx.file_application(
            &app_id,
            ApplicationKind::New,
            &user_id,
            Some(&facility.id),
            ctx.user_id(),
            &payload.to_string(),
            "新規利用申込",
            now,
        )
        .await?;
        tx.audit(
            ctx.audit(AuditAction::ApplicationFiled, AuditResult::Ok)
                .on("application", &app_id)
                .details(serde_json::json!({ "kind": "new", "user_id": user_id })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Issued { user_id, login_id, name: person.name, password: password.into() })
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonForm {
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeForm {
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub kana: String,
    #[serde(default)]
    #[schema(required = true, value_type = kumanet_core::people::Profession)]
    pub profession: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R6.3: file a change (様式2 変更届); the center applies it when it approves.
pub async fn file_change(app: &App, ctx: &Ctx, user: &User, f: &ChangeForm) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    let pf = PersonForm {
        login_id: String::new(),
        name: f.name.clone(),
        kana: f.kana.clone(),
        profession: f.profession.clone(),
        email: f.email.clone(),
        phone: f.phone.clone(),
        csrf: None,
    };
    let person = parse_person(&pf, false, &mut errors);
    let reason = required_text(&f.reason, "reason", "変更の理由", 200, &mut errors);
    errors.into_result()?;
    let Some(p) = person else { return Err(WebError::Internal("person parse".into())) };
    let change = ProfileChange { name: p.name, kana: p.kana, profession: p.profession, email: p.email, phone: p.phone };
    let payload = serde_json::to_string(&change).map_err(|e| WebError::Internal(e.to_string()))?;
    file(app, ctx, user, ApplicationKind::Change, &payload, &reason).await
}

/// R6.3: file a deletion (様式2 削除届) when a user leaves; the center processes it.
pub async fn file_deletion(app: &App, ctx: &Ctx, user: &User, f: &ReasonForm) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&f.reason, "reason", "削除の理由(退職・異動など)", 200, &mut errors);
    errors.into_result()?;
    file(app, ctx, user, ApplicationKind::Deletion, "{}", &reason).await
}

async fn file(
    app: &App,
    ctx: &Ctx,
    user: &User,
    kind: ApplicationKind,
    payload: &str,
    reason: &str,
) -> Result<String, WebError> {
    let id = new_id();
    let mut tx = app.store.begin().await?;
    if tx.has_pending_application(&user.id, kind).await? {
        return Err(WebError::Refused(format!("この職員の{}はすでにセンターの審査待ちです。", kind.label())));
    }
    tx.file_application(&id, kind, &user.id, user.facility_id.as_deref(), ctx.user_id(), payload, reason, ctx.now)
        .await?;
    tx.audit(
        ctx.audit(AuditAction::ApplicationFiled, AuditResult::Ok)
            .on("application", &id)
            .details(serde_json::json!({ "kind": kind.code(), "user_id": user.id })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// R6.3: suspend at once; every session of the ID ends.
pub async fn suspend(app: &App, ctx: &Ctx, user: &User, f: &ReasonForm) -> Result<u64, WebError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&f.reason, "reason", "停止の理由", 200, &mut errors);
    errors.into_result()?;
    if matches!(user.status, UserStatus::Suspended | UserStatus::Deleted) {
        return Err(WebError::Refused("このIDはすでに停止または削除されています。".into()));
    }
    let mut tx = app.store.begin().await?;
    tx.set_user_status(&user.id, UserStatus::Suspended, ctx.now).await?;
    let ended = tx.delete_sessions_of(&user.id).await?;
    tx.audit(
        ctx.audit(AuditAction::UserSuspended, AuditResult::Ok)
            .on("user", &user.id)
            .reason(&reason)
            .details(serde_json::json!({ "sessions_ended": ended, "previous_status": user.status.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// The center lifts a suspension.
pub async fn resume(app: &App, ctx: &Ctx, user: &User, f: &ReasonForm) -> Result<(), WebError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&f.reason, "reason", "再開の理由", 200, &mut errors);
    errors.into_result()?;
    if user.status != UserStatus::Suspended {
        return Err(WebError::Refused("停止中のIDではありません。".into()));
    }
    let mut tx = app.store.begin().await?;
    tx.set_user_status(&user.id, UserStatus::Approved, ctx.now).await?;
    tx.audit(ctx.audit(AuditAction::UserResumed, AuditResult::Ok).on("user", &user.id).reason(&reason)).await?;
    tx.commit().await.map_err(WebError::from)
}

/// R6.1: a new one-time password (the old one stops working; every session ends).
pub async fn reset_password(app: &App, ctx: &Ctx, user: &User, f: &ReasonForm) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&f.reason, "reason", "再発行の理由", 200, &mut errors);
    errors.into_result()?;
    if matches!(user.status, UserStatus::Suspended | UserStatus::Deleted) {
        return Err(WebError::Refused("停止または削除されたIDのパスワードは再発行できません。".into()));
    }
    let password = issue_password();
    let hash = app.hasher.hash(&password).await?;
    let mut tx = app.store.begin().await?;
    tx.set_password(&user.id, &hash, true, None, ctx.now, &new_id()).await?;
    let ended = tx.delete_sessions_of(&user.id).await?;
    // R8.6: a lock on the ID is lifted; the browsers that knew the old password are forgotten.
    let devices_forgotten = super::throttle::password_set(&mut tx, ctx, user, None).await?;
    tx.audit(
        ctx.audit(AuditAction::PasswordReset, AuditResult::Ok)
            .on("user", &user.id)
            .reason(&reason)
            .details(serde_json::json!({ "sessions_ended": ended, "devices_forgotten": devices_forgotten })),
    )
    .await?;
    tx.commit().await?;
    Ok(password)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionForm {
    #[serde(default)]
    #[schema(required = true)]
    pub decision: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R6.2, R6.3: the center approves or sends back an application; approval applies it.
pub async fn decide_application(
    app: &App,
    ctx: &Ctx,
    item: &ApplicationItem,
    f: &DecisionForm,
) -> Result<ApplicationState, WebError> {
    let mut errors = FieldErrors::default();
    let state = match f.decision.as_str() {
        "approve" => ApplicationState::Approved,
        "reject" => ApplicationState::Rejected,
        _ => {
            errors.add("decision", "承認か差戻しを選んでください。");
            ApplicationState::Pending
        }
    };
    let note = f.note.trim().to_string();
    if state == ApplicationState::Rejected && note.is_empty() {
        errors.add("note", "差戻しの理由を入力してください。");
    }
    if note.chars().count() > 200 {
        errors.add("note", "コメントは200文字以内で入力してください。");
    }
    errors.into_result()?;
    let a = &item.application;
    let now = ctx.now;
    let mut tx = app.store.begin().await?;
    if !tx.decide_application(&a.id, state, ctx.user_id(), &note, now).await? {
        return Err(WebError::Refused("この届出はすでに処理されています。".into()));
    }
    let mut sessions_ended = 0;
    if state == ApplicationState::Approved {
        match a.kind {
            ApplicationKind::New => {
                if item.user.status == UserStatus::Pending {
                    tx.set_user_status(&a.user_id, UserStatus::Approved, now).await?;
                }
            }
            ApplicationKind::Change => {
                let change: ProfileChange =
                    serde_json::from_str(&a.payload).map_err(|e| WebError::Internal(format!("change payload: {e}")))?;
                tx.update_profile(&a.user_id, &change, now).await?;
            }
            ApplicationKind::Deletion => {
                tx.set_user_status(&a.user_id, UserStatus::Deleted, now).await?;
                sessions_ended = tx.delete_sessions_of(&a.user_id).await?;
            }
        }
    }
    let action = if state == ApplicationState::Approved {
        AuditAction::ApplicationApproved
    } else {
        AuditAction::ApplicationRejected
    };
    tx.audit(ctx.audit(action, AuditResult::Ok).on("application", &a.id).details(serde_json::json!({
        "kind": a.kind.code(), "user_id": a.user_id, "sessions_ended": sessions_ended,
    })))
    .await?;
    tx.commit().await?;
    Ok(state)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyForm {
    #[serde(default)]
    #[schema(required = true)]
    pub purpose: String,
    #[serde(default)]
    #[schema(required = true)]
    pub body: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R1.1: publish a new version; everyone accepts it again at their next request.
pub async fn publish_policy(app: &App, ctx: &Ctx, f: &PolicyForm) -> Result<i64, WebError> {
    let mut errors = FieldErrors::default();
    let purpose = required_text(&f.purpose, "purpose", "利用目的", 1000, &mut errors);
    let body = required_text(&f.body, "body", "運用ポリシー本文", 100_000, &mut errors);
    errors.into_result()?;
    let mut tx = app.store.begin().await?;
    let version = tx.publish_policy(&purpose, &body, Some(ctx.user_id()), ctx.now).await?;
    tx.audit(
        ctx.audit(AuditAction::PolicyPublished, AuditResult::Ok)
            .on("policy", &version.to_string())
            .details(serde_json::json!({ "version": version, "chars": body.chars().count() })),
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// R11.2: the center changes the region's settings, within their bounds.
pub async fn update_settings(app: &App, ctx: &Ctx, new: &Settings) -> Result<(), WebError> {
    if let Err(errs) = new.validate() {
        let mut errors = FieldErrors::default();
        for e in errs {
            errors.problem(e.field, crate::messages::setting_label(e.field), &e.problem);
        }
        return Err(WebError::Invalid(errors));
    }
    let mut tx = app.store.begin().await?;
    tx.save_settings(new, ctx.now).await?;
    tx.audit(
        ctx.audit(AuditAction::SettingsUpdated, AuditResult::Ok)
            .on("settings", "region")
            .details(serde_json::json!({ "before": ctx.settings, "after": new })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// Write a "viewed" row for a read of another person's data (R11.1); fail closed.
/// What a list of users may be narrowed to: words of the name, kana or ID, and a status code.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
}

/// R6.2, R11.1: the region's users for the center, searched and filtered by status; audited.
pub async fn list_users(app: &App, ctx: &Ctx, q: &UsersQuery, api: bool) -> Result<Vec<UserListItem>, WebError> {
    let text = q.q.trim();
    let people = app
        .store
        .users(&UserQuery {
            text: (!text.is_empty()).then(|| text.to_string()),
            status: UserStatus::from_code(q.status.trim()),
            limit: 500,
            ..UserQuery::default()
        })
        .await?;
    let details = super::api_marked(serde_json::json!({ "list": true, "results": people.len() }), api);
    audit_view(app, ctx, AuditAction::UserViewed, None, details).await?;
    Ok(people)
}

/// One user as the center sees them: the facility's name, the applications filed for them and
/// how many sessions are open; audited.
pub struct UserView {
    pub facility_name: String,
    pub applications: Vec<ApplicationItem>,
    pub sessions: i64,
}

pub async fn view_user(app: &App, ctx: &Ctx, user: &User, api: bool) -> Result<UserView, WebError> {
    let facility_name = match &user.facility_id {
        Some(f) => app.store.facility(f).await?.map(|f| f.name).unwrap_or_default(),
        None => String::new(),
    };
    let applications = app.store.applications_of_user(&user.id).await?;
    let sessions = app.store.session_count(&user.id).await?;
    let details = super::api_marked(serde_json::json!({}), api);
    audit_view(app, ctx, AuditAction::UserViewed, Some(("user", &user.id)), details).await?;
    Ok(UserView { facility_name, applications, sessions })
}

/// R7.1, R11.1: a facility's staff and the patients' groups each is in; audited.
pub struct StaffView {
    pub staff: Vec<UserListItem>,
    /// (user id, group id, patient's name) of each membership of the facility's staff.
    pub memberships: Vec<(String, String, String)>,
}

pub async fn view_staff(app: &App, ctx: &Ctx, facility: &Facility, api: bool) -> Result<StaffView, WebError> {
    let staff = app
        .store
        .users(&UserQuery { facility_id: Some(facility.id.clone()), limit: 1000, ..UserQuery::default() })
        .await?;
    let memberships = app.store.facility_memberships(&facility.id).await?;
    let details = super::api_marked(serde_json::json!({ "count": staff.len(), "memberships": memberships.len() }), api);
    audit_view(app, ctx, AuditAction::StaffListed, Some(("facility", &facility.id)), details).await?;
    Ok(StaffView { staff, memberships })
}

/// A search of the audit log (R11.1): who (login or internal ID), what, which result, which
/// Japan-time dates, and the page (rows before a sequence number).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub before: Option<i64>,
}

impl AuditQuery {
    pub fn filter(&self, limit: i64) -> AuditFilter {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        AuditFilter {
            actor_user_id: opt(&self.user),
            action: opt(&self.action),
            result: opt(&self.result),
            target_id: None,
            from: crate::jst::parse_date_jst(&self.from),
            until: crate::jst::parse_date_jst(&self.until).map(|t| t + kumanet_core::MICROS_PER_DAY),
            before_seq: self.before,
            limit,
        }
    }
}

/// The "who" of the search may be a login id (what the center knows) or an internal id.
async fn filter_for(app: &App, q: &AuditQuery, limit: i64) -> Result<AuditFilter, WebError> {
    let mut f = q.filter(limit);
    if let Some(who) = &f.actor_user_id {
        if let Some(u) = app.store.user_by_login(&who.to_ascii_lowercase()).await? {
            f.actor_user_id = Some(u.id);
        }
    }
    Ok(f)
}

/// The staff directory: approved IDs of the region (name, kana, facility, profession), searched
/// by `text`; the search audited (how many characters were searched, not what).
pub async fn search_staff_directory(
    app: &App,
    ctx: &Ctx,
    text: &str,
    api: bool,
) -> Result<Vec<UserListItem>, WebError> {
    let text = text.trim();
    let people = app
        .store
        .users(&UserQuery {
            text: (!text.is_empty()).then(|| text.to_string()),
            status: Some(UserStatus::Approved),
            limit: 200,
            ..UserQuery::default()
        })
        .await?;
    let details =
        super::api_marked(serde_json::json!({ "results": people.len(), "query_chars": text.chars().count() }), api);
    audit_view(app, ctx, AuditAction::DirectoryViewed, None, details).await?;
    Ok(people)
}

/// R11.1: the center searches the log, newest first; the search itself is logged.
pub async fn search_audit(
    app: &App,
    ctx: &Ctx,
    q: &AuditQuery,
    limit: i64,
    api: bool,
) -> Result<Vec<kumanet_store::AuditRow>, WebError> {
    let rows = app.store.audit_search(&filter_for(app, q, limit).await?).await?;
    let details = super::api_marked(serde_json::json!({ "results": rows.len() }), api);
    audit_view(app, ctx, AuditAction::AuditViewed, None, details).await?;
    Ok(rows)
}

/// R11.1: the search's rows (up to 100,000) for the CSV export; the export is logged.
pub async fn export_audit(app: &App, ctx: &Ctx, q: &AuditQuery) -> Result<Vec<kumanet_store::AuditRow>, WebError> {
    let rows = app.store.audit_search(&filter_for(app, q, 100_000).await?).await?;
    audit_view(app, ctx, AuditAction::AuditExported, None, serde_json::json!({ "rows": rows.len() })).await?;
    Ok(rows)
}

pub async fn audit_view(
    app: &App,
    ctx: &Ctx,
    action: AuditAction,
    target: Option<(&'static str, &str)>,
    details: serde_json::Value,
) -> Result<(), WebError> {
    let mut ev = ctx.audit(action, AuditResult::Ok).details(details);
    if let Some((t, id)) = target {
        ev = ev.on(t, id);
    }
    // Views are the commonest writes: they share their commit with the others (group commit).
    app.store
        .write(move |tx| {
            Box::pin(async move {
                tx.audit(ev).await?;
                Ok(())
            })
        })
        .await
        .map_err(WebError::from)
}

/// A `Denied` as an error, for handlers that must double-check a state.
pub fn forbidden() -> WebError {
    WebError::Denied(Denied::Forbidden)
}
