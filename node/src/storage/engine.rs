use std::io;

/// The column families. Persisted names; never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cf {
    /// Raft log entries: (group, index) -> entry. For a shard the committed log *is* the
    /// record data; nothing copies it elsewhere.
    Log,
    /// Raft vote and committed log id per group.
    RaftMeta,
    /// Shard index: (group, counter) -> where the record lives and when it arrived.
    Index,
    /// State machine state per group (applied log id, membership, counters, metadata).
    State,
}

impl Cf {
    pub const ALL: [Cf; 4] = [Cf::Log, Cf::RaftMeta, Cf::Index, Cf::State];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Log => "log",
            Cf::RaftMeta => "raft_meta",
            Cf::Index => "index",
            Cf::State => "state",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Op {
    Put(Cf, Vec<u8>, Vec<u8>),
    Delete(Cf, Vec<u8>),
    /// Deletes keys in `[from, to)`.
    DeleteRange(Cf, Vec<u8>, Vec<u8>),
}

/// Writes applied atomically by `Engine::write`.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    pub ops: Vec<Op>,
}

impl Batch {
    pub fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(Op::Put(cf, key, value));
    }

    pub fn delete_range(&mut self, cf: Cf, from: Vec<u8>, to: Vec<u8>) {
        self.ops.push(Op::DeleteRange(cf, from, to));
    }

    pub fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        self.ops.push(Op::Delete(cf, key));
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Runs `work` on tokio's blocking pool when the engine's calls block on real I/O, else
/// inline (a simulation must stay on its one thread). A panic in `work` resumes here.
pub async fn off_thread<T, F>(io_blocks: bool, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if !io_blocks {
        return work();
    }
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels blocking tasks.
        Err(e) => panic!("blocking storage task cancelled: {e}"),
    }
}

/// An ordered key-value store with explicit durability.
///
/// `write` makes a batch visible to reads at once but not durable; `sync` makes every write
/// that returned before it durable. A crash may lose unsynced writes, always a suffix of
/// them in write order (this is what RocksDB's WAL gives, and what the in-memory engine
/// models for simulation).
pub trait Engine: Send + Sync + 'static {
    fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>>;

    fn write(&self, batch: Batch) -> io::Result<()>;

    fn sync(&self) -> io::Result<()>;

    /// Up to `limit` pairs with keys in `[from, to)`, in key order.
    fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>>;

    /// The last pair with a key in `[from, to)`.
    fn last(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<Option<(Vec<u8>, Vec<u8>)>>;

    /// Whether calls block on real I/O, so that syncs need their own OS thread and large
    /// reads belong on the blocking pool. The in-memory engine says no, so a simulation
    /// stays on one thread and deterministic.
    fn io_blocks(&self) -> bool;

    /// Gives back the disk space of deleted keys in `[from, to)` now rather than whenever
    /// background work gets there (retention frees disk this way). Blocks.
    fn reclaim(&self, _cf: Cf, _from: &[u8], _to: &[u8]) -> io::Result<()> {
        Ok(())
    }

    /// Releases the engine; every later call fails. Called once every group and worker
    /// using it has stopped (see `Node::shutdown`).
    fn close(&self) {}

    /// Bytes the data takes on disk, if the engine can tell cheaply (a metric, sampled).
    fn disk_bytes(&self) -> io::Result<Option<u64>> {
        Ok(None)
    }

    /// Extra time each sync takes (a slow disk, in simulation).
    fn sync_delay(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}
