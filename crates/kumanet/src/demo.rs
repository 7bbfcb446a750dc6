//! `kumanet demo`: a fictional demo region in an empty database: the center, five facilities of
//! different kinds, their admins and staff of different professions. Every ID gets a one-time
//! password, printed once here and never stored in clear.

use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::people::{FacilityKind, Profession, Role, UserStatus};
use kumanet_core::policy::settings::Settings;
use kumanet_store::{NewAudit, NewFacility, NewUser};
use kumanet_web::passwords::{issue_password, Hasher};
use kumanet_web::service::{default_purpose, new_id, POLICY_TEXT};
use kumanet_web::Clock;

use crate::{Config, ServerError};

type Person = (&'static str, &'static str, &'static str, Role, Profession);

const FACILITIES: &[(&str, &str, FacilityKind, &str, &[Person])] = &[
    (
        "くまがや在宅医療支援センター(デモ)",
        "くまがやざいたくいりょうしえんせんたー",
        FacilityKind::SupportCenter,
        "熊谷市中央1-1(架空)",
        &[("demo.center", "支援 花子", "しえん はなこ", Role::Center, Profession::Clerk)],
    ),
    (
        "ひまわりクリニック(デモ)",
        "ひまわりくりにっく",
        FacilityKind::Clinic,
        "熊谷市北町2-3(架空)",
        &[
            ("himawari.admin", "日向 一郎", "ひなた いちろう", Role::FacilityAdmin, Profession::Clerk),
            ("himawari.dr", "医田 誠", "いだ まこと", Role::Staff, Profession::Doctor),
            ("himawari.ns", "看野 さくら", "かんの さくら", Role::Staff, Profession::Nurse),
        ],
    ),
    (
        "さくら訪問看護ステーション(デモ)",
        "さくらほうもんかんごすてーしょん",
        FacilityKind::VisitingNursing,
        "熊谷市南町4-5(架空)",
        &[
            ("sakura.admin", "桜井 由美", "さくらい ゆみ", Role::FacilityAdmin, Profession::Nurse),
            ("sakura.ns1", "訪野 明子", "ほうの あきこ", Role::Staff, Profession::Nurse),
            ("sakura.pt", "理学 健太", "りがく けんた", Role::Staff, Profession::PhysicalTherapist),
        ],
    ),
    (
        "みどり薬局(デモ)",
        "みどりやっきょく",
        FacilityKind::Pharmacy,
        "熊谷市東町6-7(架空)",
        &[
            ("midori.admin", "緑川 学", "みどりかわ まなぶ", Role::FacilityAdmin, Profession::Pharmacist),
            ("midori.ph", "薬師 真理", "やくし まり", Role::Staff, Profession::Pharmacist),
        ],
    ),
    (
        "あおぞら居宅介護支援事業所(デモ)",
        "あおぞらきょたくかいごしえんじぎょうしょ",
        FacilityKind::CareOffice,
        "熊谷市西町8-9(架空)",
        &[
            ("aozora.admin", "青空 大地", "あおぞら だいち", Role::FacilityAdmin, Profession::CareManager),
            ("aozora.cm", "介護 恵", "かいご めぐみ", Role::Staff, Profession::CareManager),
            ("aozora.hp", "援助 進", "えんじょ すすむ", Role::Staff, Profession::Helper),
        ],
    ),
    (
        "けやき総合病院(デモ)",
        "けやきそうごうびょういん",
        FacilityKind::Hospital,
        "熊谷市本町10-11(架空)",
        &[
            ("keyaki.admin", "欅田 陽子", "けやきだ ようこ", Role::FacilityAdmin, Profession::MedicalSocialWorker),
            ("keyaki.dr", "病院 一樹", "びょういん かずき", Role::Staff, Profession::Doctor),
            ("keyaki.msw", "相談 彩", "そうだん あや", Role::Staff, Profession::MedicalSocialWorker),
            ("keyaki.ot", "作業 翼", "さぎょう つばさ", Role::Staff, Profession::OccupationalTherapist),
        ],
    ),
];

pub async fn run(cfg: &Config) -> Result<(), ServerError> {
    let store = crate::open_store(cfg).await?;
    if store.center_exists().await? {
        return Err(ServerError::NotEmpty);
    }
    let hasher = Hasher::new(cfg.argon2_memory_kib, 2)?;
    let now = kumanet_web::SystemClock.now();
    let settings = Settings { region_name: "くまがや市(デモ)".into(), ..Settings::default() };
    let mut printed = Vec::new();
    let mut tx = store.begin().await?;
    tx.save_settings(&settings, now).await?;
    tx.publish_policy(&default_purpose(&settings.region_name), POLICY_TEXT, None, now).await?;
    let mut users = 0;
    for (name, kana, kind, address, people) in FACILITIES {
        let facility_id = new_id();
        tx.insert_facility(
            &NewFacility {
                id: facility_id.clone(),
                name: name.to_string(),
                kana: kana.to_string(),
                kind: *kind,
                address: address.to_string(),
                phone: "048-000-0000".into(),
            },
            now,
        )
        .await?;
        for (login, person, person_kana, role, profession) in *people {
            let password = issue_password();
            let hash = hasher.hash(&password).await?;
            tx.insert_user(
                &NewUser {
                    id: new_id(),
                    login_id: login.to_string(),
                    name: person.to_string(),
                    kana: person_kana.to_string(),
                    role: *role,
                    profession: Some(*profession),
                    facility_id: Some(facility_id.clone()),
                    email: String::new(),
                    phone: String::new(),
                    status: UserStatus::Approved,
                    password_hash: hash.into(),
                    password_issued: true,
                    password_expires_at: None,
                },
                now,
            )
            .await?;
            users += 1;
            printed.push(format!(
                "  {:<16} {:<22} {} ({} / {})",
                login,
                password,
                person,
                role.label(),
                profession.label()
            ));
        }
    }
    tx.audit(NewAudit {
        ts: now,
        actor_user_id: None,
        actor_role: None,
        actor_facility_id: None,
        ip: None,
        action: AuditAction::DemoCreated,
        target_type: None,
        target_id: None,
        result: AuditResult::Ok,
        reason: None,
        details: serde_json::json!({ "facilities": FACILITIES.len(), "users": users }),
    })
    .await?;
    tx.commit().await?;
    store.close().await;
    println!("デモ地域を作成しました: {} / 施設 {} / ID {}", settings.region_name, FACILITIES.len(), users);
    println!("Demo region created. One-time passwords (shown only now, valid 72 h, changed at first login):");
    println!("  {:<16} {:<22} name", "login id", "one-time password");
    for line in printed {
        println!("{line}");
    }
    Ok(())
}
