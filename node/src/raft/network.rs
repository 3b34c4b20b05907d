//! Raft messages between nodes: one `Peer.Raft` gRPC call per message, over the channel the
//! node keeps per peer, shared by every group (one HTTP/2 connection carries all groups).

use super::types::{SnapshotMeta, TypeConfig, Vote};
use super::{decode, encode};
use crate::cluster::peers::Peers;
use crate::domain::{GroupId, NodeId};
use openraft::error::{NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use openraft::{BasicNode, OptionalSend, RaftNetworkV2};
use runnel_proto::v1::peer::RaftMessage;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::io::Cursor;
use std::time::Duration;

/// Raft message kinds on the wire.
pub mod kind {
    pub const APPEND: &str = "append";
    pub const VOTE: &str = "vote";
    pub const PRE_VOTE: &str = "pre_vote";
    pub const SNAPSHOT: &str = "snapshot";
}

/// A full snapshot on the wire.
#[derive(Serialize, serde::Deserialize)]
pub struct SnapshotMessage {
    pub vote: Vote,
    pub meta: SnapshotMeta,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Snapshots are sent whole; give them longer than ordinary messages.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NetworkFactory {
    pub group: GroupId,
    pub peers: Peers,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = GroupNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> GroupNetwork {
        GroupNetwork { group: self.group, target, addr: node.addr.clone(), peers: self.peers.clone() }
    }
}

pub struct GroupNetwork {
    group: GroupId,
    target: NodeId,
    addr: String,
    peers: Peers,
}

enum CallError {
    Unreachable(String),
    Network(String),
}

impl GroupNetwork {
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        kind: &str,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        let payload = encode(req).map_err(|e| CallError::Network(e.to_string()))?;
        let mut client = self.peers.client(&self.addr).map_err(CallError::Unreachable)?;
        let msg = RaftMessage { group_id: self.group.0, kind: kind.to_string(), payload };
        let reply = tokio::time::timeout(timeout, client.raft(msg))
            .await
            .map_err(|_| CallError::Network(format!("{kind} to node {} timed out", self.target)))?
            .map_err(|status| CallError::Unreachable(format!("{kind} to node {}: {status}", self.target)))?;
        decode(&reply.into_inner().payload).map_err(|e| CallError::Network(e.to_string()))
    }

    async fn rpc<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        kind: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>> {
        let result: Result<Resp, RaftError<TypeConfig>> = match self.call(kind, req, option.hard_ttl()).await {
            Ok(r) => r,
            Err(CallError::Unreachable(e)) => return Err(RPCError::Unreachable(Unreachable::from_string(e))),
            Err(CallError::Network(e)) => return Err(RPCError::Network(NetworkError::from_string(e))),
        };
        // The remote group has stopped (the only error these calls return): unreachable for now.
        result.map_err(|e| RPCError::Unreachable(Unreachable::from_string(format!("node {}: {e}", self.target))))
    }
}

impl RaftNetworkV2<TypeConfig> for GroupNetwork {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(kind::APPEND, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(kind::VOTE, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(kind::PRE_VOTE, &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: openraft::alias::SnapshotOf<TypeConfig, Cursor<Vec<u8>>>,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let msg = SnapshotMessage { vote, meta: snapshot.meta, data: snapshot.snapshot.into_inner() };
        let result: Result<SnapshotResponse<TypeConfig>, openraft::error::Fatal<TypeConfig>> =
            match self.call(kind::SNAPSHOT, &msg, SNAPSHOT_TIMEOUT).await {
                Ok(r) => r,
                Err(CallError::Unreachable(e)) => return Err(StreamingError::Unreachable(Unreachable::from_string(e))),
                Err(CallError::Network(e)) => return Err(StreamingError::Network(NetworkError::from_string(e))),
            };
        result.map_err(|e| StreamingError::Unreachable(Unreachable::from_string(format!("snapshot rejected: {e}"))))
    }
}
