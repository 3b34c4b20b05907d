//! Group commit: one fsync makes the appends of many Raft groups durable.
//!
//! Every log append writes its batch (visible, not yet durable) and then asks for a sync.
//! One worker takes all the requests waiting, syncs once, and completes them all. Under
//! load many groups share each fsync; alone, a request costs one fsync as before.

use super::engine::Engine;
use std::io;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Requests waiting for the sync worker; a full queue makes appenders wait (backpressure).
const SYNC_QUEUE_DEPTH: usize = 4096;
/// Requests completed by one fsync at the most.
const SYNC_BATCH_MAX: usize = 1024;

type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

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
    tx: mpsc::Sender<Done>,
    policy: AckPolicy,
}

impl GroupCommit {
    /// Starts the sync worker: on its own OS thread when the engine's sync blocks, else as a
    /// task on the current runtime (simulation).
    pub fn start(engine: Arc<dyn Engine>, policy: AckPolicy) -> GroupCommit {
        let (tx, mut rx) = mpsc::channel::<Done>(SYNC_QUEUE_DEPTH);
        if engine.sync_blocks() {
            let spawned = std::thread::Builder::new().name("runnel-sync".into()).spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    sync_round(engine.as_ref(), first, &mut rx);
                }
            });
            if let Err(e) = spawned {
                // Without the worker every append would wait forever; fail loudly instead.
                panic!("cannot start the sync thread: {e}");
            }
        } else {
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let delay = engine.sync_delay();
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    sync_round(engine.as_ref(), first, &mut rx);
                }
            });
        }
        GroupCommit { tx, policy }
    }

    /// Calls `done` once every write that returned before this call is durable.
    pub async fn request(&self, done: Done) {
        if self.policy == AckPolicy::BeforeSync {
            done(Ok(()));
            return;
        }
        if let Err(mpsc::error::SendError(done)) = self.tx.send(done).await {
            done(Err(io::Error::other("sync worker stopped")));
        }
    }

    /// Waits until every write that returned before this call is durable.
    pub async fn sync(&self) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.request(Box::new(move |r| {
            let _ = tx.send(r);
        }))
        .await;
        rx.await.unwrap_or_else(|_| Err(io::Error::other("sync worker dropped the request")))
    }
}

fn sync_round(engine: &dyn Engine, first: Done, rx: &mut mpsc::Receiver<Done>) {
    let mut waiting = vec![first];
    while waiting.len() < SYNC_BATCH_MAX {
        match rx.try_recv() {
            Ok(done) => waiting.push(done),
            Err(_) => break,
        }
    }
    let result = engine.sync();
    for done in waiting {
        done(match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryEngine;
    use crate::storage::{Batch, Cf};

    #[tokio::test]
    async fn a_sync_request_makes_earlier_writes_durable() {
        let engine = Arc::new(MemoryEngine::default());
        let commit = GroupCommit::start(engine.clone(), AckPolicy::AfterSync);
        let mut b = Batch::default();
        b.put(Cf::Log, b"k".to_vec(), b"v".to_vec());
        engine.write(b).unwrap();
        assert_eq!(engine.unsynced_count(), 1);
        commit.sync().await.unwrap();
        assert_eq!(engine.unsynced_count(), 0);
        engine.crash();
        assert_eq!(engine.get(Cf::Log, b"k").unwrap(), Some(b"v".to_vec()));
    }

    /// Counts syncs, to show that waiting requests share one.
    #[derive(Default)]
    struct CountingEngine {
        inner: MemoryEngine,
        syncs: std::sync::atomic::AtomicUsize,
    }

    impl Engine for CountingEngine {
        fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
            self.inner.get(cf, key)
        }
        fn write(&self, batch: Batch) -> io::Result<()> {
            self.inner.write(batch)
        }
        fn sync(&self) -> io::Result<()> {
            self.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.sync()
        }
        fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.inner.scan(cf, from, to, limit)
        }
        fn last(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
            self.inner.last(cf, from, to)
        }
        fn sync_blocks(&self) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn appends_of_many_groups_share_one_sync() {
        let engine = Arc::new(CountingEngine::default());
        let commit = GroupCommit::start(engine.clone(), AckPolicy::AfterSync);
        // 64 groups append and ask for durability before the worker gets to run.
        let mut waits = Vec::new();
        for group in 0..64u8 {
            let mut b = Batch::default();
            b.put(Cf::Log, vec![group], vec![group]);
            engine.write(b).unwrap();
            let (tx, rx) = tokio::sync::oneshot::channel();
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
        assert_eq!(engine.syncs.load(std::sync::atomic::Ordering::SeqCst), 1, "one fsync for all 64 appends");
        assert_eq!(engine.inner.unsynced_count(), 0);
    }
}
