//! Writing to a group from any node: propose locally when this node leads the group,
//! otherwise forward to the leader (`Peer.Propose`), following leader hints.
//!
//! A proposal is retried only when it was certainly not appended (the target said it is
//! not the leader). Any other failure may have been applied, so it is reported as
//! `Unknown` and the client decides whether to retry (and risk a duplicate).

use super::node::Node;
use crate::domain::{GroupId, NodeId};
use crate::raft::{decode, encode, Request, Response};
use openraft::async_runtime::WatchReceiver as _;
use openraft::error::{ClientWriteError, RaftError};
use runnel_proto::v1::peer::Proposal;
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

/// An applied proposal: the state machine's answer and the entry's log index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposed {
    pub response: Response,
    pub log_index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ProposeError {
    #[error("no leader for group {0} could be reached in time")]
    NoLeader(GroupId),
    #[error("node {node} does not lead group {group}")]
    NotLeader { group: GroupId, node: NodeId, leader: Option<NodeId> },
    #[error("the write may or may not have been applied: {0}")]
    Unknown(String),
    #[error("group {0} has stopped on this node")]
    Stopped(GroupId),
}

/// Proposes on this node, which must lead `group`; never forwards.
pub async fn propose_local(node: &Node, group: GroupId, request: Request) -> Result<Proposed, ProposeError> {
    let Some(raft) = node.raft(group) else {
        return Err(ProposeError::NotLeader { group, node: node.id, leader: None });
    };
    let write = tokio::time::timeout(COMMIT_TIMEOUT, raft.client_write(request)).await;
    match write {
        Err(_) => Err(ProposeError::Unknown(format!("group {group} did not commit within {COMMIT_TIMEOUT:?}"))),
        Ok(Ok(reply)) => Ok(Proposed { response: reply.data, log_index: reply.log_id.index() }),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
            Err(ProposeError::NotLeader { group, node: node.id, leader: f.leader_id })
        }
        Ok(Err(RaftError::APIError(e))) => Err(ProposeError::Unknown(e.to_string())),
        Ok(Err(RaftError::Fatal(_))) => Err(ProposeError::Stopped(group)),
    }
}

/// Proposes to `group` wherever its leader is. `replicas` are tried when this node does not
/// host the group and knows no leader.
pub async fn propose(
    node: &Node,
    group: GroupId,
    replicas: &[NodeId],
    request: Request,
) -> Result<Proposed, ProposeError> {
    let deadline = Instant::now() + PROPOSE_DEADLINE;
    let mut backoff = BACKOFF_MIN;
    let mut hint: Option<NodeId> = None;
    for attempt in 0..PROPOSE_ATTEMPTS_MAX {
        let local_view = node.raft(group).and_then(|r| r.metrics().borrow_watched().current_leader);
        let target = hint.take().or(local_view).or_else(|| {
            if node.raft(group).is_none() && !replicas.is_empty() {
                Some(replicas[attempt as usize % replicas.len()])
            } else {
                None
            }
        });
        let outcome = match target {
            None => None,
            Some(leader) if leader == node.id => Some(propose_local(node, group, request.clone()).await),
            Some(leader) => Some(forward(node, leader, group, &request).await),
        };
        match outcome {
            Some(Err(ProposeError::NotLeader { leader, node: asked, .. })) => {
                // Follow a fresh hint at once; without one, wait for an election.
                if let Some(l) = leader.filter(|l| *l != asked) {
                    hint = Some(l);
                    continue;
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
    }
    Err(ProposeError::NoLeader(group))
}

async fn forward(node: &Node, leader: NodeId, group: GroupId, request: &Request) -> Result<Proposed, ProposeError> {
    let Some(addr) = node.address_of(leader) else {
        return Err(ProposeError::NotLeader { group, node: leader, leader: None });
    };
    let payload = encode(request).map_err(|e| ProposeError::Unknown(e.to_string()))?;
    let mut client = node.peers.client(&addr).map_err(ProposeError::Unknown)?;
    let call = client.propose(Proposal { group_id: group.0, payload });
    match tokio::time::timeout(COMMIT_TIMEOUT + Duration::from_secs(1), call).await {
        Err(_) => Err(ProposeError::Unknown(format!("node {leader} did not answer in time"))),
        Ok(Err(status)) => Err(ProposeError::Unknown(format!("node {leader}: {}", status.message()))),
        Ok(Ok(reply)) => decode::<Result<Proposed, ProposeError>>(&reply.into_inner().payload)
            .map_err(|e| ProposeError::Unknown(e.to_string()))?,
    }
}
