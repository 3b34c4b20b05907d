//! The simulated disks: one in-memory engine per node, outliving the node's crashes. A
//! crash loses a suffix of the writes not yet synced (how much, the seed's swarm options
//! say); a read-error spell makes a share of the node's reads fail. The checker reads the
//! disks too, and its reads must neither fail nor shift the engine's own draws of which
//! reads fail, so they go through `quiet`.

use crate::swarm::CrashKeep;
use rand::rngs::StdRng;
use runnel_node::domain::NodeId;
use runnel_node::storage::memory::MemoryEngine;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub struct Disks {
    engines: BTreeMap<NodeId, Arc<MemoryEngine>>,
    /// The read error rate each node's engine was given (the engine does not say).
    read_fail: RefCell<BTreeMap<NodeId, f64>>,
}

impl Disks {
    pub fn new(seed: u64, nodes: &[NodeId]) -> Disks {
        let engines = nodes
            .iter()
            .map(|n| (*n, Arc::new(MemoryEngine::with_seed(seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d)))))
            .collect();
        Disks { engines, read_fail: RefCell::default() }
    }

    pub fn engine(&self, node: NodeId) -> Arc<MemoryEngine> {
        self.engines[&node].clone()
    }

    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.engines.keys().copied()
    }

    /// Power loss on `node`'s disk: keeps what `rule` draws of the unsynced batches.
    /// Returns (kept, unsynced).
    pub fn crash(&self, node: NodeId, rule: CrashKeep, rng: &mut StdRng) -> (usize, usize) {
        let engine = &self.engines[&node];
        let unsynced = engine.unsynced_count();
        let keep = rule.keep(unsynced, rng);
        engine.crash(keep);
        (keep, unsynced)
    }

    pub fn set_read_fail_rate(&self, node: NodeId, rate: f64) {
        self.engines[&node].set_read_fail_rate(rate);
        self.read_fail.borrow_mut().insert(node, rate);
    }

    pub fn set_sync_delay(&self, node: NodeId, delay: Duration) {
        self.engines[&node].set_sync_delay(delay);
    }

    /// Runs `f` on `node`'s engine with injected read errors off, then puts them back.
    pub fn quiet<R>(&self, node: NodeId, f: impl FnOnce(&MemoryEngine) -> R) -> R {
        let engine = &self.engines[&node];
        let rate = self.read_fail.borrow().get(&node).copied().unwrap_or(0.0);
        if rate > 0.0 {
            engine.set_read_fail_rate(0.0);
        }
        let out = f(engine);
        if rate > 0.0 {
            engine.set_read_fail_rate(rate);
        }
        out
    }
}
