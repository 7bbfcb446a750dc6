//! Patients, consent (様式1), delegation, the patient's group and invitations.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kumanet_core::audit::AuditAction;
use kumanet_core::people::UserStatus;
use kumanet_core::policy::patient::{ConsentState, Consenter, EligibilityBasis, Sex};
use kumanet_core::policy::post::{Part, Segment};
use kumanet_store::{Consent, Facility, Invitation, Member, PatientContext, RemovalRequest, UserListItem, UserQuery};
use serde::Deserialize;

use super::facility::unprocessable;
use super::{options, parse_form, render, Chrome, FormState, Opt};
use crate::error::WebError;
use crate::query::TextQuery;
use crate::request::{Ctx, GroupInvitation, Patient};
use crate::room::Room;
use crate::service::patients::{self, AnswerForm, ConsentInput, DelegationForm, InviteForm, NoteForm, PatientForm};
use crate::service::posts::View;
use crate::App;

#[derive(Template)]
#[template(path = "patients/list.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    patients: Vec<kumanet_store::Patient>,
    can_register: bool,
}

/// The patients one may see (attending, delegated facility, member), searchable by name or kana.
pub async fn list_get(State(app): State<App>, ctx: Ctx, Query(q): Query<TextQuery>) -> Result<Response, WebError> {
    let u = ctx.user.clone().ok_or(WebError::NotFound)?;
    let text = q.q.trim().to_string();
    let patients = patients::list_visible(&app, &ctx, &text, false).await?;
    let can_register = u.profession == Some(kumanet_core::people::Profession::Doctor);
    Ok(render(&ListPage { chrome: Chrome::new(&ctx, "患者さん"), q: text, patients, can_register }))
}

#[derive(Template)]
#[template(path = "patients/new.html")]
struct NewPage {
    chrome: Chrome,
    form: FormState,
    sexes: Vec<Opt>,
    bases: Vec<Opt>,
}

fn new_page(ctx: &Ctx, form: FormState) -> Response {
    render(&NewPage {
        chrome: Chrome::new(ctx, "患者さんの登録"),
        form,
        sexes: options(Sex::ALL, Sex::code, Sex::label),
        bases: options(EligibilityBasis::ALL, EligibilityBasis::code, EligibilityBasis::label),
    })
}

pub async fn new_get(ctx: Ctx) -> Response {
    new_page(&ctx, FormState::with(&[("basis", "home_visits")]))
}

pub async fn create_post(State(app): State<App>, ctx: Ctx, body: Bytes) -> Result<Response, WebError> {
    let f: PatientForm = parse_form(&body)?;
    match patients::register(&app, &ctx, &f).await {
        Ok(id) => Ok(Redirect::to(&format!("/patients/{id}")).into_response()),
        Err(WebError::Invalid(errors)) => Ok(unprocessable(new_page(&ctx, FormState::from_pairs(&body, errors)))),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "patients/show.html")]
struct ShowPage {
    chrome: Chrome,
    p: Arc<PatientContext>,
    consents: Vec<Consent>,
    manager: bool,
    attending: bool,
    consent_given: bool,
    withdrawn: bool,
    facilities: Vec<Facility>,
    form: FormState,
    chrome_now: i64,
}

async fn show_page(app: &App, ctx: &Ctx, p: Arc<PatientContext>, form: FormState) -> Result<Response, WebError> {
    let patients::PatientView { consents, attending, manager } = patients::view_patient(app, ctx, &p, false).await?;
    let facilities = if attending { app.store.facilities().await? } else { Vec::new() };
    Ok(render(&ShowPage {
        chrome: Chrome::new(ctx, &format!("{}さん", p.patient.name)),
        consent_given: p.consent == ConsentState::Given,
        withdrawn: p.consent == ConsentState::Withdrawn,
        p,
        consents,
        manager,
        attending,
        facilities,
        form,
        chrome_now: ctx.now,
    }))
}

pub async fn show_get(State(app): State<App>, ctx: Ctx, Patient(patient): Patient) -> Result<Response, WebError> {
    show_page(&app, &ctx, patient, FormState::default()).await
}

#[derive(Template)]
#[template(path = "patients/consent.html")]
struct ConsentPage {
    chrome: Chrome,
    p: Arc<PatientContext>,
    form: FormState,
    consenters: Vec<Opt>,
    default_scope: &'static str,
}

fn consent_page(ctx: &Ctx, p: Arc<PatientContext>, form: FormState) -> Response {
    render(&ConsentPage {
        chrome: Chrome::new(ctx, "同意の記録(様式1)"),
        p,
        form,
        consenters: options(Consenter::ALL, Consenter::code, Consenter::label),
        default_scope: patients::DEFAULT_SCOPE,
    })
}

pub async fn consent_get(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> Result<Response, WebError> {
    patients::open_consent_form(&app, &ctx, &p).await?;
    let today = crate::jst::iso_date_jst(ctx.now);
    let form =
        FormState::with(&[("consenter", "patient"), ("consenter_name", &p.patient.name), ("consented_on", &today)]);
    Ok(consent_page(&ctx, p, form))
}

/// R4.1: the consent record, with an optional scan (PDF, JPEG or PNG, ≤ 10 MB).
pub async fn consent_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let mut input = ConsentInput::default();
    let mut typed: Vec<(String, String)> = Vec::new();
    let bad = |_| WebError::BadRequest("送信内容を読み取れませんでした。ファイルは10MBまでです。".into());
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "scan" {
            let bytes = field.bytes().await.map_err(bad)?;
            if !bytes.is_empty() {
                input.scan = Some(bytes.to_vec());
            }
            continue;
        }
        let value = field.text().await.map_err(bad)?;
        match name.as_str() {
            "consenter" => input.consenter = value.clone(),
            "consenter_name" => input.consenter_name = value.clone(),
            "relationship" => input.relationship = value.clone(),
            "consented_on" => input.consented_on = value.clone(),
            "scope" => input.scope = value.clone(),
            "csrf" => continue,
            _ => return Err(WebError::BadRequest("送信内容に不明な項目があります。".into())),
        }
        typed.push((name, value));
    }
    match patients::record_consent(&app, &ctx, &p, &input).await {
        Ok(()) => Ok(Redirect::to(&format!("/patients/{}", p.patient.id)).into_response()),
        Err(WebError::Invalid(errors)) => {
            let form = FormState { values: typed.into_iter().collect(), errors };
            Ok(unprocessable(consent_page(&ctx, p, form)))
        }
        Err(e) => Err(e),
    }
}

pub async fn withdraw_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: NoteForm = parse_form(&body)?;
    match patients::withdraw_consent(&app, &ctx, &p, &f).await {
        Ok(()) => Ok(Redirect::to(&format!("/patients/{}", p.patient.id)).into_response()),
        Err(WebError::Invalid(errors)) => {
            Ok(unprocessable(show_page(&app, &ctx, p, FormState::from_pairs(&body, errors)).await?))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "patients/form1.html")]
struct Form1Page {
    chrome: Chrome,
    p: Arc<PatientContext>,
    region: String,
    explainer: String,
    explainer_facility: String,
    today: String,
    scope: &'static str,
}

/// R4.2: the printable, pre-filled consent form (様式1).
pub async fn form1_get(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> Result<Response, WebError> {
    let me = ctx.user.clone().ok_or(WebError::NotFound)?;
    let explainer_facility = match &me.facility_id {
        Some(f) => app.store.facility(f).await?.map(|f| f.name).unwrap_or_default(),
        None => String::new(),
    };
    patients::audit_patient_view(&app, &ctx, AuditAction::ConsentViewed, &p, serde_json::json!({ "form": "様式1" }))
        .await?;
    Ok(render(&Form1Page {
        chrome: Chrome::new(&ctx, "在宅医療における個人情報使用同意書(様式1)"),
        region: ctx.settings.region_name.clone(),
        explainer: me.name.clone(),
        explainer_facility,
        today: crate::jst::date(ctx.now),
        scope: patients::DEFAULT_SCOPE,
        p,
    }))
}

#[derive(Template)]
#[template(path = "patients/scan.html")]
struct ScanPage {
    chrome: Chrome,
    patient_id: String,
    consent: kumanet_store::Consent,
}

/// R4.1, R9.3: the signed form's pages, cleaned and watermarked per view (each image audited).
pub async fn scan_get(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    Path((_, consent_id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let consent = patients::view_consent_scan_pages(&app, &ctx, &p, &consent_id).await?;
    Ok(render(&ScanPage {
        chrome: Chrome::new(&ctx, "署名された同意書"), patient_id: p.patient.id.clone(), consent
    }))
}

/// R4.1, R9.3: one page of the signed form, as a JPEG with the viewer's name and the time.
pub async fn scan_page_get(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    Path((_, consent_id, page)): Path<(String, String, i64)>,
) -> Result<Response, WebError> {
    let marked = patients::view_consent_scan(&app, &ctx, &p, &consent_id, page).await?;
    Ok(crate::html::posts::inline_jpeg(marked))
}

pub async fn delegation_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: DelegationForm = parse_form(&body)?;
    match patients::delegate(&app, &ctx, &p, &f).await {
        Ok(()) => Ok(Redirect::to(&format!("/patients/{}", p.patient.id)).into_response()),
        Err(WebError::Invalid(errors)) => {
            Ok(unprocessable(show_page(&app, &ctx, p, FormState::from_pairs(&body, errors)).await?))
        }
        Err(e) => Err(e),
    }
}

pub async fn group_create_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: NoteForm = parse_form(&body)?;
    let id = patients::create_group(&app, &ctx, &p).await?;
    Ok(Redirect::to(&format!("/groups/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "patients/group.html")]
struct GroupPage {
    chrome: Chrome,
    tl: super::posts::Timeline,
    p: Arc<PatientContext>,
    group_id: String,
    members: Vec<Member>,
    invitations: Vec<Invitation>,
    requests: Vec<RemovalRequest>,
    manager: bool,
    member: bool,
    withdrawn: bool,
    q: String,
    candidates: Vec<UserListItem>,
    form: FormState,
    proposal: Option<kumanet_store::FamilyProposal>,
    agreement: (usize, usize, usize, bool),
    my_vote: Option<bool>,
    family: Vec<kumanet_store::FamilyMember>,
    rule: &'static str,
    now: i64,
}

impl GroupPage {
    /// R10.1: an invitation older than 14 days can no longer be answered.
    fn expired(&self, created_at: impl std::borrow::Borrow<i64>) -> bool {
        !kumanet_core::policy::patient::invitation_open(*created_at.borrow(), self.now)
    }
}

#[derive(Deserialize, Default)]
pub struct GroupQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    before: Option<i64>,
    /// R12.1: one person to invite, chosen in the resource directory.
    #[serde(default)]
    invitee: Option<String>,
}

/// Approved IDs matching `q` (name or kana) in the staff directory, for an invitation to a group
/// or a board; `keep` says who may be invited there.
pub(crate) async fn invite_candidates(
    app: &App,
    q: &str,
    keep: impl Fn(&UserListItem) -> bool,
) -> Result<Vec<UserListItem>, WebError> {
    if q.trim().is_empty() {
        return Ok(Vec::new());
    }
    let query = UserQuery {
        text: Some(q.trim().to_string()),
        status: Some(UserStatus::Approved),
        limit: 30,
        ..UserQuery::default()
    };
    Ok(app.store.users(&query).await?.into_iter().filter(|c| keep(c)).collect())
}

async fn group_page(
    app: &App,
    ctx: &Ctx,
    p: Arc<PatientContext>,
    q: String,
    form: FormState,
    before: Option<i64>,
    invitee: Option<&str>,
) -> Result<Response, WebError> {
    let v = patients::read_group(app, ctx, &p).await?;
    let view = View { action: AuditAction::GroupViewed, details: v.audit_details(false) };
    let patients::GroupView { group_id, members, manager, invitations, requests, proposal, agreement, my_vote, family } =
        v;
    let tl = super::posts::timeline(app, ctx, &Room::Group(p.clone()), Part::Professional, before, view).await?;
    let may_invite = |c: &UserListItem| {
        kumanet_core::policy::patient::may_be_invited_to_group(c.user.role, c.user.status)
            && !members.iter().any(|m| m.user_id == c.user.id)
    };
    let candidates = match (manager, invitee) {
        (true, Some(id)) => app.store.user_list_item(id).await?.into_iter().filter(|c| may_invite(c)).collect(),
        (true, None) => invite_candidates(app, &q, may_invite).await?,
        (false, _) => Vec::new(),
    };
    Ok(render(&GroupPage {
        chrome: Chrome::new(ctx, &format!("{}さんのグループ", p.patient.name)),
        tl,
        group_id,
        member: p.is_member,
        withdrawn: p.consent == ConsentState::Withdrawn,
        p,
        members,
        invitations,
        requests,
        manager,
        q,
        candidates,
        form,
        proposal,
        agreement,
        my_vote,
        family,
        rule: ctx.settings.family_agreement.label(),
        now: ctx.now,
    }))
}

pub async fn group_get(
    State(app): State<App>,
    ctx: Ctx,
    Patient(patient): Patient,
    Query(q): Query<GroupQuery>,
) -> Result<Response, WebError> {
    group_page(&app, &ctx, patient, q.q, FormState::default(), q.before, q.invitee.as_deref()).await
}

pub async fn invite_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: InviteForm = parse_form(&body)?;
    match patients::invite(&app, &ctx, &p, &f).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/groups/{}", p.group.as_ref().map_or("", |g| g.id.as_str()))).into_response())
        }
        Err(WebError::Invalid(errors)) => Ok(unprocessable(
            group_page(&app, &ctx, p, String::new(), FormState::from_pairs(&body, errors), None, None).await?,
        )),
        Err(e) => Err(e),
    }
}

pub async fn remove_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    Path((_, user_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, WebError> {
    let _: NoteForm = parse_form(&body)?;
    patients::remove_member(&app, &ctx, &p, &user_id).await?;
    Ok(Redirect::to(&format!("/groups/{}", p.group.as_ref().map_or("", |g| g.id.as_str()))).into_response())
}

pub async fn leave_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: NoteForm = parse_form(&body)?;
    patients::request_removal(&app, &ctx, &p, &f).await?;
    Ok(super::message(
        &ctx,
        "担当を外れる申し出をしました",
        "グループの管理者(主治医または委託先)が承認すると、このグループから外れます。",
        &[("/patients", "患者さん一覧へ")],
    ))
}

#[derive(Template)]
#[template(path = "patients/invitations.html")]
struct InvitationsPage {
    chrome: Chrome,
    invitations: Vec<Invitation>,
    /// R5.4: invitations to bulletin boards.
    boards: Vec<kumanet_store::BoardInvitation>,
}

pub async fn invitations_get(State(app): State<App>, ctx: Ctx) -> Result<Response, WebError> {
    let invitations = app
        .store
        .open_invitations_for(ctx.user_id(), ctx.now - kumanet_core::policy::patient::INVITATION_VALID_US)
        .await?;
    patients::audit_invitations_read(&app, &ctx, None, invitations.len()).await?;
    let boards = crate::service::boards::open_invitations(&app, &ctx).await?;
    Ok(render(&InvitationsPage { chrome: Chrome::new(&ctx, "招待"), invitations, boards }))
}

#[derive(Template)]
#[template(path = "patients/invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    inv: Invitation,
    form: FormState,
    expired: bool,
}

pub async fn invitation_get(
    State(app): State<App>,
    ctx: Ctx,
    GroupInvitation(inv): GroupInvitation,
) -> Result<Response, WebError> {
    patients::audit_invitations_read(&app, &ctx, Some(&inv), 1).await?;
    let expired = !kumanet_core::policy::patient::invitation_open(inv.created_at, ctx.now);
    Ok(render(&InvitationPage {
        chrome: Chrome::new(&ctx, "グループへの招待"),
        inv,
        form: FormState::default(),
        expired,
    }))
}

pub async fn invitation_post(
    State(app): State<App>,
    ctx: Ctx,
    GroupInvitation(inv): GroupInvitation,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: AnswerForm = parse_form(&body)?;
    match patients::answer(&app, &ctx, &inv, &f).await {
        Ok(true) => Ok(Redirect::to(&format!("/groups/{}", inv.group_id)).into_response()),
        Ok(false) => Ok(super::message(
            &ctx,
            "招待を辞退しました",
            "招待した方にはグループの画面で伝わります。",
            &[("/invitations", "招待の一覧へ")],
        )),
        Err(WebError::Invalid(errors)) => {
            let form = FormState::from_pairs(&body, errors);
            Ok(unprocessable(render(&InvitationPage {
                chrome: Chrome::new(&ctx, "グループへの招待"),
                inv,
                form,
                expired: false,
            })))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "patients/shared.html")]
struct SharedPage {
    chrome: Chrome,
    tl: super::posts::Timeline,
    group_id: String,
    members: Vec<Member>,
    family: Vec<kumanet_store::FamilyMember>,
    professional: bool,
}

/// R5.3: the part shared with the patient and family: members by name and profession only.
pub async fn shared_get(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    Query(q): Query<crate::query::BeforeQuery>,
) -> Result<Response, WebError> {
    let v = patients::read_shared(&app, &p).await?;
    let view = View { action: AuditAction::SharedPartViewed, details: v.audit_details(false) };
    let tl = super::posts::timeline(&app, &ctx, &Room::Group(p.clone()), Part::Shared, q.before, view).await?;
    let patients::SharedView { group_id, members, family } = v;
    Ok(render(&SharedPage {
        chrome: Chrome::new(&ctx, &format!("{}さんのグループ(患者・家族と共有)", p.patient.name)),
        tl,
        professional: !p.is_family,
        group_id,
        members,
        family,
    }))
}

fn back_to_group(p: &PatientContext) -> Response {
    Redirect::to(&format!("/groups/{}", p.group.as_ref().map_or("", |g| g.id.as_str()))).into_response()
}

async fn group_with_errors(
    app: &App,
    ctx: &Ctx,
    p: Arc<PatientContext>,
    body: &Bytes,
    e: WebError,
) -> Result<Response, WebError> {
    match e {
        WebError::Invalid(errors) => Ok(unprocessable(
            group_page(app, ctx, p, String::new(), FormState::from_pairs(body, errors), None, None).await?,
        )),
        other => Err(other),
    }
}

pub async fn family_propose_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: NoteForm = parse_form(&body)?;
    match patients::propose_family(&app, &ctx, &p, &f).await {
        Ok(()) => Ok(back_to_group(&p)),
        Err(e) => group_with_errors(&app, &ctx, p, &body, e).await,
    }
}

pub async fn family_vote_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: patients::VoteForm = parse_form(&body)?;
    match patients::vote_family(&app, &ctx, &p, &f).await {
        Ok(()) => Ok(back_to_group(&p)),
        Err(e) => group_with_errors(&app, &ctx, p, &body, e).await,
    }
}

#[derive(Template)]
#[template(path = "patients/family_issued.html")]
struct FamilyIssuedPage {
    chrome: Chrome,
    issued: crate::service::admin::Issued,
    patient_name: String,
    region: String,
    group_id: String,
}

/// R5.3: the account, and a printable invitation letter with the one-time password.
pub async fn family_account_post(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    body: Bytes,
) -> Result<Response, WebError> {
    let f: patients::FamilyForm = parse_form(&body)?;
    match patients::create_family_account(&app, &ctx, &p, &f).await {
        Ok(issued) => Ok(render(&FamilyIssuedPage {
            chrome: Chrome::new(&ctx, "患者・家族のアカウントを作成しました"),
            issued,
            patient_name: p.patient.name.clone(),
            region: ctx.settings.region_name.clone(),
            group_id: p.group.as_ref().map(|g| g.id.clone()).unwrap_or_default(),
        })),
        Err(e) => group_with_errors(&app, &ctx, p, &body, e).await,
    }
}
