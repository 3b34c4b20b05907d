//! An in-memory engine for deterministic simulation. It keeps what a real disk keeps:
//! writes are visible at once, durable only after `sync`, and a crash loses a suffix of
//! the writes since the last sync (a write batch is all or nothing, as in RocksDB's WAL).
//! It can also fail reads, at a rate drawn from a seed.

use super::engine::{Batch, Cf, Engine, Op};
use crate::failstop;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

type Map = BTreeMap<(Cf, Vec<u8>), Vec<u8>>;

struct Inner {
    visible: Map,
    durable: Map,
    /// Batches written since the last sync, oldest first.
    unsynced: Vec<Batch>,
    /// Share of reads that fail, and the randomness that picks them.
    read_fail_rate: f64,
    rng: StdRng,
}

pub struct MemoryEngine {
    inner: Mutex<Inner>,
    /// Milliseconds each sync takes; a simulation turns this up to model a slow disk.
    sync_delay_ms: AtomicU64,
    closed: AtomicBool,
}

impl Default for MemoryEngine {
    fn default() -> Self {
        MemoryEngine::with_seed(0)
    }
}

fn apply(map: &mut Map, op: &Op) {
    match op {
        Op::Put(cf, k, v) => {
            map.insert((*cf, k.clone()), v.clone());
        }
        Op::Delete(cf, k) => {
            map.remove(&(*cf, k.clone()));
        }
        Op::DeleteRange(cf, from, to) => {
            if from >= to {
                return;
            }
            let doomed: Vec<_> = map.range((*cf, from.clone())..(*cf, to.clone())).map(|(k, _)| k.clone()).collect();
            for k in doomed {
                map.remove(&k);
            }
        }
    }
}

impl MemoryEngine {
    /// An empty engine whose injected read failures are drawn from `seed`.
    pub fn with_seed(seed: u64) -> MemoryEngine {
        MemoryEngine {
            inner: Mutex::new(Inner {
                visible: Map::new(),
                durable: Map::new(),
                unsynced: Vec::new(),
                read_fail_rate: 0.0,
                rng: StdRng::seed_from_u64(seed),
            }),
            sync_delay_ms: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        failstop::lock(&self.inner, "memory engine")
    }

    /// Simulates a power loss: of the batches written since the last sync, the first
    /// `keep` survive (as much of the WAL as reached the disk) and the rest are gone. The
    /// engine opens again afterwards, as a restarted process would reopen its database.
    pub fn crash(&self, keep: usize) {
        let mut inner = self.lock();
        let unsynced = std::mem::take(&mut inner.unsynced);
        for batch in unsynced.iter().take(keep) {
            for op in &batch.ops {
                apply(&mut inner.durable, op);
            }
        }
        inner.visible = inner.durable.clone();
        self.closed.store(false, Ordering::SeqCst);
    }

    pub fn set_sync_delay(&self, delay: Duration) {
        self.sync_delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// From now on this share of reads (`get`, `scan`, `last`) fails with an I/O error.
    pub fn set_read_fail_rate(&self, rate: f64) {
        self.lock().read_fail_rate = rate.clamp(0.0, 1.0);
    }

    /// Batches waiting for a sync.
    pub fn unsynced_count(&self) -> usize {
        self.lock().unsynced.len()
    }

    fn check_open(&self) -> io::Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(io::Error::other("engine closed"));
        }
        Ok(())
    }

    /// The read lock, or an injected read failure.
    fn for_read(&self) -> io::Result<std::sync::MutexGuard<'_, Inner>> {
        self.check_open()?;
        let mut inner = self.lock();
        let rate = inner.read_fail_rate;
        if rate > 0.0 && inner.rng.random_bool(rate) {
            return Err(io::Error::other("injected read error"));
        }
        Ok(inner)
    }
}

impl Engine for MemoryEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let inner = self.for_read()?;
        Ok(inner.visible.get(&(cf, key.to_vec())).cloned())
    }

    fn write(&self, batch: Batch) -> io::Result<()> {
        self.check_open()?;
        let mut inner = self.lock();
        for op in &batch.ops {
            apply(&mut inner.visible, op);
        }
        inner.unsynced.push(batch);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        self.check_open()?;
        let mut inner = self.lock();
        let batches = std::mem::take(&mut inner.unsynced);
        for batch in &batches {
            for op in &batch.ops {
                apply(&mut inner.durable, op);
            }
        }
        Ok(())
    }

    fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let inner = self.for_read()?;
        if from >= to {
            return Ok(Vec::new());
        }
        Ok(inner
            .visible
            .range((cf, from.to_vec())..(cf, to.to_vec()))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let inner = self.for_read()?;
        if from >= to {
            return Ok(None);
        }
        Ok(inner
            .visible
            .range((cf, from.to_vec())..(cf, to.to_vec()))
            .next_back()
            .map(|((_, k), v)| (k.clone(), v.clone())))
    }

    fn io_blocks(&self) -> bool {
        false
    }

    fn sync_delay(&self) -> Duration {
        Duration::from_millis(self.sync_delay_ms.load(Ordering::Relaxed))
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(engine: &MemoryEngine, key: &[u8], value: &[u8]) {
        let mut b = Batch::default();
        b.put(Cf::Log, key.to_vec(), value.to_vec());
        engine.write(b).unwrap();
    }

    #[test]
    fn a_crash_loses_exactly_the_unsynced_writes() {
        let engine = MemoryEngine::default();
        put(&engine, b"a", b"1");
        engine.sync().unwrap();
        let mut b = Batch::default();
        b.put(Cf::Log, b"b".to_vec(), b"2".to_vec());
        b.delete(Cf::Log, b"a".to_vec());
        engine.write(b).unwrap();
        assert_eq!(engine.get(Cf::Log, b"a").unwrap(), None);
        assert_eq!(engine.get(Cf::Log, b"b").unwrap(), Some(b"2".to_vec()));
        engine.crash(0);
        assert_eq!(engine.get(Cf::Log, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(engine.get(Cf::Log, b"b").unwrap(), None);
        assert_eq!(engine.unsynced_count(), 0);
    }

    #[test]
    fn a_crash_keeps_a_prefix_of_whole_batches() {
        let engine = MemoryEngine::default();
        for (k, v) in [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")] {
            put(&engine, k, v);
        }
        engine.crash(2);
        assert_eq!(engine.get(Cf::Log, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(engine.get(Cf::Log, b"b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(engine.get(Cf::Log, b"c").unwrap(), None, "the suffix is lost");
        // What survived is durable now: a second crash keeps it.
        engine.crash(0);
        assert_eq!(engine.get(Cf::Log, b"b").unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn scan_and_last_respect_bounds_and_column_families() {
        let engine = MemoryEngine::default();
        let mut b = Batch::default();
        for k in [1u8, 2, 3, 4] {
            b.put(Cf::Index, vec![k], vec![k]);
        }
        b.put(Cf::Log, vec![2], vec![99]);
        engine.write(b).unwrap();
        let got = engine.scan(Cf::Index, &[2], &[4], 10).unwrap();
        assert_eq!(got, vec![(vec![2], vec![2]), (vec![3], vec![3])]);
        assert_eq!(engine.scan(Cf::Index, &[1], &[9], 1).unwrap().len(), 1);
        assert_eq!(engine.last(Cf::Index, &[0], &[4]).unwrap(), Some((vec![3], vec![3])));
        let mut b = Batch::default();
        b.delete_range(Cf::Index, vec![2], vec![4]);
        engine.write(b).unwrap();
        assert_eq!(engine.scan(Cf::Index, &[0], &[9], 10).unwrap().len(), 2);
    }

    #[test]
    fn injected_read_failures_follow_the_seed_and_closed_engines_refuse() {
        let outcomes = |seed| {
            let engine = MemoryEngine::with_seed(seed);
            put(&engine, b"k", b"v");
            engine.set_read_fail_rate(0.5);
            (0..64).map(|_| engine.get(Cf::Log, b"k").is_ok()).collect::<Vec<_>>()
        };
        let first = outcomes(9);
        assert_eq!(first, outcomes(9), "same seed, same failures");
        assert!(first.contains(&true) && first.contains(&false), "{first:?}");
        let engine = MemoryEngine::default();
        engine.close();
        assert!(engine.get(Cf::Log, b"k").is_err());
        assert!(engine.write(Batch::default()).is_err());
    }
}
