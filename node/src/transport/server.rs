//! The server half: the `Peer` gRPC service on the peer listener. It checks each payload's
//! wire version and hands it to the node's `PeerHandler`; it knows nothing of Raft,
//! shards or metadata.

use super::wire::{check_version, WireError};
use super::PEER_MESSAGE_BYTES_MAX;
use crate::domain::GroupId;
use futures::Stream;
use runnel_proto::v1::peer::peer_server::{Peer, PeerServer};
use runnel_proto::v1::peer::*;
use std::future::Future;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::server::Connected;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

/// Requests one peer connection may have in flight. Every group's messages share the one
/// connection between two nodes, so this is generous; it bounds what a peer can queue.
const PEER_REQUESTS_PER_CONNECTION_MAX: usize = 4096;
/// Streams a peer may reset before this server accepted them, per connection (h2's default
/// is 20): after a pause or a partition, a peer's backlog of timed-out Raft calls arrives as
/// one burst of resets, and past the limit h2 would close the connection they share.
const PEER_PENDING_RESET_STREAMS_MAX: usize = 1024;

/// Raft message kinds on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaftKind {
    Append,
    Vote,
    PreVote,
    /// The last message of a streamed snapshot: install what the chunks staged.
    InstallSnapshot,
    /// A leader hands its leadership to another voter.
    TransferLeader,
    /// A node rebuilding from an empty volume asks the leader to accept that its log went
    /// back (openraft refuses a follower's log reversion unless told).
    AllowRevert,
}

impl RaftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RaftKind::Append => "append",
            RaftKind::Vote => "vote",
            RaftKind::PreVote => "pre_vote",
            RaftKind::InstallSnapshot => "install_snapshot",
            RaftKind::TransferLeader => "transfer_leader",
            RaftKind::AllowRevert => "allow_revert",
        }
    }

    pub const ALL: [RaftKind; 6] = [
        RaftKind::Append,
        RaftKind::Vote,
        RaftKind::PreVote,
        RaftKind::InstallSnapshot,
        RaftKind::TransferLeader,
        RaftKind::AllowRevert,
    ];

    pub fn parse(s: &str) -> Option<RaftKind> {
        RaftKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why a node did not handle a peer message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The group is not (or no longer) hosted here; the sender retries later.
    #[error("{0}")]
    NotHosted(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
}

impl From<WireError> for PeerError {
    fn from(e: WireError) -> PeerError {
        PeerError::BadRequest(e.to_string())
    }
}

/// What a node does with the messages its peers send. Payloads are wire-encoded
/// (`wire::pack`); replies too.
#[tonic::async_trait]
pub trait PeerHandler: Send + Sync + 'static {
    async fn raft(&self, group: GroupId, kind: RaftKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError>;
    async fn snapshot_chunk(&self, group: GroupId, payload: Vec<u8>) -> Result<Vec<u8>, PeerError>;
    async fn propose(&self, group: GroupId, payload: Vec<u8>) -> Result<Vec<u8>, PeerError>;
    async fn read(&self, payload: Vec<u8>) -> Result<Vec<u8>, PeerError>;
    async fn status(&self) -> Result<Vec<u8>, PeerError>;
}

struct PeerService {
    handler: Arc<dyn PeerHandler>,
}

fn status(e: PeerError) -> Status {
    match e {
        PeerError::NotHosted(m) => Status::unavailable(m),
        PeerError::BadRequest(m) => Status::invalid_argument(m),
        PeerError::Internal(m) => Status::internal(m),
    }
}

fn checked(payload: &[u8]) -> Result<(), Status> {
    check_version(payload).map_err(|e| status(e.into()))
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn raft(&self, req: Request<RaftMessage>) -> Result<Response<RaftReply>, Status> {
        let msg = req.into_inner();
        checked(&msg.payload)?;
        let kind = RaftKind::parse(&msg.kind)
            .ok_or_else(|| Status::invalid_argument(format!("unknown raft message kind {:?}", msg.kind)))?;
        let payload = self.handler.raft(GroupId(msg.group_id), kind, msg.payload).await.map_err(status)?;
        Ok(Response::new(RaftReply { payload }))
    }

    async fn snapshot_chunk(&self, req: Request<SnapshotChunkMessage>) -> Result<Response<SnapshotChunkReply>, Status> {
        let msg = req.into_inner();
        checked(&msg.payload)?;
        let payload = self.handler.snapshot_chunk(GroupId(msg.group_id), msg.payload).await.map_err(status)?;
        Ok(Response::new(SnapshotChunkReply { payload }))
    }

    async fn propose(&self, req: Request<Proposal>) -> Result<Response<ProposalReply>, Status> {
        let msg = req.into_inner();
        checked(&msg.payload)?;
        let payload = self.handler.propose(GroupId(msg.group_id), msg.payload).await.map_err(status)?;
        Ok(Response::new(ProposalReply { payload }))
    }

    async fn read(&self, req: Request<ReadRequest>) -> Result<Response<ReadReply>, Status> {
        let msg = req.into_inner();
        checked(&msg.payload)?;
        let payload = self.handler.read(msg.payload).await.map_err(status)?;
        Ok(Response::new(ReadReply { payload }))
    }

    async fn status(&self, _req: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        let payload = self.handler.status().await.map_err(status)?;
        Ok(Response::new(StatusReply { payload }))
    }
}

/// Serves the `Peer` service on `incoming` until `shutdown` resolves. The listener is a
/// stream of connections so that a simulation can hand in its own.
pub async fn serve<I, IO, IE>(
    handler: Arc<dyn PeerHandler>,
    incoming: I,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error>
where
    I: Stream<Item = Result<IO, IE>> + Send,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = PeerServer::new(PeerService { handler })
        .max_decoding_message_size(PEER_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(PEER_MESSAGE_BYTES_MAX);
    Server::builder()
        .concurrency_limit_per_connection(PEER_REQUESTS_PER_CONNECTION_MAX)
        .http2_max_pending_accept_reset_streams(Some(PEER_PENDING_RESET_STREAMS_MAX))
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_kinds_round_trip_their_wire_names() {
        for kind in RaftKind::ALL {
            assert_eq!(RaftKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RaftKind::parse("snapshot"), None);
    }
}
