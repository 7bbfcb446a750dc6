//! What the store hands back: plain records of the domain.

use kumanet_core::people::{ApplicationKind, ApplicationState, FacilityKind, Profession, Role, UserStatus};
use kumanet_core::secret::Secret;
use kumanet_core::Micros;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub kana: String,
    pub kind: FacilityKind,
    pub address: String,
    pub phone: String,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone)]
pub struct NewFacility {
    pub id: String,
    pub name: String,
    pub kana: String,
    pub kind: FacilityKind,
    pub address: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub login_id: String,
    pub name: String,
    pub kana: String,
    pub role: Role,
    pub profession: Option<Profession>,
    pub facility_id: Option<String>,
    pub email: String,
    pub phone: String,
    pub status: UserStatus,
    #[serde(skip)]
    pub password_hash: Secret,
    pub password_set_at: Micros,
    pub password_expires_at: Option<Micros>,
    /// R6.1: the password was issued by an admin and must be changed at first login.
    pub password_issued: bool,
    pub pledge_signed_at: Option<Micros>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// A user with the name of their facility, for lists and the directory.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserListItem {
    pub user: User,
    pub facility_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub login_id: String,
    pub name: String,
    pub kana: String,
    pub role: Role,
    pub profession: Option<Profession>,
    pub facility_id: Option<String>,
    pub email: String,
    pub phone: String,
    pub status: UserStatus,
    pub password_hash: Secret,
    pub password_issued: bool,
    pub password_expires_at: Option<Micros>,
}

/// The profile fields a change notification (様式2 変更届) may carry.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileChange {
    pub name: String,
    pub kana: String,
    pub profession: Option<Profession>,
    pub email: String,
    pub phone: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: Secret,
    pub user_id: String,
    pub csrf_token: Secret,
    pub ip: String,
    pub created_at: Micros,
    pub last_seen_at: Micros,
    /// The SHA-256 of the device cookie of the browser the session was opened on (R8.6, R9.4).
    pub device_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersion {
    pub version: i64,
    pub purpose: String,
    pub body: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    pub id: String,
    pub kind: ApplicationKind,
    pub state: ApplicationState,
    pub user_id: String,
    pub facility_id: Option<String>,
    pub filed_by: String,
    pub filed_at: Micros,
    /// JSON: for a change, the new profile ([`ProfileChange`]).
    pub payload: String,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<Micros>,
    pub decision_note: Option<String>,
}

/// An application with what the center needs to decide it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationItem {
    pub application: Application,
    pub user: User,
    pub facility_name: Option<String>,
    pub filed_by_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: String,
    pub body: String,
    pub created_at: Micros,
}

/// One row of the audit log as stored, with its chain hashes.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRow {
    pub record: kumanet_core::audit::AuditRecord,
    pub prev_hash: String,
    pub entry_hash: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Patient {
    pub id: String,
    pub name: String,
    pub kana: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub sex: kumanet_core::policy::patient::Sex,
    pub address: String,
    pub attending_id: String,
    pub attending_name: String,
    pub basis: kumanet_core::policy::patient::EligibilityBasis,
    pub basis_reason: String,
    pub delegated_facility_id: Option<String>,
    pub delegated_facility_name: Option<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone)]
pub struct NewPatient {
    pub id: String,
    pub name: String,
    pub kana: String,
    pub birth_date: String,
    pub sex: kumanet_core::policy::patient::Sex,
    pub address: String,
    pub attending_id: String,
    pub basis: kumanet_core::policy::patient::EligibilityBasis,
    pub basis_reason: String,
    pub created_by: String,
}

/// A consent record (様式1). The scan itself is read separately, for inline display only.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    pub id: String,
    pub patient_id: String,
    pub explained_by: String,
    pub explained_by_name: String,
    pub consenter: kumanet_core::policy::patient::Consenter,
    pub consenter_name: String,
    pub relationship: String,
    /// `YYYY-MM-DD`, the date on the signed form.
    pub consented_on: String,
    pub scope: String,
    pub scan_type: Option<String>,
    /// How many cleaned page images of the scan are kept (0 for a scan recorded before they
    /// were, until it is first shown).
    pub scan_pages: i64,
    pub recorded_by: String,
    pub recorded_at: Micros,
    pub withdrawn_at: Option<Micros>,
    pub withdrawal_note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewConsent {
    pub id: String,
    pub patient_id: String,
    pub explained_by: String,
    pub consenter: kumanet_core::policy::patient::Consenter,
    pub consenter_name: String,
    pub relationship: String,
    pub consented_on: String,
    pub scope: String,
    pub scan: Option<ConsentScan>,
    pub recorded_by: String,
}

/// A consent scan as kept (R4.1, R9.3): its type as sent, the PDF as signed (None for an
/// image: only its cleaned copy is kept) and the cleaned page images shown.
#[derive(Debug, Clone)]
pub struct ConsentScan {
    pub mime: &'static str,
    pub original: Option<Vec<u8>>,
    pub pages: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub id: String,
    pub patient_id: String,
    pub created_at: Micros,
}

/// An active member of a group, as other members see them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub kana: String,
    pub profession: Option<Profession>,
    pub facility_name: Option<String>,
    pub joined_at: Micros,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: String,
    pub group_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub invitee_id: String,
    pub invitee_name: String,
    pub inviter_id: String,
    pub inviter_name: String,
    pub inviter_facility: Option<String>,
    pub reason: String,
    /// pending, accepted, declined, cancelled
    pub state: String,
    pub created_at: Micros,
    pub responded_at: Option<Micros>,
}

/// R5.3: a proposal that the patient or family join, with each professional's answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyProposal {
    pub id: String,
    pub group_id: String,
    pub proposed_by_name: String,
    pub reason: String,
    pub created_at: Micros,
    pub votes: Vec<FamilyVote>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyVote {
    pub user_id: String,
    pub name: String,
    pub agree: bool,
    pub comment: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyMember {
    pub user_id: String,
    pub group_id: String,
    pub name: String,
    pub relationship: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovalRequest {
    pub id: String,
    pub group_id: String,
    pub user_id: String,
    pub user_name: String,
    pub reason: String,
    pub created_at: Micros,
}
