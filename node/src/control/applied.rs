//! The metadata group's applied state, persisted with every apply in Runnel's own format.

use super::state::MetaState;
use crate::domain::GroupId;
use crate::raft::stored::{LogIdRecord, StoredMembershipRecord};
use crate::raft::types::{LogId, StoredMembership};
use crate::storage::envelope;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Cf, Engine};
use serde::{Deserialize, Serialize};
use std::io;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaApplied {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub state: MetaState,
}

/// The persisted form; `S` is `&MetaState` when writing (no copy of the state on every
/// apply) and `MetaState` when reading. Both encode alike.
#[derive(Serialize, Deserialize)]
struct Record<S> {
    last_applied: Option<LogIdRecord>,
    membership: StoredMembershipRecord,
    state: S,
}

impl MetaApplied {
    pub fn encode(&self) -> io::Result<Vec<u8>> {
        envelope::seal_postcard(&Record {
            last_applied: self.last_applied.as_ref().map(LogIdRecord::from),
            membership: StoredMembershipRecord::from(&self.membership),
            state: &self.state,
        })
    }

    pub fn decode(bytes: &[u8]) -> io::Result<MetaApplied> {
        let r: Record<MetaState> = envelope::open_postcard(bytes, "metadata applied state")?;
        Ok(MetaApplied {
            last_applied: r.last_applied.map(LogId::from),
            membership: StoredMembership::try_from(r.membership)?,
            state: r.state,
        })
    }

    pub fn key(group: GroupId) -> Vec<u8> {
        keys::key(group, KeyKind::MetaApplied)
    }

    pub fn load(engine: &dyn Engine, group: GroupId) -> io::Result<MetaApplied> {
        match engine.get(Cf::State, &MetaApplied::key(group))? {
            Some(bytes) => MetaApplied::decode(&bytes),
            None => Ok(MetaApplied::default()),
        }
    }
}

/// The metadata state alone, as a snapshot carries it.
pub fn encode_state(state: &MetaState) -> io::Result<Vec<u8>> {
    envelope::seal_postcard(state)
}

pub fn decode_state(bytes: &[u8]) -> io::Result<MetaState> {
    envelope::open_postcard(bytes, "metadata snapshot")
}
