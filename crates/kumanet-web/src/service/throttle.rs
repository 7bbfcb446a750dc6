//! R8.6: the memory of failed logins around `accounts::login` — the keys, the locks written down and
//! told (R11.1), their ends, and the bounded memory. The rules are `kumanet_core::policy::login`.

use std::sync::atomic::Ordering;

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::policy::login::{LockoutRules, FAILURE_MEMORY_US};
use kumanet_core::{Micros, MICROS_PER_MINUTE, MICROS_PER_SECOND};
use kumanet_store::{NewAudit, Tx, User};

use super::new_id;
use crate::error::WebError;
use crate::passwords::token_hash;
use crate::request::{AuditTarget, Ctx};
use crate::App;

/// Rows of failures kept at most (the oldest unlocked ones go first; by age, never by ID).
const MAX_ROWS: i64 = 200_000;

/// The key of a login ID: its SHA-256 (the typed ID itself is never stored: it may be a password
/// typed into the wrong field).
pub fn login_key(login_id: &str) -> String {
    token_hash(login_id)
}

/// The short digest of a login ID that the audit log names when there is no user.
pub fn login_digest(login_key: &str) -> &str {
    login_key.get(..16).unwrap_or(login_key)
}

/// The address an attempt is counted under: IPv4 as it is, IPv6 by its /64 (one subscriber).
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(|| ip.to_string(), |v4| v4.to_string()),
        _ => ip.to_string(),
    }
}

/// The SHA-256 of a device cookie the browser sent, when it looks like one of ours.
pub fn device_hash(token: Option<&str>) -> Option<String> {
    token.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).map(token_hash)
}

/// Seconds until `until`, at least one (for `Retry-After`).
pub fn seconds_until(until: Micros, now: Micros) -> i64 {
    ((until - now + MICROS_PER_SECOND - 1) / MICROS_PER_SECOND).max(1)
}

fn actor(ev: &mut NewAudit, u: &User) {
    ev.actor_user_id = Some(u.id.clone());
    ev.actor_role = Some(u.role.code().into());
    ev.actor_facility_id = u.facility_id.clone();
}

/// An audit row about a login attempt: the ID's user as the actor, or the ID's digest.
pub fn attempt_audit(ctx: &Ctx, action: AuditAction, result: AuditResult, user: Option<&User>, key: &str) -> NewAudit {
    let mut ev = ctx.audit(action, result);
    match user {
        Some(u) => {
            actor(&mut ev, u);
            ev.on("user", &u.id)
        }
        None => ev.reason("unknown_login_id").details(serde_json::json!({ "login_id_sha256": login_digest(key) })),
    }
}

/// Where a lock applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The login ID, for every browser its user has not logged in on.
    Id,
    /// One browser the user has logged in on.
    Device,
}

impl Scope {
    fn code(self) -> &'static str {
        match self {
            Scope::Id => "id",
            Scope::Device => "device",
        }
    }
}

/// R8.6, R11.1: a lock has begun: write it down, and tell the facility's admins (the center when
/// the facility has none besides the user) and the user, in the app. An ID that does not exist is
/// written down only.
pub async fn locked(
    tx: &mut Tx,
    ctx: &Ctx,
    user: Option<&User>,
    key: &str,
    scope: Scope,
    until: Micros,
    rules: LockoutRules,
) -> Result<(), WebError> {
    let ev = attempt_audit(ctx, AuditAction::Locked, AuditResult::Ok, user, key);
    let mut details = ev.details.clone();
    details["scope"] = scope.code().into();
    details["failures"] = rules.threshold.into();
    details["minutes"] = rules.lock_minutes.into();
    details["until"] = until.into();
    tx.audit(ev.details(details)).await?;
    let Some(u) = user else { return Ok(()) };
    let (n, m) = (rules.threshold, rules.lock_minutes);
    let (to_admin, to_user) = match scope {
        Scope::Id => (
            format!(
                "{}さん(ログインID: {})のIDで、ログインの失敗が{n}回続いたため、このIDでログインしたことのない端末からのログインを{m}分間止めました。本人がいつも使っている端末からはログインできます。心当たりがない場合は在宅医療支援センターへご連絡ください。",
                u.name, u.login_id
            ),
            format!(
                "あなたのID(ログインID: {})で、ログインの失敗が{n}回続きました。このIDでログインしたことのない端末からのログインを{m}分間止めています。お心当たりがない場合は、パスワードを変更し、施設管理者にご連絡ください。",
                u.login_id
            ),
        ),
        Scope::Device => (
            format!(
                "{}さん(ログインID: {})がログインしたことのある端末で、ログインの失敗が{n}回続いたため、その端末からのログインを{m}分間止めました。心当たりがない場合は在宅医療支援センターへご連絡ください。",
                u.name, u.login_id
            ),
            format!(
                "あなたがログインしたことのある端末で、ログインの失敗が{n}回続いたため、その端末からのログインを{m}分間止めています。お心当たりがない場合は、パスワードを変更し、施設管理者にご連絡ください。"
            ),
        ),
    };
    let mut admins = match &u.facility_id {
        Some(fid) => tx.facility_admin_ids(fid).await?,
        None => Vec::new(),
    };
    admins.retain(|a| *a != u.id);
    if admins.is_empty() {
        admins = tx.center_user_ids().await?;
        admins.retain(|a| *a != u.id);
    }
    for admin in admins {
        tx.notify(&new_id(), &admin, &to_admin, ctx.now).await?;
    }
    tx.notify(&new_id(), &u.id, &to_user, ctx.now).await?;
    Ok(())
}

/// R11.1: take off the locks that have run out and write each end down; and, at most once a
/// minute per node, forget what is no longer worth remembering (bounded memory).
pub async fn sweep(app: &App, tx: &mut Tx, ctx: &Ctx) -> Result<(), WebError> {
    let now = ctx.now;
    for end in tx.end_ended_locks(now, 50).await? {
        let mut ev = ctx.audit(AuditAction::Unlocked, AuditResult::Ok);
        // A lock ends by itself: no one did it, from nowhere.
        ev.ip = None;
        let scope = if end.device { Scope::Device } else { Scope::Id };
        let mut details = serde_json::json!({ "scope": scope.code(), "locked_until": end.locked_until });
        let ev = match &end.user_id {
            Some(uid) => ev.on("user", uid),
            None => {
                details["login_id_sha256"] = login_digest(&end.login_key).into();
                ev
            }
        };
        tx.audit(ev.reason("expired").details(details)).await?;
    }
    let last = app.login_pruned_at.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= MICROS_PER_MINUTE
        && app.login_pruned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        let devices_before = now - crate::DEVICE_COOKIE_MAX_AGE_S * MICROS_PER_SECOND;
        tx.prune_login_failures(now - FAILURE_MEMORY_US, MAX_ROWS, devices_before).await?;
    }
    Ok(())
}

/// After a password is set (changed by the user, or reissued by an admin): the user's other
/// devices are forgotten (they knew the old password), and a lock on the ID is lifted and written
/// down. Returns how many devices were forgotten.
pub async fn password_set(tx: &mut Tx, ctx: &Ctx, user: &User, keep_device: Option<&str>) -> Result<u64, WebError> {
    let forgotten = tx.forget_devices_except(&user.id, keep_device).await?;
    let key = login_key(&user.login_id);
    if let Some(until) = tx.clear_login_failures(&key, ctx.now).await? {
        tx.audit(
            ctx.audit(AuditAction::Unlocked, AuditResult::Ok)
                .on("user", &user.id)
                .reason("password_set")
                .details(serde_json::json!({ "scope": Scope::Id.code(), "locked_until": until })),
        )
        .await?;
    }
    Ok(forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r8_6_addresses_are_counted_per_ipv4_and_per_ipv6_64() {
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("not an address"), "not an address");
    }

    #[test]
    fn r8_6_only_well_formed_device_cookies_count() {
        let token = "ab".repeat(32);
        assert_eq!(device_hash(Some(&token)), Some(token_hash(&token)));
        assert_eq!(device_hash(Some("short")), None);
        assert_eq!(device_hash(Some(&"zz".repeat(32))), None);
        assert_eq!(device_hash(None), None);
        assert_eq!(seconds_until(10 * MICROS_PER_SECOND + 1, 0), 11);
        assert_eq!(seconds_until(0, 5), 1);
    }
}
