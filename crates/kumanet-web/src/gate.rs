//! The gate every request passes: session → actor → target → `authz::decide` (R10.7) → CSRF.
//! It is attached to every route by `routes::router` from the route table, so no handler runs
//! without a decision; a refusal is answered here and written to the audit log.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{ConnectInfo, RawPathParams, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::authz::{decide, Action, Actor, Denied, Target, UserActor};
use kumanet_core::people::Role;
use kumanet_core::policy::login::must_change_password;
use kumanet_core::policy::session::{state, SessionState};
use kumanet_core::policy::settings::Settings;
use kumanet_core::{Micros, MICROS_PER_MINUTE};
use kumanet_store::{NewAudit, PatientContext, User};

use crate::error::{ApiError, WebError};
use crate::passwords::{random_token, token_hash};
use crate::request::{AuditTarget, Ctx, Resolved};
use crate::routes::Find;
use crate::App;

/// R8.6: a per-address limit on login attempts (one minute windows), so one address cannot
/// lock everybody out or guess at scale. Answered 429.
pub struct LoginLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Micros, u32)>>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        LoginLimiter { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Count an attempt; false when the address is over its limit.
    pub fn allow(&self, ip: IpAddr, now: Micros) -> bool {
        let Ok(mut w) = self.windows.lock() else { return false };
        if w.len() > 100_000 {
            w.retain(|_, (start, _)| now - *start < MICROS_PER_MINUTE);
        }
        let entry = w.entry(ip).or_insert((now, 0));
        if now - entry.0 >= MICROS_PER_MINUTE {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    })
}

/// The client's address: the connection's peer, or the address a trusted proxy forwarded.
pub fn client_ip(req: &Request, trusted_proxies: &[crate::net::IpNet]) -> IpAddr {
    let peer =
        req.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(a)| a.ip());
    crate::net::client_ip(peer, req.headers(), trusted_proxies)
}

fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
}

fn deny_response(api: bool, method: &Method, denied: Denied, ended: Option<&str>) -> Response {
    if !api {
        match denied {
            Denied::NotSignedIn if method == Method::GET && ended.is_some() => {
                return Redirect::to(&format!("/login?reason={}", ended.unwrap_or("idle"))).into_response()
            }
            Denied::NotSignedIn if method == Method::GET => return Redirect::to("/login").into_response(),
            Denied::PasswordChangeRequired => return Redirect::to("/password").into_response(),
            Denied::PolicyAcceptanceRequired => return Redirect::to("/policy").into_response(),
            _ => {}
        }
    }
    fail(api, WebError::Denied(denied))
}

fn fail(api: bool, e: WebError) -> Response {
    if api {
        ApiError(e).into_response()
    } else {
        e.into_response()
    }
}

/// Load the session; end it if it has expired (R8.4) or its ID was suspended or deleted (R6.3).
/// What the session cookie led to.
enum Loaded {
    None,
    /// The session had ended by itself: tell the user why (`idle` or `expired`).
    Ended(&'static str),
    Active(Box<(String, kumanet_store::Session, User)>),
}

async fn load_session(
    app: &App,
    headers: &HeaderMap,
    now: Micros,
    ip: &str,
    settings: &Settings,
) -> Result<Loaded, WebError> {
    let Some(token) = cookie_value(headers, app.session_cookie()) else { return Ok(Loaded::None) };
    let hash = token_hash(&token);
    let Some((session, user)) = app.store.session(&hash).await? else { return Ok(Loaded::None) };
    let ended = match state(session.created_at, session.last_seen_at, now, settings.session_rules()) {
        SessionState::Active => None,
        SessionState::IdleExpired => Some(AuditAction::IdleExpired),
        SessionState::LifetimeExpired => Some(AuditAction::SessionExpired),
    };
    let gone =
        matches!(user.status, kumanet_core::people::UserStatus::Suspended | kumanet_core::people::UserStatus::Deleted);
    if ended.is_some() || gone {
        let mut tx = app.store.begin().await?;
        tx.delete_session(&hash).await?;
        if let Some(action) = ended {
            tx.audit(NewAudit {
                ts: now,
                actor_user_id: Some(user.id.clone()),
                actor_role: Some(user.role.code().into()),
                actor_facility_id: user.facility_id.clone(),
                ip: Some(ip.to_string()),
                action,
                target_type: None,
                target_id: None,
                result: AuditResult::Ok,
                reason: None,
                details: serde_json::json!({ "last_seen_at": session.last_seen_at }),
            })
            .await?;
        }
        tx.commit().await?;
        return Ok(match ended {
            Some(AuditAction::IdleExpired) => Loaded::Ended("idle"),
            Some(_) => Loaded::Ended("expired"),
            None => Loaded::None,
        });
    }
    // R8.4 counts idleness in minutes: a touch a minute is enough, and spares a write per request.
    if now - session.last_seen_at >= TOUCH_EVERY_US {
        let mut tx = app.store.begin().await?;
        tx.touch_session(&hash, now).await?;
        tx.commit().await?;
    }
    Ok(Loaded::Active(Box::new((hash, session, user))))
}

/// What the decision knows about a patient (and, for a post's routes, the post).
pub fn patient_facts(ctx: &PatientContext, post: Option<kumanet_core::authz::PostFacts>) -> Target {
    Target::Patient(kumanet_core::authz::PatientFacts {
        attending_id: ctx.patient.attending_id.clone(),
        delegated_facility_id: ctx.patient.delegated_facility_id.clone(),
        consent: ctx.consent,
        actor_is_member: ctx.is_member,
        actor_is_family: ctx.is_family,
        post,
    })
}

/// Step 3, resolution: the objects the route row names, and the facts the decision needs.
async fn resolve(app: &App, find: Find, params: &RawPathParams, asker: &str) -> Result<(Target, Resolved), WebError> {
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    let mut r = Resolved::default();
    let target = match find {
        Find::None => Target::None,
        Find::Facility => {
            let id = param("facility_id").ok_or(WebError::NotFound)?;
            let f = app.store.facility(&id).await?.ok_or(WebError::NotFound)?;
            r.facility = Some(f);
            Target::Facility { facility_id: id }
        }
        Find::User => {
            let id = param("user_id").ok_or(WebError::NotFound)?;
            let u = app.store.user_by_id(&id).await?.ok_or(WebError::NotFound)?;
            let t = Target::User { user_id: u.id.clone(), facility_id: u.facility_id.clone(), role: u.role };
            r.user = Some(u);
            t
        }
        Find::Application => {
            let id = param("application_id").ok_or(WebError::NotFound)?;
            let a = app.store.application(&id).await?.ok_or(WebError::NotFound)?;
            let t = Target::Application { facility_id: a.application.facility_id.clone() };
            r.application = Some(a);
            t
        }
        Find::Patient | Find::Group => {
            let patient_id = if find == Find::Patient {
                param("patient_id").ok_or(WebError::NotFound)?
            } else {
                let gid = param("group_id").ok_or(WebError::NotFound)?;
                app.store.group(&gid).await?.ok_or(WebError::NotFound)?.patient_id
            };
            let ctx = app.store.patient_context(&patient_id, asker).await?.ok_or(WebError::NotFound)?;
            let t = patient_facts(&ctx, None);
            r.patient = Some(std::sync::Arc::new(ctx));
            t
        }
        Find::Post => {
            let id = param("post_id").ok_or(WebError::NotFound)?;
            let meta = app.store.post_meta(&id).await?.ok_or(WebError::NotFound)?;
            let post = kumanet_core::authz::PostFacts {
                part: meta.part,
                author_is_actor: !asker.is_empty() && meta.author_id == asker,
                draft: false,
            };
            let t = room_facts(app, &mut r, &meta.room_id, meta.part, post, asker).await?;
            r.post = Some(meta);
            t
        }
        Find::Attachment => {
            let id = param("attachment_id").ok_or(WebError::NotFound)?;
            let a = app.store.attachment(&id).await?.ok_or(WebError::NotFound)?;
            let post = kumanet_core::authz::PostFacts {
                part: a.part,
                author_is_actor: !asker.is_empty() && a.uploader_id == asker,
                draft: a.post_id.is_none(),
            };
            let t = room_facts(app, &mut r, &a.room_id, a.part, post, asker).await?;
            r.attachment = Some(a);
            t
        }
        Find::Board => {
            let id = param("board_id").ok_or(WebError::NotFound)?;
            let b = app.store.board_context(&id, asker).await?.ok_or(WebError::NotFound)?;
            let t = crate::room::board_facts(&b, None);
            r.board = Some(std::sync::Arc::new(b));
            t
        }
        Find::Resource => {
            let id = param("resource_id").ok_or(WebError::NotFound)?;
            let e = app.store.directory_entry(&id).await?.ok_or(WebError::NotFound)?;
            let t = Target::Resource { facility_id: e.f.facility_id.clone() };
            r.resource = Some(e);
            t
        }
        Find::BoardInvitation => {
            let id = param("invitation_id").ok_or(WebError::NotFound)?;
            let inv = app.store.board_invitation(&id).await?.ok_or(WebError::NotFound)?;
            let t = Target::BoardInvitation { invitee_id: inv.invitee_id.clone() };
            r.board_invitation = Some(inv);
            t
        }
        Find::Invitation => {
            let id = param("invitation_id").ok_or(WebError::NotFound)?;
            let inv = app.store.invitation(&id).await?.ok_or(WebError::NotFound)?;
            let ctx = app.store.patient_context(&inv.patient_id, asker).await?.ok_or(WebError::NotFound)?;
            let t = Target::Invitation { invitee_id: inv.invitee_id.clone(), consent: ctx.consent };
            r.invitation = Some(inv);
            r.patient = Some(std::sync::Arc::new(ctx));
            t
        }
    };
    Ok((target, r))
}

/// The facts about the room a post or an attachment is in: a board (R5.4) or a patient's group.
async fn room_facts(
    app: &App,
    r: &mut Resolved,
    room_id: &str,
    part: kumanet_core::policy::post::Part,
    post: kumanet_core::authz::PostFacts,
    asker: &str,
) -> Result<Target, WebError> {
    if part == kumanet_core::policy::post::Part::Board {
        let b = app.store.board_context(room_id, asker).await?.ok_or(WebError::NotFound)?;
        let t = crate::room::board_facts(&b, Some(post));
        r.board = Some(std::sync::Arc::new(b));
        return Ok(t);
    }
    let group = app.store.group(room_id).await?.ok_or(WebError::NotFound)?;
    let ctx = app.store.patient_context(&group.patient_id, asker).await?.ok_or(WebError::NotFound)?;
    let t = patient_facts(&ctx, Some(post));
    r.patient = Some(std::sync::Arc::new(ctx));
    Ok(t)
}

fn target_ref(t: &Target) -> (Option<&'static str>, Option<String>) {
    match t {
        Target::None => (None, None),
        Target::Facility { facility_id } => (Some("facility"), Some(facility_id.clone())),
        Target::User { user_id, .. } => (Some("user"), Some(user_id.clone())),
        Target::Application { .. } => (Some("application"), None),
        Target::Patient(_) => (Some("patient"), None),
        Target::Invitation { .. } => (Some("invitation"), None),
        Target::Board(_) => (Some("board"), None),
        Target::BoardInvitation { .. } => (Some("board_invitation"), None),
        Target::Resource { .. } => (Some("resource"), None),
    }
}

/// How stale a session's last-seen time may get before a request writes it again.
const TOUCH_EVERY_US: Micros = 30 * kumanet_core::MICROS_PER_SECOND;

/// The middleware. `action` and `find` come from the route table.
pub async fn gate(app: App, action: Action, find: Find, params: RawPathParams, req: Request, next: Next) -> Response {
    let api = is_api(&req);
    match gate_inner(&app, action, find, params, req, next).await {
        Ok(r) => r,
        Err(e) => fail(api, e),
    }
}

async fn gate_inner(
    app: &App,
    action: Action,
    find: Find,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Result<Response, WebError> {
    let now = app.now();
    let client = client_ip(&req, &app.config.trusted_proxies);
    let settings = app.store.settings().await?;
    let policy_version = app.store.current_policy().await?.map(|p| p.version);
    let (headers, method) = (req.headers().clone(), req.method().clone());
    let who = identify(app, &headers, &method, action, now, &client.to_string(), &settings, policy_version).await?;
    let (req, _upload_slot) = read_body(app, req, action, &who, client).await?;
    let (target, resolved) = resolve(app, find, &params, who.ctx.user_id()).await?;
    let Identity { ctx, ended, new_csrf_cookie } = who;

    if let Err(denied) = decide(&ctx.actor, action, &target) {
        let asked =
            serde_json::json!({ "method": method.as_str(), "path": req.uri().path(), "action": format!("{action:?}") });
        audit_refusal(app, &ctx, denied, &target, &resolved, asked).await?;
        let mut resp = deny_response(is_api(&req), req.method(), denied, ended);
        if ended.is_some() {
            if let Ok(v) = HeaderValue::from_str(&app.clear_cookie(app.session_cookie())) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        return Ok(resp);
    }

    let mut req = req;
    req.extensions_mut().insert(ctx);
    req.extensions_mut().insert(resolved);
    let mut resp = next.run(req).await;
    if let Some(token) = new_csrf_cookie {
        if let Ok(v) = HeaderValue::from_str(&app.cookie(app.csrf_cookie(), &token)) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// Who is asking: the request's context, why an ended session ended, and a pre-login CSRF
/// token to set when this page mints one.
struct Identity {
    ctx: Ctx,
    ended: Option<&'static str>,
    new_csrf_cookie: Option<String>,
}

/// Step 1, the session: the actor (signed in, or anonymous with the pre-login CSRF token).
#[allow(clippy::too_many_arguments)]
async fn identify(
    app: &App,
    headers: &HeaderMap,
    method: &Method,
    action: Action,
    now: Micros,
    ip: &str,
    settings: &Settings,
    policy_version: Option<i64>,
) -> Result<Identity, WebError> {
    let session = load_session(app, headers, now, ip, settings).await?;
    let ended = match session {
        Loaded::Ended(why) => Some(why),
        _ => None,
    };
    let (actor, user, session_hash, csrf, new_csrf_cookie) = match session {
        Loaded::Active(active) => {
            let (hash, s, u) = *active;
            let accepted = app.store.accepted_policy_version(&u.id).await?;
            let actor = Actor::User(UserActor {
                user_id: u.id.clone(),
                role: u.role,
                facility_id: u.facility_id.clone(),
                profession: u.profession,
                status: u.status,
                policy_accepted: match policy_version {
                    Some(current) => accepted.is_some_and(|a| a >= current),
                    None => true,
                },
                // The pledge (様式3) is the professionals'; the center signs at setup.
                pledge_signed: u.pledge_signed_at.is_some() || matches!(u.role, Role::Center | Role::PatientFamily),
                must_change_password: must_change_password(u.password_issued, u.password_expires_at, now),
            });
            (actor, Some(u), Some(hash), s.csrf_token.expose().to_string(), None)
        }
        Loaded::None | Loaded::Ended(_) => {
            // The pre-login token: minted only by the pages that hold an anonymous form, so the
            // parallel requests for static files cannot replace the one the form carries.
            let existing = cookie_value(headers, app.csrf_cookie());
            let mints = method == Method::GET && matches!(action, Action::Login | Action::Setup);
            match existing {
                Some(token) => (Actor::Anonymous, None, None, token, None),
                None if mints => {
                    let token = random_token(16);
                    (Actor::Anonymous, None, None, token.clone(), Some(token))
                }
                None => (Actor::Anonymous, None, None, String::new(), None),
            }
        }
    };
    let ctx =
        Ctx { actor, user, session_hash, csrf, ip: ip.to_string(), now, settings: settings.clone(), policy_version };
    Ok(Identity { ctx, ended, new_csrf_cookie })
}

/// Step 2, CSRF (and same-origin) for every state-changing request, before anything is decided
/// or written: a forged cross-site post is refused without touching the audit log. The size,
/// the session and (where it can be) the token are checked before a byte of the body is read
/// (see `body`); the body is then read whole, within its limit and its time.
async fn read_body(
    app: &App,
    req: Request,
    action: Action,
    who: &Identity,
    client: IpAddr,
) -> Result<(Request, Option<crate::body::UploadSlot>), WebError> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return Ok((req, None));
    }
    check_origin(&req, app.config.https)?;
    let api = is_api(&req);
    let signed_in = who.ctx.user.is_some();
    let csrf = who.ctx.csrf.as_str();
    let (parts, body) = req.into_parts();
    let header = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let encoding = crate::body::Encoding::of(header(header::CONTENT_TYPE));
    let limit = crate::body::limit_for(action, signed_in);
    let declared = header(header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(WebError::TooLarge(limit));
    }
    let anonymous_json_api = api && !signed_in && encoding == crate::body::Encoding::Json;
    let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let check = if anonymous_json_api {
        crate::body::Csrf::Decided
    } else if sent.is_some() || csrf.is_empty() {
        crate::body::check(sent, csrf)?;
        crate::body::Csrf::Decided
    } else {
        crate::body::Csrf::InBody(csrf)
    };
    // Only a signed-in user may send megabytes; a stranger's body is small anyway.
    let slot = if limit > crate::body::FORM_LIMIT { app.uploads.take(client, declared, encoding)? } else { None };
    let bytes = crate::body::read(body, limit, encoding, check).await?;
    Ok((Request::from_parts(parts, Body::from(bytes)), slot))
}

/// Step 4, a refusal: R10.7 writes down every refusal of a signed-in user, naming the patient,
/// board or invitation the path was about.
async fn audit_refusal(
    app: &App,
    ctx: &Ctx,
    denied: Denied,
    target: &Target,
    resolved: &Resolved,
    asked: serde_json::Value,
) -> Result<(), WebError> {
    let refusal = matches!(
        denied,
        Denied::Forbidden | Denied::NotApproved | Denied::SelfWithdrawal | Denied::NoConsent | Denied::ReadOnly
    );
    if ctx.user.is_none() || !refusal {
        return Ok(());
    }
    let (mut tt, mut tid) = target_ref(target);
    if let Some(p) = &resolved.patient {
        (tt, tid) = (Some("patient"), Some(p.patient.id.clone()));
    }
    if let Some(b) = &resolved.board {
        (tt, tid) = (Some("board"), Some(b.board.id.clone()));
    }
    if let Some(i) = &resolved.board_invitation {
        (tt, tid) = (Some("board_invitation"), Some(i.id.clone()));
    }
    let mut ev = ctx.audit(AuditAction::AccessDenied, AuditResult::Denied).reason(denied.code()).details(asked);
    ev.target_type = tt;
    ev.target_id = tid;
    let mut tx = app.store.begin().await?;
    tx.audit(ev).await?;
    tx.commit().await?;
    Ok(())
}

/// A browser always sends `Origin` on a cross-site POST; when present it must be ours: the same
/// host, and the scheme users reach us by (https behind a TLS proxy or with our own TLS).
fn check_origin(req: &Request, https: bool) -> Result<(), WebError> {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let scheme = if https { "https" } else { "http" };
    if host.is_empty() || origin != format!("{scheme}://{host}") {
        return Err(WebError::Csrf);
    }
    Ok(())
}

/// Security headers on every response (R9.3, ASVS V14): no caching of anything but static files,
/// a strict CSP without inline script, no framing, no sniffing, no referrer to other sites
/// (`same-origin`, not `no-referrer`: with the latter a browser sends `Origin: null` on our own
/// form posts, and the origin check must refuse that).
///
/// HSTS when users reach the server by https (R9.2): browsers then never try plain http again.
/// And every error of `/api/` is JSON, even one the handler's extractors produced (a bad query
/// string), in the same shape as the others.
pub async fn security_headers(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: Next,
) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let api = is_api(&req);
    let mut resp = next.run(req).await;
    if api {
        resp = crate::error::json_for_api(resp).await;
    }
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // A handler may set a stricter policy of its own (the consent scan is sandboxed); keep it.
    if !h.contains_key("content-security-policy") {
        set(
            h,
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        );
    }
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(h, "permissions-policy", "camera=(), microphone=(), geolocation=()");
    if app.config.https {
        set(h, "strict-transport-security", "max-age=63072000; includeSubDomains");
    }
    if is_static {
        set(h, "cache-control", "public, max-age=3600");
    } else {
        set(h, "cache-control", "no-store");
    }
    resp
}
