//! A room is where posts are: a patient's group (its professionals' part and the part shared with
//! the family) or a bulletin board (R5.4). Posts, 了解, read marks, attachments, live updates and
//! the other-patient warning work the same in both; this says what differs.

use std::sync::Arc;

use kumanet_core::authz::{Action, BoardFacts, PostFacts, Target};
use kumanet_core::policy::post::Part;
use kumanet_store::{BoardContext, NewAudit, PatientContext, Store, StoreError};

use crate::error::WebError;
use crate::gate::patient_facts;
use crate::request::AuditTarget;

#[derive(Clone)]
pub enum Room {
    Group(Arc<PatientContext>),
    Board(Arc<BoardContext>),
}

/// Where a part of a room lives (a post's part tells a board from a group).
pub fn part_url(room_id: &str, part: Part) -> String {
    match part {
        Part::Shared => format!("/groups/{room_id}/shared"),
        Part::Professional => format!("/groups/{room_id}"),
        Part::Board => format!("/boards/{room_id}"),
    }
}

/// What a board's facts are for one asker.
pub fn board_facts(b: &BoardContext, post: Option<PostFacts>) -> Target {
    Target::Board(BoardFacts { actor_is_member: b.is_member, actor_is_manager: b.is_manager, post })
}

impl Room {
    pub fn id(&self) -> Result<&str, WebError> {
        match self {
            Room::Group(p) => p.group.as_ref().map(|g| g.id.as_str()).ok_or(WebError::NotFound),
            Room::Board(b) => Ok(&b.board.id),
        }
    }

    /// The decision's target, for the room or one of its posts.
    pub fn facts(&self, post: Option<PostFacts>) -> Target {
        match self {
            Room::Group(p) => patient_facts(p, post),
            Room::Board(b) => board_facts(b, post),
        }
    }

    /// What audit rows about this room name: the patient, or the board.
    pub fn audit_target(&self) -> (&'static str, &str) {
        match self {
            Room::Group(p) => ("patient", &p.patient.id),
            Room::Board(b) => ("board", &b.board.id),
        }
    }

    pub fn audit_on(&self, ev: NewAudit) -> NewAudit {
        let (t, id) = self.audit_target();
        ev.on(t, id)
    }

    /// R10.4: the patient the room is about, whose name is expected in it. A board is about
    /// no patient (R5.4): every patient's name is warned about there.
    pub fn own_patient(&self) -> Option<&str> {
        match self {
            Room::Group(p) => Some(&p.patient.id),
            Room::Board(_) => None,
        }
    }

    pub fn is_board(&self) -> bool {
        matches!(self, Room::Board(_))
    }

    /// How the room is named on its pages.
    pub fn title(&self) -> String {
        match self {
            Room::Group(p) => format!("{}さんのグループ", p.patient.name),
            Room::Board(b) => format!("掲示板「{}」", b.board.name),
        }
    }

    /// The operation that shows a part of this room (for the live stream's re-checks).
    pub fn view_action(&self, part: Part) -> Action {
        match (self, part) {
            (Room::Board(_), _) => Action::ViewBoard,
            (Room::Group(_), Part::Shared) => Action::ViewSharedPart,
            (Room::Group(_), _) => Action::ViewGroup,
        }
    }

    /// The operation that posts to a part of this room.
    pub fn post_action(&self, part: Part) -> Action {
        match (self, part) {
            (Room::Board(_), _) => Action::PostToBoard,
            (Room::Group(_), Part::Shared) => Action::PostToShared,
            (Room::Group(_), _) => Action::PostToGroup,
        }
    }

    /// The room as it stands now for `user_id` (membership may have ended).
    pub async fn reload(&self, store: &Store, user_id: &str) -> Result<Option<Room>, StoreError> {
        Ok(match self {
            Room::Group(p) => store.patient_context(&p.patient.id, user_id).await?.map(|c| Room::Group(Arc::new(c))),
            Room::Board(b) => store.board_context(&b.board.id, user_id).await?.map(|c| Room::Board(Arc::new(c))),
        })
    }
}
