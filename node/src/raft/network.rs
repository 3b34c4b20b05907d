//! Raft messages between nodes, over the transport: the sending side (`GroupNetwork`, one
//! per group and target) and the receiving side (`handle`, called by the node runtime for
//! each incoming message).
//!
//! Timeouts fit the payload: openraft gives an append only a heartbeat interval, which a
//! 16 MiB catch-up message cannot meet on a busy disk; every message gets at least
//! `PEER_TIMEOUT_MIN` plus time for its bytes at `PEER_BYTES_PER_SEC_MIN`.

use super::snapshot::{ChunkMessage, SnapshotData, StagedSnapshot};
use super::types::{SnapshotMeta, TypeConfig, Vote};
use crate::domain::{GroupId, NodeId};
use crate::storage::off_thread;
use crate::transport::wire::{pack, unpack};
use crate::transport::{CallError, PeerError, Peers, RaftKind};
use futures::FutureExt;
use openraft::error::{NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::RaftStateMachine;
use openraft::{BasicNode, OptionalSend, RaftNetworkV2, Snapshot};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// The least time any peer message gets.
pub const PEER_TIMEOUT_MIN: Duration = Duration::from_secs(2);
/// The slowest transfer rate a healthy peer link is assumed to sustain.
pub const PEER_BYTES_PER_SEC_MIN: u64 = 8 * 1024 * 1024;
/// Time a receiver may take to install a staged snapshot.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a message of `bytes` may take.
pub fn timeout_for(bytes: usize, at_least: Duration) -> Duration {
    let transfer = Duration::from_millis((bytes as u64).saturating_mul(1000) / PEER_BYTES_PER_SEC_MIN);
    at_least.max(PEER_TIMEOUT_MIN) + transfer
}

/// The install message that follows a snapshot's chunks.
#[derive(Serialize, Deserialize)]
pub struct InstallMessage {
    pub vote: Vote,
    pub meta: SnapshotMeta,
    pub staged: StagedSnapshot,
}

pub struct NetworkFactory {
    pub group: GroupId,
    pub peers: Peers,
    /// Whether storage reads block (then snapshot chunks are read off the async threads).
    pub io_blocks: bool,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = GroupNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> GroupNetwork {
        GroupNetwork {
            group: self.group,
            target,
            addr: node.addr.clone(),
            peers: self.peers.clone(),
            io_blocks: self.io_blocks,
            transmissions: 0,
        }
    }
}

pub struct GroupNetwork {
    group: GroupId,
    target: NodeId,
    addr: String,
    peers: Peers,
    io_blocks: bool,
    /// Snapshots sent through this client, to tell transmissions apart.
    transmissions: u64,
}

fn rpc_error(e: CallError) -> RPCError<TypeConfig> {
    match e {
        CallError::NotSent(m) | CallError::Unreachable(m) | CallError::Refused(m) => {
            RPCError::Unreachable(Unreachable::from_string(m))
        }
        CallError::Timeout(m) => RPCError::Network(NetworkError::from_string(m)),
    }
}

fn streaming_error(e: CallError) -> StreamingError<TypeConfig> {
    match e {
        CallError::NotSent(m) | CallError::Unreachable(m) | CallError::Refused(m) => {
            StreamingError::Unreachable(Unreachable::from_string(m))
        }
        CallError::Timeout(m) => StreamingError::Network(NetworkError::from_string(m)),
    }
}

impl GroupNetwork {
    async fn rpc<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        kind: RaftKind,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>> {
        let payload = pack(req).map_err(|e| RPCError::Network(NetworkError::from_string(e.to_string())))?;
        let timeout = timeout_for(payload.len(), option.hard_ttl());
        let reply = self.peers.raft(&self.addr, self.group, kind, payload, timeout).await.map_err(rpc_error)?;
        let result: Result<Resp, RaftError<TypeConfig>> =
            unpack(&reply).map_err(|e| RPCError::Network(NetworkError::from_string(e.to_string())))?;
        // The remote group has stopped (the only error these calls return): unreachable for now.
        result.map_err(|e| RPCError::Unreachable(Unreachable::from_string(format!("node {}: {e}", self.target))))
    }

    /// Streams every chunk of `source`, then asks the target to install them.
    async fn send_snapshot(
        &mut self,
        vote: Vote,
        meta: SnapshotMeta,
        mut source: Box<dyn super::snapshot::SnapshotSource>,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        self.transmissions += 1;
        let last = meta.last_log_id.as_ref().map_or(0, |id| id.index);
        let id = (last << 16) ^ self.transmissions;
        let mut seq = 0u64;
        loop {
            let (back, chunk) = off_thread(self.io_blocks, move || {
                let chunk = source.next_chunk();
                (source, chunk)
            })
            .await;
            source = back;
            let chunk = chunk.map_err(|e| {
                use openraft::errors::ErrorSource as _;
                let source = openraft::alias::ErrorSourceOf::<TypeConfig>::from_error(&e);
                StreamingError::StorageError(openraft::StorageError::read_snapshot(None, source))
            })?;
            let Some(data) = chunk else { break };
            let payload = pack(&ChunkMessage { id, seq, data })
                .map_err(|e| StreamingError::Network(NetworkError::from_string(e.to_string())))?;
            let timeout = timeout_for(payload.len(), PEER_TIMEOUT_MIN);
            let reply = self.peers.snapshot_chunk(&self.addr, self.group, payload, timeout).await;
            let reply = reply.map_err(streaming_error)?;
            let staged: Result<(), String> =
                unpack(&reply).map_err(|e| StreamingError::Network(NetworkError::from_string(e.to_string())))?;
            staged.map_err(|e| StreamingError::Unreachable(Unreachable::from_string(e)))?;
            seq += 1;
        }
        let install = InstallMessage { vote, meta, staged: StagedSnapshot { id, chunks: seq } };
        let payload = pack(&install).map_err(|e| StreamingError::Network(NetworkError::from_string(e.to_string())))?;
        let reply = self
            .peers
            .raft(&self.addr, self.group, RaftKind::InstallSnapshot, payload, INSTALL_TIMEOUT)
            .await
            .map_err(streaming_error)?;
        let result: Result<SnapshotResponse<TypeConfig>, openraft::error::Fatal<TypeConfig>> =
            unpack(&reply).map_err(|e| StreamingError::Network(NetworkError::from_string(e.to_string())))?;
        result.map_err(|e| StreamingError::Unreachable(Unreachable::from_string(format!("install refused: {e}"))))
    }
}

impl RaftNetworkV2<TypeConfig> for GroupNetwork {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RaftKind::Append, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RaftKind::Vote, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RaftKind::PreVote, &rpc, &option).await
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(RaftKind::TransferLeader, &req, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: openraft::alias::SnapshotOf<TypeConfig, SnapshotData>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let SnapshotData::Source(source) = snapshot.snapshot else {
            return Err(StreamingError::Unreachable(Unreachable::from_string("a staged snapshot cannot be sent on")));
        };
        let send = self.send_snapshot(vote, snapshot.meta, source);
        futures::select_biased! {
            closed = cancel.fuse() => Err(StreamingError::Closed(closed)),
            sent = Box::pin(send).fuse() => sent,
        }
    }
}

fn bad(e: crate::transport::wire::WireError) -> PeerError {
    PeerError::BadRequest(e.to_string())
}

fn packed<T: Serialize>(value: &T) -> Result<Vec<u8>, PeerError> {
    pack(value).map_err(|e| PeerError::Internal(e.to_string()))
}

/// Hands one incoming Raft message to the group's Raft instance; the reply is packed for
/// the wire.
pub async fn handle<SM>(
    raft: &openraft::Raft<TypeConfig, SM>,
    kind: RaftKind,
    payload: &[u8],
) -> Result<Vec<u8>, PeerError>
where
    SM: RaftStateMachine<TypeConfig, SnapshotData = SnapshotData>,
{
    match kind {
        RaftKind::Append => {
            let rpc: AppendEntriesRequest<TypeConfig> = unpack(payload).map_err(bad)?;
            packed(&raft.append_entries(rpc).await)
        }
        RaftKind::Vote => {
            let rpc: VoteRequest<TypeConfig> = unpack(payload).map_err(bad)?;
            packed(&raft.vote(rpc).await)
        }
        RaftKind::PreVote => {
            let rpc: VoteRequest<TypeConfig> = unpack(payload).map_err(bad)?;
            packed(&raft.pre_vote(rpc).await)
        }
        RaftKind::InstallSnapshot => {
            let msg: InstallMessage = unpack(payload).map_err(bad)?;
            let snapshot = Snapshot { meta: msg.meta, snapshot: SnapshotData::Staged(msg.staged) };
            packed(&raft.install_full_snapshot(msg.vote, snapshot).await)
        }
        RaftKind::TransferLeader => {
            let req: TransferLeaderRequest<TypeConfig> = unpack(payload).map_err(bad)?;
            packed(&raft.handle_transfer_leader(req).await.map_err(RaftError::<TypeConfig>::Fatal))
        }
        RaftKind::AllowRevert => {
            let req: AllowRevert = unpack(payload).map_err(bad)?;
            // `Ok(Ok)` only on the leader; a follower or a stopped group answers `false`.
            let allowed = matches!(raft.trigger().allow_next_revert(&req.node, true).await, Ok(Ok(())));
            packed(&allowed)
        }
    }
}

/// Asks the leader of a group to accept that `node`'s log went back (its volume came back
/// empty): openraft treats a follower whose log lost what it had acknowledged as a broken
/// invariant unless told, once, by `allow_next_revert`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllowRevert {
    pub node: NodeId,
}

/// Sends `AllowRevert` for `node` to the node at `addr`; `true` when it leads `group` and
/// took note.
pub async fn allow_revert(peers: &Peers, addr: &str, group: GroupId, node: NodeId) -> Result<bool, CallError> {
    let payload = pack(&AllowRevert { node }).map_err(|e| CallError::NotSent(e.to_string()))?;
    let reply = peers.raft(addr, group, RaftKind::AllowRevert, payload, PEER_TIMEOUT_MIN).await?;
    unpack(&reply).map_err(|e| CallError::Refused(e.to_string()))
}

/// Who sent an append, and the commit point it advertised: what a rebuilding node watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendView {
    pub leader: NodeId,
    pub term: u64,
    /// The leader's committed log id, as (term, index).
    pub leader_commit: Option<(u64, u64)>,
}

/// The node a leadership transfer names as the next leader.
pub fn transfer_target(payload: &[u8]) -> Result<NodeId, PeerError> {
    let req: TransferLeaderRequest<TypeConfig> = unpack(payload).map_err(bad)?;
    Ok(*req.to_node_id())
}

pub fn append_view(payload: &[u8]) -> Result<AppendView, PeerError> {
    let rpc: AppendEntriesRequest<TypeConfig> = unpack(payload).map_err(bad)?;
    let leader = rpc.vote.leader_id();
    Ok(AppendView {
        leader: leader.voted_for,
        term: leader.term,
        leader_commit: rpc.leader_commit.map(|c| (c.leader_id.term, c.index)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_with_the_payload_and_never_drop_below_the_floor() {
        assert_eq!(timeout_for(0, Duration::from_millis(150)), PEER_TIMEOUT_MIN);
        let sixteen_mib = timeout_for(16 * 1024 * 1024, Duration::from_millis(150));
        assert_eq!(sixteen_mib, PEER_TIMEOUT_MIN + Duration::from_secs(2));
        assert!(timeout_for(1, Duration::from_secs(10)) >= Duration::from_secs(10));
        // No overflow on absurd sizes.
        let _ = timeout_for(usize::MAX, Duration::ZERO);
    }
}
