//! Group commit: one fsync makes the appends of many Raft groups durable.
//!
//! Every log append writes its batch (visible, not yet durable) and then asks for a sync.
//! One worker takes all the requests waiting, syncs once, and completes them all. Under
//! load many groups share each fsync; alone, a request costs one fsync as before.
//!
//! A failed sync stops the node (`FailStop`): after a failed fsync the kernel may have
//! dropped the dirty pages, and a later sync that "succeeds" would not bring them back.
//! The worker answers every waiting request with the error and never syncs again.

use super::engine::Engine;
use super::metrics::SyncMetrics;
use crate::failstop::{self, FailStop};
use std::io;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Requests waiting for the sync worker; a full queue makes appenders wait (backpressure).
const SYNC_QUEUE_DEPTH: usize = 4096;
/// Requests completed by one fsync at the most.
const SYNC_BATCH_MAX: usize = 1024;

type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

enum Msg {
    Sync(Done),
    /// Stop after answering what is queued; the sender hears when the worker is gone.
    Stop(oneshot::Sender<()>),
}

/// When an append counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckPolicy {
    /// After the sync that covers it: the only correct choice.
    #[default]
    AfterSync,
    /// At once, before any sync. Deliberately broken: the simulation's self-test turns this on
    /// to show that its checker catches acknowledged writes lost in a crash.
    BeforeSync,
}

#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::Sender<Msg>,
    policy: AckPolicy,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl GroupCommit {
    /// Starts the sync worker: on its own OS thread when the engine's I/O blocks, else as a
    /// task on the current runtime (simulation).
    pub fn start(
        engine: Arc<dyn Engine>,
        policy: AckPolicy,
        fail_stop: FailStop,
        metrics: SyncMetrics,
    ) -> io::Result<GroupCommit> {
        let (tx, mut rx) = mpsc::channel::<Msg>(SYNC_QUEUE_DEPTH);
        let mut thread = None;
        if engine.io_blocks() {
            let handle = std::thread::Builder::new().name("runnel-sync".into()).spawn(move || {
                let mut worker = Worker { engine, fail_stop, failed: false, metrics };
                while let Some(first) = rx.blocking_recv() {
                    if worker.round(first, &mut rx) {
                        return;
                    }
                }
            })?;
            thread = Some(handle);
        } else {
            tokio::spawn(async move {
                let mut worker = Worker { engine, fail_stop, failed: false, metrics };
                while let Some(first) = rx.recv().await {
                    let delay = worker.engine.sync_delay();
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if worker.round(first, &mut rx) {
                        return;
                    }
                }
            });
        }
        Ok(GroupCommit { tx, policy, thread: Arc::new(Mutex::new(thread)) })
    }

    /// Calls `done` once every write that returned before this call is durable, or with
    /// an error if it never will be (the sync failed, or the worker has stopped).
    pub async fn request(&self, done: Done) {
        if self.policy == AckPolicy::BeforeSync {
            done(Ok(()));
            return;
        }
        if let Err(mpsc::error::SendError(Msg::Sync(done))) = self.tx.send(Msg::Sync(done)).await {
            done(Err(io::Error::other("sync worker stopped")));
        }
    }

    /// Waits until every write that returned before this call is durable.
    pub async fn sync(&self) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.request(Box::new(move |r| {
            let _ = tx.send(r);
        }))
        .await;
        rx.await.unwrap_or_else(|_| Err(io::Error::other("sync worker dropped the request")))
    }

    /// Answers what is queued, then stops the worker and waits for it to be gone. Later
    /// requests fail. Called before the engine is closed.
    pub async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
        let thread = failstop::lock(&self.thread, "sync thread handle").take();
        if let Some(handle) = thread {
            // The worker has answered Stop, so this returns at once.
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}

struct Worker {
    engine: Arc<dyn Engine>,
    fail_stop: FailStop,
    /// A sync failed: nothing is ever durable again on this node.
    failed: bool,
    metrics: SyncMetrics,
}

impl Worker {
    /// Syncs once for `first` and every request already waiting. Returns true when told to
    /// stop.
    fn round(&mut self, first: Msg, rx: &mut mpsc::Receiver<Msg>) -> bool {
        let mut waiting = Vec::new();
        let mut stop = None;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Sync(done) => waiting.push(done),
                Msg::Stop(ack) => {
                    stop = Some(ack);
                    break;
                }
            }
            if waiting.len() >= SYNC_BATCH_MAX {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !waiting.is_empty() {
            let result = if self.failed {
                Err(io::Error::other("an earlier sync failed; the node has stopped"))
            } else {
                let started = std::time::Instant::now();
                let synced = self.engine.sync();
                self.metrics.synced(started.elapsed(), waiting.len());
                synced
            };
            if let Err(e) = &result {
                if !self.failed {
                    self.failed = true;
                    let _ = self.fail_stop.trigger(&format!("fsync failed: {e}"));
                }
            }
            for done in waiting {
                done(match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                });
            }
        }
        match stop {
            Some(ack) => {
                let _ = ack.send(());
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryEngine;
    use crate::storage::{Batch, Cf};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn no_stop() -> FailStop {
        FailStop::with_action(|reason| panic!("unexpected fail-stop: {reason}"))
    }

    #[tokio::test]
    async fn a_sync_request_makes_earlier_writes_durable() {
        let engine = Arc::new(MemoryEngine::default());
        let commit = GroupCommit::start(engine.clone(), AckPolicy::AfterSync, no_stop(), SyncMetrics::off()).unwrap();
        let mut b = Batch::default();
        b.put(Cf::Log, b"k".to_vec(), b"v".to_vec());
        engine.write(b).unwrap();
        assert_eq!(engine.unsynced_count(), 1);
        commit.sync().await.unwrap();
        assert_eq!(engine.unsynced_count(), 0);
        engine.crash(0);
        assert_eq!(engine.get(Cf::Log, b"k").unwrap(), Some(b"v".to_vec()));
    }

    /// Counts syncs, to show that waiting requests share one; fails them on demand.
    #[derive(Default)]
    struct CountingEngine {
        inner: MemoryEngine,
        syncs: AtomicUsize,
        fail: AtomicBool,
    }

    impl Engine for CountingEngine {
        fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
            self.inner.get(cf, key)
        }
        fn write(&self, batch: Batch) -> io::Result<()> {
            self.inner.write(batch)
        }
        fn sync(&self) -> io::Result<()> {
            self.syncs.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err(io::Error::other("EIO"));
            }
            self.inner.sync()
        }
        fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.inner.scan(cf, from, to, limit)
        }
        fn last(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
            self.inner.last(cf, from, to)
        }
        fn io_blocks(&self) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn appends_of_many_groups_share_one_sync() {
        let engine = Arc::new(CountingEngine::default());
        let commit = GroupCommit::start(engine.clone(), AckPolicy::AfterSync, no_stop(), SyncMetrics::off()).unwrap();
        // 64 groups append and ask for durability before the worker gets to run.
        let mut waits = Vec::new();
        for group in 0..64u8 {
            let mut b = Batch::default();
            b.put(Cf::Log, vec![group], vec![group]);
            engine.write(b).unwrap();
            let (tx, rx) = oneshot::channel();
            commit
                .request(Box::new(move |r| {
                    let _ = tx.send(r);
                }))
                .await;
            waits.push(rx);
        }
        for rx in waits {
            rx.await.unwrap().unwrap();
        }
        assert_eq!(engine.syncs.load(Ordering::SeqCst), 1, "one fsync for all 64 appends");
        assert_eq!(engine.inner.unsynced_count(), 0);
    }

    /// fsyncgate: after one failed sync the node stops and no later sync is even tried, so
    /// no later request can be told its data is durable.
    #[tokio::test]
    async fn a_failed_sync_stops_the_node_and_nothing_is_acknowledged_after_it() {
        let engine = Arc::new(CountingEngine::default());
        let reasons = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = reasons.clone();
        let stop = FailStop::with_action(move |reason| seen.lock().unwrap().push(reason.to_string()));
        let commit =
            GroupCommit::start(engine.clone(), AckPolicy::AfterSync, stop.clone(), SyncMetrics::off()).unwrap();
        commit.sync().await.unwrap();
        engine.fail.store(true, Ordering::SeqCst);
        assert!(commit.sync().await.is_err(), "the failed sync is reported");
        assert!(stop.is_stopped());
        // The disk "recovers": a sync would now succeed, but must not be trusted.
        engine.fail.store(false, Ordering::SeqCst);
        for _ in 0..3 {
            assert!(commit.sync().await.is_err(), "no acknowledgement after a failed fsync");
        }
        assert_eq!(engine.syncs.load(Ordering::SeqCst), 2, "no sync is attempted after the failure");
        let reasons = reasons.lock().unwrap();
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(reasons[0].contains("fsync failed"), "{reasons:?}");
    }

    #[tokio::test]
    async fn stop_answers_what_is_queued_then_refuses() {
        let engine = Arc::new(CountingEngine::default());
        let commit = GroupCommit::start(engine.clone(), AckPolicy::AfterSync, no_stop(), SyncMetrics::off()).unwrap();
        commit.sync().await.unwrap();
        commit.stop().await;
        assert!(commit.sync().await.is_err());
        // Stopping twice is harmless.
        commit.stop().await;
    }
}
