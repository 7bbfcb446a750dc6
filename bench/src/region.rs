//! The region, written straight into the database through the storage crate before the server
//! starts: facilities, approved staff (pledge signed, current policy accepted, a chosen password
//! that has not expired), one consented patient per group with the attending doctor and other
//! staff as members, the stored posts, and one session per user.

use std::time::Instant;

use kumanet_core::people::{FacilityKind, Profession, Role, UserStatus};
use kumanet_core::policy::patient::{Consenter, EligibilityBasis, Sex};
use kumanet_core::policy::post::{content_hash, Part};
use kumanet_core::policy::settings::Settings;
use kumanet_core::{Micros, MICROS_PER_SECOND};
use kumanet_store::{NewConsent, NewFacility, NewPatient, NewPost, NewUser, Session, Store};
use kumanet_web::passwords::{random_token, token_hash, Hasher};
use kumanet_web::service::{default_purpose, new_id, POLICY_TEXT};
use kumanet_web::{Clock, SystemClock};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::R;

/// How big a region to build.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub staff: usize,
    pub groups: usize,
    pub members: usize,
    pub stored_posts: usize,
}

/// A user with an open session, as the load generator acts for them.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub token: String,
    pub csrf: String,
}

#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub id: String,
    /// Indexes into `Region::users`; the attending doctor first.
    pub members: Vec<usize>,
}

pub struct Region {
    pub users: Vec<UserInfo>,
    pub groups: Vec<GroupInfo>,
    pub facilities: usize,
    /// The facilities' ids (the directory links some of its entries to them).
    pub facility_ids: Vec<String>,
    /// The support-center account (the directory's entries are written as it).
    pub center_id: String,
    pub seconds_people: f64,
    pub seconds_posts: f64,
}

impl Region {
    pub fn member(&self, group: usize, nth: usize) -> (&GroupInfo, &UserInfo) {
        let g = &self.groups[group % self.groups.len()];
        let u = &self.users[g.members[nth % g.members.len()]];
        (g, u)
    }
}

const STAFF_PER_FACILITY: usize = 20;
/// Rows per transaction while seeding people and groups.
const PEOPLE_BATCH: usize = 1_000;
/// Posts per transaction while seeding the stored posts.
const POST_BATCH: usize = 10_000;
/// The one password of every bench user (never used to log in: sessions are made directly).
const PASSWORD: &str = "bench-Password-2024!";

const OTHER_PROFESSIONS: &[Profession] = &[
    Profession::Nurse,
    Profession::Pharmacist,
    Profession::CareManager,
    Profession::Helper,
    Profession::PhysicalTherapist,
    Profession::OccupationalTherapist,
    Profession::Nurse,
    Profession::CareManager,
    Profession::Helper,
];
const KINDS: &[FacilityKind] = &[
    FacilityKind::Clinic,
    FacilityKind::VisitingNursing,
    FacilityKind::Pharmacy,
    FacilityKind::CareOffice,
    FacilityKind::HomeHelp,
    FacilityKind::Hospital,
];

/// A post body that names nobody (the other-patient warning would answer 409).
pub fn body(n: usize) -> String {
    format!("定期訪問の記録 {n}: 血圧 128/76、SpO2 97%、食事摂取は良好。夜間の睡眠も安定しています。")
}

pub async fn seed(store: &Store, sizes: &Sizes) -> R<Region> {
    let started = Instant::now();
    let now = SystemClock.now();
    let hash = Hasher::new(19_456, 2)?.hash(PASSWORD).await?;
    let settings = Settings { region_name: "ベンチ市(負荷試験)".into(), ..Settings::default() };

    let mut tx = store.begin().await?;
    tx.save_settings(&settings, now).await?;
    let policy = tx.publish_policy(&default_purpose(&settings.region_name), POLICY_TEXT, None, now).await?;
    // The center, so the server does not offer a first-run setup URL.
    let center_facility = new_id();
    tx.insert_facility(
        &NewFacility {
            id: center_facility.clone(),
            name: "ベンチ在宅医療支援センター".into(),
            kana: "べんちざいたくいりょうしえんせんたー".into(),
            kind: FacilityKind::SupportCenter,
            address: "ベンチ市1-1".into(),
            phone: "000-0000-0000".into(),
        },
        now,
    )
    .await?;
    let center = new_user("bench.center", Role::Center, Profession::Clerk, &center_facility, &hash);
    tx.insert_user(&center, now).await?;
    tx.accept_policy(&center.id, policy, now).await?;

    // Facilities and staff: every tenth a doctor.
    let facilities: Vec<String> = (0..sizes.staff.div_ceil(STAFF_PER_FACILITY)).map(|_| new_id()).collect();
    for (i, id) in facilities.iter().enumerate() {
        tx.insert_facility(
            &NewFacility {
                id: id.clone(),
                name: format!("ベンチ事業所{i:04}"),
                kana: format!("べんちじぎょうしょ{i:04}"),
                kind: KINDS[i % KINDS.len()],
                address: format!("ベンチ市{i}-1"),
                phone: "000-0000-0000".into(),
            },
            now,
        )
        .await?;
    }
    let mut user_ids = Vec::with_capacity(sizes.staff);
    let mut doctors = Vec::new();
    let mut others = Vec::new();
    for i in 0..sizes.staff {
        let profession = if i % 10 == 0 { Profession::Doctor } else { OTHER_PROFESSIONS[i % OTHER_PROFESSIONS.len()] };
        let u = new_user(&format!("bench.{i:05}"), Role::Staff, profession, &facilities[i / STAFF_PER_FACILITY], &hash);
        tx.insert_user(&u, now).await?;
        tx.accept_policy(&u.id, policy, now).await?;
        tx.sign_pledge(&u.id, now).await?;
        if profession == Profession::Doctor {
            doctors.push(i)
        } else {
            others.push(i)
        }
        user_ids.push(u.id);
        if (i + 1) % PEOPLE_BATCH == 0 {
            tx.commit().await?;
            tx = store.begin().await?;
        }
    }
    tx.commit().await?;

    // One patient per group, consented, the attending doctor and other staff as members.
    let mut rng = StdRng::seed_from_u64(20_240_401);
    let mut groups = Vec::with_capacity(sizes.groups);
    let mut tx = store.begin().await?;
    for g in 0..sizes.groups {
        let attending = doctors[g % doctors.len()];
        let mut members = vec![attending];
        members.extend(others.choose_multiple(&mut rng, sizes.members.saturating_sub(1)).copied());
        let doctor = &user_ids[attending];
        let patient_id = new_id();
        tx.insert_patient(
            &NewPatient {
                id: patient_id.clone(),
                name: format!("検証 太郎{g:04}"),
                kana: format!("けんしょう たろう{g:04}"),
                birth_date: "1940-04-01".into(),
                sex: if g % 2 == 0 { Sex::Female } else { Sex::Male },
                address: format!("ベンチ市{g}-2"),
                attending_id: doctor.clone(),
                basis: EligibilityBasis::HomeVisits,
                basis_reason: String::new(),
                created_by: doctor.clone(),
            },
            now,
        )
        .await?;
        tx.insert_consent(
            &NewConsent {
                id: new_id(),
                patient_id: patient_id.clone(),
                explained_by: doctor.clone(),
                consenter: Consenter::Patient,
                consenter_name: format!("検証 太郎{g:04}"),
                relationship: "本人".into(),
                consented_on: "2024-04-01".into(),
                scope: "くまねっとMCS運用ポリシーに基づく情報共有".into(),
                scan: None,
                recorded_by: doctor.clone(),
            },
            now,
        )
        .await?;
        let group_id = new_id();
        tx.insert_group(&group_id, &patient_id, doctor, now).await?;
        for &m in &members {
            tx.add_member(&group_id, &user_ids[m], now).await?;
        }
        groups.push(GroupInfo { id: group_id, members });
        if (g + 1) % (PEOPLE_BATCH / 10) == 0 {
            tx.commit().await?;
            tx = store.begin().await?;
        }
    }
    tx.commit().await?;
    let seconds_people = started.elapsed().as_secs_f64();
    println!(
        "  people: {} staff in {} facilities, {} groups × {} members ({:.1} s)",
        sizes.staff,
        facilities.len(),
        groups.len(),
        sizes.members,
        seconds_people
    );

    // The stored posts, round-robin over the groups, in the past, one second apart.
    let started = Instant::now();
    let mut tx = store.begin().await?;
    let total = sizes.stored_posts;
    for k in 0..total {
        let g = &groups[k % groups.len()];
        let author = &user_ids[g.members[(k / groups.len()) % g.members.len()]];
        let id = new_id();
        let text = body(k);
        let sha = content_hash(&text);
        let at: Micros = now - (total - k) as i64 * MICROS_PER_SECOND;
        tx.insert_post(
            &NewPost {
                id: &id,
                room_id: &g.id,
                part: Part::Professional,
                author_id: author,
                body: &text,
                body_sha256: &sha,
            },
            at,
        )
        .await?;
        if (k + 1) % POST_BATCH == 0 {
            tx.commit().await?;
            tx = store.begin().await?;
            if (k + 1) % (POST_BATCH * 10) == 0 {
                let s = started.elapsed().as_secs_f64();
                println!("  stored posts: {} ({:.0} s, {:.0}/s)", k + 1, s, (k + 1) as f64 / s);
            }
        }
    }
    tx.commit().await?;
    let seconds_posts = started.elapsed().as_secs_f64();
    println!("  stored posts: {total} in {seconds_posts:.1} s");

    // Sessions last, so none has gone idle (R8.4) while the posts were written.
    let now = SystemClock.now();
    let mut users = Vec::with_capacity(user_ids.len());
    let mut tx = store.begin().await?;
    for (i, id) in user_ids.into_iter().enumerate() {
        let token = random_token(32);
        let csrf = random_token(16);
        tx.insert_session(&Session {
            token_hash: token_hash(&token).into(),
            user_id: id,
            csrf_token: csrf.clone().into(),
            ip: "127.0.0.1".into(),
            created_at: now,
            last_seen_at: now,
            device_hash: None,
        })
        .await?;
        users.push(UserInfo { token, csrf });
        if (i + 1) % (PEOPLE_BATCH * 2) == 0 {
            tx.commit().await?;
            tx = store.begin().await?;
        }
    }
    tx.commit().await?;
    Ok(Region {
        users,
        groups,
        facilities: facilities.len(),
        facility_ids: facilities,
        center_id: center.id,
        seconds_people,
        seconds_posts,
    })
}

fn new_user(login: &str, role: Role, profession: Profession, facility: &str, hash: &str) -> NewUser {
    NewUser {
        id: new_id(),
        login_id: login.to_string(),
        name: format!("職員 {login}"),
        kana: format!("しょくいん {login}"),
        role,
        profession: Some(profession),
        facility_id: Some(facility.to_string()),
        email: String::new(),
        phone: String::new(),
        status: UserStatus::Approved,
        password_hash: hash.to_string().into(),
        password_issued: false,
        password_expires_at: None,
    }
}
