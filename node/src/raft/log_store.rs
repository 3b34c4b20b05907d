//! The Raft log of one group, stored in the node's shared engine.
//!
//! `append` writes the entries at once (readable immediately, as openraft requires) and
//! asks group commit for the fsync; openraft hears the entries are durable only then, so
//! nothing is acknowledged before a quorum has it on disk.

use super::types::{Entry, LogId, TypeConfig, Vote};
use super::{decode, encode};
use crate::domain::GroupId;
use crate::storage::keys::{self, MetaKey};
use crate::storage::{Batch, Cf, Engine, GroupCommit};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::OptionalSend;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// The most entries one read returns; openraft asks for bounded ranges anyway.
const READ_ENTRIES_MAX: usize = 65_536;
/// A log purge marker lives beside the vote. Persisted: never renumber.
const PURGED_KEY: u8 = 6;

#[derive(Clone)]
pub struct LogStore {
    group: GroupId,
    engine: Arc<dyn Engine>,
    commit: GroupCommit,
}

impl LogStore {
    pub fn new(group: GroupId, engine: Arc<dyn Engine>, commit: GroupCommit) -> LogStore {
        LogStore { group, engine, commit }
    }

    fn purged_key(&self) -> Vec<u8> {
        let mut key = keys::group_prefix(self.group);
        key.push(PURGED_KEY);
        key
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> io::Result<Option<T>> {
        match self.engine.get(Cf::RaftMeta, key)? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// Reads one stored entry of `group` (used by shard reads: the log holds record data).
pub fn read_entry(engine: &dyn Engine, group: GroupId, index: u64) -> io::Result<Option<Entry>> {
    match engine.get(Cf::Log, &keys::numbered(group, index))? {
        Some(bytes) => decode(&bytes).map(Some),
        None => Ok(None),
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(x) => keys::numbered(self.group, *x + 1),
            Bound::Excluded(x) => keys::numbered(self.group, *x),
            Bound::Unbounded => keys::group_end(self.group),
        };
        let rows = self.engine.scan(Cf::Log, &keys::numbered(self.group, start), &end, READ_ENTRIES_MAX)?;
        let mut entries = Vec::with_capacity(rows.len());
        for (key, value) in rows {
            let entry: Entry = decode(&value)?;
            assert_eq!(keys::numbered_part(&key), Some(entry.index()), "log key and entry index disagree");
            entries.push(entry);
        }
        Ok(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.get_meta(&keys::meta(self.group, MetaKey::Vote))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last = self.engine.last(Cf::Log, &keys::group_prefix(self.group), &keys::group_end(self.group))?;
        let last_purged_log_id: Option<LogId> = self.get_meta(&self.purged_key())?;
        let last_log_id = match last {
            Some((_, value)) => Some(decode::<Entry>(&value)?.log_id()),
            None => last_purged_log_id,
        };
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let mut batch = Batch::default();
        batch.put(Cf::RaftMeta, keys::meta(self.group, MetaKey::Vote), encode(vote)?);
        self.engine.write(batch)?;
        // A vote must be durable before it is acted on.
        self.commit.sync().await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Only an optimisation for restarts (re-apply committed entries sooner): no sync.
        let mut batch = Batch::default();
        batch.put(Cf::RaftMeta, keys::meta(self.group, MetaKey::Committed), encode(&committed)?);
        self.engine.write(batch)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.get_meta::<Option<LogId>>(&keys::meta(self.group, MetaKey::Committed))?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = Batch::default();
        for entry in entries {
            batch.put(Cf::Log, keys::numbered(self.group, entry.index()), encode(&entry)?);
        }
        self.engine.write(batch)?;
        self.commit.request(Box::new(move |result| callback.io_completed(result))).await;
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = match last_log_id {
            Some(id) => id.index() + 1,
            None => 0,
        };
        let mut batch = Batch::default();
        batch.delete_range(Cf::Log, keys::numbered(self.group, from), keys::group_end(self.group));
        self.engine.write(batch)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let mut batch = Batch::default();
        // The marker first: openraft ignores logs at or before it, so no sync is needed.
        batch.put(Cf::RaftMeta, self.purged_key(), encode(&log_id)?);
        batch.delete_range(Cf::Log, keys::numbered(self.group, 0), keys::numbered(self.group, log_id.index() + 1));
        self.engine.write(batch)
    }
}

/// Drops every trace of a group: log, vote, index and state.
pub fn drop_group(engine: &dyn Engine, group: GroupId) -> io::Result<()> {
    let mut batch = Batch::default();
    for cf in Cf::ALL {
        batch.delete_range(cf, keys::group_prefix(group), keys::group_end(group));
    }
    engine.write(batch)
}
