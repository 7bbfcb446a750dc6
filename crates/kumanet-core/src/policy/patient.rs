//! Patients, their consent and their group (第3条–第5条, 第10条): who may share what, and when.

use crate::people::{Role, UserStatus};
use crate::Micros;

labelled_enum! {
    /// R3.1: why a patient may be registered.
    EligibilityBasis {
        HomeVisits = "home_visits": "主治医の訪問診療・往診等を受けている",
        JudgedNecessary = "judged_necessary": "主治医が情報共有を必要と認めた",
    }
}

labelled_enum! {
    Sex {
        Female = "female": "女性",
        Male = "male": "男性",
        Unspecified = "unspecified": "回答しない",
    }
}

labelled_enum! {
    /// R4.1: who signed the consent form (様式1).
    Consenter {
        Patient = "patient": "本人",
        Family = "family": "家族",
    }
}

/// R4.1, R4.3: the state of a patient's consent (in the API: `missing`, `given`, `withdrawn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConsentState {
    /// No consent recorded: nothing may be shared (no group, no post).
    Missing,
    Given,
    /// Withdrawn: every group of the patient is read-only; nothing is deleted.
    Withdrawn,
}

impl ConsentState {
    /// R4.1: the latest consent record decides (given at, withdrawn at).
    pub fn of(latest: Option<(Micros, Option<Micros>)>) -> ConsentState {
        match latest {
            None => ConsentState::Missing,
            Some((_, None)) => ConsentState::Given,
            Some((_, Some(_))) => ConsentState::Withdrawn,
        }
    }
}

/// R3.1: the basis needs a reason when the physician judged sharing necessary.
pub fn check_basis(basis: EligibilityBasis, reason: &str) -> Result<(), &'static str> {
    if basis == EligibilityBasis::JudgedNecessary && reason.trim().is_empty() {
        return Err("主治医が情報共有を必要と認めた理由を入力してください。");
    }
    if reason.chars().count() > 500 {
        return Err("理由は500文字以内で入力してください。");
    }
    Ok(())
}

labelled_enum! {
    /// R5.3: when the professionals have agreed that the patient or family may join.
    FamilyRule {
        All = "all": "参加中の専門職全員の合意",
        Majority = "majority": "参加中の専門職の過半数の合意",
    }
}

/// R5.3: is the agreement rule met? `professionals` counts the active professional members.
pub fn agreement_met(rule: FamilyRule, professionals: usize, agree: usize, object: usize) -> bool {
    if professionals == 0 {
        return false;
    }
    match rule {
        FamilyRule::All => object == 0 && agree >= professionals,
        FamilyRule::Majority => agree * 2 > professionals,
    }
}

/// R10.1: an invitation is valid for 14 days.
pub const INVITATION_VALID_US: Micros = 14 * crate::MICROS_PER_DAY;

/// R10.1: is a pending invitation still open at `now`?
pub fn invitation_open(created_at: Micros, now: Micros) -> bool {
    now - created_at <= INVITATION_VALID_US
}

/// R5.2, R10.1: who may be invited into a patient's group: an approved professional of a
/// facility (its staff or its admin). Never the center, and never a patient or family account:
/// they take part only through the family's admission (R5.3).
pub fn may_be_invited_to_group(role: Role, status: UserStatus) -> bool {
    status == UserStatus::Approved && matches!(role, Role::Staff | Role::FacilityAdmin)
}

/// R5.4: who may be invited onto a bulletin board: an approved professional of the region, the
/// center's staff included; never a patient or family account.
pub fn may_be_invited_to_board(role: Role, status: UserStatus) -> bool {
    status == UserStatus::Approved && role != Role::PatientFamily
}

/// R4.1: a scan of the signed form: PDF, JPEG or PNG, at most 10 MB, recognised by its bytes.
pub const SCAN_MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn scan_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r4_1_r4_3_consent_state_follows_the_latest_record() {
        assert_eq!(ConsentState::of(None), ConsentState::Missing);
        assert_eq!(ConsentState::of(Some((1, None))), ConsentState::Given);
        assert_eq!(ConsentState::of(Some((1, Some(2)))), ConsentState::Withdrawn);
    }

    #[test]
    fn r3_1_judged_necessary_needs_a_reason() {
        assert!(check_basis(EligibilityBasis::HomeVisits, "").is_ok());
        assert!(check_basis(EligibilityBasis::JudgedNecessary, " ").is_err());
        assert!(check_basis(EligibilityBasis::JudgedNecessary, "独居で服薬管理が必要").is_ok());
    }

    #[test]
    fn r5_3_agreement_rules() {
        assert!(!agreement_met(FamilyRule::All, 3, 2, 0), "one has not answered");
        assert!(!agreement_met(FamilyRule::All, 3, 2, 1), "one objects");
        assert!(agreement_met(FamilyRule::All, 3, 3, 0));
        assert!(agreement_met(FamilyRule::Majority, 3, 2, 1));
        assert!(!agreement_met(FamilyRule::Majority, 4, 2, 0));
        assert!(!agreement_met(FamilyRule::All, 0, 0, 0), "nobody to agree");
    }

    #[test]
    fn r10_1_invitations_expire_after_14_days() {
        assert!(invitation_open(0, INVITATION_VALID_US));
        assert!(!invitation_open(0, INVITATION_VALID_US + 1));
    }

    #[test]
    fn r5_2_r5_4_who_may_be_invited() {
        use crate::people::{Role::*, UserStatus::*};
        assert!(may_be_invited_to_group(Staff, Approved) && may_be_invited_to_group(FacilityAdmin, Approved));
        assert!(!may_be_invited_to_group(Center, Approved) && !may_be_invited_to_group(PatientFamily, Approved));
        assert!(!may_be_invited_to_group(Staff, Pending) && !may_be_invited_to_group(Staff, Suspended));
        assert!(may_be_invited_to_board(Center, Approved) && may_be_invited_to_board(Staff, Approved));
        assert!(!may_be_invited_to_board(PatientFamily, Approved) && !may_be_invited_to_board(Staff, Deleted));
    }

    #[test]
    fn r4_1_scans_are_recognised_by_their_bytes() {
        assert_eq!(scan_type(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(scan_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(scan_type(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]), Some("image/png"));
        assert_eq!(scan_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(scan_type(b"GIF89a"), None);
    }
}
