//! Joining the cluster, and refusing to start from a volume that came back empty.
//!
//! A voter whose data was wiped is dangerous: it remembers no vote and no log, so it would
//! grant its vote to any candidate, also to a stale one that misses entries the cluster
//! committed with this node's help, and together they are a majority that elects it and
//! overwrites those entries. So a node starts as before only when its database says it
//! has taken part (the marker below, or Raft state written by an older release). A node
//! with an empty database (`Deciding`) first asks every peer (`Peer.Status`):
//!
//! - a peer reports the metadata group initialized with this node as a member: the
//!   cluster exists and this node's volume was lost. It refuses to start, saying how to
//!   confirm (`--rebuild-empty`); confirmed, it rebuilds (`Rebuilding`, see `CatchUp`);
//! - every peer answers and none has the metadata group: a new cluster, this node joins it
//!   (`Member`);
//! - otherwise it waits: a node never creates a cluster on its own while peers it cannot
//!   hear from may hold one.
//!
//! Until it has decided, the node handles no Raft message (only `Status`). The metadata
//! group is initialized only once every peer has decided too (reports `Member`): a node
//! that starts a little later than the others then still sees an uninitialized cluster,
//! instead of an existing one it would take for a lost volume.
//!
//! A rebuilding node never initializes a group, and grants no vote in a group until it
//! has caught up there (`CatchUp`): its log must hold an entry the group's leader reported
//! committed in the leader's own term. A leader commits an entry of its term only after
//! every entry committed before it, so such a log holds everything the cluster committed
//! before the wipe, and the node's vote again means what Raft assumes. When every group
//! placed on it has caught up, it is a `Member` again.

use super::node::Node;
use crate::domain::{GroupId, NodeId};
use crate::failstop;
use crate::storage::keys::{self, KeyKind, NODE_KEYS};
use crate::storage::{envelope, Batch, Cf, Engine};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// Where a node stands in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinState {
    /// An empty database: asking the peers whether a cluster exists.
    Deciding,
    /// Started empty with the operator's confirmation; catching up from the peers.
    Rebuilding,
    /// Takes part in the cluster.
    Member,
}

/// The persisted marker: this node (`node`) takes part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Marker {
    node: NodeId,
    rebuilding: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
    #[error("this data directory belongs to node {found}, not to node {configured}: check --id and --data-dir")]
    OtherNode { found: NodeId, configured: NodeId },
}

fn marker_key() -> Vec<u8> {
    keys::key(NODE_KEYS, KeyKind::Joined)
}

/// Whether any group has Raft state (a vote or a log entry) in the database.
fn has_raft_state(engine: &dyn Engine) -> std::io::Result<bool> {
    let (from, to) = (Vec::new(), vec![0xff; 16]);
    Ok(!engine.scan(Cf::RaftMeta, &from, &to, 1)?.is_empty() || !engine.scan(Cf::Log, &from, &to, 1)?.is_empty())
}

/// Writes the marker (unsynced: the group commit's next sync carries it, and a marker
/// lost in a crash is written again, since it is only ever written before the node acts).
pub fn persist(engine: &dyn Engine, node: NodeId, state: JoinState) -> std::io::Result<()> {
    assert_ne!(state, JoinState::Deciding, "an undecided node writes no marker");
    let marker = Marker { node, rebuilding: state == JoinState::Rebuilding };
    let mut batch = Batch::default();
    batch.put(Cf::State, marker_key(), envelope::seal_postcard(&marker)?);
    engine.write(batch)?;
    engine.sync()
}

/// The state this node starts in, from its database. A database with Raft state but no
/// marker was written by an earlier release: it is a member, and gets its marker now.
pub fn load(engine: &dyn Engine, node: NodeId) -> Result<JoinState, JoinError> {
    if let Some(bytes) = engine.get(Cf::State, &marker_key())? {
        let marker: Marker = envelope::open_postcard(&bytes, "join marker")?;
        if marker.node != node {
            return Err(JoinError::OtherNode { found: marker.node, configured: node });
        }
        return Ok(if marker.rebuilding { JoinState::Rebuilding } else { JoinState::Member });
    }
    if has_raft_state(engine)? {
        persist(engine, node, JoinState::Member)?;
        return Ok(JoinState::Member);
    }
    Ok(JoinState::Deciding)
}

/// What one peer said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    pub join: JoinState,
    /// The voters of its metadata group; empty while uninitialized.
    pub meta_voters: Vec<NodeId>,
    /// The commit index it knows of, per group it hosts.
    pub committed: BTreeMap<GroupId, u64>,
}

/// What an undecided node concludes from its peers' answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `by` runs a cluster with this node as a member: this node's volume was lost.
    Exists { by: NodeId },
    /// `by` runs a cluster without this node: the configuration is wrong.
    Foreign { by: NodeId },
    /// Every peer answered and none has a cluster: a new one.
    New,
    /// Some peers did not answer; wait for them.
    Wait { missing: Vec<NodeId> },
}

/// Judges the peers' answers (`None`: no answer) for node `me`.
pub fn judge(me: NodeId, answers: &BTreeMap<NodeId, Option<PeerView>>) -> Verdict {
    for (peer, view) in answers {
        if let Some(view) = view.as_ref().filter(|v| !v.meta_voters.is_empty()) {
            return if view.meta_voters.contains(&me) {
                Verdict::Exists { by: *peer }
            } else {
                Verdict::Foreign { by: *peer }
            };
        }
    }
    let missing: Vec<NodeId> = answers.iter().filter(|(_, v)| v.is_none()).map(|(id, _)| *id).collect();
    if missing.is_empty() {
        Verdict::New
    } else {
        Verdict::Wait { missing }
    }
}

/// Whether every peer has decided and may take part in creating the metadata group.
pub fn all_decided(answers: &BTreeMap<NodeId, Option<PeerView>>) -> bool {
    answers.values().all(|v| v.as_ref().is_some_and(|v| v.join == JoinState::Member || !v.meta_voters.is_empty()))
}

/// The message a node with a lost volume stops with.
pub fn refusal(node: &Node, by: NodeId) -> String {
    format!(
        "node {me} refuses to start: its database in {dir} is empty, but node {by} reports that the cluster \
         already exists with node {me} as a member, so this node's data was lost (a wiped or replaced volume). \
         If that happened by mistake, restore the volume and start again: starting empty may lose records \
         this node had acknowledged. To rebuild this node from its peers instead, start it with \
         --rebuild-empty (or RUNNEL_REBUILD_EMPTY=1).",
        me = node.id,
        dir = node.config.data_dir.display(),
    )
}

/// How often an undecided node asks again, and how long it waits for each answer.
pub const SURVEY_INTERVAL: Duration = Duration::from_millis(500);
pub const SURVEY_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks every other configured peer for its status, all at once.
pub async fn survey(node: &Node) -> BTreeMap<NodeId, Option<PeerView>> {
    let asks = node.config.peers.iter().filter(|(id, _)| **id != node.id).map(|(id, addr)| async move {
        let reply = node.peers.status(addr, SURVEY_TIMEOUT).await;
        let view = match reply {
            Ok(bytes) => match crate::transport::wire::unpack::<super::status::NodeStatus>(&bytes) {
                Ok(status) => Some(PeerView {
                    join: status.join,
                    meta_voters: status.meta_voters,
                    committed: status.groups.iter().filter_map(|g| g.committed.map(|c| (g.group, c))).collect(),
                }),
                Err(e) => {
                    tracing::debug!(peer = id, "status undecodable: {e}");
                    None
                }
            },
            Err(e) => {
                tracing::debug!(peer = id, "no status: {e}");
                None
            }
        };
        (*id, view)
    });
    futures::future::join_all(asks).await.into_iter().collect()
}

/// Runs while this node is undecided: asks the peers until it can decide, then joins,
/// starts rebuilding, or refuses to start (`Node::refuse`). A node that restarts while
/// rebuilding runs it too, to learn what its peers have committed.
pub async fn decide(node: std::sync::Arc<Node>) {
    let mut shutdown = node.shutting_down();
    let mut waiting_since = tokio::time::Instant::now();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let answers = survey(&node).await;
        let rebuilding = node.join_state() == JoinState::Rebuilding;
        let decided = match judge(node.id, &answers) {
            Verdict::New if rebuilding => None,
            Verdict::New => Some(JoinState::Member),
            Verdict::Exists { .. } if rebuilding || node.config.rebuild_empty => {
                node.catch_up.set_floors(&answers);
                if rebuilding {
                    return;
                }
                tracing::warn!(node = node.id, "rebuilding this node from its peers (--rebuild-empty)");
                Some(JoinState::Rebuilding)
            }
            Verdict::Exists { by } => {
                node.refuse(refusal(&node, by));
                return;
            }
            Verdict::Foreign { by } => {
                node.refuse(format!(
                    "node {} refuses to start: node {by} runs a cluster that does not include it; check --peer",
                    node.id
                ));
                return;
            }
            Verdict::Wait { missing } => {
                if waiting_since.elapsed() >= WAIT_REPORT_INTERVAL {
                    tracing::info!(
                        node = node.id,
                        ?missing,
                        "empty database: waiting for every peer to answer before joining"
                    );
                    waiting_since = tokio::time::Instant::now();
                }
                None
            }
        };
        if let Some(state) = decided {
            if let Err(e) = node.set_join_state(state) {
                node.refuse(format!("node {} cannot record that it joined: {e}", node.id));
            }
            return;
        }
        tokio::select! {
            biased;
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(SURVEY_INTERVAL) => {}
        }
    }
}

/// How often an undecided node says what it waits for.
const WAIT_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// A rebuilding node's progress in one group.
#[derive(Debug, Clone, Default)]
struct GroupCatchUp {
    /// Leaders (term, node) that accepted this node's log going back.
    allowed: BTreeSet<(u64, NodeId)>,
    /// (term, index) of an entry a leader reported committed in its own term.
    target: Option<(u64, u64)>,
    done: bool,
}

/// Per group, what a rebuilding node still waits for before it votes there.
#[derive(Debug, Default)]
pub struct CatchUp {
    groups: Mutex<HashMap<GroupId, GroupCatchUp>>,
    /// Per group, the highest commit index the peers reported when this node decided to
    /// rebuild (`None` until then): a leader that was deposed without knowing it may still
    /// advertise its own older commit, and this floor keeps that from passing for the
    /// cluster's.
    floors: Mutex<Option<BTreeMap<GroupId, u64>>>,
}

impl CatchUp {
    pub fn set_floors(&self, answers: &BTreeMap<NodeId, Option<PeerView>>) {
        let mut floors = BTreeMap::new();
        for view in answers.values().flatten() {
            for (group, committed) in &view.committed {
                let floor = floors.entry(*group).or_insert(0);
                *floor = (*floor).max(*committed);
            }
        }
        *failstop::lock(&self.floors, "catch-up floors") = Some(floors);
    }

    /// Whether the leader (`term`, `leader`) already accepted this node's log going back.
    pub fn allowed(&self, group: GroupId, term: u64, leader: NodeId) -> bool {
        let groups = failstop::lock(&self.groups, "catch-up");
        groups.get(&group).is_some_and(|g| g.done || g.allowed.contains(&(term, leader)))
    }

    pub fn allow(&self, group: GroupId, term: u64, leader: NodeId) {
        failstop::lock(&self.groups, "catch-up").entry(group).or_default().allowed.insert((term, leader));
    }

    /// Notes the commit point of an append from the leader of `term`: only an entry of the
    /// leader's own term proves it knows everything committed before. The first one of the
    /// highest term seen counts (later ones of that term would move it on forever under
    /// steady writes).
    pub fn observe_commit(&self, group: GroupId, term: u64, leader_commit: Option<(u64, u64)>) {
        let Some((_, index)) = leader_commit.filter(|(commit_term, _)| *commit_term == term) else { return };
        let mut groups = failstop::lock(&self.groups, "catch-up");
        let g = groups.entry(group).or_default();
        if g.target.is_none_or(|(seen, _)| term > seen) {
            g.target = Some((term, index));
        }
    }

    /// Whether this node may vote in `group`, given the last log index it has applied
    /// there: once it reached both its target and its floor, for good.
    pub fn caught_up(&self, group: GroupId, applied: Option<u64>) -> bool {
        let floor = match failstop::lock(&self.floors, "catch-up floors").as_ref() {
            Some(floors) => floors.get(&group).copied().unwrap_or(0),
            None => return false,
        };
        let mut groups = failstop::lock(&self.groups, "catch-up");
        let g = groups.entry(group).or_default();
        if !g.done && g.target.is_some_and(|(_, target)| applied.is_some_and(|a| a >= target.max(floor))) {
            g.done = true;
        }
        g.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryEngine;

    fn view(join: JoinState, voters: &[NodeId]) -> Option<PeerView> {
        Some(PeerView { join, meta_voters: voters.to_vec(), committed: BTreeMap::new() })
    }

    #[test]
    fn a_node_creates_a_cluster_only_when_every_peer_answered_without_one() {
        let all_new = BTreeMap::from([(2, view(JoinState::Deciding, &[])), (3, view(JoinState::Member, &[]))]);
        assert_eq!(judge(1, &all_new), Verdict::New);
        let one_silent = BTreeMap::from([(2, view(JoinState::Deciding, &[])), (3, None)]);
        assert_eq!(judge(1, &one_silent), Verdict::Wait { missing: vec![3] });
        let none = BTreeMap::from([(2, None), (3, None)]);
        assert_eq!(judge(1, &none), Verdict::Wait { missing: vec![2, 3] });
        assert_eq!(judge(1, &BTreeMap::new()), Verdict::New, "a cluster of one");
    }

    #[test]
    fn a_peer_with_the_cluster_wins_over_silent_ones() {
        let answers = BTreeMap::from([(2, None), (3, view(JoinState::Member, &[1, 2, 3]))]);
        assert_eq!(judge(1, &answers), Verdict::Exists { by: 3 });
        assert_eq!(judge(4, &answers), Verdict::Foreign { by: 3 });
    }

    #[test]
    fn the_metadata_group_waits_until_every_peer_decided() {
        let answers = BTreeMap::from([(2, view(JoinState::Member, &[])), (3, view(JoinState::Deciding, &[]))]);
        assert!(!all_decided(&answers));
        let answers = BTreeMap::from([(2, view(JoinState::Member, &[])), (3, None)]);
        assert!(!all_decided(&answers));
        let answers = BTreeMap::from([(2, view(JoinState::Member, &[])), (3, view(JoinState::Rebuilding, &[1, 2, 3]))]);
        assert!(all_decided(&answers));
    }

    #[test]
    fn the_marker_survives_and_names_its_node() {
        let engine = MemoryEngine::default();
        assert_eq!(load(&engine, 1).unwrap(), JoinState::Deciding);
        persist(&engine, 1, JoinState::Rebuilding).unwrap();
        assert_eq!(load(&engine, 1).unwrap(), JoinState::Rebuilding);
        persist(&engine, 1, JoinState::Member).unwrap();
        assert_eq!(load(&engine, 1).unwrap(), JoinState::Member);
        assert!(matches!(load(&engine, 2), Err(JoinError::OtherNode { found: 1, configured: 2 })));
    }

    #[test]
    fn raft_state_without_a_marker_is_a_member_from_an_earlier_release() {
        let engine = MemoryEngine::default();
        let mut batch = Batch::default();
        batch.put(Cf::RaftMeta, keys::key(GroupId(0), KeyKind::Vote), vec![1]);
        engine.write(batch).unwrap();
        assert_eq!(load(&engine, 3).unwrap(), JoinState::Member);
        assert!(engine.get(Cf::State, &marker_key()).unwrap().is_some(), "the marker is written");
    }

    /// The fault this guards against: a wiped voter grants its vote to a stale candidate.
    /// It votes only once its log holds an entry the leader committed in its own term.
    #[test]
    fn a_rebuilding_node_votes_only_after_reaching_a_commit_of_the_leaders_term() {
        let (catch_up, g) = (CatchUp::default(), GroupId(5));
        catch_up.observe_commit(g, 7, Some((7, 1)));
        assert!(!catch_up.caught_up(g, Some(1)), "not before the peers were asked");
        let (catch_up, g) = (CatchUp::default(), GroupId(5));
        catch_up.set_floors(&BTreeMap::new());
        assert!(!catch_up.caught_up(g, None), "nothing known yet");
        assert!(!catch_up.caught_up(g, Some(1_000)), "no target yet, whatever was applied");
        // A new leader of term 7 that has not yet committed in its term reports an older
        // commit point, which may miss entries committed before: not a target.
        catch_up.observe_commit(g, 7, Some((6, 40)));
        assert!(!catch_up.caught_up(g, Some(40)));
        catch_up.observe_commit(g, 7, Some((7, 52)));
        assert!(!catch_up.caught_up(g, Some(51)));
        // Later commits of that term do not move the target (under steady writes it would
        // never be met); a leader of a later term does.
        catch_up.observe_commit(g, 7, Some((7, 90)));
        catch_up.observe_commit(g, 8, Some((8, 60)));
        assert!(!catch_up.caught_up(g, Some(59)));
        assert!(catch_up.caught_up(g, Some(60)));
        assert!(catch_up.caught_up(g, Some(0)), "caught up for good");
        assert!(!catch_up.caught_up(GroupId(6), Some(52)), "per group");
    }

    /// A leader deposed without knowing it advertises its own, older commit point; what
    /// the peers reported when the node decided to rebuild is a floor.
    #[test]
    fn the_commit_the_peers_reported_is_a_floor() {
        let (catch_up, g) = (CatchUp::default(), GroupId(5));
        let mut current = view(JoinState::Member, &[1, 2, 3]);
        if let Some(v) = current.as_mut() {
            v.committed = BTreeMap::from([(g, 80)]);
        }
        catch_up.set_floors(&BTreeMap::from([(2, current), (3, None)]));
        catch_up.observe_commit(g, 3, Some((3, 50)));
        assert!(!catch_up.caught_up(g, Some(50)));
        assert!(catch_up.caught_up(g, Some(80)));
    }

    #[test]
    fn a_leader_must_accept_the_reversion_before_its_appends_are_taken() {
        let (catch_up, g) = (CatchUp::default(), GroupId(5));
        assert!(!catch_up.allowed(g, 3, 2));
        catch_up.allow(g, 3, 2);
        assert!(catch_up.allowed(g, 3, 2));
        assert!(!catch_up.allowed(g, 4, 3), "a new leader is asked again");
    }
}
