//! Reading a shard: walk the index from a counter, load each record from its Raft entry.

use super::IndexValue;
use crate::domain::{GroupId, SequenceNumber, ShardId};
use crate::raft::decode;
use crate::raft::log_store::read_entry;
use crate::raft::types::{Entry, Request};
use crate::storage::{keys, Cf, Engine};
use openraft::EntryPayload;
use std::io;

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

fn corrupt(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Up to `limit` records and about `bytes_max` bytes of data, from `from_counter` on. At
/// least one record is returned when one exists, whatever its size.
pub fn read_records(
    engine: &dyn Engine,
    group: GroupId,
    shard: ShardId,
    from_counter: u64,
    limit: usize,
    bytes_max: usize,
) -> io::Result<ReadBatch> {
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut next_counter = from_counter;
    let mut cached: Option<(u64, Entry)> = None;
    let end = keys::group_end(group);
    'scan: while records.len() < limit {
        let rows = engine.scan(Cf::Index, &keys::numbered(group, next_counter), &end, SCAN_CHUNK_ROWS)?;
        if rows.is_empty() {
            break;
        }
        for (key, value) in rows {
            let counter = keys::numbered_part(&key).ok_or_else(|| corrupt("short index key".into()))?;
            let (arrival_ms, partition_key, data) = match decode::<IndexValue>(&value)? {
                IndexValue::Inline { arrival_ms, partition_key, data } => (arrival_ms, partition_key, data),
                IndexValue::InLog { log_index, position, arrival_ms } => {
                    if cached.as_ref().map(|(i, _)| *i) != Some(log_index) {
                        let entry = read_entry(engine, group, log_index)?.ok_or_else(|| {
                            corrupt(format!("{group}: index points at missing log entry {log_index}"))
                        })?;
                        cached = Some((log_index, entry));
                    }
                    let Some((_, entry)) = &cached else { unreachable!("cached just above") };
                    let EntryPayload::Normal(Request::Append(batch)) = &entry.payload else {
                        return Err(corrupt(format!("{group}: log entry {log_index} holds no records")));
                    };
                    let record = batch
                        .records
                        .get(position as usize)
                        .ok_or_else(|| corrupt(format!("{group}: entry {log_index} has no record {position}")))?;
                    (arrival_ms, record.partition_key.clone(), record.data.clone())
                }
            };
            let size = data.len() + partition_key.len();
            if !records.is_empty() && bytes + size > bytes_max {
                break 'scan;
            }
            bytes += size;
            assert!(counter >= next_counter, "index must be read in order");
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
/// every record is older.
pub fn first_counter_at_or_after(engine: &dyn Engine, group: GroupId, timestamp_ms: i64) -> io::Result<Option<u64>> {
    let end = keys::group_end(group);
    let mut from = keys::numbered(group, 0);
    // Arrival times never decrease along the index (see append.rs), so the first match wins.
    loop {
        let rows = engine.scan(Cf::Index, &from, &end, SCAN_CHUNK_ROWS)?;
        let Some((last_key, _)) = rows.last() else { return Ok(None) };
        let last_counter = keys::numbered_part(last_key).ok_or_else(|| corrupt("short index key".into()))?;
        for (key, value) in &rows {
            if decode::<IndexValue>(value)?.arrival_ms() >= timestamp_ms {
                return Ok(keys::numbered_part(key));
            }
        }
        from = keys::numbered(group, last_counter + 1);
    }
}

/// Arrival time of the first record at or after `counter`, from its index row alone (no
/// log entry is loaded), if there is such a record.
pub fn next_arrival(engine: &dyn Engine, group: GroupId, counter: u64) -> io::Result<Option<i64>> {
    let rows = engine.scan(Cf::Index, &keys::numbered(group, counter), &keys::group_end(group), 1)?;
    match rows.first() {
        Some((_, value)) => Ok(Some(decode::<IndexValue>(value)?.arrival_ms())),
        None => Ok(None),
    }
}
