//! What a handler receives from the gate: the request's context (`Ctx`) and the objects of its
//! path, one typed extractor per object (`Patient`, `Room`, `PostRef`, `TargetUser`…).
//!
//! The gate resolves the objects its route row names (`Find`) before it decides; a handler asks
//! for them by type. Each extractor says which rows resolve it (`PathObject::FROM`), and the
//! route table records what each handler asks for (`Needs`), so a handler that asks for an object
//! its row does not resolve fails the route-table test instead of answering 404 at run time.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kumanet_core::audit::{AuditAction, AuditResult};
use kumanet_core::authz::Actor;
use kumanet_core::policy::settings::Settings;
use kumanet_core::Micros;
use kumanet_store::{
    ApplicationItem, AttachmentMeta, BoardContext, BoardInvitation, DirectoryEntry, Facility, Invitation, NewAudit,
    PatientContext, PostMeta, User,
};
use utoipa::openapi::{RefOr, Schema};

use crate::error::WebError;
use crate::room::Room;
use crate::routes::Find;

/// What every handler knows about the request, built by the gate.
#[derive(Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub user: Option<User>,
    pub session_hash: Option<String>,
    /// The token forms must send back (session-bound, or the pre-login cookie's).
    pub csrf: String,
    pub ip: String,
    pub now: Micros,
    pub settings: Settings,
    pub policy_version: Option<i64>,
}

impl Ctx {
    /// Who did it, for audit rows.
    pub fn audit(&self, action: AuditAction, result: AuditResult) -> NewAudit {
        let (uid, role, fid) = match &self.user {
            Some(u) => (Some(u.id.clone()), Some(u.role.code().to_string()), u.facility_id.clone()),
            None => (None, None, None),
        };
        NewAudit {
            ts: self.now,
            actor_user_id: uid,
            actor_role: role,
            actor_facility_id: fid,
            ip: Some(self.ip.clone()),
            action,
            target_type: None,
            target_id: None,
            result,
            reason: None,
            details: serde_json::json!({}),
        }
    }

    pub fn user_id(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.id.as_str())
    }
}

pub trait AuditTarget {
    fn on(self, target_type: &'static str, id: &str) -> Self;
    fn reason(self, reason: &str) -> Self;
    fn details(self, details: serde_json::Value) -> Self;
}

impl AuditTarget for NewAudit {
    fn on(mut self, target_type: &'static str, id: &str) -> Self {
        self.target_type = Some(target_type);
        self.target_id = Some(id.to_string());
        self
    }
    fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
    fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// The objects named in the URL, resolved by the gate before the decision. Handlers do not see
/// this bag; they take the typed extractors below.
#[derive(Clone, Default)]
pub(crate) struct Resolved {
    pub facility: Option<Facility>,
    pub user: Option<User>,
    pub application: Option<ApplicationItem>,
    pub patient: Option<Arc<PatientContext>>,
    pub invitation: Option<Invitation>,
    pub post: Option<PostMeta>,
    pub attachment: Option<AttachmentMeta>,
    /// R5.4: the board the path is about (board routes, and a board's posts and attachments).
    pub board: Option<Arc<BoardContext>>,
    pub board_invitation: Option<BoardInvitation>,
    /// R12.2: the directory entry the path is about.
    pub resource: Option<DirectoryEntry>,
}

impl Resolved {
    /// The room the path is about: a board, or a patient's group.
    fn room(&self) -> Option<Room> {
        match (&self.board, &self.patient) {
            (Some(b), _) => Some(Room::Board(b.clone())),
            (None, Some(p)) => Some(Room::Group(p.clone())),
            (None, None) => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        parts.extensions.get::<Ctx>().cloned().ok_or_else(|| WebError::Internal("no request context".into()))
    }
}

/// What an extractor tells the route table: which rows resolve its path object (`None` for
/// extractors that need none), and the JSON body it reads, for the OpenAPI document.
pub trait PathObject {
    const FROM: Option<&'static [Find]> = None;
    const NAME: &'static str = "";
    fn request_body(_: &mut crate::api::Schemas) -> Option<RefOr<Schema>> {
        None
    }
}

/// A handler's path objects: what it asks for and which rows may give it (a handler's
/// extractors, as axum sees them: `(M, T1, …, Tn)`).
pub trait Needs {
    fn needs() -> Vec<(&'static str, &'static [Find])>;
    /// The JSON body the handler reads, if any.
    fn request_body(schemas: &mut crate::api::Schemas) -> Option<RefOr<Schema>>;
}

impl Needs for ((),) {
    fn needs() -> Vec<(&'static str, &'static [Find])> {
        Vec::new()
    }
    fn request_body(_: &mut crate::api::Schemas) -> Option<RefOr<Schema>> {
        None
    }
}

macro_rules! needs_for_tuple {
    ($($t:ident),+) => {
        impl<M, $($t: PathObject),+> Needs for (M, $($t,)+) {
            fn needs() -> Vec<(&'static str, &'static [Find])> {
                [$(($t::NAME, $t::FROM)),+].into_iter().filter_map(|(n, f)| f.map(|f| (n, f))).collect()
            }
            fn request_body(schemas: &mut crate::api::Schemas) -> Option<RefOr<Schema>> {
                None$(.or_else(|| $t::request_body(schemas)))+
            }
        }
    };
}
needs_for_tuple!(T1);
needs_for_tuple!(T1, T2);
needs_for_tuple!(T1, T2, T3);
needs_for_tuple!(T1, T2, T3, T4);
needs_for_tuple!(T1, T2, T3, T4, T5);
needs_for_tuple!(T1, T2, T3, T4, T5, T6);

/// Extractors that take nothing from the path.
macro_rules! no_path_object {
    ($($t:ty),+ $(,)?) => { $(impl PathObject for $t {})+ };
}
no_path_object!(
    Ctx,
    axum::extract::State<crate::App>,
    axum::body::Bytes,
    axum::extract::Request,
    axum::http::HeaderMap,
    axum::extract::Multipart,
);
impl<T> PathObject for axum::extract::Query<T> {}
impl<T> PathObject for axum::extract::Path<T> {}
impl<T> PathObject for axum::Json<T> {}
impl<T> PathObject for axum::Form<T> {}

/// One typed extractor per object the gate resolves.
macro_rules! path_object {
    ($(#[$m:meta])* $name:ident($ty:ty), [$($find:ident),+], |$r:ident| $get:expr) => {
        $(#[$m])*
        pub struct $name(pub $ty);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = WebError;
            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
                let $r = parts.extensions.get::<Resolved>().ok_or(WebError::NotFound)?;
                $get.map($name).ok_or(WebError::NotFound)
            }
        }

        impl PathObject for $name {
            const FROM: Option<&'static [Find]> = Some(&[$(Find::$find),+]);
            const NAME: &'static str = stringify!($name);
        }
    };
}

path_object!(
    /// The patient the path is about, as the asker sees them (group, consent, membership).
    Patient(Arc<PatientContext>),
    [Patient, Group, Invitation],
    |r| r.patient.clone()
);
path_object!(
    /// The room the path is about: a patient's group or a board, or the room of a post or an
    /// attachment.
    InRoom(Room),
    [Group, Board, Post, Attachment],
    |r| r.room()
);
path_object!(
    /// The board the path is about (R5.4).
    Board(Arc<BoardContext>),
    [Board],
    |r| r.board.clone()
);
path_object!(
    /// The post the path is about.
    PostRef(PostMeta),
    [Post],
    |r| r.post.clone()
);
path_object!(
    /// The attachment the path is about.
    AttachmentRef(AttachmentMeta),
    [Attachment],
    |r| r.attachment.clone()
);
path_object!(
    /// The user the path is about (not the one asking).
    TargetUser(User),
    [User],
    |r| r.user.clone()
);
path_object!(
    /// The facility the path is about.
    TargetFacility(Facility),
    [Facility],
    |r| r.facility.clone()
);
path_object!(
    /// A facility's application waiting for the center (R4.1).
    ApplicationRef(ApplicationItem),
    [Application],
    |r| r.application.clone()
);
path_object!(
    /// An invitation to a patient's group.
    GroupInvitation(Invitation),
    [Invitation],
    |r| r.invitation.clone()
);
path_object!(
    /// An invitation to a board.
    BoardInvitationRef(BoardInvitation),
    [BoardInvitation],
    |r| r.board_invitation.clone()
);
path_object!(
    /// An entry of the regional resource directory (R12.2).
    Resource(DirectoryEntry),
    [Resource],
    |r| r.resource.clone()
);
