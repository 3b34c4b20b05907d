//! Writing to a group from any node: propose locally when this node leads the group,
//! otherwise forward to the leader (`Peer.Propose`), following leader hints.
//!
//! Errors say what the caller may assume. A proposal is retried here only when it was
//! certainly not appended (the target said it does not lead, or no leader was found):
//! that is `NoLeader`, safe for anyone to retry. Any other failure may have been applied,
//! and is `Unknown`: the client decides whether to retry and risk a duplicate.

use super::node::{Node, ShardGroup};
use crate::domain::{GroupId, NodeId};
use crate::raft::types::{Command, CommandKind};
use crate::raft::TypeConfig;
use crate::replica::Raft;
use crate::replica::{GroupCommand, GroupReply};
use crate::shard::batch::BatchView;
use crate::transport::wire::{pack, unpack};
use crate::transport::CallError;
use openraft::async_runtime::WatchReceiver as _;
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::linearizable_read::LinearizerOption;
use openraft::{Instant as OpenraftInstant, ServerState};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// Leader hops and waits for an election, at the most, per proposal.
const PROPOSE_ATTEMPTS_MAX: u32 = 40;
/// Total time a proposal may spend finding a leader.
const PROPOSE_DEADLINE: Duration = Duration::from_secs(8);
/// Time a leader may take to commit and apply one proposal.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_millis(400);
/// Leader hints followed at once before waiting: during a leadership transfer the old and
/// the new leader may point at each other until the election ends.
pub const HOPS_AT_ONCE: u32 = 3;

/// An applied proposal: the state machine's answer and the entry's log index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposed {
    pub reply: GroupReply,
    pub log_index: u64,
    /// The last records of an append that the shard's write quota left out (never written;
    /// only in the `kinesis_limits` mode).
    pub throttled: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ProposeError {
    /// No leader accepted it in time; it was certainly not appended.
    #[error("no leader for group {0} could be reached in time; nothing was written")]
    NoLeader(GroupId),
    /// The asked node does not lead the group; it was certainly not appended.
    #[error("node {node} does not lead group {group}")]
    NotLeader { group: GroupId, node: NodeId, leader: Option<NodeId> },
    /// It may or may not have been applied.
    #[error("the write may or may not have been applied: {0}")]
    Unknown(String),
    /// The command could not be encoded or was malformed; nothing was proposed.
    #[error("bad command: {0}")]
    BadCommand(String),
    /// The shard's write quota admits none of the records now; nothing was proposed.
    #[error("the write quota of group {0} is used up")]
    Throttled(GroupId),
}

impl ProposeError {
    /// Whether the write certainly did not happen, so that anyone may retry it.
    pub fn certainly_not_applied(&self) -> bool {
        !matches!(self, ProposeError::Unknown(_))
    }
}

/// A proposal forwarded to the leader.
#[derive(Serialize, Deserialize)]
pub struct Forwarded {
    pub command: Command,
}

/// Proposes on this node, which must lead `group`; never forwards. A shard's appends go
/// through its coalescer and may share an entry with others (`coalesce.rs`).
pub async fn propose_local(node: &Node, group: GroupId, command: Command) -> Result<Proposed, ProposeError> {
    let not_leader = |leader| ProposeError::NotLeader { group, node: node.id, leader };
    let Some(raft) = node.raft(group) else { return Err(not_leader(None)) };
    if node.is_shutting_down() || node.fail_stop.is_stopped() {
        return Err(not_leader(None));
    }
    let overdue = || ProposeError::Unknown(format!("group {group} did not commit within {COMMIT_TIMEOUT:?}"));
    if let Some(shard) = node.group(group) {
        if let Some(append) = admit(&shard, &command)? {
            let command = append.command.unwrap_or(command);
            let proposed = shard.coalescer.append(command, append.records, append.alone);
            let proposed = tokio::time::timeout(COMMIT_TIMEOUT, proposed).await.map_err(|_| overdue())?;
            return proposed.map(|p| Proposed { throttled: append.throttled, ..p });
        }
    }
    renew_quiet_lease(&raft).await;
    let write = tokio::time::timeout(COMMIT_TIMEOUT, raft.client_write(command)).await;
    match write {
        Err(_) => Err(overdue()),
        Ok(Ok(reply)) => {
            Ok(Proposed { reply: GroupReply::decode(&reply.data), log_index: reply.log_id.index, throttled: 0 })
        }
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => Err(not_leader(f.leader_id)),
        Ok(Err(e)) => Err(unknown(e)),
    }
}

/// Makes a quiet leader's lease valid again before it writes. A group that went quiet
/// (`quiesce.rs`) sends no heartbeats, so its leader's lease lapses and openraft refuses
/// writes (`ForwardReason::LeaseExpired`) until a quorum has acknowledged it again. When the
/// last acknowledgement this node knows of is older than half the lease, one heartbeat round
/// first (what a linearizable read does); a busy leader's acknowledgements are fresh and it
/// skips this. A failed round is left for the write to report.
pub async fn renew_quiet_lease(raft: &Raft) {
    let lease = Duration::from_millis(raft.config().election_timeout_max);
    let stale = {
        let m = raft.metrics();
        let m = m.borrow_watched();
        m.state == ServerState::Leader
            && m.last_quorum_acked.as_ref().is_none_or(|t| OpenraftInstant::elapsed(&**t) >= lease / 2)
    };
    if stale {
        let confirm = raft.ensure_linearizable(LinearizerOption::new(None, true));
        if let Ok(Err(e)) = tokio::time::timeout(lease, confirm).await {
            tracing::debug!("a quiet leader's lease was not renewed: {e}");
        }
    }
}

/// An append as the shard's write quota admits it at this leader.
struct Admitted {
    /// The command of the first records, when the quota left some out (else the command
    /// is proposed as it came).
    command: Option<Command>,
    records: usize,
    /// The last records the quota left out.
    throttled: u32,
    /// It carries SequenceNumberForOrdering, so it is an entry alone.
    alone: bool,
}

/// The append `command` holds, as the shard's write quota admits it; `None` for other
/// commands.
fn admit(shard: &ShardGroup, command: &Command) -> Result<Option<Admitted>, ProposeError> {
    let body = match Command::split(&command.0) {
        Ok((CommandKind::Append, body)) => body,
        _ => return Ok(None),
    };
    let batch = BatchView::decode(body).map_err(|e| ProposeError::BadCommand(e.to_string()))?;
    if batch.records.is_empty() {
        return Err(ProposeError::BadCommand("an append of no records".into()));
    }
    let alone = batch.records.iter().any(|r| r.after.is_some());
    let costs: Vec<u64> = batch.records.iter().map(|r| r.body.stored_bytes() as u64).collect();
    let term = shard.raft.metrics().borrow_watched().current_term;
    let admitted = shard.traffic.admit_writes(term, &costs);
    if admitted == 0 {
        return Err(ProposeError::Throttled(shard.shared.group));
    }
    let command = if admitted == costs.len() {
        None
    } else {
        let prefix = BatchView::prefix(body, admitted).map_err(|e| ProposeError::BadCommand(e.to_string()))?;
        let command = Command::build(CommandKind::Append, prefix.len(), |buf| {
            buf.extend_from_slice(&prefix);
            Ok::<(), ProposeError>(())
        })?;
        Some(command)
    };
    Ok(Some(Admitted { command, records: admitted, throttled: (costs.len() - admitted) as u32, alone }))
}

fn unknown(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> ProposeError {
    ProposeError::Unknown(e.to_string())
}

/// Proposes `command` to `group` wherever its leader is. `replicas` are tried when this
/// node does not host the group and knows no leader.
pub async fn propose(
    node: &Node,
    group: GroupId,
    replicas: &[NodeId],
    command: &GroupCommand,
) -> Result<Proposed, ProposeError> {
    let command = command.encode().map_err(ProposeError::BadCommand)?;
    let deadline = Instant::now() + PROPOSE_DEADLINE;
    let mut backoff = BACKOFF_MIN;
    let mut hint: Option<NodeId> = None;
    let mut hops = 0;
    for attempt in 0..PROPOSE_ATTEMPTS_MAX {
        let local_view = node.raft(group).and_then(|r| r.metrics().borrow_watched().current_leader);
        let target = hint.take().or(local_view).or_else(|| {
            (node.raft(group).is_none() && !replicas.is_empty()).then(|| replicas[attempt as usize % replicas.len()])
        });
        let outcome = match target {
            None => None,
            Some(leader) if leader == node.id => Some(propose_local(node, group, command.clone()).await),
            Some(leader) => Some(forward(node, leader, group, &command).await),
        };
        match outcome {
            Some(Err(ProposeError::NotLeader { leader, node: asked, .. })) => {
                // Follow a fresh hint (at once, a few times); without one, wait for an election.
                if let Some(l) = leader.filter(|l| *l != asked) {
                    hint = Some(l);
                    hops += 1;
                    if hops <= HOPS_AT_ONCE {
                        continue;
                    }
                }
            }
            Some(other) => return other,
            None => {}
        }
        if Instant::now() + backoff > deadline {
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        hops = 0;
    }
    Err(ProposeError::NoLeader(group))
}

async fn forward(node: &Node, leader: NodeId, group: GroupId, command: &Command) -> Result<Proposed, ProposeError> {
    let Some(addr) = node.peer_address(leader) else {
        return Err(ProposeError::NotLeader { group, node: leader, leader: None });
    };
    let payload = pack(&Forwarded { command: command.clone() }).map_err(|e| ProposeError::BadCommand(e.to_string()))?;
    let reply = node.peers.propose(&addr, group, payload, COMMIT_TIMEOUT + Duration::from_secs(1)).await;
    match reply {
        // No connection: it never left this node. Look for a leader again (the one this
        // node knows of may be dead).
        Err(CallError::NotSent(e)) => {
            tracing::debug!(leader, "proposal for {group} not sent: {e}");
            Err(ProposeError::NotLeader { group, node: leader, leader: None })
        }
        // The leader may have appended it before the reply was lost.
        Err(e) => Err(ProposeError::Unknown(format!("node {leader}: {e}"))),
        Ok(bytes) => unpack::<Result<Proposed, ProposeError>>(&bytes)
            .map_err(|e| ProposeError::Unknown(format!("node {leader}: {e}")))?,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unknown_outcomes_may_have_been_applied() {
        assert!(ProposeError::NoLeader(GroupId(1)).certainly_not_applied());
        assert!(ProposeError::NotLeader { group: GroupId(1), node: 1, leader: None }.certainly_not_applied());
        assert!(ProposeError::BadCommand("x".into()).certainly_not_applied());
        assert!(ProposeError::Throttled(GroupId(1)).certainly_not_applied());
        assert!(!ProposeError::Unknown("x".into()).certainly_not_applied());
    }
}
