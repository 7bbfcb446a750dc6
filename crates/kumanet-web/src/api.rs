//! The JSON API under `/api/v1`: the same operations as the pages, through the same services and
//! the same gate. Unknown fields are refused. Described at `/api/v1/openapi.json`, generated from
//! the route table so the document cannot miss a route.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kumanet_core::people::Role;
use kumanet_core::policy::patient::{ConsentState, Consenter, EligibilityBasis, Sex};
use kumanet_core::policy::settings::Settings;
use kumanet_store::{Facility, PatientContext, UserListItem};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, FieldErrors, WebError};
use crate::query::TextQuery;
use crate::request::{ApplicationRef, Ctx, GroupInvitation, Patient, TargetFacility, TargetUser};
use crate::service::accounts::{self, AcceptForm, LoginForm, LoginRefused, PasswordForm};
use crate::service::admin::{self, ChangeForm, DecisionForm, FacilityForm, PolicyForm, ReasonForm};
use crate::service::patients::{
    self, AnswerForm, ConsentInput, DelegationForm, FamilyForm, InviteForm, NoteForm, PatientForm, VoteForm,
};
use crate::service::PersonForm;
use crate::session_cookies::{login_client, set_login_cookies, set_refused_status};
use crate::App;

type ApiResult = Result<Response, ApiError>;

pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(WebError::BadRequest(format!("JSONを読み取れませんでした(未知の項目や型の誤りは受け付けません): {e}")))
    })
}

fn ok<T: Serialize>(v: T) -> ApiResult {
    Ok(Json(v).into_response())
}

fn created<T: Serialize>(v: T) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A person as other users see them (directory).
#[derive(Serialize)]
struct PersonView {
    id: String,
    name: String,
    kana: String,
    profession: Option<&'static str>,
    facility_id: Option<String>,
    facility_name: Option<String>,
}

fn person_view(i: UserListItem) -> PersonView {
    PersonView {
        id: i.user.id,
        name: i.user.name,
        kana: i.user.kana,
        profession: i.user.profession.map(|p| p.code()),
        facility_id: i.user.facility_id,
        facility_name: i.facility_name,
    }
}

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

pub async fn directory(State(app): State<App>, ctx: Ctx, Query(q): Query<TextQuery>) -> ApiResult {
    let people = admin::search_staff_directory(&app, &ctx, &q.q, true).await?;
    ok(people.into_iter().map(person_view).collect::<Vec<_>>())
}

pub async fn facilities(State(app): State<App>) -> ApiResult {
    ok(app.store.facilities().await?)
}

pub async fn facility_create(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: FacilityForm = body(&bytes)?;
    let id = admin::create_facility(&app, &ctx, &f).await?;
    created(app.store.facility(&id).await?)
}

pub async fn facility_update(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(current): TargetFacility,
    bytes: Bytes,
) -> ApiResult {
    let f: FacilityForm = body(&bytes)?;
    admin::update_facility(&app, &ctx, &current, &f).await?;
    ok(app.store.facility(&current.id).await?)
}

async fn create_person(app: &App, ctx: &Ctx, facility: Facility, role: Role, bytes: &Bytes) -> ApiResult {
    let f: PersonForm = body(bytes)?;
    let issued = admin::create_person(app, ctx, &facility, role, &f).await?;
    created(json!({
        "user_id": issued.user_id,
        "login_id": issued.login_id,
        "one_time_password": issued.password.expose(),
        "status": if role == Role::Staff { "pending" } else { "approved" },
    }))
}

pub async fn admin_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    bytes: Bytes,
) -> ApiResult {
    create_person(&app, &ctx, r, Role::FacilityAdmin, &bytes).await
}

pub async fn staff_create(
    State(app): State<App>,
    ctx: Ctx,
    TargetFacility(r): TargetFacility,
    bytes: Bytes,
) -> ApiResult {
    create_person(&app, &ctx, r, Role::Staff, &bytes).await
}

pub async fn staff(State(app): State<App>, ctx: Ctx, TargetFacility(facility): TargetFacility) -> ApiResult {
    ok(admin::view_staff(&app, &ctx, &facility, true).await?.staff)
}

/// The region's users; `?q=` searches name, kana or ID, `?status=` narrows to one status.
pub async fn users(State(app): State<App>, ctx: Ctx, Query(q): Query<admin::UsersQuery>) -> ApiResult {
    ok(admin::list_users(&app, &ctx, &q, true).await?)
}

pub async fn user(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser) -> ApiResult {
    let v = admin::view_user(&app, &ctx, &u, true).await?;
    ok(json!({ "user": u, "applications": v.applications.into_iter().map(|a| a.application).collect::<Vec<_>>() }))
}

pub async fn user_change(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ChangeForm = body(&bytes)?;
    created(json!({ "application_id": admin::file_change(&app, &ctx, &u, &f).await? }))
}

pub async fn user_deletion(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    created(json!({ "application_id": admin::file_deletion(&app, &ctx, &u, &f).await? }))
}

pub async fn user_suspend(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    ok(json!({ "sessions_ended": admin::suspend(&app, &ctx, &u, &f).await? }))
}

pub async fn user_reset(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    ok(json!({ "one_time_password": admin::reset_password(&app, &ctx, &u, &f).await? }))
}

pub async fn user_resume(State(app): State<App>, ctx: Ctx, TargetUser(u): TargetUser, bytes: Bytes) -> ApiResult {
    let f: ReasonForm = body(&bytes)?;
    admin::resume(&app, &ctx, &u, &f).await?;
    ok(json!({ "ok": true }))
}

pub async fn applications(State(app): State<App>) -> ApiResult {
    ok(app.store.pending_applications().await?)
}

pub async fn application_decide(
    State(app): State<App>,
    ctx: Ctx,
    ApplicationRef(item): ApplicationRef,
    bytes: Bytes,
) -> ApiResult {
    let f: DecisionForm = body(&bytes)?;
    let state = admin::decide_application(&app, &ctx, &item, &f).await?;
    ok(json!({ "state": state.code() }))
}

pub async fn settings(ctx: Ctx) -> ApiResult {
    ok(ctx.settings)
}

pub async fn settings_update(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let s: Settings = body(&bytes)?;
    admin::update_settings(&app, &ctx, &s).await?;
    ok(s)
}

pub async fn policy_publish(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: PolicyForm = body(&bytes)?;
    created(json!({ "version": admin::publish_policy(&app, &ctx, &f).await? }))
}

pub async fn audit(State(app): State<App>, ctx: Ctx, Query(q): Query<admin::AuditQuery>) -> ApiResult {
    ok(admin::search_audit(&app, &ctx, &q, 500, true).await?)
}

// ---- Patients, consent, groups and invitations: the twins of `html/patients.rs` ----

fn group_id_of(p: &PatientContext) -> Result<String, WebError> {
    p.group.as_ref().map(|g| g.id.clone()).ok_or(WebError::NotFound)
}

fn consent_code(state: ConsentState) -> &'static str {
    match state {
        ConsentState::Missing => "missing",
        ConsentState::Given => "given",
        ConsentState::Withdrawn => "withdrawn",
    }
}

/// Every view of patient data is written down, as on the pages.
/// A body for operations whose fields are all optional: empty means `{}`.
fn body_or_empty<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        body(bytes)
    }
}

fn agreement_view(ctx: &Ctx, (professionals, agree, object, met): (usize, usize, usize, bool)) -> Value {
    json!({
        "rule": ctx.settings.family_agreement.code(),
        "rule_label": ctx.settings.family_agreement.label(),
        "professionals": professionals,
        "agree": agree,
        "object": object,
        "met": met,
    })
}

/// The patients one may see (attending, delegated facility, member); `?q=` searches name or kana.
pub async fn patients(State(app): State<App>, ctx: Ctx, Query(q): Query<TextQuery>) -> ApiResult {
    ok(patients::list_visible(&app, &ctx, &q.q, true).await?)
}

/// R3.1, R5.1: the attending physician registers a patient.
pub async fn patient_create(State(app): State<App>, ctx: Ctx, bytes: Bytes) -> ApiResult {
    let f: PatientForm = body(&bytes)?;
    let id = patients::register(&app, &ctx, &f).await?;
    created(app.store.patient(&id).await?.ok_or(WebError::NotFound)?)
}

/// The patient, the state of the consent and its history (without the scans), and the group.
pub async fn patient(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> ApiResult {
    let v = patients::view_patient(&app, &ctx, &p, true).await?;
    ok(json!({
        "patient": p.patient,
        "consent_state": consent_code(p.consent),
        "consents": v.consents,
        "group_id": p.group.as_ref().map(|g| g.id.clone()),
        "attending": v.attending,
        "manager": v.manager,
    }))
}

/// The consent form's fields (様式1) as JSON. The scan, if any, is standard base64 (RFC 4648);
/// the API's 2 MB body limit allows scans up to about 1.5 MB (larger ones through the page).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    #[serde(default)]
    consenter: String,
    #[serde(default)]
    consenter_name: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    consented_on: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    scan_base64: Option<String>,
}

/// Standard base64 (RFC 4648 §4): padding optional, ASCII whitespace (line breaks) ignored,
/// anything else refused, including non-canonical trailing bits.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits, mut chars, mut pad) = (0u32, 0u32, 0usize, 0usize);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            pad += 1;
            continue;
        }
        if pad > 0 {
            return None;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        chars += 1;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let padded_ok = pad == 0 || (pad <= 2 && (chars + pad) % 4 == 0);
    (bits < 6 && acc == 0 && padded_ok).then_some(out)
}

/// R4.1: record the consent (who explained, who consented, when, the scope, optionally the scan).
pub async fn consent_create(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: ConsentBody = body(&bytes)?;
    let scan = match f.scan_base64.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match base64_decode(text) {
            Some(bytes) => Some(bytes),
            None => {
                let mut errors = FieldErrors::default();
                errors.add("scan_base64", "同意書の画像をbase64(RFC 4648)として読み取れませんでした。");
                return Err(ApiError(WebError::Invalid(errors)));
            }
        },
    };
    let input = ConsentInput {
        consenter: f.consenter,
        consenter_name: f.consenter_name,
        relationship: f.relationship,
        consented_on: f.consented_on,
        scope: f.scope,
        scan,
    };
    patients::record_consent(&app, &ctx, &p, &input).await?;
    created(app.store.latest_consent(&p.patient.id).await?.ok_or(WebError::NotFound)?)
}

/// R4.3: withdrawal; every group of the patient becomes read-only, nothing is deleted.
pub async fn consent_withdraw(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: NoteForm = body(&bytes)?;
    patients::withdraw_consent(&app, &ctx, &p, &f).await?;
    ok(app.store.latest_consent(&p.patient.id).await?.ok_or(WebError::NotFound)?)
}

/// R5.1: delegate the management to a facility (`facility_id`), or take it back (`""`).
pub async fn delegation(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: DelegationForm = body(&bytes)?;
    patients::delegate(&app, &ctx, &p, &f).await?;
    let to = f.facility_id.trim();
    ok(json!({ "delegated_facility_id": (!to.is_empty()).then_some(to) }))
}

/// R4.1, R5.1: open the patient's group (201), or name the one that exists (200).
pub async fn group_create(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let _: NoteForm = body_or_empty(&bytes)?;
    let existed = p.group.is_some();
    let id = patients::create_group(&app, &ctx, &p).await?;
    if existed {
        ok(json!({ "group_id": id }))
    } else {
        created(json!({ "group_id": id }))
    }
}

/// The group: members, the family's participation (proposal, votes, agreement) and, for its
/// managers, the pending invitations and the requests to leave.
pub async fn group(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> ApiResult {
    let v = patients::view_group(&app, &ctx, &p, true).await?;
    let mut out = json!({
        "group_id": v.group_id,
        "patient_id": p.patient.id,
        "patient_name": p.patient.name,
        "attending_name": p.patient.attending_name,
        "delegated_facility_name": p.patient.delegated_facility_name,
        "consent_state": consent_code(p.consent),
        "read_only": p.consent == ConsentState::Withdrawn,
        "manager": v.manager,
        "member": p.is_member,
        "members": v.members,
        "family_members": v.family,
        "family_proposal": v.proposal,
        "agreement": agreement_view(&ctx, v.agreement),
        "my_vote": v.my_vote.map(|agree| if agree { "agree" } else { "object" }),
    });
    if v.manager {
        out["invitations"] = json!(v.invitations);
        out["removal_requests"] = json!(v.requests);
    }
    ok(out)
}

/// R5.2, R10.1: invite an approved professional, saying why.
pub async fn invite(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: InviteForm = body(&bytes)?;
    let id = patients::invite(&app, &ctx, &p, &f).await?;
    created(json!({ "invitation_id": id }))
}

/// R5.2, R10.5: a manager removes a member (or approves a request to leave).
pub async fn member_remove(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    Path((_, user_id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let _: NoteForm = body_or_empty(&bytes)?;
    patients::remove_member(&app, &ctx, &p, &user_id).await?;
    ok(json!({ "removed": user_id }))
}

/// R10.5: a member asks to leave; a manager approves by removing them.
pub async fn leave(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: NoteForm = body_or_empty(&bytes)?;
    patients::request_removal(&app, &ctx, &p, &f).await?;
    created(json!({ "removal_requested": true }))
}

/// R5.3: the part shared with the patient and family: members by name and profession only.
pub async fn shared(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> ApiResult {
    let patients::SharedView { group_id: gid, members, family } = patients::view_shared(&app, &ctx, &p, true).await?;
    ok(json!({
        "group_id": gid,
        "patient_name": p.patient.name,
        "members": members.iter().map(|m| json!({
            "name": m.name,
            "profession": m.profession.map(|pr| pr.code()),
            "profession_label": m.profession.map(|pr| pr.label()),
        })).collect::<Vec<_>>(),
        "family_members": family.iter().map(|f| json!({ "name": f.name, "relationship": f.relationship })).collect::<Vec<_>>(),
    }))
}

/// R5.3: a manager proposes that the patient or family take part (`note`: why).
pub async fn family_propose(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: NoteForm = body(&bytes)?;
    patients::propose_family(&app, &ctx, &p, &f).await?;
    let gid = group_id_of(&p)?;
    created(json!({ "family_proposal": app.store.family_proposal(&gid).await? }))
}

/// R5.3: each professional member agrees or objects (a comment is required to object).
pub async fn family_vote(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: VoteForm = body(&bytes)?;
    patients::vote_family(&app, &ctx, &p, &f).await?;
    let gid = group_id_of(&p)?;
    ok(json!({ "agreement": agreement_view(&ctx, patients::agreement(&app, &ctx, &gid).await?) }))
}

/// R5.3: once the professionals agree, the patient/family account with a one-time password.
pub async fn family_account(State(app): State<App>, ctx: Ctx, Patient(p): Patient, bytes: Bytes) -> ApiResult {
    let f: FamilyForm = body(&bytes)?;
    let issued = patients::create_family_account(&app, &ctx, &p, &f).await?;
    created(json!({
        "user_id": issued.user_id,
        "login_id": issued.login_id,
        "name": issued.name,
        "one_time_password": issued.password.expose(),
        "group_id": group_id_of(&p)?,
    }))
}

/// R10.1: the invitations waiting for me (as the page, which shows them without an audit row).
pub async fn invitations(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let list = app
        .store
        .open_invitations_for(ctx.user_id(), ctx.now - kumanet_core::policy::patient::INVITATION_VALID_US)
        .await?;
    crate::service::patients::audit_invitations_read(&app, &ctx, None, list.len()).await?;
    ok(list)
}

/// R10.1: who invites me, to which patient's group, and why.
pub async fn invitation(State(app): State<App>, ctx: Ctx, GroupInvitation(inv): GroupInvitation) -> ApiResult {
    crate::service::patients::audit_invitations_read(&app, &ctx, Some(&inv), 1).await?;
    let expired = !kumanet_core::policy::patient::invitation_open(inv.created_at, ctx.now);
    ok(json!({ "invitation": inv, "expired": expired }))
}

/// R10.1: accept (with `appropriate: "on"`, the self-check) or decline.
pub async fn invitation_answer(
    State(app): State<App>,
    ctx: Ctx,
    GroupInvitation(inv): GroupInvitation,
    bytes: Bytes,
) -> ApiResult {
    let f: AnswerForm = body(&bytes)?;
    // The page's checkbox sends "on"; JSON must not read `"false"` or `"no"` as a confirmation.
    if f.appropriate.as_deref().is_some_and(|v| v != "on") {
        let mut errors = FieldErrors::default();
        errors.add("appropriate", "確認した場合は \"on\" を送ってください(運用ポリシー第10条(1))。");
        return Err(ApiError(WebError::Invalid(errors)));
    }
    let accepted = patients::answer(&app, &ctx, &inv, &f).await?;
    ok(json!({ "state": if accepted { "accepted" } else { "declined" }, "group_id": inv.group_id }))
}

/// Request bodies of the API, by route: (method, path) → (summary, schema).
fn request_schema(method: &str, path: &str) -> Option<Value> {
    let s = |props: &[&str], required: &[&str]| {
        let p: serde_json::Map<String, Value> =
            props.iter().map(|k| (k.to_string(), json!({ "type": "string" }))).collect();
        json!({ "type": "object", "additionalProperties": false, "properties": p, "required": required })
    };
    let person =
        s(&["login_id", "name", "kana", "profession", "email", "phone"], &["login_id", "name", "kana", "profession"]);
    Some(match (method, path) {
        ("POST", "/api/v1/login") => s(&["login_id", "password"], &["login_id", "password"]),
        ("POST", "/api/v1/password") => {
            s(&["current", "password", "password_confirm"], &["current", "password", "password_confirm"])
        }
        ("POST", "/api/v1/policy/accept") => {
            json!({ "type": "object", "additionalProperties": false, "required": ["version", "agree"],
            "properties": { "version": { "type": "integer" }, "agree": { "type": "string" },
              "pledge": { "type": "string", "description": "専門職は必須(誓約書・様式3)。患者・家族は不要" } } })
        }
        ("POST", "/api/v1/facilities") | ("PUT", "/api/v1/facilities/{facility_id}") => {
            s(&["name", "kana", "kind", "address", "phone"], &["name", "kana", "kind", "address", "phone"])
        }
        ("POST", "/api/v1/facilities/{facility_id}/admins") | ("POST", "/api/v1/facilities/{facility_id}/staff") => {
            person
        }
        ("POST", "/api/v1/users/{user_id}/change") => {
            s(&["name", "kana", "profession", "email", "phone", "reason"], &["name", "kana", "profession", "reason"])
        }
        ("POST", "/api/v1/applications/{application_id}") => s(&["decision", "note"], &["decision"]),
        ("POST", "/api/v1/policy/versions") => s(&["purpose", "body"], &["purpose", "body"]),
        ("PUT", "/api/v1/settings") => json!({ "type": "object", "additionalProperties": false,
            "required": ["region_name", "idle_timeout_minutes", "session_lifetime_hours", "password_max_age_days", "lockout_threshold", "lockout_minutes"],
            "properties": { "region_name": { "type": "string" }, "idle_timeout_minutes": { "type": "integer", "minimum": 1, "maximum": 60 },
              "session_lifetime_hours": { "type": "integer", "minimum": 1, "maximum": 24 }, "password_max_age_days": { "type": "integer", "minimum": 1, "maximum": 60 },
              "lockout_threshold": { "type": "integer", "minimum": 3, "maximum": 100 }, "lockout_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 },
              "family_agreement": { "type": "string", "enum": ["all", "majority"] },
              "post_soft_limit": { "type": "integer", "minimum": 100, "maximum": 5000 } } }),
        ("POST", p) if p.starts_with("/api/v1/users/") => s(&["reason"], &["reason"]),
        _ => return patient_request_schema(method, path),
    })
}

/// Request bodies of the patient, group and invitation routes (the service forms).
fn patient_request_schema(method: &str, path: &str) -> Option<Value> {
    let obj = |props: Value, required: &[&str]| json!({ "type": "object", "additionalProperties": false, "properties": props, "required": required });
    let text = json!({ "type": "string" });
    let codes = |codes: Vec<&str>| json!({ "type": "string", "enum": codes });
    if let Some(s) = crate::api_posts::request_schema(method, path)
        .or_else(|| crate::api_boards::request_schema(method, path))
        .or_else(|| crate::api_directory::request_schema(method, path))
    {
        return Some(s);
    }
    if method != "POST" {
        return None;
    }
    Some(match path {
        "/api/v1/patients" => obj(
            json!({
                "name": text, "kana": text,
                "birth_date": { "type": "string", "format": "date" },
                "sex": codes(Sex::ALL.iter().map(|x| x.code()).collect()),
                "address": text,
                "basis": codes(EligibilityBasis::ALL.iter().map(|x| x.code()).collect()),
                "basis_reason": { "type": "string", "description": "judged_necessary のとき必須" },
            }),
            &["name", "kana", "birth_date", "sex", "address", "basis"],
        ),
        "/api/v1/patients/{patient_id}/consent" => obj(
            json!({
                "consenter": codes(Consenter::ALL.iter().map(|x| x.code()).collect()),
                "consenter_name": text,
                "relationship": { "type": "string", "description": "家族の場合は必須" },
                "consented_on": { "type": "string", "format": "date" },
                "scope": { "type": "string", "description": "空なら既定の範囲" },
                "scan_base64": { "type": "string", "contentEncoding": "base64", "contentMediaType": "application/octet-stream",
                    "description": "署名済み同意書の画像(PDF・JPEG・PNG、10MBまで。base64では約13.4MB)。" },
            }),
            &["consenter", "consenter_name", "consented_on"],
        ),
        "/api/v1/patients/{patient_id}/consent/withdraw" => {
            obj(json!({ "note": { "type": "string", "description": "撤回の申し出の内容(いつ・誰から)" } }), &["note"])
        }
        "/api/v1/patients/{patient_id}/delegation" => obj(
            json!({ "facility_id": { "type": "string", "description": "委託先の施設ID。空文字で主治医に戻す" } }),
            &["facility_id"],
        ),
        "/api/v1/patients/{patient_id}/group" | "/api/v1/groups/{group_id}/members/{user_id}/remove" => {
            obj(json!({}), &[])
        }
        "/api/v1/groups/{group_id}/invitations" => {
            obj(json!({ "invitee_id": text, "reason": text }), &["invitee_id", "reason"])
        }
        "/api/v1/groups/{group_id}/leave" => obj(json!({ "note": text }), &[]),
        "/api/v1/groups/{group_id}/family/proposal" => {
            obj(json!({ "note": { "type": "string", "description": "参加が必要・有効と考える理由" } }), &["note"])
        }
        "/api/v1/groups/{group_id}/family/vote" => obj(
            json!({ "decision": codes(vec!["agree", "object"]), "comment": { "type": "string", "description": "反対の場合は必須" } }),
            &["decision"],
        ),
        "/api/v1/groups/{group_id}/family/accounts" => obj(
            json!({ "login_id": text, "name": text, "kana": text, "relationship": { "type": "string", "description": "本人・長女など" } }),
            &["login_id", "name", "kana", "relationship"],
        ),
        "/api/v1/invitations/{invitation_id}" => obj(
            json!({ "decision": codes(vec!["accept", "decline"]),
                    "appropriate": { "type": "string", "enum": ["on"], "description": "参加がふさわしいことを確認した(参加するときは必須)" } }),
            &["decision"],
        ),
        _ => return None,
    })
}

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    let mut operation_ids = std::collections::HashSet::new();
    for def in crate::routes::route_table() {
        if !def.path.starts_with("/api/v1/") {
            continue;
        }
        let method = def.method.as_str().to_ascii_lowercase();
        let params: Vec<Value> = def
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        // OpenAPI wants unique operation ids; two routes may share an action (GET and POST).
        let mut operation_id = format!("{:?}", def.action);
        if !operation_ids.insert(operation_id.clone()) {
            operation_id = format!("{operation_id}_{method}");
            operation_ids.insert(operation_id.clone());
        }
        let mut op = json!({
            "operationId": operation_id,
            "summary": format!("{:?}", def.action),
            "parameters": params,
            "responses": {
                "200": { "description": "成功" },
                "201": { "description": "作成しました" },
                "401": { "description": "ログインが必要です", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "403": { "description": "権限がありません(監査ログに記録されます)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "404": { "description": "見つかりません" },
                "422": { "description": "入力内容の誤り", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        let err = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
        op["responses"]["400"] = json!({ "description": "本文を読み取れません", "content": err });
        op["responses"]["503"] = json!({ "description": "記録を残せないため何もせず中止しました(保存されたものはありません)。時間をおいて再送してください", "content": err });
        if def.method.as_str() != "GET" {
            // The body limits the gate applies before reading (see body.rs).
            let limit = crate::body::limit_for(def.action, def.path != "/api/v1/login");
            op["x-max-body-bytes"] = json!(limit);
            op["responses"]["408"] =
                json!({ "description": "本文が時間内に届きませんでした(途切れは30秒まで)", "content": err });
            op["responses"]["413"] =
                json!({ "description": format!("本文が大きすぎます({limit}バイトまで)"), "content": err });
            op["responses"]["429"] =
                json!({ "description": "同じアドレスからの大きな送信が多すぎます", "content": err });
        }
        if def.path == "/api/v1/login" {
            // R8.6, ASVS 6.3.8: the answers never tell whether the ID exists.
            op["description"] = json!("成功するとセッションCookieと端末Cookie(長期間有効、この端末でログインしたことの記録。ロック中でもこの端末からはログインできます)を設定します。\
                失敗の答えは、IDが存在するかどうかによって変わりません。");
            op["responses"]["401"] = json!({ "description": "ログインIDまたはパスワードが正しくありません(code: invalid_credentials)、または発行されたパスワードの期限切れ(code: issued_password_expired)",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
            op["responses"]["429"] = json!({ "description": "ログインの失敗が続いたため一時的に制限中(code: login_throttled、retry_after_seconds 秒後に再試行)、またはこのアドレスからの試行が多すぎます(code: rate_limited)",
                "headers": { "Retry-After": { "schema": { "type": "integer" }, "description": "再試行できるまでの秒数" } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
        }
        if let Some(schema) = request_schema(def.method.as_str(), def.path) {
            // A body whose fields are all optional may be left out.
            let required = schema["required"].as_array().is_some_and(|r| !r.is_empty());
            op["requestBody"] =
                json!({ "required": required, "content": { "application/json": { "schema": schema } } });
        }
        if def.method.as_str() == "GET"
            && matches!(def.path, "/api/v1/patients" | "/api/v1/directory" | "/api/v1/users")
        {
            if let Some(a) = op["parameters"].as_array_mut() {
                a.push(json!({ "name": "q", "in": "query", "required": false, "schema": { "type": "string" },
                    "description": "氏名・ふりがなで検索" }));
                if def.path == "/api/v1/users" {
                    a.push(json!({ "name": "status", "in": "query", "required": false,
                        "schema": { "type": "string", "enum": ["pending", "approved", "suspended", "deleted"] },
                        "description": "状態で絞り込み(承認待ち・承認済み・利用停止・削除済み)" }));
                }
            }
        }
        if def.method.as_str() != "GET" && def.path != "/api/v1/login" {
            if let Some(a) = op["parameters"].as_array_mut() {
                a.push(
                    json!({ "name": "X-CSRF-Token", "in": "header", "required": true, "schema": { "type": "string" },
                    "description": "GET /api/v1/session の csrf_token" }),
                );
            }
        }
        let entry = paths.entry(def.path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Kumanet API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "くまねっとのJSON API。画面と同じ操作を、同じ権限チェックと監査ログのもとで提供します。認証はログインで発行されるセッションCookieです。" },
        "paths": paths,
        "components": { "schemas": { "Error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" },
            "retry_after_seconds": { "type": "integer" },
            "fields": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } },
            "request_id": { "type": "string" } } } } }
    })
}

pub async fn openapi() -> impl IntoResponse {
    Json(openapi_document())
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_decodes_rfc4648_vectors_and_refuses_the_rest() {
        for (text, plain) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
            ("Zm9vYg", "foob"),
            ("Zm9v\r\nYmFy\n", "foobar"),
        ] {
            assert_eq!(base64_decode(text), Some(plain.as_bytes().to_vec()), "{text}");
        }
        assert_eq!(base64_decode("+/+/"), Some(vec![0xFB, 0xFF, 0xBF]));
        for bad in ["Z", "Zg=", "Zg===", "Zg=a", "Zh==", "Zm9v-_", "Zm9v!", "=Zm9v", "Zm9vY"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }
}
