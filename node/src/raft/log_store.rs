//! The Raft log of one group, stored in the node's shared engine.
//!
//! `append` writes the entries at once (readable immediately, as openraft requires) and
//! asks group commit for the fsync; openraft hears the entries are durable only then, so
//! nothing is acknowledged before a quorum has it on disk.
//!
//! Reads for replication are bounded by bytes (`limited_get_log_entries`), so a follower
//! that fell far behind under large entries catches up in messages of bounded size.
//!
//! The newest entries stay in memory too (`recent`): the reads right after an append
//! (replication, applying) are served from there, the rest from the engine.
//!
//! Any storage error here stops the node (`FailStop`): a replica that cannot read or write
//! its own log cannot tell what it promised.

use super::recent::{CacheBudget, RecentEntries};
use super::stored::{decode_entry, decode_log_id, decode_vote, encode_entry, encode_log_id, encode_vote};
use super::types::{Entry, LogId, TypeConfig, Vote};
use crate::domain::GroupId;
use crate::failstop::FailStop;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{off_thread, Batch, Cf, Engine, GroupCommit};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::OptionalSend;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// One replication message carries about this many bytes of entries at the most (and at
/// least one entry, whatever its size).
pub const REPLICATION_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Entries one replication read returns at the most.
const REPLICATION_ENTRIES_MAX: usize = 4096;
/// Entries fetched from the engine per scan: few, since one may be 5 MiB.
const SCAN_ENTRIES: usize = 8;

#[derive(Clone)]
pub struct LogStore {
    group: GroupId,
    engine: Arc<dyn Engine>,
    commit: GroupCommit,
    recent: Arc<RecentEntries>,
    fail_stop: FailStop,
}

impl LogStore {
    /// The log of `group`; its newest entries are cached within `budget` (one per node).
    pub fn new(
        group: GroupId,
        engine: Arc<dyn Engine>,
        commit: GroupCommit,
        budget: Arc<CacheBudget>,
        fail_stop: FailStop,
    ) -> LogStore {
        LogStore { group, engine, commit, recent: Arc::new(RecentEntries::new(budget)), fail_stop }
    }

    fn entry_key(&self, index: u64) -> Vec<u8> {
        keys::numbered(self.group, KeyKind::LogEntry, index)
    }

    fn checked<T>(&self, what: &str, result: io::Result<T>) -> io::Result<T> {
        self.fail_stop.check(&format!("{} log: {what}", self.group), result)
    }

    /// Entries with indexes in `[start, end)`, in order, stopping after `bytes_max` bytes
    /// or `entries_max` entries (at least one entry).
    async fn read_range(&self, start: u64, end: u64, bytes_max: usize, entries_max: usize) -> io::Result<Vec<Entry>> {
        if start >= end {
            return Ok(Vec::new());
        }
        if let Some(entries) = self.recent.read(start, end, bytes_max, entries_max) {
            return Ok(entries);
        }
        let (engine, group) = (self.engine.clone(), self.group);
        let result = off_thread(self.engine.io_blocks(), move || {
            read_entries(engine.as_ref(), group, start, end, bytes_max, entries_max)
        })
        .await;
        self.checked("read", result)
    }
}

fn read_entries(
    engine: &dyn Engine,
    group: GroupId,
    start: u64,
    end: u64,
    bytes_max: usize,
    entries_max: usize,
) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut bytes = 0usize;
    let mut next = start;
    let end_key = keys::numbered(group, KeyKind::LogEntry, end);
    while entries.len() < entries_max && next < end {
        let rows = engine.scan(Cf::Log, &keys::numbered(group, KeyKind::LogEntry, next), &end_key, SCAN_ENTRIES)?;
        if rows.is_empty() {
            break;
        }
        for (key, value) in rows {
            let index = keys::number_of(&key, group, KeyKind::LogEntry)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{group}: malformed log key")))?;
            if !entries.is_empty() && (bytes + value.len() > bytes_max || entries.len() >= entries_max) {
                return Ok(entries);
            }
            let entry = decode_entry(&value)?;
            // The log is contiguous from its first (unpurged) entry on: a hole, or a key
            // that disagrees with its entry, is corruption.
            let expected = if entries.is_empty() { index.max(next) } else { next };
            if index != expected || entry.index() != index {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{group}: log entry {} found where {expected} was expected", entry.index()),
                ));
            }
            bytes += value.len();
            entries.push(entry);
            next = index + 1;
        }
    }
    Ok(entries)
}

/// The stored form of entry `index` of `group`, if present (shard reads load record data
/// from it).
pub fn read_entry_bytes(engine: &dyn Engine, group: GroupId, index: u64) -> io::Result<Option<Vec<u8>>> {
    engine.get(Cf::Log, &keys::numbered(group, KeyKind::LogEntry, index))
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
            Bound::Included(x) => x.saturating_add(1),
            Bound::Excluded(x) => *x,
            Bound::Unbounded => u64::MAX,
        };
        // openraft asks for exact ranges here (to apply, to build a request) and expects all
        // of them; the range itself is the bound.
        self.read_range(start, end, usize::MAX, usize::MAX).await
    }

    async fn limited_get_log_entries(&mut self, start: u64, end: u64) -> Result<Vec<Entry>, io::Error> {
        self.read_range(start, end, REPLICATION_MESSAGE_BYTES_MAX, REPLICATION_ENTRIES_MAX).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        let result = match self.engine.get(Cf::RaftMeta, &keys::key(self.group, KeyKind::Vote)) {
            Ok(Some(bytes)) => decode_vote(&bytes).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        self.checked("read vote", result)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let result = (|| {
            let (from, to) = (keys::key(self.group, KeyKind::LogEntry), keys::kind_end(self.group, KeyKind::LogEntry));
            let last = self.engine.last(Cf::Log, &from, &to)?;
            let last_purged_log_id = match self.engine.get(Cf::RaftMeta, &keys::key(self.group, KeyKind::Purged))? {
                Some(bytes) => Some(decode_log_id(&bytes, "purged log id")?),
                None => None,
            };
            let last_log_id = match last {
                Some((_, value)) => Some(decode_entry(&value)?.log_id()),
                None => last_purged_log_id,
            };
            Ok(LogState { last_purged_log_id, last_log_id })
        })();
        self.checked("log state", result)
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let result = (|| {
            let mut batch = Batch::default();
            batch.put(Cf::RaftMeta, keys::key(self.group, KeyKind::Vote), encode_vote(vote)?);
            self.engine.write(batch)
        })();
        self.checked("save vote", result)?;
        // A vote must be durable before it is acted on.
        let synced = self.commit.sync().await;
        self.checked("sync vote", synced)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Only an optimisation for restarts (re-apply committed entries sooner): no sync.
        let Some(committed) = committed else { return Ok(()) };
        let result = (|| {
            let mut batch = Batch::default();
            batch.put(Cf::RaftMeta, keys::key(self.group, KeyKind::Committed), encode_log_id(&committed)?);
            self.engine.write(batch)
        })();
        self.checked("save committed", result)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        let result = match self.engine.get(Cf::RaftMeta, &keys::key(self.group, KeyKind::Committed)) {
            Ok(Some(bytes)) => decode_log_id(&bytes, "committed log id").map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        self.checked("read committed", result)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut cached = Vec::new();
        let result = (|| {
            let mut batch = Batch::default();
            let mut previous: Option<u64> = None;
            for entry in entries {
                // openraft hands over contiguous entries; anything else would corrupt the log.
                assert!(previous.is_none_or(|p| p + 1 == entry.index()), "appended entries must be contiguous");
                previous = Some(entry.index());
                let stored = encode_entry(&entry)?;
                let key = self.entry_key(entry.index());
                cached.push((entry, stored.len()));
                batch.put(Cf::Log, key, stored);
            }
            self.engine.write(batch)
        })();
        self.checked("append", result)?;
        // Cached once in the engine, so a reader never sees here what the log lacks.
        self.recent.appended(cached);
        let fail_stop = self.fail_stop.clone();
        let group = self.group;
        self.commit
            .request(Box::new(move |result| {
                let result = fail_stop.check(&format!("{group} log: sync"), result);
                callback.io_completed(result)
            }))
            .await;
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = match last_log_id {
            Some(id) => id.index() + 1,
            None => 0,
        };
        // Out of the cache first: a read between the two then goes to the engine.
        self.recent.truncated_from(from);
        let mut batch = Batch::default();
        batch.delete_range(Cf::Log, self.entry_key(from), keys::kind_end(self.group, KeyKind::LogEntry));
        let result = self.engine.write(batch);
        self.checked("truncate", result)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        self.recent.purged_through(log_id.index());
        let result = (|| {
            let mut batch = Batch::default();
            // The marker first: openraft ignores logs at or before it, so no sync is needed.
            batch.put(Cf::RaftMeta, keys::key(self.group, KeyKind::Purged), encode_log_id(&log_id)?);
            batch.delete_range(Cf::Log, self.entry_key(0), self.entry_key(log_id.index() + 1));
            self.engine.write(batch)
        })();
        self.checked("purge", result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::{log_id, Command, EntryPayload};
    use crate::storage::memory::MemoryEngine;

    fn entry(index: u64, bytes: usize) -> Entry {
        Entry { log_id: log_id(1, index), payload: EntryPayload::Normal(Command(vec![7; bytes])) }
    }

    fn write(engine: &MemoryEngine, group: GroupId, entries: &[Entry]) {
        let mut batch = Batch::default();
        for e in entries {
            batch.put(Cf::Log, keys::numbered(group, KeyKind::LogEntry, e.index()), encode_entry(e).unwrap());
        }
        engine.write(batch).unwrap();
    }

    /// The fault: with 5 MiB entries and openraft's 300 entries per message, one message
    /// to a lagging follower was 1.5 GB, over every limit, and it never caught up.
    #[test]
    fn replication_reads_are_bounded_by_bytes_whatever_the_entry_sizes() {
        let engine = MemoryEngine::default();
        let group = GroupId(4);
        let five_mib = 5 * 1024 * 1024;
        let entries: Vec<_> = (1..=40).map(|i| entry(i, five_mib)).collect();
        write(&engine, group, &entries);
        let mut next = 1;
        let mut messages = 0;
        while next <= 40 {
            let got =
                read_entries(&engine, group, next, 41, REPLICATION_MESSAGE_BYTES_MAX, REPLICATION_ENTRIES_MAX).unwrap();
            assert!(!got.is_empty(), "a non-empty range always yields at least one entry");
            let bytes: usize = got.iter().map(super::super::stored::entry_bytes).sum();
            assert!(bytes <= REPLICATION_MESSAGE_BYTES_MAX, "{bytes} bytes in one message");
            assert_eq!(got.first().map(|e| e.index()), Some(next));
            next = got.last().map(|e| e.index() + 1).unwrap_or(next);
            messages += 1;
        }
        assert!(messages >= 14, "40 entries of 5 MiB need many bounded messages, got {messages}");
        // An entry larger than the bound still travels, alone.
        write(&engine, GroupId(5), &[entry(1, REPLICATION_MESSAGE_BYTES_MAX + 1), entry(2, 1)]);
        let got = read_entries(&engine, GroupId(5), 1, 3, REPLICATION_MESSAGE_BYTES_MAX, 10).unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn a_hole_in_the_log_is_reported_not_skipped() {
        let engine = MemoryEngine::default();
        let group = GroupId(2);
        write(&engine, group, &[entry(1, 1), entry(3, 1)]);
        assert!(read_entries(&engine, group, 1, 4, usize::MAX, usize::MAX).is_err());
    }
}
