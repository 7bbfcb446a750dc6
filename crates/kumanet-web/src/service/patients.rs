//! Patients, consent, delegation, groups and invitations (第3条–第5条, 第10条; R3.1, R4.1–R4.3,
//! R5.1, R5.2, R10.1, R10.5). The gate has decided who may; these apply the rules and write, with
//! the audit row, in one transaction.

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::people::{parse_kana, parse_name, Role, UserStatus};
use kumanet_core::policy::patient::{
    check_basis, may_be_invited_to_group, scan_type, Consenter, EligibilityBasis, Sex, SCAN_MAX_BYTES,
};
use kumanet_core::policy::post::Part;
use kumanet_media::MediaError;
use kumanet_store::{Consent, ConsentScan, Group, Invitation, NewConsent, NewPatient, PatientContext};
use serde::Deserialize;

use super::{attachments, new_id, required_text};
use crate::error::{FieldErrors, WebError};
use crate::request::{AuditTarget, Ctx};
use crate::App;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientForm {
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub kana: String,
    #[serde(default)]
    #[schema(required = true)]
    pub birth_date: String,
    #[serde(default)]
    #[schema(required = true, value_type = kumanet_core::policy::patient::Sex)]
    pub sex: String,
    #[serde(default)]
    #[schema(required = true)]
    pub address: String,
    #[serde(default)]
    #[schema(required = true, value_type = kumanet_core::policy::patient::EligibilityBasis)]
    pub basis: String,
    #[serde(default)]
    pub basis_reason: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// A calendar date `YYYY-MM-DD` between 1900-01-01 and today (Japan time).
fn past_date(value: &str, field: &str, label: &str, today: &str, errors: &mut FieldErrors) -> String {
    let v = value.trim();
    let ok = crate::jst::parse_date_jst(v).is_some() && v.len() == 10 && v >= "1900-01-01" && v <= today;
    if !ok {
        errors.add(field, format!("{label}を正しい日付(今日以前)で入力してください。"));
    }
    v.to_string()
}

fn today(ctx: &Ctx) -> String {
    crate::jst::iso_date_jst(ctx.now)
}

/// R3.1, R5.1: the attending physician registers a patient with the basis of eligibility.
pub async fn register(app: &App, ctx: &Ctx, f: &PatientForm) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    let name = parse_name(&f.name).map_err(|p| errors.problem("name", "氏名", &p)).unwrap_or_default();
    let kana = parse_kana(&f.kana).map_err(|p| errors.problem("kana", "ふりがな", &p)).unwrap_or_default();
    let birth_date = past_date(&f.birth_date, "birth_date", "生年月日", &today(ctx), &mut errors);
    let sex = Sex::from_code(f.sex.trim());
    if sex.is_none() {
        errors.add("sex", "性別を選んでください。");
    }
    let address = required_text(&f.address, "address", "住所", 200, &mut errors);
    let basis = EligibilityBasis::from_code(f.basis.trim());
    match basis {
        None => errors.add("basis", "対象となる理由を選んでください。"),
        Some(b) => {
            if let Err(m) = check_basis(b, &f.basis_reason) {
                errors.add("basis_reason", m);
            }
        }
    }
    errors.into_result()?;
    let (Some(sex), Some(basis)) = (sex, basis) else { return Err(WebError::Internal("patient parse".into())) };
    let id = new_id();
    let mut tx = app.store.begin().await?;
    tx.insert_patient(
        &NewPatient {
            id: id.clone(),
            name,
            kana,
            birth_date,
            sex,
            address,
            attending_id: ctx.user_id().to_string(),
            basis,
            basis_reason: f.basis_reason.trim().to_string(),
            created_by: ctx.user_id().to_string(),
        },
        ctx.now,
    )
    .await?;
    tx.audit(
        ctx.audit(AuditAction::PatientRegistered, AuditResult::Ok)
            .on("patient", &id)
            .details(serde_json::json!({ "basis": basis.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The consent form's fields (様式1), from a multipart form.
#[derive(Debug, Clone, Default)]
pub struct ConsentInput {
    pub consenter: String,
    pub consenter_name: String,
    pub relationship: String,
    pub consented_on: String,
    pub scope: String,
    /// The scan, if one was attached (bytes).
    pub scan: Option<Vec<u8>>,
}

pub const DEFAULT_SCOPE: &str = "在宅医療・介護に携わる関係者が、くまねっとで療養に必要な情報を共有すること";

/// R4.1: record who explained, who consented (and their relationship), when, and optionally the scan.
pub async fn record_consent(app: &App, ctx: &Ctx, p: &PatientContext, f: &ConsentInput) -> Result<(), WebError> {
    let mut errors = FieldErrors::default();
    let consenter = Consenter::from_code(f.consenter.trim());
    if consenter.is_none() {
        errors.add("consenter", "同意したのが本人か家族かを選んでください。");
    }
    let consenter_name = parse_name(&f.consenter_name)
        .map_err(|p| errors.problem("consenter_name", "同意した方の氏名", &p))
        .unwrap_or_default();
    let relationship = f.relationship.trim().to_string();
    if consenter == Some(Consenter::Family) && relationship.is_empty() {
        errors.add("relationship", "ご家族の場合は、患者さんとの続柄を入力してください。");
    }
    if relationship.chars().count() > 32 {
        errors.add("relationship", "続柄は32文字以内で入力してください。");
    }
    let consented_on = past_date(&f.consented_on, "consented_on", "同意日", &today(ctx), &mut errors);
    let scope = required_text(
        if f.scope.trim().is_empty() { DEFAULT_SCOPE } else { &f.scope },
        "scope",
        "同意の範囲",
        500,
        &mut errors,
    );
    let scan = match &f.scan {
        Some(bytes) if bytes.len() > SCAN_MAX_BYTES => {
            errors.add("scan", "同意書の画像は10MBまでです。");
            None
        }
        Some(bytes) => match scan_type(bytes) {
            Some(t) => Some((bytes.clone(), t)),
            None => {
                errors.add("scan", "同意書の画像はPDF・JPEG・PNGのいずれかにしてください。");
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    let Some(consenter) = consenter else { return Err(WebError::Internal("consent parse".into())) };
    // R9.3: cleaned like a post's attachment before anything is kept.
    let (scan, scan_audit) = match scan {
        Some((bytes, mime)) => match clean_scan(app, bytes, mime).await? {
            Ok((kept, exif_removed)) => {
                let audit =
                    serde_json::json!({ "type": mime, "pages": kept.pages.len(), "exif_removed": exif_removed });
                (Some(kept), audit)
            }
            Err(e) => {
                tracing::info!("consent scan refused: {e}");
                let mut errors = FieldErrors::default();
                errors.add("scan", format!("同意書の画像: {}", crate::messages::media(&e)));
                return Err(WebError::Invalid(errors));
            }
        },
        None => (None, serde_json::Value::Null),
    };
    let id = new_id();
    let mut tx = app.store.begin().await?;
    tx.insert_consent(
        &NewConsent {
            id: id.clone(),
            patient_id: p.patient.id.clone(),
            explained_by: ctx.user_id().to_string(),
            consenter,
            consenter_name,
            relationship: if consenter == Consenter::Patient { "本人".to_string() } else { relationship },
            consented_on,
            scope,
            scan,
            recorded_by: ctx.user_id().to_string(),
        },
        ctx.now,
    )
    .await?;
    tx.audit(
        ctx.audit(AuditAction::ConsentRecorded, AuditResult::Ok)
            .on("patient", &p.patient.id)
            .details(serde_json::json!({ "consent_id": id, "consenter": consenter.code(), "scan": scan_audit })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// R9.3: a scan cleaned as a post's attachment is (an image re-encoded without metadata, a PDF
/// rendered to page images), within the memory budget; whether EXIF was removed.
async fn clean_scan(
    app: &App,
    bytes: Vec<u8>,
    mime: &'static str,
) -> Result<Result<(ConsentScan, bool), MediaError>, WebError> {
    let cleaned = app.media.run(bytes, attachments::process).await?;
    Ok(cleaned.map(|p| (ConsentScan { mime, original: p.original, pages: p.pages }, p.exif_removed)))
}

/// R4.1: the patient's consent `consent_id` with its scan's pages ready to show. A scan kept as
/// sent (recorded before scans were cleaned) is cleaned now, once, and the raw image dropped.
async fn consent_with_scan(app: &App, p: &PatientContext, consent_id: &str) -> Result<Consent, WebError> {
    let mut consent = app
        .store
        .consents(&p.patient.id)
        .await?
        .into_iter()
        .find(|c| c.id == consent_id && c.scan_type.is_some())
        .ok_or(WebError::NotFound)?;
    if consent.scan_pages > 0 {
        return Ok(consent);
    }
    let (raw, mime) = app.store.consent_scan(consent_id).await?.ok_or(WebError::NotFound)?;
    let cleaned = app.media.run(raw, attachments::process).await?;
    let p = cleaned
        .map_err(|e| WebError::Internal(format!("consent scan {consent_id} ({mime}) cannot be cleaned: {e}")))?;
    let mut tx = app.store.begin().await?;
    tx.set_consent_scan_pages(consent_id, &p.pages, p.original.as_deref()).await?;
    tx.commit().await?;
    tracing::info!(consent_id, pages = p.pages.len(), "a consent scan kept as sent was cleaned");
    consent.scan_pages = p.pages.len() as i64;
    Ok(consent)
}

/// Writes the audit row of a view of this patient's information (R11.1): the one helper pages
/// and the API share.
pub async fn audit_patient_view(
    app: &App,
    ctx: &Ctx,
    action: AuditAction,
    p: &PatientContext,
    details: serde_json::Value,
) -> Result<(), WebError> {
    crate::service::admin::audit_view(app, ctx, action, Some(("patient", &p.patient.id)), details).await
}

/// The patient as the page and the API show it.
pub struct PatientView {
    pub consents: Vec<Consent>,
    /// The asker is the attending physician.
    pub attending: bool,
    /// The asker manages the patient's group (`manages`).
    pub manager: bool,
}

/// R11.1: the patient, the consent history (without scans) and the asker's standing, the view
/// audited in the same call (`api` marks views through the API).
pub async fn view_patient(app: &App, ctx: &Ctx, p: &PatientContext, api: bool) -> Result<PatientView, WebError> {
    let consents = app.store.consents(&p.patient.id).await?;
    let details = super::api_marked(serde_json::json!({}), api);
    audit_patient_view(app, ctx, AuditAction::PatientViewed, p, details).await?;
    Ok(PatientView { consents, attending: p.patient.attending_id == ctx.user_id(), manager: manages(ctx, p) })
}

/// A patient's group as its members see it: who is in it, the family's participation and, for
/// its managers, the pending invitations and requests to leave.
pub struct GroupView {
    pub group_id: String,
    pub members: Vec<kumanet_store::Member>,
    pub manager: bool,
    pub invitations: Vec<Invitation>,
    pub requests: Vec<kumanet_store::RemovalRequest>,
    pub proposal: Option<kumanet_store::FamilyProposal>,
    /// (members, agreeing, objecting, agreed) of the family's proposal.
    pub agreement: (usize, usize, usize, bool),
    pub my_vote: Option<bool>,
    pub family: Vec<kumanet_store::FamilyMember>,
}

impl GroupView {
    /// What a view of the group writes to the audit log (R11.1).
    pub fn audit_details(&self, api: bool) -> serde_json::Value {
        super::api_marked(serde_json::json!({ "group_id": self.group_id, "members": self.members.len() }), api)
    }
}

/// The group, read but not yet audited: the page audits it with its timeline, in one commit
/// with the reader's cursor (`view_group` audits it alone).
pub async fn read_group(app: &App, ctx: &Ctx, p: &PatientContext) -> Result<GroupView, WebError> {
    let group_id = group_of(p)?.id.clone();
    let members = app.store.members(&group_id).await?;
    let manager = manages(ctx, p);
    let (invitations, requests) = if manager {
        (app.store.pending_invitations_of_group(&group_id).await?, app.store.removal_requests(&group_id).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let proposal = app.store.family_proposal(&group_id).await?;
    let agreement = agreement(app, ctx, &group_id).await?;
    let my_vote =
        proposal.as_ref().and_then(|pr| pr.votes.iter().find(|v| v.user_id == ctx.user_id()).map(|v| v.agree));
    let family = app.store.family_members(&group_id).await?;
    Ok(GroupView { group_id, members, manager, invitations, requests, proposal, agreement, my_vote, family })
}

/// R11.1: the group, its view audited.
pub async fn view_group(app: &App, ctx: &Ctx, p: &PatientContext, api: bool) -> Result<GroupView, WebError> {
    let v = read_group(app, ctx, p).await?;
    audit_patient_view(app, ctx, AuditAction::GroupViewed, p, v.audit_details(api)).await?;
    Ok(v)
}

/// R5.3: the part shared with the patient and family: the professionals (by name and
/// profession only there) and the family members.
pub struct SharedView {
    pub group_id: String,
    pub members: Vec<kumanet_store::Member>,
    pub family: Vec<kumanet_store::FamilyMember>,
}

impl SharedView {
    /// What a view of the shared part writes to the audit log (R11.1).
    pub fn audit_details(&self, api: bool) -> serde_json::Value {
        super::api_marked(serde_json::json!({ "group_id": self.group_id }), api)
    }
}

/// The shared part, read but not yet audited (the page audits it with its timeline).
pub async fn read_shared(app: &App, p: &PatientContext) -> Result<SharedView, WebError> {
    let group_id = group_of(p)?.id.clone();
    let members = app.store.members(&group_id).await?;
    let family = app.store.family_members(&group_id).await?;
    Ok(SharedView { group_id, members, family })
}

/// R5.3, R11.1: the shared part, its view audited.
pub async fn view_shared(app: &App, ctx: &Ctx, p: &PatientContext, api: bool) -> Result<SharedView, WebError> {
    let v = read_shared(app, p).await?;
    audit_patient_view(app, ctx, AuditAction::SharedPartViewed, p, v.audit_details(api)).await?;
    Ok(v)
}

/// R4.1, R11.1: the consent form is opened, pre-filled with the patient's name: a view, audited.
pub async fn open_consent_form(app: &App, ctx: &Ctx, p: &PatientContext) -> Result<(), WebError> {
    audit_patient_view(app, ctx, AuditAction::PatientViewed, p, serde_json::json!({ "form": "consent" })).await
}

/// R4.1, R11.1: the signed form's page list (who consented, when, how many pages), audited.
pub async fn view_consent_scan_pages(
    app: &App,
    ctx: &Ctx,
    p: &PatientContext,
    consent_id: &str,
) -> Result<Consent, WebError> {
    let consent = consent_with_scan(app, p, consent_id).await?;
    let details = serde_json::json!({ "scan": consent.id, "pages": consent.scan_pages });
    audit_patient_view(app, ctx, AuditAction::ConsentViewed, p, details).await?;
    Ok(consent)
}

/// R4.1, R9.3: page `page` of the scan, watermarked for this viewer, the view audited.
pub async fn view_consent_scan(
    app: &App,
    ctx: &Ctx,
    p: &PatientContext,
    consent_id: &str,
    page: i64,
) -> Result<Vec<u8>, WebError> {
    let consent = consent_with_scan(app, p, consent_id).await?;
    let stored = app.store.consent_scan_page(&consent.id, page).await?.ok_or(WebError::NotFound)?;
    let marked = attachments::watermarked(app, stored, attachments::viewer_lines(ctx)?).await?;
    audit_patient_view(
        app,
        ctx,
        AuditAction::ConsentViewed,
        p,
        serde_json::json!({ "scan": consent.id, "page": page }),
    )
    .await?;
    Ok(marked)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteForm {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R4.3: withdrawal makes every group of the patient read-only at once; nothing is deleted.
pub async fn withdraw_consent(app: &App, ctx: &Ctx, p: &PatientContext, f: &NoteForm) -> Result<(), WebError> {
    let mut errors = FieldErrors::default();
    let note = required_text(&f.note, "note", "撤回の申し出の内容(いつ・誰から)", 300, &mut errors);
    errors.into_result()?;
    let latest = app.store.latest_consent(&p.patient.id).await?.ok_or(WebError::NotFound)?;
    let mut tx = app.store.begin().await?;
    if !tx.withdraw_consent(&latest.id, ctx.user_id(), &note, ctx.now).await? {
        return Err(WebError::Refused("この同意はすでに撤回されています。".into()));
    }
    tx.audit(
        ctx.audit(AuditAction::ConsentWithdrawn, AuditResult::Ok)
            .on("patient", &p.patient.id)
            .details(serde_json::json!({ "consent_id": latest.id })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationForm {
    /// A facility id, or empty to take the management back. Required, so an empty post changes nothing.
    #[schema(required = true)]
    pub facility_id: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R5.1: the attending physician delegates the group's management to a facility, or takes it back.
pub async fn delegate(app: &App, ctx: &Ctx, p: &PatientContext, f: &DelegationForm) -> Result<(), WebError> {
    let target = f.facility_id.trim();
    let facility = if target.is_empty() {
        None
    } else {
        let fac = app.store.facility(target).await?;
        if fac.is_none() {
            let mut errors = FieldErrors::default();
            errors.add("facility_id", "委託先の施設を一覧から選んでください。");
            return Err(WebError::Invalid(errors));
        }
        fac
    };
    let mut tx = app.store.begin().await?;
    tx.set_delegation(&p.patient.id, facility.as_ref().map(|f| f.id.as_str()), ctx.now).await?;
    tx.audit(ctx.audit(AuditAction::DelegationChanged, AuditResult::Ok).on("patient", &p.patient.id).details(
        serde_json::json!({
            "from": p.patient.delegated_facility_id, "to": facility.as_ref().map(|f| f.id.clone()),
        }),
    ))
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// R4.1, R5.1: open the patient's group (one per patient). The attending physician and the
/// creator are its first members.
pub async fn create_group(app: &App, ctx: &Ctx, p: &PatientContext) -> Result<String, WebError> {
    if let Some(g) = &p.group {
        return Ok(g.id.clone());
    }
    let id = new_id();
    let mut tx = app.store.begin().await?;
    tx.insert_group(&id, &p.patient.id, ctx.user_id(), ctx.now).await?;
    tx.add_member(&id, &p.patient.attending_id, ctx.now).await?;
    if ctx.user_id() != p.patient.attending_id {
        tx.add_member(&id, ctx.user_id(), ctx.now).await?;
    }
    tx.audit(
        ctx.audit(AuditAction::GroupCreated, AuditResult::Ok)
            .on("patient", &p.patient.id)
            .details(serde_json::json!({ "group_id": id })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    #[serde(default)]
    #[schema(required = true)]
    pub invitee_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub reason: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// The patients the asker may see (attending, delegated facility, member), `text` matching name or
/// kana; the listing is a view of patient information, so it is audited (R11.1).
pub async fn list_visible(
    app: &App,
    ctx: &Ctx,
    text: &str,
    api: bool,
) -> Result<Vec<kumanet_store::Patient>, WebError> {
    let u = ctx.user.as_ref().ok_or(WebError::NotFound)?;
    let text = text.trim();
    let list = app.store.visible_patients(&u.id, u.facility_id.as_deref(), (!text.is_empty()).then_some(text)).await?;
    let details = serde_json::json!({ "results": list.len(), "query_chars": text.chars().count(), "api": api });
    crate::service::admin::audit_view(app, ctx, AuditAction::PatientsListed, None, details).await?;
    Ok(list)
}

/// R5.1: does the asker manage this patient's group (attending physician, or staff of the delegated
/// facility)? For showing the managers' controls; the gate decides every operation itself.
pub fn manages(ctx: &Ctx, p: &PatientContext) -> bool {
    kumanet_core::authz::manages(
        ctx.user_id(),
        ctx.user.as_ref().and_then(|u| u.facility_id.as_deref()),
        &p.patient.attending_id,
        p.patient.delegated_facility_id.as_deref(),
    )
}

fn group_of(p: &PatientContext) -> Result<&Group, WebError> {
    p.group.as_ref().ok_or(WebError::NotFound)
}

/// R5.2, R10.1: invite an approved professional of any facility, saying why.
pub async fn invite(app: &App, ctx: &Ctx, p: &PatientContext, f: &InviteForm) -> Result<String, WebError> {
    let group = group_of(p)?;
    let mut errors = FieldErrors::default();
    let reason = required_text(&f.reason, "reason", "招待の理由(担当する内容)", 200, &mut errors);
    let invitee = app.store.user_by_id(f.invitee_id.trim()).await?;
    match &invitee {
        Some(u) if may_be_invited_to_group(u.role, u.status) => {}
        _ => errors.add("invitee_id", "招待できるのは、承認済みの施設の職員です。職員名簿から選んでください。"),
    }
    errors.into_result()?;
    let Some(invitee) = invitee else { return Err(WebError::NotFound) };
    if app.store.is_member(&group.id, &invitee.id).await? {
        return Err(WebError::Refused(format!("{}さんはすでにこのグループのメンバーです。", invitee.name)));
    }
    let id = new_id();
    let mut tx = app.store.begin().await?;
    tx.expire_invitations(
        &group.id,
        &invitee.id,
        ctx.now - kumanet_core::policy::patient::INVITATION_VALID_US,
        ctx.now,
    )
    .await?;
    if tx.has_pending_invitation(&group.id, &invitee.id).await? {
        return Err(WebError::Refused(format!("{}さんへの招待はすでに返事待ちです。", invitee.name)));
    }
    tx.insert_invitation(&id, &group.id, &invitee.id, ctx.user_id(), &reason, ctx.now).await?;
    tx.notify(
        &new_id(),
        &invitee.id,
        &format!(
            "{}さんから、患者グループへの招待が届いています。「招待」から内容を確認してください。",
            ctx.user.as_ref().map_or("", |u| u.name.as_str())
        ),
        ctx.now,
    )
    .await?;
    tx.audit(ctx.audit(AuditAction::MemberInvited, AuditResult::Ok).on("patient", &p.patient.id).details(
        serde_json::json!({
            "group_id": group.id, "invitation_id": id, "invitee_id": invitee.id,
        }),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerForm {
    #[serde(default)]
    #[schema(required = true)]
    pub decision: String,
    /// R10.1: the invitee confirms that taking part is appropriate.
    #[serde(default)]
    pub appropriate: Option<String>,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R10.1, R11.1: invitations name the patient, so reading them is audited like any patient data:
/// the inbox with its count, one invitation with its patient.
pub async fn audit_invitations_read(
    app: &App,
    ctx: &Ctx,
    one: Option<&Invitation>,
    count: usize,
) -> Result<(), WebError> {
    match one {
        Some(inv) => {
            let details = serde_json::json!({ "invitation_id": inv.id, "group_id": inv.group_id });
            crate::service::admin::audit_view(
                app,
                ctx,
                AuditAction::InvitationViewed,
                Some(("patient", &inv.patient_id)),
                details,
            )
            .await
        }
        None => {
            let details = serde_json::json!({ "inbox": true, "count": count });
            crate::service::admin::audit_view(app, ctx, AuditAction::InvitationViewed, None, details).await
        }
    }
}

/// R10.1: accept (after confirming it is appropriate) or decline; invitations expire after 14 days.
pub async fn answer(app: &App, ctx: &Ctx, inv: &Invitation, f: &AnswerForm) -> Result<bool, WebError> {
    if inv.state != "pending" {
        return Err(WebError::Refused("この招待にはすでに回答済みか、取り消されています。".into()));
    }
    if !kumanet_core::policy::patient::invitation_open(inv.created_at, ctx.now) {
        return Err(WebError::Refused("この招待は有効期限(14日)が切れています。招待した方に連絡してください。".into()));
    }
    let accept = super::accept_or_decline(&f.decision)?;
    if accept && f.appropriate.is_none() {
        let mut errors = FieldErrors::default();
        errors.add("appropriate", "参加することがふさわしいかを確認し、チェックしてください(運用ポリシー第10条(1))。");
        return Err(WebError::Invalid(errors));
    }
    let mut tx = app.store.begin().await?;
    if !tx.answer_invitation(&inv.id, if accept { "accepted" } else { "declined" }, ctx.now).await? {
        return Err(WebError::Refused("この招待にはすでに回答済みです。".into()));
    }
    if accept {
        tx.add_member(&inv.group_id, &inv.invitee_id, ctx.now).await?;
    }
    let action = if accept { AuditAction::InvitationAccepted } else { AuditAction::InvitationDeclined };
    tx.audit(ctx.audit(action, AuditResult::Ok).on("patient", &inv.patient_id).details(serde_json::json!({
        "group_id": inv.group_id, "invitation_id": inv.id, "confirmed_appropriate": f.appropriate.is_some(),
    })))
    .await?;
    tx.commit().await?;
    Ok(accept)
}

/// R5.2: a manager removes a member; access ends at the member's next request.
pub async fn remove_member(app: &App, ctx: &Ctx, p: &PatientContext, user_id: &str) -> Result<(), WebError> {
    let group = group_of(p)?;
    if user_id == p.patient.attending_id {
        return Err(WebError::Refused("主治医はグループから外せません。".into()));
    }
    let mut tx = app.store.begin().await?;
    if !tx.remove_member(&group.id, user_id, ctx.user_id(), ctx.now).await? {
        return Err(WebError::NotFound);
    }
    tx.close_removal_requests(&group.id, user_id, ctx.user_id(), ctx.now).await?;
    tx.audit(ctx.audit(AuditAction::MemberRemoved, AuditResult::Ok).on("patient", &p.patient.id).details(
        serde_json::json!({
            "group_id": group.id, "user_id": user_id,
        }),
    ))
    .await?;
    // Their open pages stop receiving at once, in both parts.
    let mut out = crate::live::Outbox::default();
    for part in [Part::Professional, Part::Shared] {
        out.add(&mut tx, crate::live::LiveEvent::removed(&group.id, part, user_id)).await?;
    }
    tx.commit().await?;
    out.after_commit(&app.live);
    Ok(())
}

/// R10.5: "担当を外れる" — one step for the member; a manager approves in one step.
pub async fn request_removal(app: &App, ctx: &Ctx, p: &PatientContext, f: &NoteForm) -> Result<(), WebError> {
    let group = group_of(p)?;
    let note = f.note.trim();
    let note = if note.is_empty() { "担当を外れました" } else { note };
    if note.chars().count() > 200 {
        let mut errors = FieldErrors::default();
        errors.add("note", "200文字以内で入力してください。");
        return Err(WebError::Invalid(errors));
    }
    if app.store.removal_requests(&group.id).await?.iter().any(|r| r.user_id == ctx.user_id()) {
        return Err(WebError::Refused("すでに申し出ています。グループの管理者の承認をお待ちください。".into()));
    }
    let mut tx = app.store.begin().await?;
    tx.insert_removal_request(&new_id(), &group.id, ctx.user_id(), note, ctx.now).await?;
    tx.audit(
        ctx.audit(AuditAction::RemovalRequested, AuditResult::Ok)
            .on("patient", &p.patient.id)
            .details(serde_json::json!({ "group_id": group.id })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteForm {
    #[serde(default)]
    #[schema(required = true)]
    pub decision: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R5.3: a manager proposes that the patient or family take part, saying why.
pub async fn propose_family(app: &App, ctx: &Ctx, p: &PatientContext, f: &NoteForm) -> Result<(), WebError> {
    let group = group_of(p)?;
    let mut errors = FieldErrors::default();
    let reason = required_text(&f.note, "note", "参加が必要・有効と考える理由", 300, &mut errors);
    errors.into_result()?;
    let mut tx = app.store.begin().await?;
    let id = new_id();
    tx.insert_family_proposal(&id, &group.id, ctx.user_id(), &reason, ctx.now).await?;
    tx.audit(
        ctx.audit(AuditAction::FamilyProposed, AuditResult::Ok)
            .on("patient", &p.patient.id)
            .details(serde_json::json!({ "group_id": group.id, "proposal_id": id })),
    )
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// R5.3: each active professional member agrees or objects, with a comment (required to object).
pub async fn vote_family(app: &App, ctx: &Ctx, p: &PatientContext, f: &VoteForm) -> Result<(), WebError> {
    let group = group_of(p)?;
    let proposal = app
        .store
        .family_proposal(&group.id)
        .await?
        .ok_or_else(|| WebError::Refused("患者・家族の参加はまだ提案されていません。".into()))?;
    let mut errors = FieldErrors::default();
    let agree = match f.decision.as_str() {
        "agree" => Some(true),
        "object" => Some(false),
        _ => {
            errors.add("decision", "賛成か反対かを選んでください。");
            None
        }
    };
    let comment = f.comment.trim().to_string();
    if agree == Some(false) && comment.is_empty() {
        errors.add("comment", "反対の場合は、理由をコメントに書いてください。");
    }
    if comment.chars().count() > 300 {
        errors.add("comment", "コメントは300文字以内で入力してください。");
    }
    errors.into_result()?;
    let agree = agree.unwrap_or(false);
    let mut tx = app.store.begin().await?;
    tx.put_family_vote(&proposal.id, ctx.user_id(), agree, &comment, ctx.now).await?;
    tx.audit(ctx.audit(AuditAction::FamilyVoted, AuditResult::Ok).on("patient", &p.patient.id).details(
        serde_json::json!({
            "group_id": group.id, "proposal_id": proposal.id, "agree": agree,
        }),
    ))
    .await?;
    tx.commit().await.map_err(WebError::from)
}

/// The state of the agreement: (active professionals, agree, object, rule met).
pub async fn agreement(app: &App, ctx: &Ctx, group_id: &str) -> Result<(usize, usize, usize, bool), WebError> {
    let members = app.store.members(group_id).await?;
    let Some(proposal) = app.store.family_proposal(group_id).await? else { return Ok((members.len(), 0, 0, false)) };
    let active = |id: &str| members.iter().any(|m| m.user_id == id);
    let agree = proposal.votes.iter().filter(|v| v.agree && active(&v.user_id)).count();
    let object = proposal.votes.iter().filter(|v| !v.agree && active(&v.user_id)).count();
    let met = kumanet_core::policy::patient::agreement_met(ctx.settings.family_agreement, members.len(), agree, object);
    Ok((members.len(), agree, object, met))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilyForm {
    #[serde(default)]
    #[schema(required = true)]
    pub login_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true)]
    pub kana: String,
    #[serde(default)]
    #[schema(required = true)]
    pub relationship: String,
    #[serde(default)]
    #[schema(ignore)]
    pub csrf: Option<kumanet_core::secret::Secret>,
}

/// R5.3: once the agreement rule is met, a manager creates the patient/family account with a
/// one-time password; it sees only the shared part of this one group.
pub async fn create_family_account(
    app: &App,
    ctx: &Ctx,
    p: &PatientContext,
    f: &FamilyForm,
) -> Result<crate::service::admin::Issued, WebError> {
    let group = group_of(p)?;
    let (_, _, _, met) = agreement(app, ctx, &group.id).await?;
    if !met {
        return Err(WebError::Refused(format!(
            "参加中の専門職の合意({})がまだ得られていないため、アカウントを作成できません。",
            ctx.settings.family_agreement.label()
        )));
    }
    let mut errors = FieldErrors::default();
    let login_id = kumanet_core::people::LoginId::parse(&f.login_id).map_err(|m| errors.add("login_id", m)).ok();
    let name = parse_name(&f.name).map_err(|p| errors.problem("name", "氏名", &p)).unwrap_or_default();
    let kana = parse_kana(&f.kana).map_err(|p| errors.problem("kana", "ふりがな", &p)).unwrap_or_default();
    let relationship =
        required_text(&f.relationship, "relationship", "患者さんとの関係(本人・長女など)", 32, &mut errors);
    errors.into_result()?;
    let Some(login_id) = login_id else { return Err(WebError::Internal("login id".into())) };
    let password = crate::passwords::issue_password();
    let hash = app.hasher.hash(&password).await?;
    let user_id = new_id();
    let mut tx = app.store.begin().await?;
    tx.insert_user(
        &kumanet_store::NewUser {
            id: user_id.clone(),
            login_id: login_id.as_str().to_string(),
            name: name.clone(),
            kana,
            role: Role::PatientFamily,
            profession: None,
            facility_id: None,
            email: String::new(),
            phone: String::new(),
            status: UserStatus::Approved,
            password_hash: hash.into(),
            password_issued: true,
            password_expires_at: None,
        },
        ctx.now,
    )
    .await
    .map_err(|e| match WebError::from(e) {
        WebError::Conflict(_) => {
            let mut errors = FieldErrors::default();
            errors.add("login_id", "このログインIDはすでに使われています。別のIDにしてください。");
            WebError::Invalid(errors)
        }
        other => other,
    })?;
    tx.insert_family_member(&user_id, &group.id, &relationship, ctx.user_id(), ctx.now).await?;
    tx.audit(ctx.audit(AuditAction::FamilyJoined, AuditResult::Ok).on("patient", &p.patient.id).details(
        serde_json::json!({
            "group_id": group.id, "user_id": user_id, "relationship": relationship,
        }),
    ))
    .await?;
    tx.commit().await?;
    Ok(crate::service::admin::Issued {
        user_id,
        login_id: login_id.as_str().to_string(),
        name,
        password: password.into(),
    })
}
