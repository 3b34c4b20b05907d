//! Reading a shard: walk the index from a counter, load each record from its Raft entry.
//! Reads never go past the applied counter they are given, so rows staged by a snapshot
//! that is not installed yet stay invisible.
//!
//! `read_stored` returns records as stored (sealed ones still sealed: what a snapshot
//! carries); `StoredBatch::open` opens sealed ones with the node's key, and a record it
//! cannot open is an error, never data.

use super::batch::{BatchView, RecordBody, StoredBody};
use super::index::IndexValue;
use crate::crypto::RecordKey;
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

/// A record as stored: its key and data sealed if the stream was encrypted when it was
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub body: StoredBody,
}

#[derive(Debug)]
pub struct StoredBatch {
    pub records: Vec<StoredRecord>,
    /// Where the next read continues.
    pub next_counter: u64,
}

/// A record as a reader gets it: in clear, and whether it was stored encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedRecord {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub encrypted: bool,
}

#[derive(Debug)]
pub struct ReadBatch {
    pub records: Vec<OpenedRecord>,
    /// Where the next read continues.
    pub next_counter: u64,
}

/// Where a record's key and data are in its entry's bytes.
enum Span {
    Plain { key: Range<usize>, data: Range<usize> },
    Sealed(Range<usize>),
}

/// A log entry loaded once for the records of it that a read returns: its bytes, and
/// where each record's key and data are in them.
struct CachedEntry {
    index: u64,
    bytes: Vec<u8>,
    records: Vec<Span>,
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
            batch
                .records
                .iter()
                .map(|r| match r.body {
                    RecordBody::Plain { partition_key, data } => {
                        Span::Plain { key: span(partition_key.as_bytes()), data: span(data) }
                    }
                    RecordBody::Sealed(sealed) => Span::Sealed(span(sealed)),
                })
                .collect()
        };
        Ok(CachedEntry { index, bytes, records })
    }

    /// The `position`-th record's key and data, as stored.
    fn record(&self, group: GroupId, position: u32) -> io::Result<StoredBody> {
        let span = self
            .records
            .get(position as usize)
            .ok_or_else(|| corrupt(&format!("{group} log entry {}", self.index), &format!("no record {position}")))?;
        Ok(match span {
            Span::Plain { key, data } => StoredBody::Plain {
                // The key was checked to be UTF-8 when the batch was decoded.
                partition_key: String::from_utf8_lossy(&self.bytes[key.clone()]).into_owned(),
                data: self.bytes[data.clone()].to_vec(),
            },
            Span::Sealed(sealed) => StoredBody::Sealed(self.bytes[sealed.clone()].to_vec()),
        })
    }
}

/// Up to `limit` records and about `bytes_max` bytes of them as stored, from
/// `from_counter` up to `last_counter`. At least one record is returned when one exists,
/// whatever its size.
pub fn read_stored(
    engine: &dyn Engine,
    group: GroupId,
    shard: ShardId,
    from_counter: u64,
    last_counter: u64,
    limit: usize,
    bytes_max: usize,
) -> io::Result<StoredBatch> {
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut next_counter = from_counter;
    let mut cached: Option<CachedEntry> = None;
    if from_counter > last_counter {
        return Ok(StoredBatch { records, next_counter });
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
            let (arrival_ms, body) = match IndexValue::decode(&value)? {
                IndexValue::Inline { arrival_ms, body } => (arrival_ms, body),
                IndexValue::InLog { log_index, position, arrival_ms } => {
                    if cached.as_ref().map(|c| c.index) != Some(log_index) {
                        cached = Some(CachedEntry::load(engine, group, log_index)?);
                    }
                    let Some(entry) = &cached else { unreachable!("cached just above") };
                    (arrival_ms, entry.record(group, position)?)
                }
            };
            let size = body.as_body().stored_bytes();
            if !records.is_empty() && bytes + size > bytes_max {
                break 'scan;
            }
            bytes += size;
            next_counter = counter + 1;
            records.push(StoredRecord { sequence_number: SequenceNumber::new(shard, counter), arrival_ms, body });
            if records.len() >= limit {
                break 'scan;
            }
        }
    }
    Ok(StoredBatch { records, next_counter })
}

impl StoredBatch {
    /// The records with every sealed one opened with `key` (the node's). A sealed record
    /// that does not open (no key on this node, another key, altered bytes) fails the whole
    /// read with an error that says so.
    pub fn open(self, group: GroupId, key: Option<&RecordKey>) -> io::Result<ReadBatch> {
        let mut records = Vec::with_capacity(self.records.len());
        for r in self.records {
            let encrypted = r.body.is_sealed();
            let (partition_key, data) = r.body.open(key).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("record {} of {group}: {e}", r.sequence_number))
            })?;
            records.push(OpenedRecord {
                sequence_number: r.sequence_number,
                arrival_ms: r.arrival_ms,
                partition_key,
                data,
                encrypted,
            });
        }
        Ok(ReadBatch { records, next_counter: self.next_counter })
    }
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
