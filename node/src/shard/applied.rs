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
}

#[derive(Serialize, Deserialize)]
struct Record {
    last_applied: Option<LogIdRecord>,
    membership: StoredMembershipRecord,
    last_counter: u64,
    last_arrival_ms: i64,
    sealed: bool,
}

impl ShardApplied {
    pub fn encode(&self) -> io::Result<Vec<u8>> {
        envelope::seal_postcard(&Record {
            last_applied: self.last_applied.as_ref().map(LogIdRecord::from),
            membership: StoredMembershipRecord::from(&self.membership),
            last_counter: self.last_counter,
            last_arrival_ms: self.last_arrival_ms,
            sealed: self.sealed,
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
        })
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
        };
        assert_eq!(ShardApplied::decode(&state.encode().unwrap()).unwrap(), state);
    }
}
