//! The server half: the `Peer` gRPC service on the peer listener. It checks each payload's
//! wire version and hands it to the node's `PeerHandler`; it knows nothing of Raft,
//! shards or metadata.

use super::wire::{check_version, WireError};
use super::{ANSWERS_PER_FRAME_MAX, FRAME_BYTES_MAX, PEER_MESSAGE_BYTES_MAX};
use crate::domain::GroupId;
use futures::Stream;
use runnel_proto::v1::peer::peer_failure::Code;
use runnel_proto::v1::peer::peer_server::{Peer, PeerServer};
use runnel_proto::v1::peer::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::Connected;
use tonic::transport::Server;
use tonic::{Request, Response, Status, Streaming};

/// Requests one peer connection may have in flight. Every group's messages share the one
/// connection between two nodes, so this is generous; it bounds what a peer can queue.
const PEER_REQUESTS_PER_CONNECTION_MAX: usize = 4096;
/// Streams a peer may reset before this server accepted them, per connection (h2's default
/// is 20): after a pause or a partition, a peer's backlog of timed-out Raft calls arrives as
/// one burst of resets, and past the limit h2 would close the connection they share.
const PEER_PENDING_RESET_STREAMS_MAX: usize = 1024;
/// Calls of one Raft stream being handled at once; past it the stream is not read until one
/// finishes, so a peer's backlog waits in its own buffers and the connection's window.
const STREAM_CALLS_IN_FLIGHT_MAX: usize = 4096;

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

/// What a call on a peer's stream carries: a Raft message, or a write forwarded to the
/// group's leader (the unary `propose` call's payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamedKind {
    Raft(RaftKind),
    Propose,
}

impl StreamedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamedKind::Raft(kind) => kind.as_str(),
            StreamedKind::Propose => "propose",
        }
    }

    pub fn parse(s: &str) -> Option<StreamedKind> {
        match s {
            "propose" => Some(StreamedKind::Propose),
            other => RaftKind::parse(other).map(StreamedKind::Raft),
        }
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
    async fn alive(&self) -> Result<Vec<u8>, PeerError>;
}

struct PeerService {
    handler: Arc<dyn PeerHandler>,
    /// Turns true when the server stops: its Raft streams then end, since a graceful
    /// shutdown waits for every stream and these would otherwise last for ever.
    stopping: watch::Receiver<bool>,
}

async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // An error means the server is gone, which is stopped too.
    let _ = stopping.wait_for(|stopping| *stopping).await;
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

/// A refusal as a stream answer carries it: the same codes as the unary calls' statuses.
fn failure(e: PeerError) -> PeerFailure {
    let (code, message) = match e {
        PeerError::NotHosted(m) => (Code::NotHosted, m),
        PeerError::BadRequest(m) => (Code::BadRequest, m),
        PeerError::Internal(m) => (Code::Internal, m),
    };
    PeerFailure { code: code.into(), message }
}

/// A stream call's answer, and the permit it held while handled and waiting.
type Answered = (RaftAnswer, OwnedSemaphorePermit);

/// A Raft message for `group`, unary or on a stream: its wire version and kind checked,
/// then handed to the handler.
async fn handle_raft(
    handler: &dyn PeerHandler,
    group: u64,
    kind: &str,
    payload: Vec<u8>,
) -> Result<Vec<u8>, PeerError> {
    check_version(&payload)?;
    let kind =
        RaftKind::parse(kind).ok_or_else(|| PeerError::BadRequest(format!("unknown raft message kind {kind:?}")))?;
    handler.raft(GroupId(group), kind, payload).await
}

/// Handles one call of a Raft stream, as the unary `raft` (or `propose`) call would.
async fn answer(handler: &dyn PeerHandler, call: RaftCall) -> raft_answer::Outcome {
    let handled = match StreamedKind::parse(&call.kind) {
        Some(StreamedKind::Propose) => match check_version(&call.payload) {
            Ok(()) => handler.propose(GroupId(call.group_id), call.payload).await,
            Err(e) => Err(e.into()),
        },
        _ => handle_raft(handler, call.group_id, &call.kind, call.payload).await,
    };
    match handled {
        Ok(payload) => raft_answer::Outcome::Payload(payload),
        Err(e) => raft_answer::Outcome::Failure(failure(e)),
    }
}

/// Reads a Raft stream's frames and handles each call in a task of its own (so one slow
/// group never holds up another's), at most `STREAM_CALLS_IN_FLIGHT_MAX` at once; answers
/// go to `answers` as they are ready, each with its permit, given back once the answer is
/// taken for a frame. Ends with the stream, or when the server stops.
async fn serve_calls(
    handler: Arc<dyn PeerHandler>,
    mut inbound: Streaming<RaftCalls>,
    answers: mpsc::Sender<Answered>,
    mut stopping: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(STREAM_CALLS_IN_FLIGHT_MAX));
    loop {
        let frame = tokio::select! {
            biased;
            () = stopped(&mut stopping) => return,
            frame = inbound.message() => frame,
        };
        let Ok(Some(frame)) = frame else { return };
        for call in frame.calls {
            let permit = tokio::select! {
                biased;
                () = stopped(&mut stopping) => return,
                permit = permits.clone().acquire_owned() => permit,
            };
            let Ok(permit) = permit else { return };
            let (handler, answers) = (handler.clone(), answers.clone());
            tokio::spawn(async move {
                let id = call.id;
                let outcome = answer(handler.as_ref(), call).await;
                // Fails only when the stream is gone, and its caller with it.
                let _ = answers.send((RaftAnswer { id, outcome: Some(outcome) }, permit)).await;
            });
        }
    }
}

/// The answers waiting when the stream is ready for more, as one frame (within
/// `ANSWERS_PER_FRAME_MAX` answers and about `FRAME_BYTES_MAX` bytes), until the server
/// stops.
fn answer_frames(
    answers: mpsc::Receiver<Answered>,
    stopping: watch::Receiver<bool>,
) -> impl Stream<Item = Result<RaftAnswers, Status>> {
    futures::stream::unfold((answers, stopping), |(mut answers, mut stopping)| async move {
        let (first, _permit) = tokio::select! {
            biased;
            () = stopped(&mut stopping) => return None,
            answered = answers.recv() => answered?,
        };
        let mut bytes = answer_bytes(&first);
        let mut frame = vec![first];
        while frame.len() < ANSWERS_PER_FRAME_MAX && bytes < FRAME_BYTES_MAX {
            let Ok((next, _permit)) = answers.try_recv() else { break };
            bytes += answer_bytes(&next);
            frame.push(next);
        }
        Some((Ok(RaftAnswers { answers: frame }), (answers, stopping)))
    })
}

fn answer_bytes(answer: &RaftAnswer) -> usize {
    match &answer.outcome {
        Some(raft_answer::Outcome::Payload(p)) => p.len(),
        Some(raft_answer::Outcome::Failure(f)) => f.message.len(),
        None => 0,
    }
}

#[tonic::async_trait]
impl Peer for PeerService {
    type RaftStreamStream = Pin<Box<dyn Stream<Item = Result<RaftAnswers, Status>> + Send>>;

    async fn raft_stream(
        &self,
        req: Request<Streaming<RaftCalls>>,
    ) -> Result<Response<Self::RaftStreamStream>, Status> {
        // Room for every permit: a finished call never waits for the stream's reader.
        let (answers, waiting) = mpsc::channel(STREAM_CALLS_IN_FLIGHT_MAX);
        tokio::spawn(serve_calls(self.handler.clone(), req.into_inner(), answers, self.stopping.clone()));
        Ok(Response::new(Box::pin(answer_frames(waiting, self.stopping.clone()))))
    }

    async fn raft(&self, req: Request<RaftMessage>) -> Result<Response<RaftReply>, Status> {
        let msg = req.into_inner();
        let payload = handle_raft(self.handler.as_ref(), msg.group_id, &msg.kind, msg.payload).await.map_err(status)?;
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

    async fn alive(&self, _req: Request<AliveRequest>) -> Result<Response<AliveReply>, Status> {
        let payload = self.handler.alive().await.map_err(status)?;
        Ok(Response::new(AliveReply { payload }))
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
    let (stop, stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let service = PeerServer::new(PeerService { handler, stopping })
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
            assert_eq!(StreamedKind::parse(kind.as_str()), Some(StreamedKind::Raft(kind)));
        }
        assert_eq!(RaftKind::parse("snapshot"), None);
        assert_eq!(RaftKind::parse("propose"), None, "a proposal is no Raft message");
        assert_eq!(StreamedKind::parse(StreamedKind::Propose.as_str()), Some(StreamedKind::Propose));
    }
}
