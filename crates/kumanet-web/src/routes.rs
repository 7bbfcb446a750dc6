//! The whole URL map, in one table. Each row names the operation (`Action`) that the gate decides
//! and which object in the path it is about. The router is built from this table only, so a route
//! cannot exist without a row here, and the authorization matrix test walks the same table.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use kumanet_core::authz::Action;

use crate::request::Needs;
use crate::{api, gate, html, App};

/// Which object of the path the operation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    None,
    Facility,
    User,
    Application,
    Patient,
    Group,
    Invitation,
    Post,
    Attachment,
    /// R5.4: a bulletin board, and an invitation to one.
    Board,
    BoardInvitation,
    /// R12.2: an entry of the regional resource directory.
    Resource,
}

pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub action: Action,
    pub find: Find,
    /// The path objects the handler asks for, each with the rows that resolve it.
    pub needs: Vec<(&'static str, &'static [Find])>,
    /// For the API: what the handler answers, from its return type (the OpenAPI document).
    pub answers: Option<fn(&mut api::Schemas) -> Vec<api::Answer>>,
    /// The JSON body the handler reads, from its extractor's type (the OpenAPI document).
    pub request: fn(&mut api::Schemas) -> Option<utoipa::openapi::RefOr<utoipa::openapi::Schema>>,
    handler: MethodRouter<App>,
}

fn r<H, T>(method: Method, path: &'static str, action: Action, find: Find, handler: H) -> RouteDef
where
    H: Handler<T, App>,
    T: Needs + 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    RouteDef {
        method,
        path,
        action,
        find,
        needs: T::needs(),
        answers: None,
        request: T::request_body,
        handler: on(filter, handler),
    }
}

/// A route of the JSON API: its answers are documented from the handler's return type.
fn a<H, T, Args>(method: Method, path: &'static str, action: Action, find: Find, handler: H) -> RouteDef
where
    H: Handler<T, App> + api::ApiHandler<Args>,
    T: Needs + 'static,
{
    let answers: fn(&mut api::Schemas) -> Vec<api::Answer> = <H as api::ApiHandler<Args>>::answers;
    RouteDef { answers: Some(answers), ..r(method, path, action, find, handler) }
}

/// Routes whose handler asks for an object its row does not resolve (each would answer every
/// request with 404). The route-table test requires none.
pub fn mismatched(table: &[RouteDef]) -> Vec<String> {
    table
        .iter()
        .flat_map(|def| {
            def.needs.iter().filter(|(_, from)| !from.contains(&def.find)).map(move |(name, _)| {
                format!("{} {}: the handler asks for {name}, the row resolves {:?}", def.method, def.path, def.find)
            })
        })
        .collect()
}

/// Every route of the server.
pub fn route_table() -> Vec<RouteDef> {
    use api::boards as ab;
    use api::posts as ap;
    use api::resources as ad;
    use html::{auth, boards, center, directory, facility, home, patients, posts, setup, system};
    use Action as A;
    use Find as F;
    use Method as M;
    vec![
        r(M::GET, "/healthz", A::ViewPublic, F::None, system::healthz),
        r(M::GET, "/static/app.css", A::ViewPublic, F::None, system::css),
        r(M::GET, "/static/app.js", A::ViewPublic, F::None, system::js),
        r(M::GET, "/setup", A::Setup, F::None, setup::setup_get),
        r(M::POST, "/setup", A::Setup, F::None, setup::setup_post),
        r(M::GET, "/login", A::Login, F::None, auth::login_get),
        r(M::POST, "/login", A::Login, F::None, auth::login_post),
        r(M::POST, "/logout", A::Logout, F::None, auth::logout_post),
        r(M::GET, "/password", A::ChangeOwnPassword, F::None, auth::password_get),
        r(M::POST, "/password", A::ChangeOwnPassword, F::None, auth::password_post),
        r(M::GET, "/policy", A::ViewPolicy, F::None, auth::policy_get),
        r(M::POST, "/policy", A::AcceptPolicy, F::None, auth::policy_post),
        r(M::GET, "/", A::ViewHome, F::None, home::home_get),
        r(M::GET, "/profile", A::ViewOwnProfile, F::None, home::profile_get),
        r(M::POST, "/profile/notices", A::EditOwnNotices, F::None, home::notices_post),
        r(M::GET, "/directory", A::ViewStaffDirectory, F::None, home::directory_get),
        r(M::GET, "/facilities/{facility_id}/staff", A::ViewFacilityStaff, F::Facility, facility::staff_get),
        r(M::GET, "/facilities/{facility_id}/staff/new", A::CreateStaff, F::Facility, facility::staff_new_get),
        r(M::POST, "/facilities/{facility_id}/staff", A::CreateStaff, F::Facility, facility::staff_post),
        r(M::GET, "/users/{user_id}/change", A::FileChange, F::User, facility::change_get),
        r(M::POST, "/users/{user_id}/change", A::FileChange, F::User, facility::change_post),
        r(M::GET, "/users/{user_id}/deletion", A::FileDeletion, F::User, facility::deletion_get),
        r(M::POST, "/users/{user_id}/deletion", A::FileDeletion, F::User, facility::deletion_post),
        r(M::POST, "/users/{user_id}/suspend", A::SuspendUser, F::User, facility::suspend_post),
        r(M::POST, "/users/{user_id}/password-reset", A::ResetPassword, F::User, facility::reset_post),
        r(M::GET, "/users/{user_id}/forms", A::PrintForms, F::User, facility::forms_get),
        r(M::GET, "/patients", A::ListPatients, F::None, patients::list_get),
        r(M::GET, "/patients/new", A::RegisterPatient, F::None, patients::new_get),
        r(M::POST, "/patients", A::RegisterPatient, F::None, patients::create_post),
        r(M::GET, "/patients/{patient_id}", A::ViewPatient, F::Patient, patients::show_get),
        r(M::GET, "/patients/{patient_id}/consent", A::RecordConsent, F::Patient, patients::consent_get),
        r(M::POST, "/patients/{patient_id}/consent", A::RecordConsent, F::Patient, patients::consent_post),
        r(M::POST, "/patients/{patient_id}/consent/withdraw", A::WithdrawConsent, F::Patient, patients::withdraw_post),
        r(M::GET, "/patients/{patient_id}/consent/form", A::PrintConsentForm, F::Patient, patients::form1_get),
        r(
            M::GET,
            "/patients/{patient_id}/consent/{consent_id}/scan",
            A::PrintConsentForm,
            F::Patient,
            patients::scan_get,
        ),
        r(
            M::GET,
            "/patients/{patient_id}/consent/{consent_id}/scan/{page}",
            A::PrintConsentForm,
            F::Patient,
            patients::scan_page_get,
        ),
        r(M::POST, "/patients/{patient_id}/delegation", A::DelegateManagement, F::Patient, patients::delegation_post),
        r(M::POST, "/patients/{patient_id}/group", A::CreateGroup, F::Patient, patients::group_create_post),
        r(M::GET, "/groups/{group_id}", A::ViewGroup, F::Group, patients::group_get),
        r(M::POST, "/groups/{group_id}/invitations", A::InviteMember, F::Group, patients::invite_post),
        r(M::POST, "/groups/{group_id}/members/{user_id}/remove", A::RemoveMember, F::Group, patients::remove_post),
        r(M::POST, "/groups/{group_id}/leave", A::RequestRemoval, F::Group, patients::leave_post),
        r(M::GET, "/groups/{group_id}/shared", A::ViewSharedPart, F::Group, patients::shared_get),
        r(M::POST, "/groups/{group_id}/family/proposal", A::ProposeFamily, F::Group, patients::family_propose_post),
        r(M::POST, "/groups/{group_id}/family/vote", A::VoteFamily, F::Group, patients::family_vote_post),
        r(
            M::POST,
            "/groups/{group_id}/family/accounts",
            A::CreateFamilyAccount,
            F::Group,
            patients::family_account_post,
        ),
        // Posts (第10条): compose → preview → 確定, history, 了解, read marks, live updates.
        r(M::POST, "/groups/{group_id}/posts/preview", A::PostToGroup, F::Group, posts::preview_post),
        r(M::POST, "/groups/{group_id}/posts", A::PostToGroup, F::Group, posts::confirm_post),
        r(M::GET, "/groups/{group_id}/live", A::ViewGroup, F::Group, posts::live_get),
        r(M::POST, "/groups/{group_id}/shared/posts/preview", A::PostToShared, F::Group, posts::shared_preview_post),
        r(M::POST, "/groups/{group_id}/shared/posts", A::PostToShared, F::Group, posts::shared_confirm_post),
        r(M::GET, "/groups/{group_id}/shared/live", A::ViewSharedPart, F::Group, posts::shared_live_get),
        r(M::GET, "/posts/{post_id}", A::ViewPost, F::Post, posts::show_get),
        r(M::GET, "/posts/{post_id}/edit", A::EditPost, F::Post, posts::edit_get),
        r(M::POST, "/posts/{post_id}/preview", A::EditPost, F::Post, posts::edit_preview_post),
        r(M::POST, "/posts/{post_id}", A::EditPost, F::Post, posts::edit_post),
        r(M::POST, "/posts/{post_id}/delete", A::DeletePost, F::Post, posts::delete_post),
        r(M::POST, "/posts/{post_id}/ack", A::AckPost, F::Post, posts::ack_post),
        r(M::POST, "/posts/{post_id}/read", A::MarkRead, F::Post, posts::read_post),
        r(M::GET, "/attachments/{attachment_id}", A::ViewAttachment, F::Attachment, posts::attachment_get),
        r(M::GET, "/attachments/{attachment_id}/thumb", A::ViewAttachment, F::Attachment, posts::attachment_thumb_get),
        r(
            M::GET,
            "/attachments/{attachment_id}/pages/{page}",
            A::ViewAttachment,
            F::Attachment,
            posts::attachment_page_get,
        ),
        r(M::GET, "/search", A::SearchPosts, F::None, posts::search_get),
        // Bulletin boards (R5.4, R12.3): the same posts, 了解 and live updates, joined by invitation.
        r(M::GET, "/boards", A::ListBoards, F::None, boards::list_get),
        r(M::POST, "/boards", A::CreateBoard, F::None, boards::create_post),
        r(M::GET, "/boards/{board_id}", A::ViewBoard, F::Board, boards::board_get),
        r(M::GET, "/boards/{board_id}/live", A::ViewBoard, F::Board, posts::board_live_get),
        r(M::POST, "/boards/{board_id}/posts/preview", A::PostToBoard, F::Board, posts::board_preview_post),
        r(M::POST, "/boards/{board_id}/posts", A::PostToBoard, F::Board, posts::board_confirm_post),
        r(M::POST, "/boards/{board_id}/invitations", A::InviteToBoard, F::Board, boards::invite_post),
        r(M::POST, "/boards/{board_id}/members/{user_id}/remove", A::RemoveFromBoard, F::Board, boards::remove_post),
        r(M::POST, "/boards/{board_id}/leave", A::LeaveBoard, F::Board, boards::leave_post),
        r(
            M::GET,
            "/board-invitations/{invitation_id}",
            A::RespondInvitation,
            F::BoardInvitation,
            boards::invitation_get,
        ),
        r(
            M::POST,
            "/board-invitations/{invitation_id}",
            A::RespondInvitation,
            F::BoardInvitation,
            boards::invitation_post,
        ),
        // The regional resource directory (Ayamu; R12.1, R12.2).
        r(M::GET, "/resources", A::ViewResources, F::None, directory::search_get),
        r(M::GET, "/resources.csv", A::ViewResources, F::None, directory::export_get),
        r(M::GET, "/resources/invite", A::ViewResources, F::None, directory::invite_get),
        r(M::GET, "/resources/new", A::CreateResource, F::None, directory::new_get),
        r(M::POST, "/resources", A::CreateResource, F::None, directory::create_post),
        r(M::GET, "/resources/{resource_id}", A::ViewResources, F::Resource, directory::show_get),
        r(M::GET, "/resources/{resource_id}/edit", A::EditResource, F::Resource, directory::edit_get),
        r(M::POST, "/resources/{resource_id}", A::EditResource, F::Resource, directory::update_post),
        r(M::POST, "/resources/{resource_id}/confirm", A::EditResource, F::Resource, directory::confirm_post),
        r(M::GET, "/center/resources/import", A::ImportResources, F::None, directory::import_get),
        r(M::POST, "/center/resources/import", A::ImportResources, F::None, directory::import_post),
        r(M::GET, "/center/resources/stale", A::ViewStaleResources, F::None, directory::stale_get),
        r(M::GET, "/center/resources/terms", A::EditResourceTerms, F::None, directory::terms_get),
        r(M::POST, "/center/resources/terms", A::EditResourceTerms, F::None, directory::terms_post),
        r(M::GET, "/invitations", A::ViewInvitations, F::None, patients::invitations_get),
        r(M::GET, "/invitations/{invitation_id}", A::RespondInvitation, F::Invitation, patients::invitation_get),
        r(M::POST, "/invitations/{invitation_id}", A::RespondInvitation, F::Invitation, patients::invitation_post),
        r(M::GET, "/center/facilities", A::ListFacilities, F::None, center::facilities_get),
        r(M::GET, "/center/facilities/new", A::CreateFacility, F::None, center::facility_new_get),
        r(M::POST, "/center/facilities", A::CreateFacility, F::None, center::facility_create_post),
        r(M::GET, "/center/facilities/{facility_id}", A::EditFacility, F::Facility, center::facility_edit_get),
        r(M::POST, "/center/facilities/{facility_id}", A::EditFacility, F::Facility, center::facility_edit_post),
        r(
            M::GET,
            "/center/facilities/{facility_id}/admins/new",
            A::CreateFacilityAdmin,
            F::Facility,
            center::admin_new_get,
        ),
        r(
            M::POST,
            "/center/facilities/{facility_id}/admins",
            A::CreateFacilityAdmin,
            F::Facility,
            center::admin_create_post,
        ),
        r(M::GET, "/center/applications", A::ViewApprovalQueue, F::None, center::applications_get),
        r(
            M::POST,
            "/center/applications/{application_id}",
            A::DecideApplication,
            F::Application,
            center::application_post,
        ),
        r(M::GET, "/center/users", A::ListUsers, F::None, center::users_get),
        r(M::GET, "/center/users/{user_id}", A::ViewUser, F::User, center::user_get),
        r(M::POST, "/center/users/{user_id}/resume", A::ResumeUser, F::User, center::resume_post),
        r(M::GET, "/center/policy", A::EditPolicy, F::None, center::policy_get),
        r(M::POST, "/center/policy", A::EditPolicy, F::None, center::policy_post),
        r(M::GET, "/center/settings", A::EditSettings, F::None, center::settings_get),
        r(M::POST, "/center/settings", A::EditSettings, F::None, center::settings_post),
        r(M::GET, "/center/audit", A::ViewAuditLog, F::None, center::audit_get),
        r(M::GET, "/center/audit.csv", A::ExportAuditLog, F::None, center::audit_csv_get),
        // The JSON API: the same operations, described at /api/v1/openapi.json.
        a(M::GET, "/api/v1/openapi.json", A::ViewPublic, F::None, api::openapi::openapi),
        a(M::POST, "/api/v1/login", A::Login, F::None, api::accounts::login),
        a(M::POST, "/api/v1/logout", A::Logout, F::None, api::accounts::logout),
        a(M::GET, "/api/v1/session", A::ViewSession, F::None, api::accounts::session),
        a(M::POST, "/api/v1/password", A::ChangeOwnPassword, F::None, api::accounts::password),
        a(M::GET, "/api/v1/policy", A::ViewPolicy, F::None, api::accounts::policy),
        a(M::POST, "/api/v1/policy/accept", A::AcceptPolicy, F::None, api::accounts::policy_accept),
        a(M::GET, "/api/v1/directory", A::ViewStaffDirectory, F::None, api::directory::directory),
        a(M::GET, "/api/v1/facilities", A::ListFacilities, F::None, api::center::facilities),
        a(M::POST, "/api/v1/facilities", A::CreateFacility, F::None, api::center::facility_create),
        a(M::PUT, "/api/v1/facilities/{facility_id}", A::EditFacility, F::Facility, api::center::facility_update),
        a(
            M::POST,
            "/api/v1/facilities/{facility_id}/admins",
            A::CreateFacilityAdmin,
            F::Facility,
            api::center::admin_create,
        ),
        a(M::GET, "/api/v1/facilities/{facility_id}/staff", A::ViewFacilityStaff, F::Facility, api::facility::staff),
        a(M::POST, "/api/v1/facilities/{facility_id}/staff", A::CreateStaff, F::Facility, api::facility::staff_create),
        a(M::GET, "/api/v1/users", A::ListUsers, F::None, api::center::users),
        a(M::GET, "/api/v1/users/{user_id}", A::ViewUser, F::User, api::center::user),
        a(M::POST, "/api/v1/users/{user_id}/change", A::FileChange, F::User, api::facility::user_change),
        a(M::POST, "/api/v1/users/{user_id}/deletion", A::FileDeletion, F::User, api::facility::user_deletion),
        a(M::POST, "/api/v1/users/{user_id}/suspend", A::SuspendUser, F::User, api::facility::user_suspend),
        a(M::POST, "/api/v1/users/{user_id}/password-reset", A::ResetPassword, F::User, api::facility::user_reset),
        a(M::POST, "/api/v1/users/{user_id}/resume", A::ResumeUser, F::User, api::center::user_resume),
        a(M::GET, "/api/v1/applications", A::ViewApprovalQueue, F::None, api::center::applications),
        a(
            M::POST,
            "/api/v1/applications/{application_id}",
            A::DecideApplication,
            F::Application,
            api::center::application_decide,
        ),
        a(M::GET, "/api/v1/settings", A::EditSettings, F::None, api::center::settings),
        a(M::PUT, "/api/v1/settings", A::EditSettings, F::None, api::center::settings_update),
        a(M::POST, "/api/v1/policy/versions", A::EditPolicy, F::None, api::center::policy_publish),
        a(M::GET, "/api/v1/audit", A::ViewAuditLog, F::None, api::center::audit),
        a(M::GET, "/api/v1/patients", A::ListPatients, F::None, api::patients::patients),
        a(M::POST, "/api/v1/patients", A::RegisterPatient, F::None, api::patients::patient_create),
        a(M::GET, "/api/v1/patients/{patient_id}", A::ViewPatient, F::Patient, api::patients::patient),
        a(
            M::POST,
            "/api/v1/patients/{patient_id}/consent",
            A::RecordConsent,
            F::Patient,
            api::patients::consent_create,
        ),
        a(
            M::POST,
            "/api/v1/patients/{patient_id}/consent/withdraw",
            A::WithdrawConsent,
            F::Patient,
            api::patients::consent_withdraw,
        ),
        a(
            M::POST,
            "/api/v1/patients/{patient_id}/delegation",
            A::DelegateManagement,
            F::Patient,
            api::patients::delegation,
        ),
        a(M::POST, "/api/v1/patients/{patient_id}/group", A::CreateGroup, F::Patient, api::patients::group_create),
        a(M::GET, "/api/v1/groups/{group_id}", A::ViewGroup, F::Group, api::patients::group),
        a(M::POST, "/api/v1/groups/{group_id}/invitations", A::InviteMember, F::Group, api::patients::invite),
        a(
            M::POST,
            "/api/v1/groups/{group_id}/members/{user_id}/remove",
            A::RemoveMember,
            F::Group,
            api::patients::member_remove,
        ),
        a(M::POST, "/api/v1/groups/{group_id}/leave", A::RequestRemoval, F::Group, api::patients::leave),
        a(M::GET, "/api/v1/groups/{group_id}/shared", A::ViewSharedPart, F::Group, api::patients::shared),
        a(
            M::POST,
            "/api/v1/groups/{group_id}/family/proposal",
            A::ProposeFamily,
            F::Group,
            api::patients::family_propose,
        ),
        a(M::POST, "/api/v1/groups/{group_id}/family/vote", A::VoteFamily, F::Group, api::patients::family_vote),
        a(
            M::POST,
            "/api/v1/groups/{group_id}/family/accounts",
            A::CreateFamilyAccount,
            F::Group,
            api::patients::family_account,
        ),
        a(M::GET, "/api/v1/groups/{group_id}/posts", A::ViewGroup, F::Group, ap::group_posts),
        a(M::POST, "/api/v1/groups/{group_id}/posts/check", A::PostToGroup, F::Group, ap::group_check),
        a(M::POST, "/api/v1/groups/{group_id}/posts", A::PostToGroup, F::Group, ap::group_confirm),
        a(M::GET, "/api/v1/groups/{group_id}/shared/posts", A::ViewSharedPart, F::Group, ap::shared_posts),
        a(M::POST, "/api/v1/groups/{group_id}/shared/posts/check", A::PostToShared, F::Group, ap::group_check),
        a(M::POST, "/api/v1/groups/{group_id}/shared/posts", A::PostToShared, F::Group, ap::shared_confirm),
        a(M::GET, "/api/v1/posts/{post_id}", A::ViewPost, F::Post, ap::post),
        a(M::PUT, "/api/v1/posts/{post_id}", A::EditPost, F::Post, ap::post_edit),
        a(M::DELETE, "/api/v1/posts/{post_id}", A::DeletePost, F::Post, ap::post_delete),
        a(M::POST, "/api/v1/posts/{post_id}/ack", A::AckPost, F::Post, ap::post_ack),
        a(M::POST, "/api/v1/posts/{post_id}/read", A::MarkRead, F::Post, ap::post_read),
        a(M::GET, "/api/v1/search", A::SearchPosts, F::None, ap::search),
        a(M::GET, "/api/v1/resources", A::ViewResources, F::None, ad::search),
        a(M::POST, "/api/v1/resources", A::CreateResource, F::None, ad::create),
        a(M::POST, "/api/v1/resources/import", A::ImportResources, F::None, ad::import),
        a(M::GET, "/api/v1/resources/terms", A::ViewResources, F::None, ad::terms),
        a(M::GET, "/api/v1/resources/{resource_id}", A::ViewResources, F::Resource, ad::entry),
        a(M::PUT, "/api/v1/resources/{resource_id}", A::EditResource, F::Resource, ad::update),
        a(M::GET, "/api/v1/boards", A::ListBoards, F::None, ab::list),
        a(M::POST, "/api/v1/boards", A::CreateBoard, F::None, ab::create),
        a(M::GET, "/api/v1/boards/{board_id}", A::ViewBoard, F::Board, ab::board),
        a(M::GET, "/api/v1/boards/{board_id}/posts", A::ViewBoard, F::Board, ap::board_posts),
        a(M::POST, "/api/v1/boards/{board_id}/posts/check", A::PostToBoard, F::Board, ap::group_check),
        a(M::POST, "/api/v1/boards/{board_id}/posts", A::PostToBoard, F::Board, ap::board_confirm),
        a(M::POST, "/api/v1/boards/{board_id}/invitations", A::InviteToBoard, F::Board, ab::invite),
        a(
            M::POST,
            "/api/v1/boards/{board_id}/members/{user_id}/remove",
            A::RemoveFromBoard,
            F::Board,
            ab::member_remove,
        ),
        a(M::POST, "/api/v1/boards/{board_id}/leave", A::LeaveBoard, F::Board, ab::leave),
        a(
            M::GET,
            "/api/v1/board-invitations/{invitation_id}",
            A::RespondInvitation,
            F::BoardInvitation,
            ab::invitation,
        ),
        a(
            M::POST,
            "/api/v1/board-invitations/{invitation_id}",
            A::RespondInvitation,
            F::BoardInvitation,
            ab::invitation_answer,
        ),
        a(M::GET, "/api/v1/invitations", A::ViewInvitations, F::None, api::patients::invitations),
        a(
            M::GET,
            "/api/v1/invitations/{invitation_id}",
            A::RespondInvitation,
            F::Invitation,
            api::patients::invitation,
        ),
        a(
            M::POST,
            "/api/v1/invitations/{invitation_id}",
            A::RespondInvitation,
            F::Invitation,
            api::patients::invitation_answer,
        ),
    ]
}

/// The router: every route of the table behind the gate, plus security headers on everything.
pub fn router(app: App) -> Router {
    let mut router: Router<App> = Router::new();
    for def in route_table() {
        let (action, find) = (def.action, def.find);
        let gated = def.handler.layer(axum::middleware::from_fn_with_state(
            app.clone(),
            move |axum::extract::State(app): axum::extract::State<App>, params, req, next| {
                gate::gate(app, action, find, params, req, next)
            },
        ));
        router = router.route(def.path, gated);
    }
    router
        .fallback(|| async { crate::error::WebError::NotFound })
        .layer(axum::extract::DefaultBodyLimit::max(crate::body::UPLOAD_LIMIT))
        .layer(axum::middleware::from_fn_with_state(app.clone(), gate::security_headers))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Ctx, Patient, PostRef};

    /// R10.7: a handler receives only objects its row resolved before the decision.
    #[test]
    fn r10_7_every_handler_asks_only_for_what_its_row_resolves() {
        let table = route_table();
        assert!(table.iter().filter(|d| !d.needs.is_empty()).count() > 80, "the handlers declare their path objects");
        assert_eq!(mismatched(&table), Vec::<String>::new());
    }

    #[test]
    fn a_handler_asking_for_an_object_its_row_does_not_resolve_is_found() {
        async fn wants_patient(_: Ctx, _: Patient) -> &'static str {
            ""
        }
        async fn wants_post(_: PostRef) -> &'static str {
            ""
        }
        let table = vec![
            r(Method::GET, "/x/{patient_id}", Action::ViewPatient, Find::Patient, wants_patient),
            r(Method::GET, "/y", Action::ViewHome, Find::None, wants_patient),
            r(Method::GET, "/groups/{group_id}/z", Action::ViewGroup, Find::Group, wants_post),
        ];
        assert_eq!(
            mismatched(&table),
            vec![
                "GET /y: the handler asks for Patient, the row resolves None".to_string(),
                "GET /groups/{group_id}/z: the handler asks for PostRef, the row resolves Group".to_string(),
            ]
        );
    }
}
