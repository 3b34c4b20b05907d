//! What this node does with each message its peers send (`transport::PeerHandler`).

use super::join::JoinState;
use super::liveness::local_alive;
use super::node::Node;
use super::propose::{propose_local, Forwarded};
use super::read::{read_at_leader, ShardRead};
use super::status::local_status;
use crate::domain::{GroupId, META_GROUP};
use crate::raft::network::{allow_revert, append_view, handle, transfer_target, InstallMessage};
use crate::raft::snapshot::ChunkMessage;
use crate::replica::snapshot::{check_staged, stage};
use crate::storage::off_thread;
use crate::transport::wire::{pack, unpack};
use crate::transport::{PeerError, PeerHandler, RaftKind};
use openraft::async_runtime::WatchReceiver as _;
use serde::Serialize;

fn packed<T: Serialize>(value: &T) -> Result<Vec<u8>, PeerError> {
    pack(value).map_err(|e| PeerError::Internal(e.to_string()))
}

impl Node {
    fn hosted(&self, group: GroupId) -> Result<crate::replica::Raft, PeerError> {
        if self.is_shutting_down() {
            return Err(PeerError::NotHosted(format!("node {} is shutting down", self.id)));
        }
        let raft = self.raft(group);
        let raft = raft.ok_or_else(|| PeerError::NotHosted(format!("{group} not hosted on node {}", self.id)))?;
        if self.join_state() == JoinState::Deciding {
            return Err(PeerError::NotHosted(format!("node {} has an empty database and has not joined yet", self.id)));
        }
        Ok(raft)
    }

    /// What a node rebuilding from an empty volume lets through (cluster/join.rs): appends
    /// only from a leader that accepted its log going back, noting the commit each
    /// advertises; no vote in a group before it has caught up there.
    async fn rebuilding_gate(
        &self,
        group: GroupId,
        kind: RaftKind,
        payload: &[u8],
        raft: &crate::replica::Raft,
    ) -> Result<(), PeerError> {
        match kind {
            RaftKind::Append => {
                let view = append_view(payload)?;
                self.catch_up.observe_commit(group, view.term, view.leader_commit);
                if self.catch_up.allowed(group, view.term, view.leader) {
                    return Ok(());
                }
                let waiting = || PeerError::NotHosted(format!("node {} is rebuilding {group}", self.id));
                let addr = self.peer_address(view.leader).ok_or_else(waiting)?;
                match allow_revert(&self.peers, &addr, group, self.id).await {
                    Ok(true) => {
                        tracing::info!(node = self.id, %group, leader = view.leader, "rebuilding from the leader");
                        self.catch_up.allow(group, view.term, view.leader);
                        Ok(())
                    }
                    _ => Err(waiting()),
                }
            }
            RaftKind::Vote | RaftKind::PreVote => {
                let applied = raft.metrics().borrow_watched().last_applied.map(|l| l.index);
                if self.catch_up.caught_up(group, applied) {
                    Ok(())
                } else {
                    Err(PeerError::NotHosted(format!(
                        "node {} is rebuilding {group}: no vote until it has caught up",
                        self.id
                    )))
                }
            }
            _ => Ok(()),
        }
    }
}

#[tonic::async_trait]
impl PeerHandler for Node {
    async fn raft(&self, group: GroupId, kind: RaftKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let raft = self.hosted(group)?;
        if self.join_state() == JoinState::Rebuilding {
            self.rebuilding_gate(group, kind, &payload, &raft).await?;
        }
        // A stopping node takes no leadership (cluster/handoff.rs).
        if kind == RaftKind::TransferLeader && self.is_handing_over() && transfer_target(&payload)? == self.id {
            return Err(PeerError::NotHosted(format!("node {} is stopping", self.id)));
        }
        if kind == RaftKind::InstallSnapshot {
            // Refuse an install whose chunks did not all arrive (another transmission
            // overtook it) before Raft sees it: the sender then simply tries again.
            let msg: InstallMessage = unpack(&payload)?;
            let (engine, staged) = (self.engine.clone(), msg.staged);
            let checked = off_thread(self.engine.io_blocks(), move || {
                check_staged(engine.as_ref(), group, group == META_GROUP, &staged)
            })
            .await;
            checked.map_err(|e| PeerError::NotHosted(e.to_string()))?;
        }
        handle(&raft, kind, &payload).await
    }

    async fn snapshot_chunk(&self, group: GroupId, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        self.hosted(group)?;
        let msg: ChunkMessage = unpack(&payload)?;
        let engine = self.engine.clone();
        let staged =
            off_thread(self.engine.io_blocks(), move || stage(engine.as_ref(), group, group == META_GROUP, &msg)).await;
        let staged = self.fail_stop.check(&format!("{group} snapshot staging"), staged);
        packed(&staged.map_err(|e| e.to_string()))
    }

    async fn propose(&self, group: GroupId, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let msg: Forwarded = unpack(&payload)?;
        packed(&propose_local(self, group, msg.command).await)
    }

    async fn read(&self, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let req: ShardRead = unpack(&payload)?;
        packed(&read_at_leader(self, &req).await)
    }

    async fn status(&self) -> Result<Vec<u8>, PeerError> {
        packed(&local_status(self))
    }

    async fn alive(&self) -> Result<Vec<u8>, PeerError> {
        packed(&local_alive(self))
    }
}
