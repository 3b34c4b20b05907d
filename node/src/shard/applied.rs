//! A shard's applied state: persisted with every apply, in Runnel's own format.

use crate::domain::GroupId;
use crate::raft::stored::{LogIdRecord, StoredMembershipRecord};
use crate::raft::types::{LogId, StoredMembership};
use crate::storage::envelope;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Cf, Engine};
use serde::{Deserialize, Serialize};
use std::io;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardApplied {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    /// Counter of the newest record; 0 when the shard is empty.
    pub last_counter: u64,
    /// Arrival time of the newest record.
    pub last_arrival_ms: i64,
    /// A `Seal` was applied: the shard takes no more records (it is a reshard's parent).
    pub sealed: bool,
    /// The latest retention trim; `None` until the first.
    pub trim: Option<Trim>,
    /// The newest counter a snapshot installed here brought: records up to it are inline
    /// index rows, not in this replica's log.
    pub inline_through: u64,
}

/// Where retention left a shard. Only ever moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trim {
    /// Records that arrived before this time are gone.
    pub before_ms: i64,
    /// The first counter kept: where TRIM_HORIZON starts.
    pub first_counter: u64,
    /// On this replica, log entries below this index hold no kept record: the log may be
    /// purged up to it (cluster/retention.rs waits a grace period first, so that a read
    /// that found an index row just before the trim still finds its entry).
    pub log_start: u64,
}

#[derive(Serialize, Deserialize)]
struct Record {
    last_applied: Option<LogIdRecord>,
    membership: StoredMembershipRecord,
    last_counter: u64,
    last_arrival_ms: i64,
    sealed: bool,
    trim: Option<Trim>,
    inline_through: u64,
}

impl ShardApplied {
    pub fn encode(&self) -> io::Result<Vec<u8>> {
        envelope::seal_postcard(&Record {
            last_applied: self.last_applied.as_ref().map(LogIdRecord::from),
            membership: StoredMembershipRecord::from(&self.membership),
            last_counter: self.last_counter,
            last_arrival_ms: self.last_arrival_ms,
            sealed: self.sealed,
            trim: self.trim,
            inline_through: self.inline_through,
        })
    }

    pub fn decode(bytes: &[u8]) -> io::Result<ShardApplied> {
        let r: Record = envelope::open_postcard(bytes, "shard applied state")?;
        Ok(ShardApplied {
            last_applied: r.last_applied.map(LogId::from),
            membership: StoredMembership::try_from(r.membership)?,
            last_counter: r.last_counter,
            last_arrival_ms: r.last_arrival_ms,
            sealed: r.sealed,
            trim: r.trim,
            inline_through: r.inline_through,
        })
    }

    /// The first counter retention kept (0 before any trim).
    pub fn first_counter(&self) -> u64 {
        self.trim.map_or(0, |t| t.first_counter)
    }

    pub fn key(group: GroupId) -> Vec<u8> {
        keys::key(group, KeyKind::ShardApplied)
    }

    pub fn load(engine: &dyn Engine, group: GroupId) -> io::Result<ShardApplied> {
        match engine.get(Cf::State, &ShardApplied::key(group))? {
            Some(bytes) => ShardApplied::decode(&bytes),
            None => Ok(ShardApplied::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::log_id;

    #[test]
    fn applied_state_round_trips() {
        let state = ShardApplied {
            last_applied: Some(log_id(3, 99)),
            membership: StoredMembership::default(),
            last_counter: u64::MAX - 1,
            last_arrival_ms: -5,
            sealed: true,
            trim: Some(Trim { before_ms: i64::MIN, first_counter: 4, log_start: u64::MAX }),
            inline_through: 17,
        };
        assert_eq!(ShardApplied::decode(&state.encode().unwrap()).unwrap(), state);
    }
}
