//! The client half of a peer's Raft stream: the Raft messages of every group this node
//! sends to one peer, and the writes it forwards to the groups that peer leads, on one
//! long-lived gRPC stream instead of a call each.
//!
//! A unary call costs an HTTP/2 stream of its own on both sides (headers, trailers, a task
//! on the server, a hop through the channel's buffer), and a node sends a few per entry of
//! every group it leads. On the stream a call is an entry in a frame: callers queue their
//! calls, and whenever HTTP/2 can take more the calls waiting go out together as one frame
//! (`call_frames`); answers come back in frames too, in any order, matched by id.
//!
//! A stream lasts as long as its connection. When it ends (the connection failed, the peer
//! went away) every call sent on it and not answered fails as unreachable (it may have been
//! handled), a call still queued as never sent, and the next call opens a new stream.
//! Timeouts stay with the callers, as for unary calls.

use super::peers::CallError;
use super::server::StreamedKind;
use super::{CALLS_PER_FRAME_MAX, FRAME_BYTES_MAX, PEER_MESSAGE_BYTES_MAX};
use crate::domain::GroupId;
use crate::failstop;
use futures::Stream;
use runnel_proto::v1::peer::peer_client::PeerClient;
use runnel_proto::v1::peer::peer_failure::Code;
use runnel_proto::v1::peer::{raft_answer, RaftAnswer, RaftCall, RaftCalls};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tonic::transport::Channel;

/// Calls queued for one peer's next frames; callers past it wait (and their timeouts run).
const QUEUED_CALLS_MAX: usize = 4096;
/// Unanswered calls past which those whose callers gave up are forgotten.
const UNANSWERED_SWEEP_AT: usize = 4096;

pub type Answer = Result<Vec<u8>, CallError>;

/// A Raft message (or a forwarded write) for the peer, and where its answer goes.
pub struct Call {
    pub group: GroupId,
    pub kind: StreamedKind,
    pub payload: Vec<u8>,
    pub answer: oneshot::Sender<Answer>,
}

/// One peer's stream while it lasts.
#[derive(Clone)]
pub struct RaftStream {
    calls: mpsc::Sender<Call>,
    open: Arc<AtomicBool>,
}

impl RaftStream {
    /// Opens a stream over `channel` to the peer at `addr` (named in errors).
    pub fn open(channel: Channel, addr: &str) -> RaftStream {
        let (calls, queued) = mpsc::channel(QUEUED_CALLS_MAX);
        let open = Arc::new(AtomicBool::new(true));
        tokio::spawn(run(channel, addr.to_string(), queued, open.clone()));
        RaftStream { calls, open }
    }

    /// Whether calls may still be sent on it; once not, a new stream takes its place.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire) && !self.calls.is_closed()
    }

    /// Queues `call` for the next frame; it comes back if the stream has ended.
    pub async fn send(&self, call: Call) -> Result<(), Call> {
        self.calls.send(call).await.map_err(|e| e.0)
    }
}

/// The calls sent on a stream and not yet answered.
#[derive(Default)]
struct Unanswered {
    next_id: u64,
    /// By id; ordered, so that when the stream ends its callers are told in the order they
    /// called (a simulation's seed then replays the same wakeups).
    waiting: BTreeMap<u64, oneshot::Sender<Answer>>,
    /// The stream has ended: nothing more is sent on it.
    ended: bool,
}

type Shared = Arc<Mutex<Unanswered>>;

fn lock(unanswered: &Shared) -> std::sync::MutexGuard<'_, Unanswered> {
    failstop::lock(unanswered, "raft stream calls")
}

async fn run(channel: Channel, addr: String, queued: mpsc::Receiver<Call>, open: Arc<AtomicBool>) {
    let unanswered = Shared::default();
    let mut client = PeerClient::new(channel)
        .max_decoding_message_size(PEER_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(PEER_MESSAGE_BYTES_MAX);
    let why = match client.raft_stream(call_frames(queued, unanswered.clone())).await {
        Err(status) => status.message().to_string(),
        Ok(response) => {
            let mut inbound = response.into_inner();
            loop {
                match inbound.message().await {
                    Ok(Some(frame)) => deliver(&unanswered, frame.answers),
                    Ok(None) => break "the peer ended it".to_string(),
                    Err(status) => break status.message().to_string(),
                }
            }
        }
    };
    open.store(false, Ordering::Release);
    let waiting = {
        let mut unanswered = lock(&unanswered);
        unanswered.ended = true;
        std::mem::take(&mut unanswered.waiting)
    };
    tracing::debug!(%addr, calls = waiting.len(), "raft stream ended: {why}");
    for (_, answer) in waiting {
        let _ = answer.send(Err(CallError::Unreachable(format!("the raft stream to {addr} ended: {why}"))));
    }
}

/// The stream of frames sent: whenever HTTP/2 asks for more, every call queued (within a
/// frame's bounds) goes out together, each registered as unanswered under a new id.
fn call_frames(queued: mpsc::Receiver<Call>, unanswered: Shared) -> impl Stream<Item = RaftCalls> {
    futures::stream::unfold((queued, unanswered), |(mut queued, unanswered)| async move {
        let first = queued.recv().await?;
        let mut bytes = first.payload.len();
        let mut batch = vec![first];
        while batch.len() < CALLS_PER_FRAME_MAX && bytes < FRAME_BYTES_MAX {
            let Ok(next) = queued.try_recv() else { break };
            bytes += next.payload.len();
            batch.push(next);
        }
        let calls = {
            let mut unanswered = lock(&unanswered);
            if unanswered.ended {
                drop(unanswered);
                for call in batch {
                    let _ = call.answer.send(Err(CallError::NotSent("the raft stream had ended".into())));
                }
                return None;
            }
            if unanswered.waiting.len() >= UNANSWERED_SWEEP_AT {
                unanswered.waiting.retain(|_, answer| !answer.is_closed());
            }
            let calls: Vec<RaftCall> = batch
                .into_iter()
                .map(|call| {
                    let id = unanswered.next_id;
                    unanswered.next_id += 1;
                    unanswered.waiting.insert(id, call.answer);
                    RaftCall { id, group_id: call.group.0, kind: call.kind.as_str().to_string(), payload: call.payload }
                })
                .collect();
            calls
        };
        Some((RaftCalls { calls }, (queued, unanswered)))
    })
}

/// Hands each answer to its caller; an id nobody waits for (its caller gave up) is dropped.
fn deliver(unanswered: &Shared, answers: Vec<RaftAnswer>) {
    let mut callers: Vec<(oneshot::Sender<Answer>, Answer)> = Vec::with_capacity(answers.len());
    {
        let mut unanswered = lock(unanswered);
        for answer in answers {
            if let Some(caller) = unanswered.waiting.remove(&answer.id) {
                callers.push((caller, outcome(answer.outcome)));
            }
        }
    }
    for (caller, answer) in callers {
        let _ = caller.send(answer);
    }
}

/// An answer as the unary call's result would have been.
fn outcome(outcome: Option<raft_answer::Outcome>) -> Answer {
    match outcome {
        Some(raft_answer::Outcome::Payload(payload)) => Ok(payload),
        Some(raft_answer::Outcome::Failure(f)) => match Code::try_from(f.code) {
            Ok(Code::NotHosted) => Err(CallError::Unreachable(f.message)),
            _ => Err(CallError::Refused(f.message)),
        },
        None => Err(CallError::Refused("an answer with no outcome".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::server::{serve, PeerError, PeerHandler, RaftKind};
    use crate::transport::wire::{pack, unpack};
    use crate::transport::{Peers, TcpConnector, STREAMED_PAYLOAD_BYTES_MAX};
    use std::time::Duration;
    use tokio::sync::Notify;

    /// Answers a Raft message with its group and payload; group 1 waits for `release`, group
    /// 2 is not hosted, group 3 refuses. Counts the messages it handled.
    struct Echo {
        release: Notify,
        handled: std::sync::atomic::AtomicUsize,
    }

    #[tonic::async_trait]
    impl PeerHandler for Echo {
        async fn raft(&self, group: GroupId, _kind: RaftKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
            self.handled.fetch_add(1, Ordering::Relaxed);
            let body: Vec<u8> = unpack(&payload)?;
            match group.0 {
                1 => self.release.notified().await,
                2 => return Err(PeerError::NotHosted("group 2 is not here".into())),
                3 => return Err(PeerError::BadRequest("group 3 refuses".into())),
                _ => {}
            }
            Ok(pack(&(group.0, body)).unwrap())
        }
        async fn snapshot_chunk(&self, _: GroupId, _: Vec<u8>) -> Result<Vec<u8>, PeerError> {
            Err(PeerError::Internal("no".into()))
        }
        async fn propose(&self, group: GroupId, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
            let body: Vec<u8> = unpack(&payload)?;
            Ok(pack(&(group.0 + PROPOSED, body)).unwrap())
        }
        async fn read(&self, _: Vec<u8>) -> Result<Vec<u8>, PeerError> {
            Err(PeerError::Internal("no".into()))
        }
        async fn status(&self) -> Result<Vec<u8>, PeerError> {
            Err(PeerError::Internal("no".into()))
        }
        async fn alive(&self) -> Result<Vec<u8>, PeerError> {
            Err(PeerError::Internal("no".into()))
        }
    }

    /// Added to the group in a proposal's answer, so a test tells it from a Raft call's.
    const PROPOSED: u64 = 1_000_000;

    type Served = tokio::task::JoinHandle<Result<(), tonic::transport::Error>>;

    /// A peer server on a free loopback port; sending on (or dropping) the sender stops it.
    async fn peer(echo: Arc<Echo>) -> (String, oneshot::Sender<()>, Served) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let served = tokio::spawn(serve(echo, incoming, async move {
            let _ = stopped.await;
        }));
        (addr, stop, served)
    }

    fn echo() -> Arc<Echo> {
        Arc::new(Echo { release: Notify::new(), handled: Default::default() })
    }

    async fn call(peers: &Peers, addr: &str, group: u64, body: Vec<u8>) -> Result<(u64, Vec<u8>), CallError> {
        let reply = peers.raft(addr, GroupId(group), RaftKind::Append, pack(&body).unwrap(), Duration::from_secs(10));
        Ok(unpack(&reply.await?).unwrap())
    }

    /// Hundreds of calls of many groups at once, a slow group among them: every caller gets
    /// its own answer, the slow group's come last without holding up the rest, and a
    /// refusal reads as the unary call's would.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_call_gets_its_own_answer_in_any_order() {
        let echo = echo();
        let (addr, _stop, _) = peer(echo.clone()).await;
        let peers = Peers::new(Arc::new(TcpConnector));
        let slow: Vec<_> = (0..3)
            .map(|i| {
                let (peers, addr) = (peers.clone(), addr.clone());
                tokio::spawn(async move { call(&peers, &addr, 1, vec![i]).await })
            })
            .collect();
        let fast: Vec<_> = (0..600u64)
            .map(|i| {
                let (peers, addr) = (peers.clone(), addr.clone());
                let group = 10 + i % 50;
                tokio::spawn(async move { (group, i, call(&peers, &addr, group, i.to_be_bytes().to_vec()).await) })
            })
            .collect();
        for task in fast {
            let (group, i, answer) = task.await.unwrap();
            assert_eq!(answer.unwrap(), (group, i.to_be_bytes().to_vec()));
        }
        assert!(slow.iter().all(|t| !t.is_finished()), "group 1 still waits");
        echo.release.notify_waiters();
        for (i, task) in slow.into_iter().enumerate() {
            assert_eq!(task.await.unwrap().unwrap(), (1, vec![i as u8]));
        }
        assert!(
            matches!(call(&peers, &addr, 2, vec![]).await, Err(CallError::Unreachable(m)) if m.contains("not here"))
        );
        assert!(matches!(call(&peers, &addr, 3, vec![]).await, Err(CallError::Refused(m)) if m.contains("refuses")));
        // A payload of another wire version is refused before the handler sees it.
        let handled = echo.handled.load(Ordering::Relaxed);
        let foreign = peers.raft(&addr, GroupId(4), RaftKind::Vote, vec![0xee, 1], Duration::from_secs(5)).await;
        assert!(matches!(foreign, Err(CallError::Refused(m)) if m.contains("wire version")));
        assert_eq!(echo.handled.load(Ordering::Relaxed), handled);
        // Too large for the stream: a call of its own, answered the same.
        let big = vec![7u8; STREAMED_PAYLOAD_BYTES_MAX + 1];
        assert_eq!(call(&peers, &addr, 5, big.clone()).await.unwrap(), (5, big));
    }

    /// Writes forwarded to a peer go on its stream beside the Raft calls, each answered as
    /// a call of its own would be; one too large for the stream is a call of its own; one
    /// to a peer nobody listens for was never sent (the forwarder then looks for the
    /// leader again instead of reporting an outcome unknown).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forwarded_writes_share_the_stream() {
        let (addr, _stop, _) = peer(echo()).await;
        let peers = Peers::new(Arc::new(TcpConnector));
        let propose = |group: u64, body: Vec<u8>| {
            let (peers, addr) = (peers.clone(), addr.clone());
            async move {
                let reply = peers.propose(&addr, GroupId(group), pack(&body).unwrap(), Duration::from_secs(10)).await;
                unpack::<(u64, Vec<u8>)>(&reply.unwrap()).unwrap()
            }
        };
        let proposals: Vec<_> =
            (0..300u64).map(|i| tokio::spawn(propose(10 + i % 30, i.to_be_bytes().to_vec()))).collect();
        for (i, proposal) in proposals.into_iter().enumerate() {
            assert_eq!(proposal.await.unwrap(), (PROPOSED + 10 + i as u64 % 30, (i as u64).to_be_bytes().to_vec()));
        }
        assert!(peers.streams_for_tests().contains_key(&addr), "the proposals opened the peer's stream");
        assert_eq!(call(&peers, &addr, 9, vec![1]).await.unwrap(), (9, vec![1]), "Raft calls share it");
        let big = vec![3u8; STREAMED_PAYLOAD_BYTES_MAX + 1];
        assert_eq!(propose(7, big.clone()).await, (PROPOSED + 7, big));

        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", listener.local_addr().unwrap())
        };
        let refused = peers.propose(&closed, GroupId(1), pack(&vec![1u8]).unwrap(), Duration::from_secs(5)).await;
        assert!(matches!(refused, Err(CallError::NotSent(_))), "{refused:?}");
    }

    /// Calls queued together go out as one frame, in order, each under its own id.
    #[tokio::test]
    async fn queued_calls_share_a_frame() {
        use futures::StreamExt;
        let (tx, rx) = mpsc::channel(QUEUED_CALLS_MAX);
        let mut answers = Vec::new();
        for i in 0..10u8 {
            let (answer, answered) = oneshot::channel();
            answers.push(answered);
            let kind = if i == 5 { StreamedKind::Propose } else { StreamedKind::Raft(RaftKind::Vote) };
            tx.try_send(Call { group: GroupId(i as u64), kind, payload: vec![i], answer }).unwrap();
        }
        let unanswered = Shared::default();
        let mut frames = Box::pin(call_frames(rx, unanswered.clone()));
        let frame = frames.next().await.unwrap();
        assert_eq!(frame.calls.len(), 10);
        assert_eq!(frame.calls.iter().map(|c| c.id).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        assert_eq!(frame.calls.iter().map(|c| c.payload[0]).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        assert_eq!(frame.calls[5].kind, "propose");
        assert_eq!(frame.calls[4].kind, "vote");
        assert_eq!(lock(&unanswered).waiting.len(), 10);
        // Answers in another order reach their own callers; an unknown id is dropped.
        let answer = |id: u64| RaftAnswer { id, outcome: Some(raft_answer::Outcome::Payload(vec![id as u8])) };
        deliver(&unanswered, (0..10).rev().map(answer).chain([answer(99)]).collect());
        for (i, answered) in answers.into_iter().enumerate() {
            assert_eq!(answered.await.unwrap(), Ok(vec![i as u8]));
        }
        assert!(lock(&unanswered).waiting.is_empty());
    }

    /// A TCP proxy to `target` whose connections `cut` drops at once, as a crashed peer's.
    struct Proxy {
        addr: String,
        connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    }

    impl Proxy {
        async fn start(target: &str) -> Proxy {
            let target = target.trim_start_matches("http://").to_string();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = format!("http://{}", listener.local_addr().unwrap());
            let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
            let kept = connections.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let target = target.clone();
                    let copy = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    kept.lock().unwrap().push(copy);
                }
            });
            Proxy { addr, connections }
        }

        fn cut(&self) {
            for copy in self.connections.lock().unwrap().drain(..) {
                copy.abort();
            }
        }
    }

    /// A call answered on a new stream to `addr`, then a call of group 1 that the peer
    /// has taken and holds unanswered (until `echo.release`).
    async fn call_left_waiting(
        echo: &Echo,
        peers: &Peers,
        addr: &str,
    ) -> tokio::task::JoinHandle<Result<(u64, Vec<u8>), CallError>> {
        assert_eq!(call(peers, addr, 9, vec![1]).await.unwrap(), (9, vec![1]));
        let handled = echo.handled.load(Ordering::Relaxed);
        let waiting = {
            let (peers, addr) = (peers.clone(), addr.to_string());
            tokio::spawn(async move { call(&peers, &addr, 1, vec![2]).await })
        };
        while echo.handled.load(Ordering::Relaxed) <= handled {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        waiting
    }

    /// A peer whose connection is lost fails the calls it had not answered (they may have
    /// been handled), and the next call opens a new stream.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_connection_fails_its_calls_and_a_new_stream_follows() {
        let echo = echo();
        let (server, _stop, _) = peer(echo.clone()).await;
        let proxy = Proxy::start(&server).await;
        let addr = proxy.addr.clone();
        let peers = Peers::new(Arc::new(TcpConnector));
        let waiting = call_left_waiting(&echo, &peers, &addr).await;
        proxy.cut();
        let failed =
            tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("fails at once, not at its timeout");
        assert!(matches!(failed.unwrap(), Err(CallError::Unreachable(_))), "may have been handled");
        let mut answered = None;
        for _ in 0..100 {
            match call(&peers, &addr, 9, vec![3]).await {
                Ok(a) => {
                    answered = Some(a);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        assert_eq!(answered, Some((9, vec![3])));
        echo.release.notify_waiters();
    }

    /// A server told to stop ends its Raft streams, which would otherwise keep its graceful
    /// shutdown waiting for ever; a call it had not answered fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopping_server_ends_its_streams() {
        let echo = echo();
        let (addr, stop, served) = peer(echo.clone()).await;
        let peers = Peers::new(Arc::new(TcpConnector));
        let waiting = call_left_waiting(&echo, &peers, &addr).await;
        stop.send(()).unwrap();
        let done = tokio::time::timeout(Duration::from_secs(5), served).await.expect("the server stops");
        done.unwrap().unwrap();
        let failed = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("fails, not hangs");
        assert!(matches!(failed.unwrap(), Err(CallError::Unreachable(_))), "may have been handled");
        echo.release.notify_waiters();
    }
}
