//! First run, login and logout, password change, policy acceptance (R1.1, R6.1, R8.1–R8.6, R9.2).

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::people::{FacilityKind, Role, UserStatus};
use kumanet_core::policy::login::{after_failure, is_locked, issued_password_expired};
use kumanet_core::policy::password::{self, PasswordContext, HISTORY_LEN};
use kumanet_core::policy::session::TOKEN_BYTES;
use kumanet_core::policy::settings::Settings;
use kumanet_core::MICROS_PER_HOUR;
use kumanet_store::{NewAudit, NewFacility, NewUser, Session, User};
use serde::Deserialize;

use super::{default_purpose, new_id, parse_person, PersonForm, POLICY_TEXT};
use crate::error::{FieldErrors, WebError};
use crate::gate::{AuditTarget, Ctx};
use crate::passwords::{random_token, token_hash};
use crate::App;

/// First run: a token valid for 24 hours, printed by `serve` on an empty database.
pub async fn ensure_setup_token(app: &App) -> Result<Option<String>, WebError> {
    if app.store.center_exists().await? {
        return Ok(None);
    }
    let token = random_token(24);
    let now = app.now();
    let mut tx = app.store.begin().await?;
    tx.insert_setup_token(&token_hash(&token), now, now + 24 * MICROS_PER_HOUR).await?;
    tx.commit().await?;
    Ok(Some(token))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub region_name: String,
    #[serde(default)]
    pub center_name: String,
    #[serde(default)]
    pub login_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kana: String,
    #[serde(default)]
    pub profession: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
    #[serde(default)]
    pub csrf: Option<String>,
}

impl SetupForm {
    fn person(&self) -> PersonForm {
        PersonForm {
            login_id: self.login_id.clone(),
            name: self.name.clone(),
            kana: self.kana.clone(),
            profession: self.profession.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            csrf: None,
        }
    }
}

/// Check a new password against every rule that does not need the database (R8.1, R8.2).
fn check_new_password(
    new: &str,
    confirm: &str,
    words: &[&str],
    current: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<password::PasswordTier> {
    if new != confirm {
        errors.add("password_confirm", "確認用のパスワードが一致しません。");
    }
    match password::check(new, &PasswordContext { personal_words: words, current }) {
        Ok(tier) => Some(tier),
        Err(problems) => {
            let msg: Vec<String> = problems.iter().map(|p| p.message_ja()).collect();
            errors.add("password", msg.join(" "));
            None
        }
    }
}

/// Create the center's account and name the region, once.
pub async fn setup(app: &App, ctx: &Ctx, f: &SetupForm) -> Result<(), WebError> {
    let now = ctx.now;
    let hash = token_hash(f.token.trim());
    if !app.store.setup_token_valid(&hash, now).await? {
        return Err(WebError::BadRequest(
            "初期設定用のURLが無効です(使用済みか、24時間の期限切れです)。サーバーを再起動すると新しいURLが表示されます。".into(),
        ));
    }
    let mut errors = FieldErrors::default();
    let region = super::required_text(&f.region_name, "region_name", "地域名", 64, &mut errors);
    let center_name = super::required_text(&f.center_name, "center_name", "センター名", 64, &mut errors);
    let person = parse_person(&f.person(), true, &mut errors);
    let words: Vec<&str> = [f.name.as_str(), &f.kana, &f.login_id, &region, &center_name].to_vec();
    let tier = check_new_password(&f.password, &f.password_confirm, &words, None, &mut errors);
    errors.into_result()?;
    let (Some(person), Some(tier)) = (person, tier) else { return Err(WebError::Internal("setup parse".into())) };
    let login_id = person.login_id.as_ref().map(|l| l.as_str().to_string()).unwrap_or_default();
    let pw_hash = app.hasher.hash(&password::normalize(&f.password)).await?;
    let settings = Settings { region_name: region.clone(), ..Settings::default() };

    let mut tx = app.store.begin().await?;
    if tx.center_exists().await? || !tx.consume_setup_token(&hash, now).await? {
        return Err(WebError::BadRequest("初期設定はすでに完了しています。".into()));
    }
    tx.save_settings(&settings, now).await?;
    tx.publish_policy(&default_purpose(&region), POLICY_TEXT, None, now).await?;
    let facility_id = new_id();
    tx.insert_facility(
        &NewFacility {
            id: facility_id.clone(),
            name: center_name,
            kana: person.kana.clone(),
            kind: FacilityKind::SupportCenter,
            address: String::new(),
            phone: person.phone.clone(),
        },
        now,
    )
    .await?;
    let user_id = new_id();
    tx.insert_user(
        &NewUser {
            id: user_id.clone(),
            login_id,
            name: person.name,
            kana: person.kana,
            role: Role::Center,
            profession: person.profession,
            facility_id: Some(facility_id),
            email: person.email,
            phone: person.phone,
            status: UserStatus::Approved,
            password_hash: pw_hash.clone(),
            password_issued: false,
            password_expires_at: password::expires_at_us(tier, now, settings.password_max_age_days),
        },
        now,
    )
    .await?;
    tx.set_password(
        &user_id,
        &pw_hash,
        false,
        password::expires_at_us(tier, now, settings.password_max_age_days),
        now,
        &new_id(),
    )
    .await?;
    tx.sign_pledge(&user_id, now).await?;
    let mut ev = ctx.audit(AuditAction::SetupCompleted, AuditResult::Ok).on("user", &user_id);
    ev.actor_user_id = Some(user_id.clone());
    ev.actor_role = Some(Role::Center.code().into());
    tx.audit(ev.details(serde_json::json!({ "region_name": region }))).await?;
    tx.commit().await.map_err(WebError::from)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    #[serde(default)]
    pub login_id: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: Option<String>,
}

/// Why a login did not succeed, as the user is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown id or wrong password: one message for both (ASVS 6.3.8).
    Invalid,
    Locked,
    IssuedExpired,
}

impl LoginRefused {
    pub fn message(&self) -> &'static str {
        match self {
            LoginRefused::Invalid => "ログインIDまたはパスワードが正しくありません。",
            LoginRefused::Locked => {
                "ログインの失敗が続いたため、このIDは一時的にロックされています。しばらく待ってからお試しいただくか、施設管理者にご連絡ください。"
            }
            LoginRefused::IssuedExpired => {
                "発行されたパスワードの有効期限(72時間)が切れています。施設管理者に再発行を依頼してください。"
            }
        }
    }
}

fn actor_fields(ev: &mut NewAudit, u: &User) {
    ev.actor_user_id = Some(u.id.clone());
    ev.actor_role = Some(u.role.code().into());
    ev.actor_facility_id = u.facility_id.clone();
}

/// R8.6, R9.2: check the password (always one Argon2 verification), count failures, lock,
/// tell the facility admin, and on success open a new server-side session.
/// Returns the new session token (for the cookie) or why not.
pub async fn login(app: &App, ctx: &Ctx, f: &LoginForm) -> Result<Result<String, LoginRefused>, WebError> {
    let now = ctx.now;
    let mut errors = FieldErrors::default();
    if f.login_id.trim().is_empty() {
        errors.add("login_id", "ログインIDを入力してください。");
    }
    if f.password.is_empty() {
        errors.add("password", "パスワードを入力してください。");
    }
    errors.into_result()?;
    let ip: std::net::IpAddr = ctx.ip.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    if !app.limiter.allow(ip, now) {
        let mut tx = app.store.begin().await?;
        tx.audit(ctx.audit(AuditAction::RateLimited, AuditResult::Denied)).await?;
        tx.commit().await?;
        return Err(WebError::RateLimited);
    }
    let login_id = f.login_id.trim().to_ascii_lowercase();
    let user = app.store.user_by_login(&login_id).await?;
    let settings = &ctx.settings;
    if let Some(u) = &user {
        if is_locked(u.locked_until, now) {
            let mut ev = ctx.audit(AuditAction::LoginFailed, AuditResult::Denied).on("user", &u.id).reason("locked");
            actor_fields(&mut ev, u);
            let mut tx = app.store.begin().await?;
            tx.audit(ev).await?;
            tx.commit().await?;
            return Ok(Err(LoginRefused::Locked));
        }
    }
    let typed = password::normalize(&f.password);
    let ok = app.hasher.verify(&typed, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let mut tx = app.store.begin().await?;
    let Some(u) = user else {
        let digest = &token_hash(&login_id)[..16];
        tx.audit(
            ctx.audit(AuditAction::LoginFailed, AuditResult::Denied)
                .reason("unknown_login_id")
                .details(serde_json::json!({ "login_id_sha256": digest })),
        )
        .await?;
        tx.commit().await?;
        return Ok(Err(LoginRefused::Invalid));
    };
    let active = matches!(u.status, UserStatus::Pending | UserStatus::Approved);
    if !ok || !active {
        let reason = if ok { "inactive_id" } else { "wrong_password" };
        let after = after_failure(u.failed_count, now, settings.lockout_rules());
        tx.set_login_failures(&u.id, after.failed_count, after.locked_until).await?;
        let mut ev = ctx.audit(AuditAction::LoginFailed, AuditResult::Denied).on("user", &u.id).reason(reason);
        actor_fields(&mut ev, &u);
        tx.audit(ev).await?;
        if after.locked_until.is_some() {
            // R8.6: lock, write it down and tell the facility admin.
            let mut ev = ctx.audit(AuditAction::Locked, AuditResult::Ok).on("user", &u.id).details(
                serde_json::json!({ "failures": settings.lockout_threshold, "minutes": settings.lockout_minutes }),
            );
            actor_fields(&mut ev, &u);
            tx.audit(ev).await?;
            if let Some(fid) = &u.facility_id {
                for admin in tx.facility_admin_ids(fid).await? {
                    let body = format!(
                        "{}さん(ログインID: {})のアカウントが、ログインの失敗が{}回続いたため{}分間ロックされました。心当たりがない場合は在宅医療支援センターへ連絡してください。",
                        u.name, u.login_id, settings.lockout_threshold, settings.lockout_minutes
                    );
                    tx.notify(&new_id(), &admin, &body, now).await?;
                }
            }
        }
        tx.commit().await?;
        return Ok(Err(if after.locked_until.is_some() { LoginRefused::Locked } else { LoginRefused::Invalid }));
    }
    if u.password_issued && issued_password_expired(u.password_set_at, now) {
        let mut ev = ctx
            .audit(AuditAction::LoginFailed, AuditResult::Denied)
            .on("user", &u.id)
            .reason("issued_password_expired");
        actor_fields(&mut ev, &u);
        tx.audit(ev).await?;
        tx.commit().await?;
        return Ok(Err(LoginRefused::IssuedExpired));
    }
    // A new token at every login (ASVS 7.2.4); only its hash is stored.
    let token = random_token(TOKEN_BYTES);
    tx.set_login_failures(&u.id, 0, None).await?;
    tx.insert_session(&Session {
        token_hash: token_hash(&token),
        user_id: u.id.clone(),
        csrf_token: random_token(16),
        ip: ctx.ip.clone(),
        created_at: now,
        last_seen_at: now,
    })
    .await?;
    let mut ev = ctx.audit(AuditAction::Login, AuditResult::Ok);
    actor_fields(&mut ev, &u);
    tx.audit(ev).await?;
    tx.commit().await?;
    Ok(Ok(token))
}

/// R8.4: logout ends the server-side session.
pub async fn logout(app: &App, ctx: &Ctx) -> Result<(), WebError> {
    let mut tx = app.store.begin().await?;
    if let Some(h) = &ctx.session_hash {
        tx.delete_session(h).await?;
    }
    tx.audit(ctx.audit(AuditAction::Logout, AuditResult::Ok)).await?;
    tx.commit().await.map_err(WebError::from)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordForm {
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
    #[serde(default)]
    pub csrf: Option<String>,
}

/// R8.1–R8.3: change one's own password; the current one is asked again.
pub async fn change_password(app: &App, ctx: &Ctx, f: &PasswordForm) -> Result<(), WebError> {
    let u = ctx.user.as_ref().ok_or(WebError::Denied(kumanet_core::authz::Denied::NotSignedIn))?;
    let now = ctx.now;
    let mut errors = FieldErrors::default();
    let current = password::normalize(&f.current);
    if !app.hasher.verify(&current, Some(&u.password_hash)).await? {
        errors.add("current", "現在のパスワードが正しくありません。");
        return Err(WebError::Invalid(errors));
    }
    let facility = match &u.facility_id {
        Some(fid) => app.store.facility(fid).await?.map(|f| f.name).unwrap_or_default(),
        None => String::new(),
    };
    let words = [u.name.as_str(), &u.kana, &u.login_id, &facility, &ctx.settings.region_name, &u.email];
    let tier = check_new_password(&f.password, &f.password_confirm, &words, Some(&current), &mut errors);
    errors.into_result()?;
    let Some(tier) = tier else { return Err(WebError::Internal("password tier".into())) };
    let new = password::normalize(&f.password);
    // R8.2: none of the last ten.
    let history = app.store.password_history(&u.id, HISTORY_LEN as i64).await?;
    if app.hasher.matches_any(&new, history).await? {
        let mut errors = FieldErrors::default();
        errors.add("password", "最近使ったパスワード(過去10回分)は使えません。新しいパスワードを考えてください。");
        return Err(WebError::Invalid(errors));
    }
    let hash = app.hasher.hash(&new).await?;
    let expires = password::expires_at_us(tier, now, ctx.settings.password_max_age_days);
    let mut tx = app.store.begin().await?;
    tx.set_password(&u.id, &hash, false, expires, now, &new_id()).await?;
    tx.audit(
        ctx.audit(AuditAction::PasswordChanged, AuditResult::Ok)
            .on("user", &u.id)
            .details(serde_json::json!({ "tier": tier, "expires_at": expires, "was_issued": u.password_issued })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptForm {
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub agree: Option<String>,
    #[serde(default)]
    pub pledge: Option<String>,
    #[serde(default)]
    pub csrf: Option<String>,
}

/// R1.1, R6.2: accept the current policy and sign the pledge (様式3).
pub async fn accept_policy(app: &App, ctx: &Ctx, f: &AcceptForm) -> Result<(), WebError> {
    let u = ctx.user.as_ref().ok_or(WebError::Denied(kumanet_core::authz::Denied::NotSignedIn))?;
    let current = ctx.policy_version.ok_or(WebError::NotFound)?;
    let mut errors = FieldErrors::default();
    if f.agree.is_none() {
        errors.add("agree", "運用ポリシーに同意いただく必要があります。");
    }
    if f.pledge.is_none() && u.role != Role::PatientFamily {
        errors.add("pledge", "誓約書(様式3)の内容を確認し、誓約いただく必要があります。");
    }
    if f.version != current {
        errors.add("agree", "運用ポリシーが改定されました。最新の内容をご確認ください。");
    }
    errors.into_result()?;
    let mut tx = app.store.begin().await?;
    tx.accept_policy(&u.id, current, ctx.now).await?;
    // The pledge (様式3) is the professionals'; a patient or family account is never asked for it.
    let pledge = u.role != Role::PatientFamily;
    if pledge {
        tx.sign_pledge(&u.id, ctx.now).await?;
    }
    tx.audit(
        ctx.audit(AuditAction::PolicyAccepted, AuditResult::Ok)
            .on("policy", &current.to_string())
            .details(serde_json::json!({ "version": current, "pledge": pledge })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}
