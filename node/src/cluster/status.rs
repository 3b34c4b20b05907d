//! This node's view of its Raft groups, as the Admin service and peers ask for it.

use super::join::JoinState;
use super::node::Node;
use crate::domain::{GroupId, NodeId, META_GROUP};
use openraft::async_runtime::WatchReceiver as _;
use serde::{Deserialize, Serialize};

/// One group as this node sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupStatus {
    pub group: GroupId,
    pub role: String,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub committed: Option<u64>,
    pub applied: Option<u64>,
    /// The log is purged up to here (retention).
    pub purged: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: NodeId,
    /// Where clients reach this node (its advertised client address).
    pub client_address: String,
    pub groups: Vec<GroupStatus>,
    /// Where it stands in the cluster (an empty node asks this before it joins).
    pub join: JoinState,
    /// The voters of its metadata group; empty while the group is uninitialized.
    pub meta_voters: Vec<NodeId>,
}

pub fn local_status(node: &Node) -> NodeStatus {
    let mut ids = vec![META_GROUP];
    ids.extend(node.group_ids());
    let groups = ids
        .into_iter()
        .filter_map(|g| {
            let raft = node.raft(g)?;
            let m = raft.metrics().borrow_watched().clone();
            Some(GroupStatus {
                group: g,
                role: format!("{:?}", m.state),
                leader: m.current_leader,
                term: m.current_term,
                last_log_index: m.last_log_index,
                committed: m.local_committed.map(|c| c.index),
                applied: m.last_applied.map(|a| a.index),
                purged: m.purged.map(|p| p.index),
            })
        })
        .collect();
    let meta_voters = node.meta_raft.metrics().borrow_watched().membership_config.membership().voter_ids().collect();
    NodeStatus {
        node: node.id,
        client_address: node.config.advertise.clone(),
        groups,
        join: node.join_state(),
        meta_voters,
    }
}

/// Whether this node is ready for clients (`/readyz`): it is a voter of the metadata group,
/// knows that group's leader, and has applied the metadata log as far as it knows it
/// committed (locally, or as the leader last reported), so that what it answers from the
/// metadata is not an old view. The error says, in one line, what is missing.
pub fn readiness(node: &Node) -> Result<(), String> {
    if node.is_shutting_down() {
        return Err("the node is shutting down".into());
    }
    let m = node.meta_raft.metrics().borrow_watched().clone();
    if m.running_state.is_err() {
        return Err("the metadata group stopped on this node".into());
    }
    if !m.membership_config.membership().voter_ids().any(|id| id == node.id) {
        return Err("not yet a voter of the metadata group".into());
    }
    if m.current_leader.is_none() {
        return Err("no leader of the metadata group known to this node".into());
    }
    let committed = m.local_committed.map(|c| c.index).max(m.cluster_committed.map(|c| c.index));
    let applied = m.last_applied.map(|a| a.index);
    if applied < committed {
        let show = |i: Option<u64>| i.map_or("nothing".to_string(), |i| i.to_string());
        return Err(format!("metadata applied up to {} of {} committed", show(applied), show(committed)));
    }
    Ok(())
}
