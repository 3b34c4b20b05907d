//! An in-memory engine for deterministic simulation. It keeps what a real disk keeps:
//! writes are visible at once, durable only after `sync`, and `crash` forgets every write
//! since the last sync.

use super::engine::{Batch, Cf, Engine, Op};
use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;

type Map = BTreeMap<(Cf, Vec<u8>), Vec<u8>>;

#[derive(Default)]
struct Inner {
    visible: Map,
    durable: Map,
    unsynced: Vec<Op>,
}

#[derive(Default)]
pub struct MemoryEngine {
    inner: Mutex<Inner>,
    /// Milliseconds each sync takes; a simulation turns this up to model a slow disk.
    sync_delay_ms: std::sync::atomic::AtomicU64,
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
            let doomed: Vec<_> = map.range((*cf, from.clone())..(*cf, to.clone())).map(|(k, _)| k.clone()).collect();
            for k in doomed {
                map.remove(&k);
            }
        }
    }
}

fn poisoned() -> io::Error {
    io::Error::other("memory engine lock poisoned")
}

impl MemoryEngine {
    /// Simulates a power loss: every write not yet synced is gone.
    pub fn crash(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.visible = inner.durable.clone();
            inner.unsynced.clear();
        }
    }

    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.sync_delay_ms.store(delay.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Writes waiting for a sync.
    pub fn unsynced_count(&self) -> usize {
        self.inner.lock().map(|i| i.unsynced.len()).unwrap_or(0)
    }
}

impl Engine for MemoryEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let inner = self.inner.lock().map_err(|_| poisoned())?;
        Ok(inner.visible.get(&(cf, key.to_vec())).cloned())
    }

    fn write(&self, batch: Batch) -> io::Result<()> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        for op in batch.ops {
            apply(&mut inner.visible, &op);
            inner.unsynced.push(op);
        }
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let ops = std::mem::take(&mut inner.unsynced);
        for op in &ops {
            apply(&mut inner.durable, op);
        }
        Ok(())
    }

    fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let inner = self.inner.lock().map_err(|_| poisoned())?;
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
        let inner = self.inner.lock().map_err(|_| poisoned())?;
        if from >= to {
            return Ok(None);
        }
        Ok(inner
            .visible
            .range((cf, from.to_vec())..(cf, to.to_vec()))
            .next_back()
            .map(|((_, k), v)| (k.clone(), v.clone())))
    }

    fn sync_blocks(&self) -> bool {
        false
    }

    fn sync_delay(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.sync_delay_ms.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_loses_exactly_the_unsynced_writes() {
        let engine = MemoryEngine::default();
        let mut b = Batch::default();
        b.put(Cf::Log, b"a".to_vec(), b"1".to_vec());
        engine.write(b).unwrap();
        engine.sync().unwrap();
        let mut b = Batch::default();
        b.put(Cf::Log, b"b".to_vec(), b"2".to_vec());
        b.delete(Cf::Log, b"a".to_vec());
        engine.write(b).unwrap();
        assert_eq!(engine.get(Cf::Log, b"a").unwrap(), None);
        assert_eq!(engine.get(Cf::Log, b"b").unwrap(), Some(b"2".to_vec()));
        engine.crash();
        assert_eq!(engine.get(Cf::Log, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(engine.get(Cf::Log, b"b").unwrap(), None);
        assert_eq!(engine.unsynced_count(), 0);
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
}
