//! The node-to-node service: Raft messages, forwarded proposals and reads, status.

use crate::cluster::propose::propose_local;
use crate::cluster::read::{read_local, ShardRead};
use crate::cluster::Node;
use crate::domain::{GroupId, NodeId};
use crate::raft::network::{kind, SnapshotMessage};
use crate::raft::types::TypeConfig;
use crate::raft::{decode, encode, Request};
use openraft::async_runtime::WatchReceiver as _;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::Snapshot;
use runnel_proto::v1::peer::peer_server::Peer;
use runnel_proto::v1::peer::*;
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::sync::Arc;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

pub struct PeerService {
    node: Arc<Node>,
}

impl PeerService {
    pub fn new(node: Arc<Node>) -> PeerService {
        PeerService { node }
    }
}

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: NodeId,
    pub groups: Vec<GroupStatus>,
}

pub fn local_status(node: &Node) -> NodeStatus {
    let mut ids = vec![crate::domain::META_GROUP];
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
                committed: m.local_committed.map(|c| c.index()),
                applied: m.last_applied.map(|a| a.index()),
            })
        })
        .collect();
    NodeStatus { node: node.id, groups }
}

fn bad(e: std::io::Error) -> Status {
    Status::invalid_argument(e.to_string())
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn raft(&self, req: GrpcRequest<RaftMessage>) -> Result<GrpcResponse<RaftReply>, Status> {
        let msg = req.into_inner();
        let group = GroupId(msg.group_id);
        // Not hosted (yet): the sender treats this as unreachable and retries later.
        let raft = self.node.raft(group).ok_or_else(|| Status::unavailable(format!("{group} not hosted here")))?;
        let payload = match msg.kind.as_str() {
            kind::APPEND => {
                let rpc: AppendEntriesRequest<TypeConfig> = decode(&msg.payload).map_err(bad)?;
                encode(&raft.append_entries(rpc).await)
            }
            kind::VOTE => {
                let rpc: VoteRequest<TypeConfig> = decode(&msg.payload).map_err(bad)?;
                encode(&raft.vote(rpc).await)
            }
            kind::PRE_VOTE => {
                let rpc: VoteRequest<TypeConfig> = decode(&msg.payload).map_err(bad)?;
                encode(&raft.pre_vote(rpc).await)
            }
            kind::SNAPSHOT => {
                let snap: SnapshotMessage = decode(&msg.payload).map_err(bad)?;
                let snapshot = Snapshot { meta: snap.meta, snapshot: Cursor::new(snap.data) };
                encode(&raft.install_full_snapshot(snap.vote, snapshot).await)
            }
            other => return Err(Status::invalid_argument(format!("unknown raft message kind {other:?}"))),
        }
        .map_err(|e| Status::internal(e.to_string()))?;
        Ok(GrpcResponse::new(RaftReply { payload }))
    }

    async fn propose(&self, req: GrpcRequest<Proposal>) -> Result<GrpcResponse<ProposalReply>, Status> {
        let msg = req.into_inner();
        let request: Request = decode(&msg.payload).map_err(bad)?;
        let outcome = propose_local(&self.node, GroupId(msg.group_id), request).await;
        let payload = encode(&outcome).map_err(|e| Status::internal(e.to_string()))?;
        Ok(GrpcResponse::new(ProposalReply { payload }))
    }

    async fn read(&self, req: GrpcRequest<ReadRequest>) -> Result<GrpcResponse<ReadReply>, Status> {
        let read_req: ShardRead = decode(&req.into_inner().payload).map_err(bad)?;
        let outcome = read_local(&self.node, &read_req);
        let payload = encode(&outcome).map_err(|e| Status::internal(e.to_string()))?;
        Ok(GrpcResponse::new(ReadReply { payload }))
    }

    async fn status(&self, _req: GrpcRequest<StatusRequest>) -> Result<GrpcResponse<StatusReply>, Status> {
        let payload = encode(&local_status(&self.node)).map_err(|e| Status::internal(e.to_string()))?;
        Ok(GrpcResponse::new(StatusReply { payload }))
    }
}
