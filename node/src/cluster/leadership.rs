//! Which shard groups this node leads, kept up to date by one small task per group that
//! waits on openraft's server metrics (they change only with the vote, the role, the leader
//! or the membership, never with a write). Answering `Peer.Alive` and starting a leader's
//! quota term then cost nothing per idle group: walking thousands of groups' metrics a few
//! times a second for the answer was most of an idle node's CPU (issue 13's profile).

use super::node::ShardGroup;
use crate::domain::{GroupId, NodeId};
use crate::failstop;
use openraft::async_runtime::WatchReceiver as _;
use openraft::ServerState;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The shard groups whose replica here is the leader, with the term it leads in. Bounded
/// by the groups hosted here.
#[derive(Debug, Default)]
pub struct Leading {
    groups: Mutex<BTreeMap<GroupId, u64>>,
}

impl Leading {
    /// The groups led here and their terms, in group order.
    pub fn groups(&self) -> Vec<(GroupId, u64)> {
        failstop::lock(&self.groups, "leading groups").iter().map(|(g, t)| (*g, *t)).collect()
    }

    /// `group` is led here in `term`, or (`None`) not led here.
    fn set(&self, group: GroupId, term: Option<u64>) {
        let mut groups = failstop::lock(&self.groups, "leading groups");
        match term {
            Some(term) => groups.insert(group, term),
            None => groups.remove(&group),
        };
    }

    /// The group is no longer hosted here.
    pub fn forget(&self, group: GroupId) {
        self.set(group, None);
    }
}

/// Follows one group's leadership until its Raft instance stops: notes it in `leading`,
/// and starts the quota term of every term it wins (cluster/throughput.rs).
pub async fn follow(me: NodeId, group: GroupId, shard: Arc<ShardGroup>, leading: Arc<Leading>) {
    let mut server = shard.raft.server_metrics();
    let mut led_term = None;
    loop {
        let leads = {
            let m = server.borrow_watched();
            m.state == ServerState::Leader && m.current_leader == Some(me)
        };
        let term = shard.raft.metrics().borrow_watched().current_term;
        leading.set(group, leads.then_some(term));
        if leads && led_term != Some(term) {
            shard.traffic.lead(term);
            led_term = Some(term);
        }
        // An error: the Raft instance stopped (the group was dropped, or the node stops).
        if server.changed().await.is_err() {
            leading.forget(group);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_holds_what_was_set_last_and_forgets() {
        let leading = Leading::default();
        leading.set(GroupId(3), Some(4));
        leading.set(GroupId(1), Some(2));
        leading.set(GroupId(2), Some(2));
        leading.set(GroupId(2), None);
        leading.set(GroupId(1), Some(5));
        assert_eq!(leading.groups(), vec![(GroupId(1), 5), (GroupId(3), 4)]);
        leading.forget(GroupId(3));
        leading.forget(GroupId(9));
        assert_eq!(leading.groups(), vec![(GroupId(1), 5)]);
    }
}
