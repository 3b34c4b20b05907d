//! What this node does with each message its peers send (`transport::PeerHandler`).

use super::node::Node;
use super::propose::{propose_local, Forwarded};
use super::read::{read_at_leader, ShardRead};
use super::status::local_status;
use crate::domain::{GroupId, META_GROUP};
use crate::raft::network::{handle, InstallMessage};
use crate::raft::snapshot::ChunkMessage;
use crate::replica::snapshot::{check_staged, stage};
use crate::storage::off_thread;
use crate::transport::wire::{pack, unpack};
use crate::transport::{PeerError, PeerHandler, RaftKind};
use serde::Serialize;

fn packed<T: Serialize>(value: &T) -> Result<Vec<u8>, PeerError> {
    pack(value).map_err(|e| PeerError::Internal(e.to_string()))
}

impl Node {
    fn hosted(&self, group: GroupId) -> Result<crate::replica::Raft, PeerError> {
        if self.is_shutting_down() {
            return Err(PeerError::NotHosted(format!("node {} is shutting down", self.id)));
        }
        self.raft(group).ok_or_else(|| PeerError::NotHosted(format!("{group} not hosted on node {}", self.id)))
    }
}

#[tonic::async_trait]
impl PeerHandler for Node {
    async fn raft(&self, group: GroupId, kind: RaftKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let raft = self.hosted(group)?;
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
}
