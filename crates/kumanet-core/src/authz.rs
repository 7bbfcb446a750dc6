//! R10.7: the one gate. Every operation of every route is decided here for (actor, action, target);
//! the web layer calls `decide` from a single middleware and handlers never decide for themselves.

use crate::people::{Role, UserStatus};

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
    Facility { facility_id: String },
    User { user_id: String, facility_id: Option<String>, role: Role },
    Application { facility_id: Option<String> },
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
    if matches!(action, ViewHome | ViewOwnProfile) {
        return Ok(());
    }
    // R6.2: beyond one's own profile and the policy, only approved IDs with a signed pledge.
    if u.status != UserStatus::Approved || !u.pledge_signed {
        return Err(Denied::NotApproved);
    }
    let center = u.role == Role::Center;
    let admin_of = |facility: &Option<String>| {
        u.role == Role::FacilityAdmin && u.facility_id.is_some() && *facility == u.facility_id
    };
    let allowed = match (action, target) {
        (ViewStaffDirectory, _) => true,
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
            | ExportAuditLog | EditSettings,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, facility: Option<&str>, status: UserStatus) -> Actor {
        Actor::User(UserActor {
            user_id: format!("u-{}", role.code()),
            role,
            facility_id: facility.map(str::to_string),
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
}
