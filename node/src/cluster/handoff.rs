//! Handing leaderships over before a node stops (SIGTERM in a rolling restart): every group
//! this node leads (the metadata group and its shard groups) transfers its leadership to
//! the most up-to-date other voter, while the node still serves clients; writes that reach
//! it meanwhile are refused as `NotLeader` (certainly not written) and forwarded to the new
//! leader. Without this the group would wait out an election timeout after the node went
//! away, and writes would stall for that long.
//!
//! From the start of the handoff the node takes no leadership back: its groups stop
//! campaigning (openraft's `elect(false)`), reconcile initializes nothing, no group starts,
//! and transfers naming it are refused.

use super::node::Node;
use crate::domain::{GroupId, NodeId, META_GROUP};
use crate::replica::Raft;
use openraft::async_runtime::WatchReceiver as _;
use std::time::Duration;
use tokio::time::Instant;

/// How long a stopping node waits, at the most, for its groups to have other leaders; a
/// group that has none by then elects one after the node is gone.
pub const HANDOFF_TIMEOUT: Duration = Duration::from_secs(5);
/// A transfer not done after this is tried again, with the next best voter.
const TRANSFER_RETRY: Duration = Duration::from_millis(1_500);
const POLL: Duration = Duration::from_millis(25);

/// What a handoff did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handoff {
    /// Groups this node led when the handoff began.
    pub led: usize,
    /// Groups it still led when the handoff ended (timed out).
    pub kept: Vec<GroupId>,
}

/// The other voters of the group `raft` leads here, most up to date first (by the log id
/// each acknowledged). Empty when this node does not lead it.
fn candidates(me: NodeId, raft: &Raft) -> Vec<NodeId> {
    let metrics = raft.metrics();
    let m = metrics.borrow_watched();
    if m.current_leader != Some(me) {
        return Vec::new();
    }
    let Some(replication) = m.replication.as_ref() else { return Vec::new() };
    let mut voters: Vec<(Option<u64>, NodeId)> = m
        .membership_config
        .membership()
        .voter_ids()
        .filter(|id| *id != me)
        .map(|id| (replication.get(&id).and_then(|matched| matched.as_ref().map(|l| l.index)), id))
        .collect();
    voters.sort_by(|a, b| b.cmp(a));
    voters.into_iter().map(|(_, id)| id).collect()
}

fn leader(raft: &Raft) -> Option<NodeId> {
    raft.metrics().borrow_watched().current_leader
}

/// Moves every leadership of this node to other voters, and waits until each of those
/// groups knows its new leader, within `timeout`. The node keeps serving while this runs;
/// the caller stops the servers after.
pub async fn hand_over(node: &Node, timeout: Duration) -> Handoff {
    node.begin_handoff();
    let me = node.id;
    let mut rafts: Vec<(GroupId, Raft)> = vec![(META_GROUP, node.meta_raft.clone())];
    rafts.extend(node.group_ids().into_iter().filter_map(|g| node.raft(g).map(|r| (g, r))));
    for (_, raft) in &rafts {
        raft.runtime_config().elect(false);
    }
    rafts.retain(|(_, r)| leader(r) == Some(me));
    let started = Instant::now();
    let mut handoff = Handoff { led: rafts.len(), kept: Vec::new() };
    let mut round = 0usize;
    let mut last_round: Option<Instant> = None;
    loop {
        // Done when another node is known to lead (not merely when this one stepped down).
        rafts.retain(|(_, r)| leader(r).is_none_or(|l| l == me));
        if rafts.is_empty() {
            break;
        }
        if started.elapsed() >= timeout {
            handoff.kept = rafts.iter().filter(|(_, r)| leader(r) == Some(me)).map(|(g, _)| *g).collect();
            break;
        }
        if last_round.is_none_or(|t| t.elapsed() >= TRANSFER_RETRY) {
            for (group, raft) in rafts.iter().filter(|(_, r)| leader(r) == Some(me)) {
                let candidates = candidates(me, raft);
                let Some(to) = candidates.get(round % candidates.len().max(1)).copied() else { continue };
                tracing::debug!(node = me, %group, to, "transferring leadership");
                if let Err(e) = raft.trigger().transfer_leader(to).await {
                    tracing::warn!(node = me, %group, "leadership transfer failed: {e}");
                }
            }
            round += 1;
            last_round = Some(Instant::now());
        }
        tokio::time::sleep(POLL).await;
    }
    tracing::info!(
        node = me,
        led = handoff.led,
        kept = ?handoff.kept,
        took_ms = started.elapsed().as_millis() as u64,
        "handed leaderships over"
    );
    handoff
}
