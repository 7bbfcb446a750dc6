//! First run, login and logout, password change, policy acceptance (R1.1, R6.1, R8.1–R8.6, R9.2).

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::authz::Denied;
use kumanet_core::people::{FacilityKind, Role, UserStatus};
use kumanet_core::policy::login::{admit, after_failure, after_success, issued_password_expired, Admission, Failures};
use kumanet_core::policy::password::{self, PasswordContext, HISTORY_LEN};
use kumanet_core::policy::session::TOKEN_BYTES;
use kumanet_core::policy::settings::Settings;
use kumanet_core::secret::Secret;
use kumanet_core::MICROS_PER_HOUR;
use kumanet_store::{NewFacility, NewUser, Session};
use serde::Deserialize;

use super::{default_purpose, new_id, parse_person, throttle, PersonForm, POLICY_TEXT};
use crate::error::{FieldErrors, WebError};
use crate::passwords::{random_token, token_hash};
use crate::request::{AuditTarget, Ctx};
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
    pub token: Secret,
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
    pub password: Secret,
    #[serde(default)]
    pub password_confirm: Secret,
    #[serde(default)]
    pub csrf: Option<kumanet_core::secret::Secret>,
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
            // One field, every reason at once; the code is the first reason's.
            let msg: Vec<String> = problems.iter().map(crate::messages::password).collect();
            let code = problems.first().map_or("invalid", |p| p.code());
            errors.coded("password", code, msg.join(" "));
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
        return Err(WebError::Refused("初期設定はすでに完了しています。".into()));
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
            password_hash: pw_hash.clone().into(),
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

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    #[serde(default)]
    #[schema(required = true)]
    pub login_id: String,
    #[serde(default)]
    #[schema(required = true, value_type = String, format = Password)]
    pub password: Secret,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// Why a login did not succeed, as the user is told. No answer depends on whether the ID exists
/// (ASVS 6.3.8): only on what was tried, and, for `IssuedExpired`, on knowing the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown ID, wrong password, or an ID that is suspended or deleted: one answer for all.
    Invalid,
    /// R8.6: attempts with this ID are held back for now (failures from this address, or the ID
    /// locked against browsers its user has not logged in on). Nothing was checked.
    Throttled {
        retry_after_s: i64,
    },
    IssuedExpired,
}

impl LoginRefused {
    pub fn message(&self) -> &'static str {
        match self {
            LoginRefused::Invalid => "ログインIDまたはパスワードが正しくありません。",
            LoginRefused::Throttled { .. } => {
                "ログインの失敗が続いたため、このIDでのログインを一時的に制限しています。しばらく待ってからもう一度お試しください。このIDでログインしたことのある端末からは、引き続きログインできます。お困りの場合は施設管理者にご連絡ください。"
            }
            LoginRefused::IssuedExpired => {
                "発行されたパスワードの有効期限(72時間)が切れています。施設管理者に再発行を依頼してください。"
            }
        }
    }

    /// The API's code for the answer.
    pub fn code(&self) -> &'static str {
        match self {
            LoginRefused::Invalid => "invalid_credentials",
            LoginRefused::Throttled { .. } => "login_throttled",
            LoginRefused::IssuedExpired => "issued_password_expired",
        }
    }
}

/// The browser a login comes from, as far as the login cares.
#[derive(Debug, Clone, Default)]
pub struct LoginClient {
    /// The device cookie it sent (R8.6), if any.
    pub device_token: Option<Secret>,
    pub user_agent: String,
}

/// A successful login: the new session's token, and the browser's device cookie (the one it sent,
/// or a new one) to set again.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub session_token: Secret,
    pub device_token: Secret,
}

/// R8.6, R9.2, ASVS 6.3.8: a login. Every attempt is let in or held back by what failed before
/// (`policy::login::admit`, charged before the check); one let in costs exactly one Argon2
/// verification (against a dummy hash for an unknown ID), one held back costs none, whether the ID
/// exists or not. Failures count, lock, are written down and told to the facility admin; a
/// success opens a new server-side session and makes the browser a known device of the user.
pub async fn login(
    app: &App,
    ctx: &Ctx,
    f: &LoginForm,
    client: &LoginClient,
) -> Result<Result<LoggedIn, LoginRefused>, WebError> {
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
    let uid = user.as_ref().map(|u| u.id.as_str());
    let key = throttle::login_key(&login_id);
    let address = throttle::address_key(&ctx.ip);
    let sent_device = throttle::device_hash(client.device_token.as_deref());
    let rules = ctx.settings.lockout_rules();

    // Before the password: end the locks that ran out, then let the attempt in or not, and charge
    // it. The same statements run for an ID that does not exist (the device lookup finds nothing).
    let mut tx = app.store.begin().await?;
    throttle::sweep(app, &mut tx, ctx).await?;
    let id_failures = tx.lock_login_failures(&key, "").await?;
    let address_failures = tx.lock_login_failures(&key, &address).await?;
    let device = match &sent_device {
        Some(h) => tx.lock_known_device(uid.unwrap_or(""), h).await?,
        None => None,
    };
    let admitted = admit(id_failures, address_failures, device.as_ref().map(|d| d.failures), now, rules);
    if let Admission::Wait { until } = admitted.admission {
        tx.audit(
            throttle::attempt_audit(ctx, AuditAction::LoginFailed, AuditResult::Denied, user.as_ref(), &key)
                .reason("throttled"),
        )
        .await?;
        tx.commit().await?;
        return Ok(Err(LoginRefused::Throttled { retry_after_s: throttle::seconds_until(until, now) }));
    }
    tx.put_login_failures(&key, "", uid, &admitted.id, now).await?;
    tx.put_login_failures(&key, &address, uid, &admitted.address, now).await?;
    if let (Some(d), Some(charged)) = (&device, &admitted.device) {
        tx.put_device_failures(&d.user_id, &d.device_hash, charged).await?;
    }
    tx.commit().await?;

    let typed = password::normalize(&f.password);
    let verified = app.hasher.verify(&typed, user.as_ref().map(|u| u.password_hash.expose())).await?;

    let mut tx = app.store.begin().await?;
    let active = user.as_ref().is_some_and(|u| matches!(u.status, UserStatus::Pending | UserStatus::Approved));
    let right = verified && active;
    // Settle the charge: a failure keeps it (and may lock), a success gives it back.
    let mut lock = None;
    match (admitted.admission, &device) {
        (Admission::KnownDevice, Some(d)) => {
            let current = tx.lock_known_device(&d.user_id, &d.device_hash).await?.map_or(d.failures, |d| d.failures);
            if !right {
                let (after, locked) = after_failure(current, now, rules);
                tx.put_device_failures(&d.user_id, &d.device_hash, &after).await?;
                lock = after.locked_until.filter(|_| locked).map(|until| (throttle::Scope::Device, until));
            }
        }
        _ => {
            let current = tx.lock_login_failures(&key, "").await?;
            let after = if right {
                tx.put_login_failures(&key, &address, uid, &Failures::default(), now).await?;
                after_success(current)
            } else {
                let (after, locked) = after_failure(current, now, rules);
                lock = after.locked_until.filter(|_| locked).map(|until| (throttle::Scope::Id, until));
                after
            };
            tx.put_login_failures(&key, "", uid, &after, now).await?;
        }
    }
    if !right {
        let reason = match &user {
            None => "unknown_login_id",
            Some(_) if verified => "inactive_id",
            Some(_) => "wrong_password",
        };
        tx.audit(
            throttle::attempt_audit(ctx, AuditAction::LoginFailed, AuditResult::Denied, user.as_ref(), &key)
                .reason(reason),
        )
        .await?;
        if let Some((scope, until)) = lock {
            throttle::locked(&mut tx, ctx, user.as_ref(), &key, scope, until, rules).await?;
        }
        tx.commit().await?;
        return Ok(Err(match lock {
            Some((_, until)) => LoginRefused::Throttled { retry_after_s: throttle::seconds_until(until, now) },
            None => LoginRefused::Invalid,
        }));
    }
    let Some(u) = user else { return Err(WebError::Internal("login without a user".into())) };
    if u.password_issued && issued_password_expired(u.password_set_at, now) {
        tx.audit(
            throttle::attempt_audit(ctx, AuditAction::LoginFailed, AuditResult::Denied, Some(&u), &key)
                .reason("issued_password_expired"),
        )
        .await?;
        tx.commit().await?;
        return Ok(Err(LoginRefused::IssuedExpired));
    }
    // A new token at every login (ASVS 7.2.4); only its hash is stored. The browser keeps its
    // device cookie, or gets one, and is (still) a known device of the user.
    let token = random_token(TOKEN_BYTES);
    let device_token = match (&client.device_token, &sent_device) {
        (Some(t), Some(_)) => t.clone(),
        _ => random_token(32).into(),
    };
    let device_hash = token_hash(&device_token);
    tx.remember_device(&u.id, &device_hash, &client.user_agent, &ctx.ip, now).await?;
    tx.insert_session(&Session {
        token_hash: token_hash(&token).into(),
        user_id: u.id.clone(),
        csrf_token: random_token(16).into(),
        ip: ctx.ip.clone(),
        created_at: now,
        last_seen_at: now,
        device_hash: Some(device_hash),
    })
    .await?;
    let mut ev = throttle::attempt_audit(ctx, AuditAction::Login, AuditResult::Ok, Some(&u), &key);
    (ev.target_type, ev.target_id) = (None, None);
    let known = admitted.admission == Admission::KnownDevice;
    tx.audit(ev.details(serde_json::json!({ "known_device": known }))).await?;
    tx.commit().await?;
    Ok(Ok(LoggedIn { session_token: token.into(), device_token }))
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

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordForm {
    #[serde(default)]
    #[schema(required = true, value_type = String, format = Password)]
    pub current: Secret,
    #[serde(default)]
    #[schema(required = true, value_type = String, format = Password)]
    pub password: Secret,
    #[serde(default)]
    #[schema(required = true, value_type = String, format = Password)]
    pub password_confirm: Secret,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R8.1–R8.3: change one's own password; the current one is asked again. Every other session of
/// the user ends (R8.4, ASVS 7.4.3); returns how many.
pub async fn change_password(app: &App, ctx: &Ctx, f: &PasswordForm) -> Result<u64, WebError> {
    let u = ctx.user.as_ref().ok_or(WebError::Denied(Denied::NotSignedIn))?;
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
    let current_session = ctx.session_hash.as_deref().ok_or(WebError::Denied(Denied::NotSignedIn))?;
    let device = app.store.session(current_session).await?.and_then(|(s, _)| s.device_hash);
    let mut tx = app.store.begin().await?;
    tx.set_password(&u.id, &hash, false, expires, now, &new_id()).await?;
    // ASVS 7.4.3: the other sessions end (they may be the reason for the change); this one stays.
    // Browsers that knew the old password are no longer known devices, but this one.
    let sessions_ended = tx.delete_other_sessions(&u.id, current_session).await?;
    let devices_forgotten = throttle::password_set(&mut tx, ctx, u, device.as_deref()).await?;
    tx.audit(ctx.audit(AuditAction::PasswordChanged, AuditResult::Ok).on("user", &u.id).details(serde_json::json!({
        "tier": tier, "expires_at": expires, "was_issued": u.password_issued,
        "other_sessions_ended": sessions_ended, "devices_forgotten": devices_forgotten,
    })))
    .await?;
    tx.commit().await?;
    Ok(sessions_ended)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptForm {
    #[serde(default)]
    #[schema(required = true)]
    pub version: i64,
    #[serde(default)]
    #[schema(required = true)]
    pub agree: Option<String>,
    /// 専門職は必須(誓約書・様式3)。患者・家族は不要。
    #[serde(default)]
    pub pledge: Option<String>,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R1.1, R6.2: accept the current policy and sign the pledge (様式3).
pub async fn accept_policy(app: &App, ctx: &Ctx, f: &AcceptForm) -> Result<(), WebError> {
    let u = ctx.user.as_ref().ok_or(WebError::Denied(Denied::NotSignedIn))?;
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
