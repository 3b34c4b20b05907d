//! The client half: channels to other nodes, and the calls made over them. The connector
//! is injected so a simulation can carry the same traffic over its own network.

use super::raft_stream::{Call, RaftStream};
use super::server::{RaftKind, StreamedKind};
use super::{PEER_MESSAGE_BYTES_MAX, STREAMED_PAYLOAD_BYTES_MAX, STREAMED_PROPOSALS_MAX};
use crate::domain::GroupId;
use crate::failstop;
use runnel_proto::v1::peer::peer_client::PeerClient;
use runnel_proto::v1::peer::{AliveRequest, Proposal, RaftMessage, ReadRequest, SnapshotChunkMessage, StatusRequest};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};
use tonic::transport::{Channel, Endpoint};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A connection that answers no keepalive within this is replaced: a peer that vanished
/// without closing its socket (power loss, partition) must not stall replication.
const KEEPALIVE: Duration = Duration::from_secs(5);

pub trait Connector: Send + Sync + 'static {
    fn connect(&self, addr: &str) -> Result<Channel, String>;
}

/// Plain TCP (production and real-process tests).
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect(&self, addr: &str) -> Result<Channel, String> {
        let endpoint = Endpoint::from_shared(addr.to_string()).map_err(|e| format!("bad peer address {addr}: {e}"))?;
        Ok(endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEPALIVE)
            .keep_alive_timeout(KEEPALIVE)
            .keep_alive_while_idle(true)
            .connect_lazy())
    }
}

/// Why a call to a peer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No connection to the peer could be made: the request never left this node.
    #[error("{0}")]
    NotSent(String),
    /// The peer did not answer (it may still have acted on the request).
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Timeout(String),
    /// The peer answered with an error status.
    #[error("{0}")]
    Refused(String),
}

impl CallError {
    fn map_message(self, f: impl FnOnce(String) -> String) -> CallError {
        match self {
            CallError::NotSent(m) => CallError::NotSent(f(m)),
            CallError::Unreachable(m) => CallError::Unreachable(f(m)),
            CallError::Timeout(m) => CallError::Timeout(f(m)),
            CallError::Refused(m) => CallError::Refused(f(m)),
        }
    }
}

#[derive(Clone)]
pub struct Peers {
    connector: Arc<dyn Connector>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    /// Each peer's Raft stream, over its channel (`raft_stream`).
    streams: Arc<Mutex<HashMap<String, RaftStream>>>,
    /// Forwarded writes on the streams waiting for their answer, bounded so that they
    /// (each waits for a commit) never take all of a peer's room for Raft calls.
    streamed_proposals: Arc<Semaphore>,
}

impl Peers {
    pub fn new(connector: Arc<dyn Connector>) -> Peers {
        let streamed_proposals = Arc::new(Semaphore::new(STREAMED_PROPOSALS_MAX));
        Peers { connector, channels: Arc::default(), streams: Arc::default(), streamed_proposals }
    }

    fn channel(&self, addr: &str) -> Result<Channel, CallError> {
        let mut channels = failstop::lock(&self.channels, "peer channels");
        match channels.get(addr) {
            Some(ch) => Ok(ch.clone()),
            None => {
                let ch = self.connector.connect(addr).map_err(CallError::NotSent)?;
                channels.insert(addr.to_string(), ch.clone());
                Ok(ch)
            }
        }
    }

    fn client(&self, addr: &str) -> Result<PeerClient<Channel>, CallError> {
        Ok(PeerClient::new(self.channel(addr)?)
            .max_decoding_message_size(PEER_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(PEER_MESSAGE_BYTES_MAX))
    }

    /// The peer's Raft stream, opened anew when there is none or the last one ended.
    fn raft_stream(&self, addr: &str) -> Result<RaftStream, CallError> {
        let mut streams = failstop::lock(&self.streams, "peer raft streams");
        if let Some(stream) = streams.get(addr).filter(|s| s.is_open()) {
            return Ok(stream.clone());
        }
        let stream = RaftStream::open(self.channel(addr)?, addr);
        streams.insert(addr.to_string(), stream.clone());
        Ok(stream)
    }

    #[cfg(test)]
    pub(super) fn streams_for_tests(&self) -> std::sync::MutexGuard<'_, HashMap<String, RaftStream>> {
        failstop::lock(&self.streams, "peer raft streams")
    }

    /// A Raft message for `group` at the peer at `addr`, and the peer's answer. Messages up
    /// to `STREAMED_PAYLOAD_BYTES_MAX` go on the peer's Raft stream; larger ones, and
    /// snapshot installs (which may take minutes), as calls of their own.
    pub async fn raft(
        &self,
        addr: &str,
        group: GroupId,
        kind: RaftKind,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        if kind != RaftKind::InstallSnapshot && payload.len() <= STREAMED_PAYLOAD_BYTES_MAX {
            return self.streamed(addr, group, StreamedKind::Raft(kind), payload, timeout).await;
        }
        let mut client = self.client(addr)?;
        let msg = RaftMessage { group_id: group.0, kind: kind.as_str().to_string(), payload };
        let what = format!("{} for {group} to {addr}", kind.as_str());
        Ok(timed(&what, timeout, client.raft(msg)).await?.payload)
    }

    async fn streamed(
        &self,
        addr: &str,
        group: GroupId,
        kind: StreamedKind,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        let stream = self.raft_stream(addr)?;
        let (answer, answered) = oneshot::channel();
        let call = Call { group, kind, payload, answer };
        let exchange = async {
            if stream.send(call).await.is_err() {
                return Err(CallError::NotSent("the raft stream had ended".into()));
            }
            // Dropped unanswered only while still queued: never sent.
            answered.await.unwrap_or_else(|_| Err(CallError::NotSent("the raft stream ended before sending".into())))
        };
        let what = || format!("{} for {group} to {addr}", kind.as_str());
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(CallError::Timeout(format!("{} timed out after {timeout:?}", what()))),
            Ok(Err(e)) => Err(e.map_message(|m| format!("{}: {m}", what()))),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    pub async fn snapshot_chunk(
        &self,
        addr: &str,
        group: GroupId,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        let mut client = self.client(addr)?;
        let msg = SnapshotChunkMessage { group_id: group.0, payload };
        let what = format!("snapshot chunk for {group} to {addr}");
        Ok(timed(&what, timeout, client.snapshot_chunk(msg)).await?.payload)
    }

    /// A write forwarded to the leader of `group` at `addr`, and its outcome. Like Raft
    /// messages, proposals up to `STREAMED_PAYLOAD_BYTES_MAX` go on the peer's stream (a
    /// PutRecords spread over many shards forwards one to each leader it does not reach
    /// directly, and as calls of their own they cost an HTTP/2 stream each); larger ones, or
    /// any past `STREAMED_PROPOSALS_MAX` waiting, are calls of their own.
    pub async fn propose(
        &self,
        addr: &str,
        group: GroupId,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        if payload.len() <= STREAMED_PAYLOAD_BYTES_MAX {
            if let Ok(_waiting) = self.streamed_proposals.try_acquire() {
                return self.streamed(addr, group, StreamedKind::Propose, payload, timeout).await;
            }
        }
        let mut client = self.client(addr)?;
        let what = format!("proposal for {group} to {addr}");
        Ok(timed(&what, timeout, client.propose(Proposal { group_id: group.0, payload })).await?.payload)
    }

    pub async fn read(&self, addr: &str, payload: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, CallError> {
        let mut client = self.client(addr)?;
        let what = format!("read at {addr}");
        Ok(timed(&what, timeout, client.read(ReadRequest { payload })).await?.payload)
    }

    pub async fn status(&self, addr: &str, timeout: Duration) -> Result<Vec<u8>, CallError> {
        let mut client = self.client(addr)?;
        let what = format!("status of {addr}");
        Ok(timed(&what, timeout, client.status(StatusRequest {})).await?.payload)
    }

    pub async fn alive(&self, addr: &str, timeout: Duration) -> Result<Vec<u8>, CallError> {
        let mut client = self.client(addr)?;
        let what = format!("liveness of {addr}");
        Ok(timed(&what, timeout, client.alive(AliveRequest {})).await?.payload)
    }
}

/// Whether a call failed while connecting, before any byte of the request was sent: tonic
/// writes a request only on an established connection, and reports a failure to make one
/// as a `ConnectError` in the status's sources.
fn never_connected(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.is::<tonic::ConnectError>() {
            return true;
        }
        source = e.source();
    }
    false
}

async fn timed<T>(
    what: &str,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err(CallError::Timeout(format!("{what} timed out after {timeout:?}"))),
        Ok(Err(status)) if never_connected(&status) => Err(CallError::NotSent(format!("{what}: {}", status.message()))),
        Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
            Err(CallError::Unreachable(format!("{what}: {}", status.message())))
        }
        Ok(Err(status)) => Err(CallError::Refused(format!("{what}: {:?}: {}", status.code(), status.message()))),
        Ok(Ok(reply)) => Ok(reply.into_inner()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A proposal forwarded to a dead leader failed as "may have been applied", so a node
    /// that still believed in that leader answered InternalFailure at once instead of
    /// looking for the new leader (or answering ServiceUnavailable).
    #[tokio::test]
    async fn a_call_to_a_closed_port_was_never_sent() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let peers = Peers::new(Arc::new(TcpConnector));
        let err = peers.status(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, CallError::NotSent(_)), "{err:?}");
    }
}
