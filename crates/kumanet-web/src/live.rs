//! Live updates: what changed in which room, delivered to every open page of its members.
//!
//! On SQLite (one process) a change is handed to the hub after its commit. On PostgreSQL it is
//! sent with NOTIFY inside the writing transaction, so it leaves only if the change commits, and
//! every node (this one included) hears it through its LISTEN connection and hands it to its own
//! hub. Events carry identifiers only; each open page renders what its viewer may see.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kumanet_core::policy::post::Part;
use kumanet_store::{Store, Tx};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The PostgreSQL channel all nodes listen on.
pub const CHANNEL: &str = "kumanet_live";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveKind {
    Post,
    Edit,
    Delete,
    Ack,
    /// A member's read cursor moved over posts `from_seq..=to_seq`.
    Read,
    /// `user_id` left the room: their open pages stop receiving at once.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub room: String,
    pub part: Part,
    pub kind: LiveKind,
    #[serde(default)]
    pub post_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub from_seq: i64,
    #[serde(default)]
    pub to_seq: i64,
}

impl LiveEvent {
    pub fn post(room: &str, part: Part, kind: LiveKind, post_id: &str) -> LiveEvent {
        LiveEvent {
            room: room.to_string(),
            part,
            kind,
            post_id: Some(post_id.to_string()),
            user_id: None,
            from_seq: 0,
            to_seq: 0,
        }
    }

    /// `user_id` is no longer a member: their open pages of the room's part stop receiving.
    pub fn removed(room: &str, part: Part, user_id: &str) -> LiveEvent {
        LiveEvent {
            room: room.to_string(),
            part,
            kind: LiveKind::Removed,
            post_id: None,
            user_id: Some(user_id.to_string()),
            from_seq: 0,
            to_seq: 0,
        }
    }
}

type Sender = broadcast::Sender<Arc<LiveEvent>>;

/// Per room and part, a broadcast channel; created on the first subscriber, dropped with the last.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<(String, Part), Sender>>,
}

/// Slow pages skip what they missed and catch up by reloading (see app.js).
const ROOM_BUFFER: usize = 256;

impl Hub {
    pub fn subscribe(&self, room: &str, part: Part) -> broadcast::Receiver<Arc<LiveEvent>> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.retain(|_, tx| tx.receiver_count() > 0);
        rooms.entry((room.to_string(), part)).or_insert_with(|| broadcast::channel(ROOM_BUFFER).0).subscribe()
    }

    /// Hand an event to this node's open pages of the room.
    pub fn deliver(&self, ev: LiveEvent) {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = rooms.get(&(ev.room.clone(), ev.part)) {
            let _ = tx.send(Arc::new(ev));
        }
    }

    /// Shutting down: end every open stream (their pages reconnect to whichever node answers).
    pub fn close_all(&self) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.clear();
    }

    /// Open live connections on this node.
    pub fn connections(&self) -> usize {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.values().map(|tx| tx.receiver_count()).sum()
    }
}

/// Events written with a change: sent by NOTIFY on PostgreSQL (at commit), kept for
/// `after_commit` on SQLite.
#[derive(Default)]
pub struct Outbox(Vec<LiveEvent>);

impl Outbox {
    pub async fn add(&mut self, tx: &mut Tx, ev: LiveEvent) -> Result<(), kumanet_store::StoreError> {
        let payload = serde_json::to_string(&ev).map_err(|e| kumanet_store::StoreError::Corrupt(e.to_string()))?;
        if !tx.pg_notify(CHANNEL, &payload).await? {
            self.0.push(ev);
        }
        Ok(())
    }

    /// Call after the commit.
    pub fn after_commit(self, hub: &Hub) {
        for ev in self.0 {
            hub.deliver(ev);
        }
    }
}

/// On PostgreSQL: hear every node's commits and hand them to this node's hub, reconnecting
/// when the connection drops.
pub fn spawn_listener(store: Store, hub: Arc<Hub>) {
    if store.backend() != kumanet_store::Backend::Postgres {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    rt.spawn(async move {
        loop {
            match store.listen(CHANNEL).await {
                Ok(Some(mut listener)) => loop {
                    match listener.recv().await {
                        Ok(payload) => match serde_json::from_str::<LiveEvent>(&payload) {
                            Ok(ev) => hub.deliver(ev),
                            Err(e) => tracing::warn!("live: bad payload: {e}"),
                        },
                        Err(e) => {
                            tracing::warn!("live: listener: {e}");
                            break;
                        }
                    }
                },
                Ok(None) => return,
                Err(e) => tracing::warn!("live: cannot listen: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_to_the_room_only() {
        let hub = Hub::default();
        let mut a = hub.subscribe("g1", Part::Professional);
        let mut shared = hub.subscribe("g1", Part::Shared);
        let mut other = hub.subscribe("g2", Part::Professional);
        hub.deliver(LiveEvent::post("g1", Part::Professional, LiveKind::Post, "p1"));
        assert_eq!(a.recv().await.unwrap().post_id.as_deref(), Some("p1"));
        assert!(shared.try_recv().is_err(), "the family's part hears nothing of the professionals' part");
        assert!(other.try_recv().is_err());
        assert_eq!(hub.connections(), 3);
        drop(other);
        let _ = hub.subscribe("g3", Part::Board);
        assert_eq!(hub.connections(), 2);
        hub.close_all();
        assert!(matches!(a.recv().await, Err(broadcast::error::RecvError::Closed)), "streams end at shutdown");
        assert_eq!(hub.connections(), 0);
    }

    #[test]
    fn events_travel_as_json() {
        let ev = LiveEvent::post("g1", Part::Shared, LiveKind::Ack, "p1");
        let back: LiveEvent = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
    }
}
