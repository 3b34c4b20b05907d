//! A shard: records, their sequence numbers, and how they are read back.
//!
//! - `batch`: the records of an `Append` command and their encoding; a record of an
//!   encrypted stream is sealed (its key and data one ciphertext blob) before it is
//!   proposed, and opened only when read.
//! - `append`: what applying an `Append` does (sequence numbers, index and time rows),
//!   and the commands it refuses, deterministically, on every replica.
//! - `index`: where each record is (its Raft entry, or inline after a snapshot).
//! - `applied`: the shard's applied state, persisted with every apply.
//! - `read`: GetRecords over the index, loading record data from the Raft log and opening
//!   sealed records with the node's key; the AT_TIMESTAMP seek over the time rows.
//! - `snapshot`: a shard as a stream of bounded chunks, and installing one.
//! - `trim`: what applying a retention `Trim` does (index and time rows of expired
//!   records dropped; where this replica's log may later be purged).

pub mod append;
pub mod applied;
pub mod batch;
pub mod index;
pub mod read;
pub mod snapshot;
pub mod trim;

pub use applied::{ShardApplied, Trim};

use crate::domain::{GroupId, ShardId};
use crate::failstop;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// What readers of a shard share with its state machine.
pub struct ShardShared {
    pub group: GroupId,
    pub shard: ShardId,
    /// Counter of the shard's first sequence number (children start above their parents).
    pub starting_counter: u64,
    state: RwLock<ShardApplied>,
    /// The newest applied counter, for readers that wait for new records.
    applied_tx: watch::Sender<u64>,
}

impl ShardShared {
    pub fn new(group: GroupId, shard: ShardId, starting_counter: u64, state: ShardApplied) -> Arc<ShardShared> {
        let (applied_tx, _) = watch::channel(state.last_counter);
        Arc::new(ShardShared { group, shard, starting_counter, state: RwLock::new(state), applied_tx })
    }

    pub fn applied(&self) -> ShardApplied {
        failstop::read(&self.state, "shard applied state").clone()
    }

    /// Where retention left the shard, and its newest counter, without copying the rest.
    pub fn retention_view(&self) -> (Option<Trim>, u64) {
        let state = failstop::read(&self.state, "shard applied state");
        (state.trim, state.last_counter)
    }

    pub fn set_applied(&self, state: ShardApplied) {
        let counter = state.last_counter;
        *failstop::write(&self.state, "shard applied state") = state;
        self.applied_tx.send_replace(counter);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied_tx.subscribe()
    }
}
