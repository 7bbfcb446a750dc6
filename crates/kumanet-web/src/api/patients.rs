//! The JSON API of patients (R3), consent (R2), patient groups, invitations and the family's
//! participation (R5).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kumanet_core::people::Profession;
use kumanet_core::policy::patient::{ConsentState, FamilyRule};
use kumanet_store::{Consent, FamilyMember, FamilyProposal, Invitation, Member, PatientContext, RemovalRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Answer, Answered, Created, Documented, JsonBody, Reply, Schemas};
use crate::error::{ApiError, FieldErrors, WebError};
use crate::query::TextQuery;
use crate::request::{Ctx, GroupInvitation, Patient};
use crate::service::patients::{
    self, AnswerForm, ConsentInput, DelegationForm, FamilyForm, InviteForm, NoteForm, PatientForm, VoteForm,
};
use crate::App;

// ---- Patients, consent, groups and invitations: the twins of `html/patients.rs` ----

fn group_id_of(p: &PatientContext) -> Result<String, WebError> {
    p.group.as_ref().map(|g| g.id.clone()).ok_or(WebError::NotFound)
}

/// R5.3: where the professionals stand on the family's participation.
#[derive(Serialize, ToSchema)]
pub struct Agreement {
    pub rule: FamilyRule,
    pub rule_label: String,
    pub professionals: usize,
    pub agree: usize,
    pub object: usize,
    pub met: bool,
}

fn agreement_view(ctx: &Ctx, (professionals, agree, object, met): (usize, usize, usize, bool)) -> Agreement {
    let rule = ctx.settings.family_agreement;
    Agreement { rule, rule_label: rule.label().to_string(), professionals, agree, object, met }
}

/// The patients one may see (attending, delegated facility, member); `?q=` searches name or kana.
pub async fn patients(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<TextQuery>,
) -> Answered<Reply<Vec<kumanet_store::Patient>>> {
    Ok(Reply(patients::list_visible(&app, &ctx, &q.q, true).await?))
}

/// R3.1, R5.1: the attending physician registers a patient.
pub async fn patient_create(
    State(app): State<App>,
    ctx: Ctx,
    JsonBody(f): JsonBody<PatientForm>,
) -> Answered<Created<kumanet_store::Patient>> {
    let id = patients::register(&app, &ctx, &f).await?;
    Ok(Created(app.store.patient(&id).await?.ok_or(WebError::NotFound)?))
}

/// A patient with the consent's state and history (without the scans), and the group.
#[derive(Serialize, ToSchema)]
pub struct PatientJson {
    pub patient: kumanet_store::Patient,
    pub consent_state: ConsentState,
    pub consents: Vec<Consent>,
    pub group_id: Option<String>,
    /// The asker is the attending physician.
    pub attending: bool,
    /// The asker manages the patient's group.
    pub manager: bool,
}

/// The patient, the state of the consent and its history (without the scans), and the group.
pub async fn patient(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> Answered<Reply<PatientJson>> {
    let v = patients::view_patient(&app, &ctx, &p, true).await?;
    Ok(Reply(PatientJson {
        patient: p.patient.clone(),
        consent_state: p.consent,
        consents: v.consents,
        group_id: p.group.as_ref().map(|g| g.id.clone()),
        attending: v.attending,
        manager: v.manager,
    }))
}

/// The consent form's fields (様式1) as JSON. The scan, if any, is standard base64 (RFC 4648);
/// the API's 2 MB body limit allows scans up to about 1.5 MB (larger ones through the page).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
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
    /// 署名済み同意書の画像(PDF・JPEG・PNG)、base64。
    #[serde(default)]
    #[schema(content_encoding = "base64")]
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
pub async fn consent_create(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<ConsentBody>,
) -> Answered<Created<Consent>> {
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
    Ok(Created(app.store.latest_consent(&p.patient.id).await?.ok_or(WebError::NotFound)?))
}

/// R4.3: withdrawal; every group of the patient becomes read-only, nothing is deleted.
pub async fn consent_withdraw(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<NoteForm>,
) -> Answered<Reply<Consent>> {
    patients::withdraw_consent(&app, &ctx, &p, &f).await?;
    Ok(Reply(app.store.latest_consent(&p.patient.id).await?.ok_or(WebError::NotFound)?))
}

/// R5.1: delegate the management to a facility (`facility_id`), or take it back (`""`).
#[derive(Serialize, ToSchema)]
pub struct Delegated {
    /// The facility the management is delegated to; null when the attending physician manages.
    pub delegated_facility_id: Option<String>,
}

pub async fn delegation(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<DelegationForm>,
) -> Answered<Reply<Delegated>> {
    patients::delegate(&app, &ctx, &p, &f).await?;
    let to = f.facility_id.trim();
    Ok(Reply(Delegated { delegated_facility_id: (!to.is_empty()).then(|| to.to_string()) }))
}

/// R4.1, R5.1: open the patient's group (201), or name the one that exists (200).
#[derive(Serialize, ToSchema)]
pub struct GroupRef {
    pub group_id: String,
}

/// The patient's group: 201 when it was opened now, 200 when it existed.
pub struct GroupOpened {
    existed: bool,
    group: GroupRef,
}

impl IntoResponse for GroupOpened {
    fn into_response(self) -> Response {
        if self.existed {
            Reply(self.group).into_response()
        } else {
            Created(self.group).into_response()
        }
    }
}

impl Documented for GroupOpened {
    fn answers(schemas: &mut Schemas) -> Vec<Answer> {
        let mut answers = Created::<GroupRef>::answers(schemas);
        answers.extend(Reply::<GroupRef>::answers(schemas));
        answers[1].description = "グループはすでにあります";
        answers
    }
}

pub async fn group_create(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(_): JsonBody<NoteForm>,
) -> Answered<GroupOpened> {
    let existed = p.group.is_some();
    let group_id = patients::create_group(&app, &ctx, &p).await?;
    Ok(GroupOpened { existed, group: GroupRef { group_id } })
}

/// The group: members, the family's participation (proposal, votes, agreement) and, for its
/// managers, the pending invitations and the requests to leave.
#[derive(Serialize, ToSchema)]
pub struct GroupJson {
    pub group_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub attending_name: String,
    pub delegated_facility_name: Option<String>,
    pub consent_state: ConsentState,
    /// R4.3: the consent was withdrawn; nothing more can be posted.
    pub read_only: bool,
    pub manager: bool,
    pub member: bool,
    pub members: Vec<Member>,
    pub family_members: Vec<FamilyMember>,
    pub family_proposal: Option<FamilyProposal>,
    pub agreement: Agreement,
    /// agree or object
    pub my_vote: Option<String>,
    /// For the group's managers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitations: Option<Vec<Invitation>>,
    /// For the group's managers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removal_requests: Option<Vec<RemovalRequest>>,
}

pub async fn group(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> Answered<Reply<GroupJson>> {
    let v = patients::view_group(&app, &ctx, &p, true).await?;
    Ok(Reply(GroupJson {
        group_id: v.group_id,
        patient_id: p.patient.id.clone(),
        patient_name: p.patient.name.clone(),
        attending_name: p.patient.attending_name.clone(),
        delegated_facility_name: p.patient.delegated_facility_name.clone(),
        consent_state: p.consent,
        read_only: p.consent == ConsentState::Withdrawn,
        manager: v.manager,
        member: p.is_member,
        members: v.members,
        family_members: v.family,
        family_proposal: v.proposal,
        agreement: agreement_view(&ctx, v.agreement),
        my_vote: v.my_vote.map(|agree| if agree { "agree" } else { "object" }.to_string()),
        invitations: v.manager.then_some(v.invitations),
        removal_requests: v.manager.then_some(v.requests),
    }))
}

/// R5.2, R10.1: invite an approved professional, saying why.
#[derive(Serialize, ToSchema)]
pub struct InvitationRef {
    pub invitation_id: String,
}

pub async fn invite(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<InviteForm>,
) -> Answered<Created<InvitationRef>> {
    Ok(Created(InvitationRef { invitation_id: patients::invite(&app, &ctx, &p, &f).await? }))
}

/// R5.2, R10.5: a manager removes a member (or approves a request to leave).
pub async fn member_remove(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    Path((_, user_id)): Path<(String, String)>,
    JsonBody(_): JsonBody<NoteForm>,
) -> Answered<Reply<Removed>> {
    patients::remove_member(&app, &ctx, &p, &user_id).await?;
    Ok(Reply(Removed { removed: user_id }))
}

#[derive(Serialize, ToSchema)]
pub struct Removed {
    /// The user removed from the group.
    pub removed: String,
}

/// R10.5: a member asks to leave; a manager approves by removing them.
#[derive(Serialize, ToSchema)]
pub struct RemovalRequested {
    pub removal_requested: bool,
}

pub async fn leave(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<NoteForm>,
) -> Answered<Created<RemovalRequested>> {
    patients::request_removal(&app, &ctx, &p, &f).await?;
    Ok(Created(RemovalRequested { removal_requested: true }))
}

/// R5.3: the part shared with the patient and family: members by name and profession only.
#[derive(Serialize, ToSchema)]
pub struct SharedJson {
    pub group_id: String,
    pub patient_name: String,
    pub members: Vec<SharedMember>,
    pub family_members: Vec<SharedFamily>,
}

/// A professional as the patient and family see them: name and profession only.
#[derive(Serialize, ToSchema)]
pub struct SharedMember {
    pub name: String,
    pub profession: Option<Profession>,
    pub profession_label: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SharedFamily {
    pub name: String,
    pub relationship: String,
}

pub async fn shared(State(app): State<App>, ctx: Ctx, Patient(p): Patient) -> Answered<Reply<SharedJson>> {
    let patients::SharedView { group_id, members, family } = patients::view_shared(&app, &ctx, &p, true).await?;
    Ok(Reply(SharedJson {
        group_id,
        patient_name: p.patient.name.clone(),
        members: members
            .into_iter()
            .map(|m| SharedMember {
                name: m.name,
                profession: m.profession,
                profession_label: m.profession.map(|pr| pr.label().to_string()),
            })
            .collect(),
        family_members: family
            .into_iter()
            .map(|f| SharedFamily { name: f.name, relationship: f.relationship })
            .collect(),
    }))
}

/// R5.3: a manager proposes that the patient or family take part (`note`: why).
#[derive(Serialize, ToSchema)]
pub struct Proposed {
    pub family_proposal: Option<FamilyProposal>,
}

pub async fn family_propose(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<NoteForm>,
) -> Answered<Created<Proposed>> {
    patients::propose_family(&app, &ctx, &p, &f).await?;
    let gid = group_id_of(&p)?;
    Ok(Created(Proposed { family_proposal: app.store.family_proposal(&gid).await? }))
}

/// R5.3: each professional member agrees or objects (a comment is required to object).
#[derive(Serialize, ToSchema)]
pub struct Voted {
    pub agreement: Agreement,
}

pub async fn family_vote(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<VoteForm>,
) -> Answered<Reply<Voted>> {
    patients::vote_family(&app, &ctx, &p, &f).await?;
    let gid = group_id_of(&p)?;
    Ok(Reply(Voted { agreement: agreement_view(&ctx, patients::agreement(&app, &ctx, &gid).await?) }))
}

/// R5.3: once the professionals agree, the patient/family account with a one-time password.
/// R5.3: the patient's or family member's ID, with its one-time password (shown once).
#[derive(Serialize, ToSchema)]
pub struct FamilyIssued {
    pub user_id: String,
    pub login_id: String,
    pub name: String,
    pub one_time_password: String,
    pub group_id: String,
}

pub async fn family_account(
    State(app): State<App>,
    ctx: Ctx,
    Patient(p): Patient,
    JsonBody(f): JsonBody<FamilyForm>,
) -> Answered<Created<FamilyIssued>> {
    let issued = patients::create_family_account(&app, &ctx, &p, &f).await?;
    Ok(Created(FamilyIssued {
        user_id: issued.user_id,
        login_id: issued.login_id,
        name: issued.name,
        one_time_password: issued.password.expose().to_string(),
        group_id: group_id_of(&p)?,
    }))
}

/// R10.1: the invitations waiting for me (as the page, which shows them without an audit row).
pub async fn invitations(State(app): State<App>, ctx: Ctx) -> Answered<Reply<Vec<Invitation>>> {
    let list = app
        .store
        .open_invitations_for(ctx.user_id(), ctx.now - kumanet_core::policy::patient::INVITATION_VALID_US)
        .await?;
    crate::service::patients::audit_invitations_read(&app, &ctx, None, list.len()).await?;
    Ok(Reply(list))
}

/// R10.1: who invites me, to which patient's group, and why.
#[derive(Serialize, ToSchema)]
pub struct InvitationJson {
    pub invitation: Invitation,
    pub expired: bool,
}

pub async fn invitation(
    State(app): State<App>,
    ctx: Ctx,
    GroupInvitation(inv): GroupInvitation,
) -> Answered<Reply<InvitationJson>> {
    crate::service::patients::audit_invitations_read(&app, &ctx, Some(&inv), 1).await?;
    let expired = !kumanet_core::policy::patient::invitation_open(inv.created_at, ctx.now);
    Ok(Reply(InvitationJson { invitation: inv, expired }))
}

/// R10.1: accept (with `appropriate: "on"`, the self-check) or decline.
pub async fn invitation_answer(
    State(app): State<App>,
    ctx: Ctx,
    GroupInvitation(inv): GroupInvitation,
    JsonBody(f): JsonBody<AnswerForm>,
) -> Answered<Reply<InvitationAnswered>> {
    // The page's checkbox sends "on"; JSON must not read `"false"` or `"no"` as a confirmation.
    if f.appropriate.as_deref().is_some_and(|v| v != "on") {
        let mut errors = FieldErrors::default();
        errors.add("appropriate", "確認した場合は \"on\" を送ってください(運用ポリシー第10条(1))。");
        return Err(ApiError(WebError::Invalid(errors)));
    }
    let accepted = patients::answer(&app, &ctx, &inv, &f).await?;
    Ok(Reply(InvitationAnswered {
        state: if accepted { "accepted" } else { "declined" }.into(),
        group_id: inv.group_id,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationAnswered {
    /// accepted or declined
    pub state: String,
    pub group_id: String,
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
