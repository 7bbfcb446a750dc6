//! R10.7: the one gate. Every operation of every route is decided here for (actor, action, target);
//! the web layer calls `decide` from a single middleware and handlers never decide for themselves.

use crate::people::{Profession, Role, UserStatus};
use crate::policy::patient::ConsentState;
use crate::policy::post::Part;

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User(UserActor),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActor {
    pub user_id: String,
    pub role: Role,
    pub facility_id: Option<String>,
    pub profession: Option<Profession>,
    pub status: UserStatus,
    /// R1.1: has accepted the current version of the policy.
    pub policy_accepted: bool,
    /// R6.2: has signed the pledge (様式3).
    pub pledge_signed: bool,
    /// R6.1/R8.1: an issued or expired password must be changed first.
    pub must_change_password: bool,
}

/// What is asked. One variant per operation the router offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // Open to everyone.
    ViewPublic,
    Login,
    Setup,
    // Any signed-in user, whatever the state of the ID.
    Logout,
    ViewSession,
    ChangeOwnPassword,
    ViewPolicy,
    AcceptPolicy,
    // Signed in, password changed, current policy accepted.
    ViewHome,
    ViewOwnProfile,
    /// How one is told of new posts by e-mail.
    EditOwnNotices,
    // Approved IDs only (R6.2): the first thing beyond one's own profile.
    ViewStaffDirectory,
    // A facility's staff: its own facility admin, or the center.
    ViewFacilityStaff,
    // The printable 様式2/様式3 of an ID: the person, their facility admin, or the center.
    PrintForms,
    // The facility admin of the target's facility (R6.1, R6.3).
    CreateStaff,
    FileChange,
    FileDeletion,
    ResetPassword,
    // The facility admin of the target's facility, or the center (R6.3: at once).
    SuspendUser,
    // Patients and their groups (第3条–第5条). Any approved ID lists what it may see.
    ListPatients,
    ViewInvitations,
    /// R5.1: a doctor registers the patients they attend.
    RegisterPatient,
    /// The attending physician, staff of the delegated facility, or a member of the group.
    ViewPatient,
    ViewGroup,
    /// R5.1: the attending physician or staff of the delegated facility (the group's managers).
    EditPatient,
    RecordConsent,
    WithdrawConsent,
    PrintConsentForm,
    CreateGroup,
    InviteMember,
    RemoveMember,
    /// R5.1: only the attending physician delegates (and takes back) the management.
    DelegateManagement,
    /// R10.5: a member who is no longer in charge asks to leave.
    RequestRemoval,
    /// R10.1: the invitee answers.
    RespondInvitation,
    /// R5.3: the part of the group shared with the patient and family.
    ViewSharedPart,
    /// R5.3: a manager proposes that the patient or family join; members agree or object;
    /// when the rule is met, a manager creates the account.
    ProposeFamily,
    VoteFamily,
    CreateFamilyAccount,
    /// R10.6: confirm a post in the professionals' part, or in the part shared with the family.
    PostToGroup,
    PostToShared,
    /// A post, its history and its marks, in a part the asker may see.
    ViewPost,
    /// R10.6: the author edits (every earlier version kept) or deletes (a tombstone stays);
    /// a group's manager may delete too.
    EditPost,
    DeletePost,
    /// 了解 and read marks.
    AckPost,
    MarkRead,
    /// R9.3: an attachment, inline and watermarked, never as a download.
    ViewAttachment,
    /// Search the posts of one's own groups and boards.
    SearchPosts,
    /// R5.4, R12.3: bulletin boards, groups that are not about one patient. Any approved
    /// professional lists their boards and creates one (becoming its manager).
    ListBoards,
    CreateBoard,
    /// A board's members read it, post, and leave; its managers invite and remove.
    ViewBoard,
    PostToBoard,
    InviteToBoard,
    RemoveFromBoard,
    LeaveBoard,
    /// R12.1: the regional resource directory (Ayamu): any approved professional searches it,
    /// reads an entry, exports a search as CSV.
    ViewResources,
    /// R12.2: the center adds entries; a facility admin adds the facility's own.
    CreateResource,
    /// R12.2: the center edits every entry; a facility admin the facility's own.
    EditResource,
    /// R12.2: the center imports CSV files, edits the kinds and areas, and sees what is out of date.
    ImportResources,
    EditResourceTerms,
    ViewStaleResources,
    // The center (在宅医療支援センター) only.
    ListFacilities,
    CreateFacility,
    EditFacility,
    CreateFacilityAdmin,
    ViewApprovalQueue,
    DecideApplication,
    ListUsers,
    ViewUser,
    ResumeUser,
    EditPolicy,
    ViewAuditLog,
    ExportAuditLog,
    EditSettings,
}

/// What it is asked about, resolved from the URL before the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    None,
    Facility {
        facility_id: String,
    },
    User {
        user_id: String,
        facility_id: Option<String>,
        role: Role,
    },
    Application {
        facility_id: Option<String>,
    },
    Patient(PatientFacts),
    Invitation {
        invitee_id: String,
        consent: ConsentState,
    },
    /// R5.4: a bulletin board (and, for a post's routes, one of its posts).
    Board(BoardFacts),
    BoardInvitation {
        invitee_id: String,
    },
    /// R12.2: a directory entry, and the Kumanet facility it belongs to (if any).
    Resource {
        facility_id: Option<String>,
    },
}

/// What the decision needs to know about a board and the asker's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardFacts {
    pub actor_is_member: bool,
    pub actor_is_manager: bool,
    pub post: Option<PostFacts>,
}

/// What the decision needs to know about a patient, and the asker's relation to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientFacts {
    pub attending_id: String,
    pub delegated_facility_id: Option<String>,
    pub consent: ConsentState,
    /// The asker is an active member of the patient's group.
    pub actor_is_member: bool,
    /// The asker is the patient or a family member admitted to this patient's group (R5.3).
    pub actor_is_family: bool,
    /// When the operation is about one post of the group.
    pub post: Option<PostFacts>,
}

/// What the decision needs to know about a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFacts {
    pub part: Part,
    pub author_is_actor: bool,
    /// An attachment not yet confirmed with its post: only its uploader sees it.
    pub draft: bool,
}

/// Why not. The web layer maps each to a status and a Japanese message (one place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("not signed in")]
    NotSignedIn,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("policy acceptance required")]
    PolicyAcceptanceRequired,
    #[error("not approved by the center")]
    NotApproved,
    #[error("forbidden")]
    Forbidden,
    #[error("no self-withdrawal")]
    SelfWithdrawal,
    #[error("no consent recorded")]
    NoConsent,
    #[error("consent withdrawn: read-only")]
    ReadOnly,
}

impl Denied {
    pub fn code(self) -> &'static str {
        match self {
            Denied::NotSignedIn => "not_signed_in",
            Denied::PasswordChangeRequired => "password_change_required",
            Denied::PolicyAcceptanceRequired => "policy_acceptance_required",
            Denied::NotApproved => "not_approved",
            Denied::Forbidden => "forbidden",
            Denied::SelfWithdrawal => "self_withdrawal",
            Denied::NoConsent => "no_consent",
            Denied::ReadOnly => "consent_withdrawn",
        }
    }
}

/// R10.7: the decision. Deny by default: an action is allowed only by a rule below.
pub fn decide(actor: &Actor, action: Action, target: &Target) -> Result<(), Denied> {
    use Action::*;
    if matches!(action, ViewPublic | Login | Setup) {
        return Ok(());
    }
    let Actor::User(u) = actor else {
        return Err(Denied::NotSignedIn);
    };
    // R6.3: a suspended or deleted ID is signed out at its next request.
    if matches!(u.status, UserStatus::Suspended | UserStatus::Deleted) {
        return Err(Denied::NotSignedIn);
    }
    if matches!(action, Logout | ViewSession | ChangeOwnPassword) {
        return Ok(());
    }
    if u.must_change_password {
        return Err(Denied::PasswordChangeRequired);
    }
    if matches!(action, ViewPolicy | AcceptPolicy) {
        return Ok(());
    }
    // R1.1: nothing else before the current policy is accepted.
    if !u.policy_accepted {
        return Err(Denied::PolicyAcceptanceRequired);
    }
    if matches!(action, ViewHome | ViewOwnProfile | EditOwnNotices) {
        return Ok(());
    }
    // R5.3: a patient or family member reaches nothing but the shared part of their own group.
    if u.role == Role::PatientFamily {
        return match target {
            Target::Patient(p) if p.actor_is_family && u.status == UserStatus::Approved => decide_family(action, p),
            _ => Err(Denied::Forbidden),
        };
    }
    // R6.2: beyond one's own profile and the policy, only approved IDs with a signed pledge.
    if u.status != UserStatus::Approved || !u.pledge_signed {
        return Err(Denied::NotApproved);
    }
    let center = u.role == Role::Center;
    let admin_of = |facility: &Option<String>| {
        u.role == Role::FacilityAdmin && u.facility_id.is_some() && *facility == u.facility_id
    };
    if let Target::Patient(p) = target {
        return decide_patient(u, action, p);
    }
    if let Target::Invitation { invitee_id, consent } = target {
        if action != RespondInvitation || *invitee_id != u.user_id {
            return Err(Denied::Forbidden);
        }
        return sharing(*consent);
    }
    if let Target::Board(b) = target {
        return decide_board(action, b);
    }
    if let Target::BoardInvitation { invitee_id } = target {
        return if action == RespondInvitation && *invitee_id == u.user_id { Ok(()) } else { Err(Denied::Forbidden) };
    }
    let allowed = match (action, target) {
        (ViewStaffDirectory | ListPatients | ViewInvitations | SearchPosts | ListBoards, _) => true,
        // R5.4: a team, a committee or a district: any approved professional starts one.
        (CreateBoard, Target::None) => true,
        (ViewResources, Target::None | Target::Resource { .. }) => true,
        (CreateResource, Target::None) => center || u.role == Role::FacilityAdmin,
        (EditResource, Target::Resource { facility_id }) => center || admin_of(facility_id),
        (RegisterPatient, Target::None) => u.role == Role::Staff && u.profession == Some(Profession::Doctor),
        (ViewFacilityStaff, Target::Facility { facility_id }) => center || admin_of(&Some(facility_id.clone())),
        (CreateStaff, Target::Facility { facility_id }) => admin_of(&Some(facility_id.clone())),
        (PrintForms, Target::User { user_id, facility_id, .. }) => {
            center || admin_of(facility_id) || *user_id == u.user_id
        }
        (FileChange | FileDeletion | ResetPassword | SuspendUser, Target::User { user_id, facility_id, role }) => {
            // R6.4: nobody withdraws themself; the admin and the center do it.
            if *user_id == u.user_id {
                return Err(Denied::SelfWithdrawal);
            }
            let own_staff = admin_of(facility_id) && *role == Role::Staff;
            match action {
                SuspendUser => own_staff || (center && *role != Role::Center),
                _ => own_staff,
            }
        }
        (
            ListFacilities | CreateFacility | ViewApprovalQueue | ListUsers | EditPolicy | ViewAuditLog
            | ExportAuditLog | EditSettings | ImportResources | EditResourceTerms | ViewStaleResources,
            Target::None,
        ) => center,
        (EditFacility | CreateFacilityAdmin, Target::Facility { .. }) => center,
        (DecideApplication, Target::Application { .. }) => center,
        (ViewUser | ResumeUser, Target::User { .. }) => center,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

/// R4.1, R4.3: new sharing needs a consent that is given and not withdrawn.
fn sharing(consent: ConsentState) -> Result<(), Denied> {
    match consent {
        ConsentState::Given => Ok(()),
        ConsentState::Missing => Err(Denied::NoConsent),
        ConsentState::Withdrawn => Err(Denied::ReadOnly),
    }
}

/// R5.4: a board is its members'; its managers invite and remove. Nobody else sees it, the
/// center included: a board is not the center's to read unless it is invited.
fn decide_board(action: Action, b: &BoardFacts) -> Result<(), Denied> {
    use Action::*;
    let allowed = match (&b.post, action) {
        // An attachment not yet confirmed is its uploader's alone.
        (Some(post), _) if post.draft && !post.author_is_actor => false,
        (Some(_), ViewPost | MarkRead | ViewAttachment | AckPost) => b.actor_is_member,
        (Some(post), EditPost) => b.actor_is_member && post.author_is_actor,
        (Some(post), DeletePost) => b.actor_is_member && (post.author_is_actor || b.actor_is_manager),
        (None, ViewBoard | PostToBoard | LeaveBoard) => b.actor_is_member,
        (None, InviteToBoard | RemoveFromBoard) => b.actor_is_member && b.actor_is_manager,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

/// R5.3: the patient or a family member admitted to the group: the shared part only.
fn decide_family(action: Action, p: &PatientFacts) -> Result<(), Denied> {
    use Action::*;
    let shared_post = p.post.as_ref().filter(|post| post.part == Part::Shared && (!post.draft || post.author_is_actor));
    match (action, shared_post) {
        (ViewSharedPart, _) | (ViewPost | MarkRead | ViewAttachment, Some(_)) => Ok(()),
        (PostToShared, _) | (AckPost, Some(_)) => sharing(p.consent),
        (EditPost | DeletePost, Some(post)) if post.author_is_actor => sharing(p.consent),
        _ => Err(Denied::Forbidden),
    }
}

/// R5.1: the managers of a patient's group: the attending physician, and the staff of the
/// facility the management is delegated to. Pages ask it for which controls to show; every
/// operation is still decided by `decide`.
pub fn manages(
    user_id: &str,
    facility_id: Option<&str>,
    attending_id: &str,
    delegated_facility_id: Option<&str>,
) -> bool {
    attending_id == user_id || (delegated_facility_id.is_some() && delegated_facility_id == facility_id)
}

/// R5.1, R4.1, R4.3, R10.5, R10.6: decisions about one patient.
fn decide_patient(u: &UserActor, action: Action, p: &PatientFacts) -> Result<(), Denied> {
    use Action::*;
    let attending = p.attending_id == u.user_id;
    let manager = manages(&u.user_id, u.facility_id.as_deref(), &p.attending_id, p.delegated_facility_id.as_deref());
    let sees = manager || p.actor_is_member;
    if let Some(post) = &p.post {
        // Professionals see both parts of a group they belong to or manage.
        let may = match action {
            _ if post.draft && !post.author_is_actor => false,
            ViewPost | MarkRead | ViewAttachment => sees,
            AckPost => sees,
            EditPost => sees && post.author_is_actor,
            DeletePost => sees && (post.author_is_actor || manager),
            _ => false,
        };
        if !may {
            return Err(Denied::Forbidden);
        }
        return match action {
            ViewPost | MarkRead | ViewAttachment => Ok(()),
            _ => sharing(p.consent),
        };
    }
    let allowed = match action {
        PostToGroup | PostToShared => {
            if !sees {
                return Err(Denied::Forbidden);
            }
            return sharing(p.consent);
        }
        ViewPatient | ViewGroup | ViewSharedPart => manager || p.actor_is_member,
        // R4.3: after withdrawal the group is read-only, the agreement included.
        VoteFamily => {
            if !p.actor_is_member {
                return Err(Denied::Forbidden);
            }
            return sharing(p.consent);
        }
        ProposeFamily | CreateFamilyAccount => {
            if !manager {
                return Err(Denied::Forbidden);
            }
            return sharing(p.consent);
        }
        EditPatient | RecordConsent | WithdrawConsent | PrintConsentForm | RemoveMember => manager,
        CreateGroup | InviteMember => {
            if !manager {
                return Err(Denied::Forbidden);
            }
            return sharing(p.consent);
        }
        DelegateManagement => attending,
        RequestRemoval => p.actor_is_member && !manager,
        _ => false,
    };
    if !allowed {
        return Err(Denied::Forbidden);
    }
    if action == WithdrawConsent && p.consent != ConsentState::Given {
        return Err(Denied::NoConsent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, facility: Option<&str>, status: UserStatus) -> Actor {
        Actor::User(UserActor {
            user_id: format!("u-{}", role.code()),
            role,
            facility_id: facility.map(str::to_string),
            profession: None,
            status,
            policy_accepted: true,
            pledge_signed: true,
            must_change_password: false,
        })
    }

    fn staff_of(f: &str) -> Target {
        Target::User { user_id: "nurse".into(), facility_id: Some(f.into()), role: Role::Staff }
    }

    #[test]
    fn r10_7_deny_by_default_for_anonymous() {
        assert_eq!(decide(&Actor::Anonymous, Action::ViewHome, &Target::None), Err(Denied::NotSignedIn));
        assert_eq!(decide(&Actor::Anonymous, Action::Login, &Target::None), Ok(()));
    }

    #[test]
    fn r6_2_pending_id_reaches_only_profile_and_policy() {
        let a = user(Role::Staff, Some("f1"), UserStatus::Pending);
        assert_eq!(decide(&a, Action::ViewOwnProfile, &Target::None), Ok(()));
        assert_eq!(decide(&a, Action::ViewPolicy, &Target::None), Ok(()));
        assert_eq!(decide(&a, Action::ViewStaffDirectory, &Target::None), Err(Denied::NotApproved));
    }

    #[test]
    fn r6_3_suspended_is_signed_out() {
        let a = user(Role::Staff, Some("f1"), UserStatus::Suspended);
        assert_eq!(decide(&a, Action::ViewHome, &Target::None), Err(Denied::NotSignedIn));
    }

    #[test]
    fn r1_1_policy_first() {
        let Actor::User(mut u) = user(Role::Staff, Some("f1"), UserStatus::Approved) else { unreachable!() };
        u.policy_accepted = false;
        let a = Actor::User(u);
        assert_eq!(decide(&a, Action::ViewHome, &Target::None), Err(Denied::PolicyAcceptanceRequired));
        assert_eq!(decide(&a, Action::AcceptPolicy, &Target::None), Ok(()));
    }

    #[test]
    fn r6_1_admin_acts_on_own_facility_only() {
        let a = user(Role::FacilityAdmin, Some("f1"), UserStatus::Approved);
        let f1 = Target::Facility { facility_id: "f1".into() };
        let f2 = Target::Facility { facility_id: "f2".into() };
        assert_eq!(decide(&a, Action::CreateStaff, &f1), Ok(()));
        assert_eq!(decide(&a, Action::CreateStaff, &f2), Err(Denied::Forbidden));
        assert_eq!(decide(&a, Action::SuspendUser, &staff_of("f1")), Ok(()));
        assert_eq!(decide(&a, Action::SuspendUser, &staff_of("f2")), Err(Denied::Forbidden));
        let center = user(Role::Center, None, UserStatus::Approved);
        assert_eq!(decide(&center, Action::CreateStaff, &f1), Err(Denied::Forbidden));
        assert_eq!(decide(&center, Action::SuspendUser, &staff_of("f2")), Ok(()));
    }

    #[test]
    fn r6_2_forms_print_for_self_admin_and_center() {
        let nurse = Target::User { user_id: "nurse".into(), facility_id: Some("f1".into()), role: Role::Staff };
        let Actor::User(mut me) = user(Role::Staff, Some("f1"), UserStatus::Approved) else { unreachable!() };
        me.user_id = "nurse".into();
        assert_eq!(decide(&Actor::User(me), Action::PrintForms, &nurse), Ok(()));
        assert_eq!(
            decide(&user(Role::Staff, Some("f1"), UserStatus::Approved), Action::PrintForms, &nurse),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            decide(&user(Role::FacilityAdmin, Some("f1"), UserStatus::Approved), Action::PrintForms, &nurse),
            Ok(())
        );
        assert_eq!(
            decide(&user(Role::FacilityAdmin, Some("f2"), UserStatus::Approved), Action::PrintForms, &nurse),
            Err(Denied::Forbidden)
        );
        assert_eq!(decide(&user(Role::Center, None, UserStatus::Approved), Action::PrintForms, &nurse), Ok(()));
    }

    #[test]
    fn r6_4_no_self_withdrawal() {
        let a = user(Role::FacilityAdmin, Some("f1"), UserStatus::Approved);
        let me = Target::User {
            user_id: "u-facility_admin".into(),
            facility_id: Some("f1".into()),
            role: Role::FacilityAdmin,
        };
        assert_eq!(decide(&a, Action::FileDeletion, &me), Err(Denied::SelfWithdrawal));
    }

    #[test]
    fn center_only_actions() {
        let staff = user(Role::Staff, Some("f1"), UserStatus::Approved);
        for action in [Action::ListFacilities, Action::ViewAuditLog, Action::EditSettings, Action::EditPolicy] {
            assert_eq!(decide(&staff, action, &Target::None), Err(Denied::Forbidden));
            assert_eq!(decide(&user(Role::Center, None, UserStatus::Approved), action, &Target::None), Ok(()));
        }
    }

    fn doctor(id: &str, facility: &str) -> Actor {
        Actor::User(UserActor {
            user_id: id.into(),
            role: Role::Staff,
            facility_id: Some(facility.into()),
            profession: Some(Profession::Doctor),
            status: UserStatus::Approved,
            policy_accepted: true,
            pledge_signed: true,
            must_change_password: false,
        })
    }

    fn facts(consent: ConsentState, member: bool) -> Target {
        Target::Patient(PatientFacts {
            attending_id: "dr".into(),
            delegated_facility_id: Some("nursing".into()),
            consent,
            actor_is_member: member,
            actor_is_family: false,
            post: None,
        })
    }

    #[test]
    fn r5_1_only_doctors_register_and_only_managers_manage() {
        assert_eq!(decide(&doctor("dr", "clinic"), Action::RegisterPatient, &Target::None), Ok(()));
        assert_eq!(
            decide(&user(Role::Staff, Some("f"), UserStatus::Approved), Action::RegisterPatient, &Target::None),
            Err(Denied::Forbidden)
        );
        let given = facts(ConsentState::Given, false);
        assert_eq!(decide(&doctor("dr", "clinic"), Action::CreateGroup, &given), Ok(()));
        // Staff of the delegated facility manage too, but only the attending physician delegates.
        let nurse = user(Role::Staff, Some("nursing"), UserStatus::Approved);
        assert_eq!(decide(&nurse, Action::InviteMember, &given), Ok(()));
        assert_eq!(decide(&nurse, Action::DelegateManagement, &given), Err(Denied::Forbidden));
        assert_eq!(decide(&doctor("other", "clinic"), Action::ViewPatient, &given), Err(Denied::Forbidden));
        assert_eq!(decide(&doctor("other", "clinic"), Action::ViewGroup, &facts(ConsentState::Given, true)), Ok(()));
    }

    #[test]
    fn r4_1_r4_3_no_group_without_consent_and_read_only_after_withdrawal() {
        let dr = doctor("dr", "clinic");
        assert_eq!(decide(&dr, Action::CreateGroup, &facts(ConsentState::Missing, false)), Err(Denied::NoConsent));
        assert_eq!(decide(&dr, Action::InviteMember, &facts(ConsentState::Withdrawn, false)), Err(Denied::ReadOnly));
        assert_eq!(decide(&dr, Action::ViewGroup, &facts(ConsentState::Withdrawn, false)), Ok(()));
        let invitee = doctor("me", "x");
        let inv = |c| Target::Invitation { invitee_id: "me".into(), consent: c };
        assert_eq!(decide(&invitee, Action::RespondInvitation, &inv(ConsentState::Given)), Ok(()));
        assert_eq!(decide(&invitee, Action::RespondInvitation, &inv(ConsentState::Withdrawn)), Err(Denied::ReadOnly));
        assert_eq!(
            decide(&doctor("someone", "x"), Action::RespondInvitation, &inv(ConsentState::Given)),
            Err(Denied::Forbidden)
        );
    }

    fn post_facts(consent: ConsentState, member: bool, family: bool, part: Part, author: bool) -> Target {
        Target::Patient(PatientFacts {
            attending_id: "dr".into(),
            delegated_facility_id: None,
            consent,
            actor_is_member: member,
            actor_is_family: family,
            post: Some(PostFacts { part, author_is_actor: author, draft: false }),
        })
    }

    #[test]
    fn r10_6_posts_by_members_edits_by_authors_and_nothing_after_withdrawal() {
        use ConsentState::*;
        let nurse = user(Role::Staff, Some("visiting"), UserStatus::Approved);
        let dr = doctor("dr", "clinic");
        // Members post in both parts; outsiders nowhere.
        assert_eq!(decide(&nurse, Action::PostToGroup, &facts(Given, true)), Ok(()));
        assert_eq!(decide(&nurse, Action::PostToShared, &facts(Given, true)), Ok(()));
        assert_eq!(decide(&nurse, Action::PostToGroup, &facts(Given, false)), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::PostToGroup, &facts(Withdrawn, true)), Err(Denied::ReadOnly));
        // The author edits; others do not; the manager may delete (moderation), not edit.
        let own = post_facts(Given, true, false, Part::Professional, true);
        let other = post_facts(Given, true, false, Part::Professional, false);
        assert_eq!(decide(&nurse, Action::EditPost, &own), Ok(()));
        assert_eq!(decide(&nurse, Action::EditPost, &other), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::DeletePost, &other), Err(Denied::Forbidden));
        assert_eq!(decide(&dr, Action::DeletePost, &other), Ok(()));
        assert_eq!(decide(&dr, Action::EditPost, &other), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::AckPost, &other), Ok(()));
        // R4.3: after withdrawal, read only: reading and read marks yes, 了解 and edits no.
        let withdrawn = post_facts(Withdrawn, true, false, Part::Professional, true);
        assert_eq!(decide(&nurse, Action::ViewPost, &withdrawn), Ok(()));
        assert_eq!(decide(&nurse, Action::MarkRead, &withdrawn), Ok(()));
        assert_eq!(decide(&nurse, Action::AckPost, &withdrawn), Err(Denied::ReadOnly));
        assert_eq!(decide(&nurse, Action::EditPost, &withdrawn), Err(Denied::ReadOnly));
        assert_eq!(decide(&nurse, Action::DeletePost, &withdrawn), Err(Denied::ReadOnly));
        // Non-members see no post at all.
        let outsider = post_facts(Given, false, false, Part::Shared, false);
        assert_eq!(decide(&nurse, Action::ViewPost, &outsider), Err(Denied::Forbidden));
        // R9.3: a draft attachment (before 確定) is its uploader's alone, even for the manager.
        let Target::Patient(mut draft) = post_facts(Given, true, false, Part::Professional, false) else {
            unreachable!()
        };
        draft.post = Some(PostFacts { part: Part::Professional, author_is_actor: false, draft: true });
        assert_eq!(decide(&dr, Action::ViewAttachment, &Target::Patient(draft.clone())), Err(Denied::Forbidden));
        draft.post = Some(PostFacts { part: Part::Professional, author_is_actor: true, draft: true });
        assert_eq!(decide(&nurse, Action::ViewAttachment, &Target::Patient(draft)), Ok(()));
    }

    fn family_actor() -> Actor {
        Actor::User(UserActor {
            user_id: "fam".into(),
            role: Role::PatientFamily,
            facility_id: None,
            profession: None,
            status: UserStatus::Approved,
            policy_accepted: true,
            pledge_signed: true,
            must_change_password: false,
        })
    }

    #[test]
    fn r5_3_family_posts_only_in_the_shared_part() {
        use ConsentState::*;
        let family = family_actor();
        let shared = post_facts(Given, false, true, Part::Shared, false);
        let pro = post_facts(Given, false, true, Part::Professional, false);
        assert_eq!(decide(&family, Action::ViewPost, &shared), Ok(()));
        assert_eq!(decide(&family, Action::AckPost, &shared), Ok(()));
        assert_eq!(decide(&family, Action::ViewPost, &pro), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::MarkRead, &pro), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::EditPost, &shared), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::EditPost, &post_facts(Given, false, true, Part::Shared, true)), Ok(()));
        let own_group = post_facts(Given, false, true, Part::Shared, false);
        let Target::Patient(mut g) = own_group else { unreachable!() };
        g.post = None;
        assert_eq!(decide(&family, Action::PostToShared, &Target::Patient(g.clone())), Ok(()));
        assert_eq!(decide(&family, Action::PostToGroup, &Target::Patient(g.clone())), Err(Denied::Forbidden));
        g.consent = Withdrawn;
        assert_eq!(decide(&family, Action::PostToShared, &Target::Patient(g)), Err(Denied::ReadOnly));
    }

    #[test]
    fn r5_3_family_sees_only_the_shared_part_of_their_group() {
        let family = family_actor();
        let own = Target::Patient(PatientFacts {
            attending_id: "dr".into(),
            delegated_facility_id: None,
            consent: ConsentState::Given,
            actor_is_member: false,
            actor_is_family: true,
            post: None,
        });
        assert_eq!(decide(&family, Action::ViewSharedPart, &own), Ok(()));
        assert_eq!(decide(&family, Action::ViewGroup, &own), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::ViewPatient, &own), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::ViewSharedPart, &facts(ConsentState::Given, false)), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::ViewStaffDirectory, &Target::None), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::ListPatients, &Target::None), Err(Denied::Forbidden));
        assert_eq!(decide(&family, Action::ViewHome, &Target::None), Ok(()));
        // Proposals need the manager and the consent; members vote.
        let dr = doctor("dr", "clinic");
        assert_eq!(decide(&dr, Action::ProposeFamily, &facts(ConsentState::Withdrawn, true)), Err(Denied::ReadOnly));
        assert_eq!(decide(&dr, Action::ProposeFamily, &facts(ConsentState::Given, true)), Ok(()));
        let member = user(Role::Staff, Some("pharmacy"), UserStatus::Approved);
        assert_eq!(decide(&member, Action::VoteFamily, &facts(ConsentState::Given, true)), Ok(()));
        assert_eq!(decide(&member, Action::VoteFamily, &facts(ConsentState::Withdrawn, true)), Err(Denied::ReadOnly));
        assert_eq!(
            decide(&member, Action::CreateFamilyAccount, &facts(ConsentState::Given, true)),
            Err(Denied::Forbidden)
        );
    }

    fn board(member: bool, manager: bool, post: Option<PostFacts>) -> Target {
        Target::Board(BoardFacts { actor_is_member: member, actor_is_manager: manager, post })
    }

    #[test]
    fn r5_4_boards_belong_to_their_members() {
        let nurse = user(Role::Staff, Some("visiting"), UserStatus::Approved);
        let center = user(Role::Center, None, UserStatus::Approved);
        // Any approved professional (the center too) starts a board; the family does not.
        assert_eq!(decide(&nurse, Action::CreateBoard, &Target::None), Ok(()));
        assert_eq!(decide(&center, Action::CreateBoard, &Target::None), Ok(()));
        assert_eq!(decide(&family_actor(), Action::CreateBoard, &Target::None), Err(Denied::Forbidden));
        assert_eq!(
            decide(&user(Role::Staff, Some("f"), UserStatus::Pending), Action::ListBoards, &Target::None),
            Err(Denied::NotApproved)
        );
        // Members read, post and leave; managers invite and remove; outsiders, the center
        // included, see nothing.
        assert_eq!(decide(&nurse, Action::PostToBoard, &board(true, false, None)), Ok(()));
        assert_eq!(decide(&nurse, Action::InviteToBoard, &board(true, false, None)), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::InviteToBoard, &board(true, true, None)), Ok(()));
        assert_eq!(decide(&center, Action::ViewBoard, &board(false, false, None)), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::ViewGroup, &board(true, true, None)), Err(Denied::Forbidden));
        // Posts: members read and acknowledge; the author edits; a manager may delete too.
        let other = Some(PostFacts { part: Part::Board, author_is_actor: false, draft: false });
        let own = Some(PostFacts { part: Part::Board, author_is_actor: true, draft: false });
        assert_eq!(decide(&nurse, Action::AckPost, &board(true, false, other.clone())), Ok(()));
        assert_eq!(decide(&nurse, Action::EditPost, &board(true, false, other.clone())), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::DeletePost, &board(true, false, other.clone())), Err(Denied::Forbidden));
        assert_eq!(decide(&nurse, Action::DeletePost, &board(true, true, other.clone())), Ok(()));
        assert_eq!(decide(&nurse, Action::EditPost, &board(true, false, own)), Ok(()));
        assert_eq!(decide(&nurse, Action::ViewPost, &board(false, false, other)), Err(Denied::Forbidden));
        let draft = Some(PostFacts { part: Part::Board, author_is_actor: false, draft: true });
        assert_eq!(decide(&nurse, Action::ViewAttachment, &board(true, true, draft)), Err(Denied::Forbidden));
        // Only the invitee answers a board invitation.
        let inv = Target::BoardInvitation { invitee_id: "u-staff".into() };
        assert_eq!(decide(&nurse, Action::RespondInvitation, &inv), Ok(()));
        assert_eq!(decide(&center, Action::RespondInvitation, &inv), Err(Denied::Forbidden));
    }

    #[test]
    fn r12_2_the_center_keeps_the_directory_and_facilities_their_own_entries() {
        let own = Target::Resource { facility_id: Some("f1".into()) };
        let other = Target::Resource { facility_id: Some("f2".into()) };
        let free = Target::Resource { facility_id: None };
        let admin = user(Role::FacilityAdmin, Some("f1"), UserStatus::Approved);
        let staff = user(Role::Staff, Some("f1"), UserStatus::Approved);
        let center = user(Role::Center, None, UserStatus::Approved);
        assert_eq!(decide(&admin, Action::EditResource, &own), Ok(()));
        assert_eq!(decide(&admin, Action::EditResource, &other), Err(Denied::Forbidden));
        assert_eq!(decide(&admin, Action::EditResource, &free), Err(Denied::Forbidden));
        assert_eq!(decide(&center, Action::EditResource, &other), Ok(()));
        assert_eq!(decide(&staff, Action::EditResource, &own), Err(Denied::Forbidden));
        assert_eq!(decide(&staff, Action::ViewResources, &own), Ok(()));
        assert_eq!(decide(&staff, Action::CreateResource, &Target::None), Err(Denied::Forbidden));
        assert_eq!(decide(&admin, Action::CreateResource, &Target::None), Ok(()));
        assert_eq!(decide(&admin, Action::ImportResources, &Target::None), Err(Denied::Forbidden));
        assert_eq!(decide(&center, Action::ImportResources, &Target::None), Ok(()));
        assert_eq!(decide(&family_actor(), Action::ViewResources, &Target::None), Err(Denied::Forbidden));
    }

    #[test]
    fn r10_5_members_ask_to_leave() {
        let member = user(Role::Staff, Some("pharmacy"), UserStatus::Approved);
        assert_eq!(decide(&member, Action::RequestRemoval, &facts(ConsentState::Given, true)), Ok(()));
        assert_eq!(decide(&member, Action::RequestRemoval, &facts(ConsentState::Given, false)), Err(Denied::Forbidden));
        assert_eq!(decide(&member, Action::RemoveMember, &facts(ConsentState::Given, true)), Err(Denied::Forbidden));
    }
}
