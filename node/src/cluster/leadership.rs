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
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The shard groups whose replica here is the leader. Bounded by the groups hosted here.
#[derive(Debug, Default)]
pub struct Leading {
    groups: Mutex<BTreeSet<GroupId>>,
}

impl Leading {
    /// The groups led here, in order.
    pub fn groups(&self) -> Vec<GroupId> {
        failstop::lock(&self.groups, "leading groups").iter().copied().collect()
    }

    fn set(&self, group: GroupId, leads: bool) {
        let mut groups = failstop::lock(&self.groups, "leading groups");
        if leads {
            groups.insert(group);
        } else {
            groups.remove(&group);
        }
    }

    /// The group is no longer hosted here.
    pub fn forget(&self, group: GroupId) {
        self.set(group, false);
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
        leading.set(group, leads);
        if leads {
            let term = shard.raft.metrics().borrow_watched().current_term;
            if led_term != Some(term) {
                shard.traffic.lead(term);
                led_term = Some(term);
            }
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
        leading.set(GroupId(3), true);
        leading.set(GroupId(1), true);
        leading.set(GroupId(2), true);
        leading.set(GroupId(2), false);
        assert_eq!(leading.groups(), vec![GroupId(1), GroupId(3)]);
        leading.forget(GroupId(3));
        leading.forget(GroupId(9));
        assert_eq!(leading.groups(), vec![GroupId(1)]);
    }
}
