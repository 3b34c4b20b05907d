//! This node's view of its Raft groups, as the Admin service and peers ask for it.

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
    NodeStatus { node: node.id, client_address: node.config.advertise.clone(), groups }
}
