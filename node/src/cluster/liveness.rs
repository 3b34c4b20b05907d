//! Node-level liveness: each node asks every peer `Peer.Alive` once per Raft heartbeat
//! interval. The answer says the peer is up and which groups it leads. This one exchange per
//! pair of nodes stands in for the heartbeats of every idle group (`quiesce.rs`): a
//! follower trusts a quiet leader while the leader's node answers and names the group among
//! those it leads, and looks for a new leader when it stops answering.

use super::node::Node;
use crate::domain::{GroupId, NodeId};
use crate::transport::wire::unpack;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;

/// A peer's answer to `Peer.Alive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alive {
    pub node: NodeId,
    /// The groups it leads and the term of each, in group order; at most one per group it
    /// hosts.
    pub leading: Vec<(GroupId, u64)>,
}

/// This node's answer: the groups whose Raft here is the leader (`leadership.rs` keeps
/// them; no walk over the groups).
pub fn local_alive(node: &Node) -> Alive {
    Alive { node: node.id, leading: node.leading_groups() }
}

/// How a peer stands, as far as this node has heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Not asked long enough yet to say (this node has just started).
    Unknown,
    /// It has not answered for `down_after`.
    Down,
    Up,
}

/// What this node last heard from each peer. Bounded by the cluster's size.
#[derive(Debug)]
pub struct Liveness {
    started: Instant,
    down_after: Duration,
    heard: BTreeMap<NodeId, Heard>,
}

#[derive(Debug)]
struct Heard {
    at: Instant,
    leading: BTreeMap<GroupId, u64>,
}

impl Liveness {
    pub fn new(started: Instant, down_after: Duration) -> Liveness {
        Liveness { started, down_after, heard: BTreeMap::new() }
    }

    /// `peer` answered at `at`, leading `leading`.
    pub fn heard(&mut self, peer: NodeId, leading: Vec<(GroupId, u64)>, at: Instant) {
        self.heard.insert(peer, Heard { at, leading: leading.into_iter().collect() });
    }

    /// Forgets peers that are no longer members.
    pub fn retain(&mut self, members: &BTreeSet<NodeId>) {
        self.heard.retain(|id, _| members.contains(id));
    }

    pub fn state(&self, peer: NodeId, now: Instant) -> PeerState {
        let last = self.heard.get(&peer).map_or(self.started, |h| h.at.max(self.started));
        match self.heard.get(&peer) {
            _ if now.saturating_duration_since(last) >= self.down_after => PeerState::Down,
            Some(_) => PeerState::Up,
            None => PeerState::Unknown,
        }
    }

    /// The peers known to be down.
    pub fn down(&self, now: Instant) -> BTreeSet<NodeId> {
        self.heard.keys().copied().filter(|p| self.state(*p, now) == PeerState::Down).collect()
    }

    /// Whether `peer` is up and said it leads `group` in its last answer.
    pub fn leads(&self, peer: NodeId, group: GroupId, now: Instant) -> bool {
        self.state(peer, now) == PeerState::Up && self.heard.get(&peer).is_some_and(|h| h.leading.contains_key(&group))
    }

    /// A peer that is up and says it leads `group`, and the term it said.
    pub fn leader_of(&self, group: GroupId, now: Instant) -> Option<(NodeId, u64)> {
        self.heard
            .iter()
            .filter(|(peer, _)| self.state(**peer, now) == PeerState::Up)
            .find_map(|(peer, h)| h.leading.get(&group).map(|term| (*peer, *term)))
    }
}

/// Asks every other member at once and records who answered. Takes at most `timeout`.
pub async fn ask_peers(node: &Node, liveness: &mut Liveness, timeout: Duration) {
    // The metadata's members, or the configured peers before there are any.
    let mut members = node.meta.current().state.nodes.clone();
    if members.is_empty() {
        members = node.config.peers.clone();
    }
    let ids: BTreeSet<NodeId> = members.keys().copied().collect();
    liveness.retain(&ids);
    let asks = members.into_iter().filter(|(id, _)| *id != node.id).map(|(id, addr)| async move {
        let reply = node.peers.alive(&addr, timeout).await;
        (id, reply)
    });
    for (id, reply) in futures::future::join_all(asks).await {
        let answered =
            reply.map_err(|e| e.to_string()).and_then(|bytes| unpack::<Alive>(&bytes).map_err(|e| e.to_string()));
        match answered {
            // A node answering under another id is misconfigured: not the peer asked for.
            Ok(alive) if alive.node == id => liveness.heard(id, alive.leading, Instant::now()),
            Ok(alive) => tracing::warn!(peer = id, answered = alive.node, "a peer answered liveness under another id"),
            Err(e) => tracing::trace!(peer = id, "no liveness answer: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN: Duration = Duration::from_secs(1);

    #[test]
    fn a_peer_is_unknown_until_it_answers_then_up_until_it_falls_silent() {
        let t0 = Instant::now();
        let mut l = Liveness::new(t0, DOWN);
        assert_eq!(l.state(2, t0 + Duration::from_millis(100)), PeerState::Unknown);
        // Never heard from at all: down once the wait is over.
        assert_eq!(l.state(2, t0 + DOWN), PeerState::Down);
        l.heard(2, vec![(GroupId(5), 3)], t0 + Duration::from_millis(200));
        assert_eq!(l.state(2, t0 + Duration::from_millis(1100)), PeerState::Up);
        assert!(l.leads(2, GroupId(5), t0 + Duration::from_millis(1100)));
        assert!(!l.leads(2, GroupId(6), t0 + Duration::from_millis(1100)));
        assert_eq!(l.leader_of(GroupId(5), t0 + Duration::from_millis(1100)), Some((2, 3)));
        // Silent for `DOWN`: down, and no longer trusted to lead anything.
        let later = t0 + Duration::from_millis(200) + DOWN;
        assert_eq!(l.state(2, later), PeerState::Down);
        assert!(!l.leads(2, GroupId(5), later));
        assert_eq!(l.leader_of(GroupId(5), later), None);
    }

    #[test]
    fn a_new_answer_replaces_what_a_peer_leads() {
        let t0 = Instant::now();
        let mut l = Liveness::new(t0, DOWN);
        l.heard(3, vec![(GroupId(1), 1), (GroupId(2), 1)], t0);
        l.heard(3, vec![(GroupId(2), 2)], t0 + Duration::from_millis(10));
        assert!(!l.leads(3, GroupId(1), t0 + Duration::from_millis(20)));
        assert!(l.leads(3, GroupId(2), t0 + Duration::from_millis(20)));
        l.retain(&BTreeSet::from([1]));
        assert_eq!(l.state(3, t0 + Duration::from_millis(20)), PeerState::Unknown);
    }
}
