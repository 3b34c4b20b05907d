//! A shard: records, their sequence numbers, and how they are read back.
//!
//! - `append`: what applying an `Append` entry does (sequence numbers, index rows).
//! - `read`: GetRecords over the index, loading record data from the Raft log.

pub mod append;
pub mod read;

use crate::domain::{GroupId, ShardId};
use crate::raft::types::{LogId, StoredMembership};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// Where an indexed record's data is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IndexValue {
    /// Inside the Raft entry at `log_index`, the `position`-th record of its batch. This is
    /// the normal case: the committed log is the data, stored once.
    InLog { log_index: u64, position: u32, arrival_ms: i64 },
    /// Copied here by a snapshot install (the log before it is gone on this replica).
    Inline {
        arrival_ms: i64,
        partition_key: String,
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
}

impl IndexValue {
    pub fn arrival_ms(&self) -> i64 {
        match self {
            IndexValue::InLog { arrival_ms, .. } | IndexValue::Inline { arrival_ms, .. } => *arrival_ms,
        }
    }
}

/// The applied state of a shard, persisted with every apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShardApplied {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    /// Counter of the newest record; 0 when the shard is empty.
    pub last_counter: u64,
    /// Arrival time of the newest record.
    pub last_arrival_ms: i64,
}

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
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set_applied(&self, state: ShardApplied) {
        let counter = state.last_counter;
        match self.state.write() {
            Ok(mut s) => *s = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
        self.applied_tx.send_replace(counter);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied_tx.subscribe()
    }
}
