//! Applying a `Trim`: retention drops the records that arrived before a time the shard's
//! leader chose. The time is in the entry, and arrival times never decrease within a
//! shard, so every replica drops the same prefix of records. Their index and time rows go
//! at once; the log entries that held them are purged later by each replica on its own
//! (cluster/retention.rs), after a grace period in which a read may still load them.

use super::applied::Trim;
use super::index::IndexValue;
use super::read::first_counter_at_or_after;
use super::ShardApplied;
use crate::domain::GroupId;
use crate::storage::envelope::corrupt;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Batch, Cf, Engine};
use std::io;

/// Trims the records that arrived before `before_ms` (the `Trim` entry at `log_index`).
/// `engine` must hold every earlier entry's effects. A trim at or before the last one
/// changes nothing: raising retention never brings records back. Returns the first
/// counter kept.
pub fn apply_trim(
    engine: &dyn Engine,
    group: GroupId,
    log_index: u64,
    before_ms: i64,
    applied: &mut ShardApplied,
    out: &mut Batch,
) -> io::Result<u64> {
    if let Some(trim) = applied.trim.filter(|t| before_ms <= t.before_ms) {
        return Ok(trim.first_counter);
    }
    let next = applied.last_counter.saturating_add(1);
    let first_counter = first_counter_at_or_after(engine, group, before_ms, applied.last_counter)?
        .unwrap_or(next)
        .max(applied.first_counter());
    out.delete_range(
        Cf::Index,
        keys::numbered(group, KeyKind::Record, 0),
        keys::numbered(group, KeyKind::Record, first_counter),
    );
    out.delete_range(Cf::Index, keys::key(group, KeyKind::ArrivalTime), keys::arrival(group, before_ms, 0));
    // The first kept record that lives in this replica's log (records up to
    // `inline_through` came inline with a snapshot); without one, no kept record does and
    // every entry before this one may go.
    let from = first_counter.max(applied.inline_through.saturating_add(1));
    let rows = if from < next {
        engine.scan(
            Cf::Index,
            &keys::numbered(group, KeyKind::Record, from),
            &keys::numbered(group, KeyKind::Record, next),
            1,
        )?
    } else {
        Vec::new()
    };
    let log_start = match rows.first() {
        None => log_index,
        Some((_, value)) => match IndexValue::decode(value)? {
            IndexValue::InLog { log_index: at, .. } => at,
            IndexValue::Inline { .. } => {
                return Err(corrupt("shard index", &format!("{group}: an inline row above the installed snapshot")))
            }
        },
    };
    let log_start = log_start.max(applied.trim.map_or(0, |t| t.log_start));
    applied.trim = Some(Trim { before_ms, first_counter, log_start });
    Ok(first_counter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ShardId;
    use crate::raft::stored::encode_entry;
    use crate::raft::types::{log_id, Command, CommandKind, Entry, EntryPayload};
    use crate::shard::append::apply_append;
    use crate::shard::batch::{AppendBatch, BatchView, NewRecord};
    use crate::shard::read::read_stored;
    use crate::shard::ShardShared;
    use crate::storage::memory::MemoryEngine;

    /// Appends one batch per `(arrival, records)`, entry indexes from 1.
    fn shard_with(engine: &MemoryEngine, group: GroupId, batches: &[(i64, usize)]) -> ShardApplied {
        let shard = ShardShared::new(group, ShardId(0), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        for (i, (arrival_ms, n)) in batches.iter().enumerate() {
            let batch = AppendBatch {
                arrival_ms: *arrival_ms,
                records: vec![NewRecord { partition_key: "k".into(), data: vec![1], after: None }; *n],
                seal_with: None,
            };
            let index = i as u64 + 1;
            let command = Command::build(CommandKind::Append, 0, |b| batch.encode_into(b)).unwrap();
            let entry = Entry { log_id: log_id(1, index), payload: EntryPayload::Normal(command.clone()) };
            let mut out = Batch::default();
            out.put(Cf::Log, keys::numbered(group, KeyKind::LogEntry, index), encode_entry(&entry).unwrap());
            let (_, body) = Command::split(&command.0).unwrap();
            apply_append(&shard, index, &BatchView::decode(body).unwrap(), &mut applied, &mut out).unwrap();
            engine.write(out).unwrap();
        }
        applied
    }

    fn counters(engine: &MemoryEngine, group: GroupId, applied: &ShardApplied) -> Vec<u64> {
        let batch = read_stored(engine, group, ShardId(0), 0, applied.last_counter, usize::MAX, usize::MAX).unwrap();
        batch.records.iter().map(|r| r.sequence_number.counter()).collect()
    }

    fn trim(engine: &MemoryEngine, group: GroupId, index: u64, before_ms: i64, applied: &mut ShardApplied) -> u64 {
        let mut out = Batch::default();
        let first = apply_trim(engine, group, index, before_ms, applied, &mut out).unwrap();
        engine.write(out).unwrap();
        first
    }

    #[test]
    fn a_trim_drops_the_records_that_arrived_before_its_time_and_only_those() {
        let engine = MemoryEngine::default();
        let group = GroupId(5);
        // Entries 1-3 at 10, 20, 30 ms with 2, 3 and 1 records: counters 1-2, 3-5, 6.
        let mut applied = shard_with(&engine, group, &[(10, 2), (20, 3), (30, 1)]);
        assert_eq!(trim(&engine, group, 4, 20, &mut applied), 3);
        assert_eq!(counters(&engine, group, &applied), vec![3, 4, 5, 6]);
        let t = applied.trim.unwrap();
        assert_eq!((t.before_ms, t.first_counter, t.log_start), (20, 3, 2));
        // The time rows went too: AT_TIMESTAMP before the trim lands on the first kept.
        assert_eq!(first_counter_at_or_after(&engine, group, 0, applied.last_counter).unwrap(), Some(3));
        // A trim at an earlier time (retention raised) changes nothing.
        let before = applied.clone();
        assert_eq!(trim(&engine, group, 5, 15, &mut applied), 3);
        assert_eq!(applied, before);
        assert_eq!(counters(&engine, group, &applied), vec![3, 4, 5, 6]);
        // Past every record: the shard is empty, and every entry before the trim may go.
        assert_eq!(trim(&engine, group, 6, 31, &mut applied), 7);
        assert!(counters(&engine, group, &applied).is_empty());
        let t = applied.trim.unwrap();
        assert_eq!((t.first_counter, t.log_start), (7, 6));
        assert_eq!(first_counter_at_or_after(&engine, group, 0, applied.last_counter).unwrap(), None);
    }

    #[test]
    fn records_a_snapshot_brought_inline_are_not_taken_for_log_entries() {
        let engine = MemoryEngine::default();
        let group = GroupId(6);
        let mut applied = shard_with(&engine, group, &[(10, 1), (20, 1), (30, 1)]);
        // As if counters 1-2 had come with a snapshot: the first kept in the log is 3.
        applied.inline_through = 2;
        assert_eq!(trim(&engine, group, 9, 15, &mut applied), 2);
        assert_eq!(applied.trim.unwrap().log_start, 3);
    }
}
