//! The JSON API of patients (R3), consent (R2), patient groups, invitations and the family's
//! participation (R5).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use kumanet_core::policy::patient::ConsentState;
use kumanet_store::PatientContext;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{body, body_or_empty, created, ok, ApiResult};
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

fn consent_code(state: ConsentState) -> &'static str {
    match state {
        ConsentState::Missing => "missing",
        ConsentState::Given => "given",
        ConsentState::Withdrawn => "withdrawn",
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
