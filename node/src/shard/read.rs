//! Reading a shard: walk the index from a counter, load each record from its Raft entry.
//! Reads never go past the applied counter they are given, so rows staged by a snapshot
//! that is not installed yet stay invisible.

use super::batch::BatchView;
use super::index::IndexValue;
use crate::domain::{GroupId, SequenceNumber, ShardId};
use crate::raft::log_store::read_entry_bytes;
use crate::raft::stored::entry_command;
use crate::raft::types::{Command, CommandKind};
use crate::storage::envelope::corrupt;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Cf, Engine};
use std::io;
use std::ops::Range;

/// Index rows fetched per engine scan.
const SCAN_CHUNK_ROWS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Vec<u8>,
}

#[derive(Debug)]
pub struct ReadBatch {
    pub records: Vec<StoredRecord>,
    /// Where the next read continues.
    pub next_counter: u64,
}

/// A log entry loaded once for the records of it that a read returns: its bytes, and
/// where each record's key and data are in them.
struct CachedEntry {
    index: u64,
    bytes: Vec<u8>,
    records: Vec<(Range<usize>, Range<usize>)>,
}

impl CachedEntry {
    fn load(engine: &dyn Engine, group: GroupId, index: u64) -> io::Result<CachedEntry> {
        let what = format!("{group} log entry {index}");
        let bytes = read_entry_bytes(engine, group, index)?
            .ok_or_else(|| corrupt("shard index", &format!("{group}: points at missing log entry {index}")))?;
        let records = {
            let command = entry_command(&bytes)?.ok_or_else(|| corrupt(&what, "holds no command"))?;
            let (kind, body) = Command::split(command).map_err(|e| corrupt(&what, &e))?;
            if kind != CommandKind::Append {
                return Err(corrupt(&what, "holds no records"));
            }
            let batch = BatchView::decode(body).map_err(|e| corrupt(&what, &e.to_string()))?;
            let base = bytes.as_ptr() as usize;
            let span = |s: &[u8]| {
                let start = s.as_ptr() as usize - base;
                start..start + s.len()
            };
            batch.records.iter().map(|r| (span(r.partition_key.as_bytes()), span(r.data))).collect()
        };
        Ok(CachedEntry { index, bytes, records })
    }

    /// The `position`-th record: (key, data).
    fn record(&self, group: GroupId, position: u32) -> io::Result<(String, Vec<u8>)> {
        let (key, data) = self
            .records
            .get(position as usize)
            .ok_or_else(|| corrupt(&format!("{group} log entry {}", self.index), &format!("no record {position}")))?;
        // The key was checked to be UTF-8 when the batch was decoded.
        let key = String::from_utf8_lossy(&self.bytes[key.clone()]).into_owned();
        Ok((key, self.bytes[data.clone()].to_vec()))
    }
}

/// Up to `limit` records and about `bytes_max` bytes of data, from `from_counter` up to
/// `last_counter`. At least one record is returned when one exists, whatever its size.
pub fn read_records(
    engine: &dyn Engine,
    group: GroupId,
    shard: ShardId,
    from_counter: u64,
    last_counter: u64,
    limit: usize,
    bytes_max: usize,
) -> io::Result<ReadBatch> {
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut next_counter = from_counter;
    let mut cached: Option<CachedEntry> = None;
    if from_counter > last_counter {
        return Ok(ReadBatch { records, next_counter });
    }
    let end = keys::numbered(group, KeyKind::Record, last_counter.saturating_add(1));
    let end = if last_counter == u64::MAX { keys::kind_end(group, KeyKind::Record) } else { end };
    'scan: while records.len() < limit {
        let from = keys::numbered(group, KeyKind::Record, next_counter);
        let rows = engine.scan(Cf::Index, &from, &end, SCAN_CHUNK_ROWS.min(limit - records.len()))?;
        if rows.is_empty() {
            break;
        }
        for (key, value) in rows {
            let counter =
                keys::number_of(&key, group, KeyKind::Record).ok_or_else(|| corrupt("index key", "malformed"))?;
            assert!(counter >= next_counter && counter <= last_counter, "the index is read in order, within bounds");
            let (arrival_ms, partition_key, data) = match IndexValue::decode(&value)? {
                IndexValue::Inline { arrival_ms, partition_key, data } => (arrival_ms, partition_key, data),
                IndexValue::InLog { log_index, position, arrival_ms } => {
                    if cached.as_ref().map(|c| c.index) != Some(log_index) {
                        cached = Some(CachedEntry::load(engine, group, log_index)?);
                    }
                    let Some(entry) = &cached else { unreachable!("cached just above") };
                    let (key, data) = entry.record(group, position)?;
                    (arrival_ms, key, data)
                }
            };
            let size = data.len() + partition_key.len();
            if !records.is_empty() && bytes + size > bytes_max {
                break 'scan;
            }
            bytes += size;
            next_counter = counter + 1;
            records.push(StoredRecord {
                sequence_number: SequenceNumber::new(shard, counter),
                arrival_ms,
                partition_key,
                data,
            });
            if records.len() >= limit {
                break 'scan;
            }
        }
    }
    Ok(ReadBatch { records, next_counter })
}

/// The counter of the first record that arrived at or after `timestamp_ms`, or `None` when
/// every record up to `last_counter` is older. A seek on the time rows, not a scan.
pub fn first_counter_at_or_after(
    engine: &dyn Engine,
    group: GroupId,
    timestamp_ms: i64,
    last_counter: u64,
) -> io::Result<Option<u64>> {
    let from = keys::arrival(group, timestamp_ms, 0);
    let rows = engine.scan(Cf::Index, &from, &keys::kind_end(group, KeyKind::ArrivalTime), 1)?;
    let Some((key, _)) = rows.first() else { return Ok(None) };
    let (arrival, counter) = keys::arrival_of(key, group).ok_or_else(|| corrupt("time row", "malformed key"))?;
    assert!(arrival >= timestamp_ms, "a seek lands at or after its target");
    Ok((counter <= last_counter).then_some(counter))
}

/// Arrival time of the first record at or after `counter` (up to `last_counter`), from its
/// index row alone (no log entry is loaded).
pub fn next_arrival(engine: &dyn Engine, group: GroupId, counter: u64, last_counter: u64) -> io::Result<Option<i64>> {
    if counter > last_counter {
        return Ok(None);
    }
    let from = keys::numbered(group, KeyKind::Record, counter);
    let rows = engine.scan(Cf::Index, &from, &keys::kind_end(group, KeyKind::Record), 1)?;
    match rows.first() {
        Some((key, value)) => {
            let found =
                keys::number_of(key, group, KeyKind::Record).ok_or_else(|| corrupt("index key", "malformed"))?;
            if found > last_counter {
                return Ok(None);
            }
            Ok(Some(IndexValue::decode(value)?.arrival_ms()))
        }
        None => Ok(None),
    }
}
