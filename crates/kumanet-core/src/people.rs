//! Roles, professions, facility kinds and the state of an ID (第6条, 様式2/3).

use serde::Serialize;

labelled_enum! {
    /// Who someone is in the system (REQUIREMENTS.md, "People and roles").
    Role {
        Center = "center": "在宅医療支援センター",
        FacilityAdmin = "facility_admin": "施設管理者",
        Staff = "staff": "利用者",
        PatientFamily = "patient_family": "患者・家族",
    }
}

labelled_enum! {
    /// The state of an ID. Only `Approved` reaches anything about patients (R6.2).
    UserStatus {
        Pending = "pending": "承認待ち",
        Approved = "approved": "承認済み",
        Suspended = "suspended": "利用停止",
        Deleted = "deleted": "削除済み",
    }
}

labelled_enum! {
    /// The professions of home medical and long-term care (a fixed list, R6.1).
    Profession {
        Doctor = "doctor": "医師",
        Dentist = "dentist": "歯科医師",
        Pharmacist = "pharmacist": "薬剤師",
        Nurse = "nurse": "看護師",
        PublicHealthNurse = "public_health_nurse": "保健師",
        AssistantNurse = "assistant_nurse": "准看護師",
        PhysicalTherapist = "physical_therapist": "理学療法士",
        OccupationalTherapist = "occupational_therapist": "作業療法士",
        SpeechTherapist = "speech_therapist": "言語聴覚士",
        Dietitian = "dietitian": "管理栄養士",
        DentalHygienist = "dental_hygienist": "歯科衛生士",
        CareManager = "care_manager": "介護支援専門員",
        CareWorker = "care_worker": "介護福祉士",
        Helper = "helper": "訪問介護員",
        SocialWorker = "social_worker": "社会福祉士",
        MedicalSocialWorker = "medical_social_worker": "医療ソーシャルワーカー",
        Clerk = "clerk": "事務職員",
        Other = "other": "その他",
    }
}

labelled_enum! {
    /// Kinds of facility (事業所等) taking part in the network.
    FacilityKind {
        Clinic = "clinic": "診療所",
        Hospital = "hospital": "病院",
        DentalClinic = "dental_clinic": "歯科診療所",
        Pharmacy = "pharmacy": "薬局",
        VisitingNursing = "visiting_nursing": "訪問看護ステーション",
        CareOffice = "care_office": "居宅介護支援事業所",
        HomeHelp = "home_help": "訪問介護事業所",
        CommunitySupport = "community_support": "地域包括支援センター",
        SupportCenter = "support_center": "在宅医療支援センター",
        Other = "other": "その他",
    }
}

labelled_enum! {
    /// What a facility admin files with the center (様式2: application, change, deletion).
    ApplicationKind {
        New = "new": "利用申込",
        Change = "change": "変更届",
        Deletion = "deletion": "削除届",
    }
}

labelled_enum! {
    ApplicationState {
        Pending = "pending": "審査待ち",
        Approved = "approved": "承認",
        Rejected = "rejected": "差戻し",
    }
}

/// A login id: 3–32 characters of lower-case ASCII letters, digits, `.`, `_` and `-`,
/// starting with a letter. Parsed once; the only way to get one is `parse`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginId(String);

impl LoginId {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_ascii_lowercase();
        let n = s.chars().count();
        if !(3..=32).contains(&n) {
            return Err("ログインIDは3〜32文字で入力してください。");
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("ログインIDは英字で始めてください。");
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err("ログインIDに使えるのは半角英小文字・数字・「.」「_」「-」です。");
        }
        Ok(LoginId(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name (kanji or kana): trimmed, 1–64 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, crate::problem::Problem> {
    crate::problem::check_text(raw, 64, false)
}

/// Kana: hiragana or katakana (and spaces, long vowel marks).
pub fn parse_kana(raw: &str) -> Result<String, crate::problem::Problem> {
    let s = parse_name(raw)?;
    let ok = s.chars().all(|c| matches!(c, '\u{3041}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}' | ' ' | '\u{3000}'));
    if ok {
        Ok(s)
    } else {
        Err(crate::problem::Problem::NotKana)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Profession::ALL {
            assert_eq!(Profession::from_code(p.code()), Some(*p));
        }
        for k in FacilityKind::ALL {
            assert_eq!(FacilityKind::from_code(k.code()), Some(*k));
        }
        assert_eq!(Role::from_code("nobody"), None);
    }

    #[test]
    fn r6_1_login_ids_are_parsed() {
        assert_eq!(LoginId::parse(" Kango.Tanaka ").unwrap().as_str(), "kango.tanaka");
        assert!(LoginId::parse("ab").is_err());
        assert!(LoginId::parse("1abc").is_err());
        assert!(LoginId::parse("tanaka@x").is_err());
        assert!(LoginId::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn names_and_kana() {
        assert_eq!(parse_name("  田中 花子 ").unwrap(), "田中 花子");
        assert!(parse_name("").is_err());
        assert!(parse_kana("たなか はなこ").is_ok());
        assert!(parse_kana("タナカ").is_ok());
        assert!(parse_kana("tanaka").is_err());
    }
}
