//! Applying an `Append` entry: every replica runs this on the same committed entries in the
//! same order, so every replica assigns the same sequence numbers and arrival times.

use super::{IndexValue, ShardApplied, ShardShared};
use crate::domain::SequenceNumber;
use crate::raft::encode;
use crate::raft::types::AppendBatch;
use crate::storage::{keys, Batch, Cf};
use std::io;

/// Assigns sequence numbers to `batch` (the entry at `log_index`), adds its index rows to
/// `out` and advances `applied`. Returns the numbers, record for record.
pub fn apply_append(
    shard: &ShardShared,
    log_index: u64,
    batch: &AppendBatch,
    applied: &mut ShardApplied,
    out: &mut Batch,
) -> io::Result<Vec<SequenceNumber>> {
    let mut sequence_numbers = Vec::with_capacity(batch.records.len());
    // Arrival times never go backwards within a shard, whatever the leaders' clocks did,
    // so AT_TIMESTAMP can rely on index order.
    let arrival_ms = batch.arrival_ms.max(applied.last_arrival_ms);
    for (position, record) in batch.records.iter().enumerate() {
        let mut counter = applied.last_counter.saturating_add(1).max(shard.starting_counter);
        if let Some(after) = record.after {
            // SequenceNumberForOrdering: strictly above the given number's counter.
            counter = counter.max(after.counter().saturating_add(1));
        }
        assert!(counter > applied.last_counter, "sequence numbers must strictly increase");
        out.put(
            Cf::Index,
            keys::numbered(shard.group, counter),
            encode(&IndexValue::InLog { log_index, position: position as u32, arrival_ms })?,
        );
        applied.last_counter = counter;
        sequence_numbers.push(SequenceNumber::new(shard.shard, counter));
    }
    applied.last_arrival_ms = arrival_ms;
    Ok(sequence_numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{GroupId, ShardId};
    use crate::raft::types::NewRecord;

    fn record(after: Option<SequenceNumber>) -> NewRecord {
        NewRecord { partition_key: "k".into(), data: b"d".to_vec(), after }
    }

    #[test]
    fn numbers_increase_strictly_and_honour_sequence_number_for_ordering() {
        let shard = ShardShared::new(GroupId(3), ShardId(2), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        let mut out = Batch::default();
        let batch = AppendBatch { arrival_ms: 100, records: vec![record(None), record(None)] };
        let first = apply_append(&shard, 5, &batch, &mut applied, &mut out).unwrap();
        assert_eq!(first, vec![SequenceNumber::new(ShardId(2), 1), SequenceNumber::new(ShardId(2), 2)]);
        // A producer's previous number from another shard with a higher counter.
        let ahead = SequenceNumber::new(ShardId(9), 50);
        let batch = AppendBatch { arrival_ms: 90, records: vec![record(Some(ahead)), record(None)] };
        let second = apply_append(&shard, 6, &batch, &mut applied, &mut out).unwrap();
        assert_eq!(second[0].counter(), 51);
        assert_eq!(second[1].counter(), 52);
        assert!(second[0] > ahead || second[0].counter() > ahead.counter());
        // The clock went backwards; arrival time did not.
        assert_eq!(applied.last_arrival_ms, 100);
        assert_eq!(out.ops.len(), 4);
    }

    #[test]
    fn replicas_applying_the_same_entries_agree() {
        let run = || {
            let shard = ShardShared::new(GroupId(1), ShardId(0), 1, ShardApplied::default());
            let mut applied = ShardApplied::default();
            let mut out = Batch::default();
            let mut all = Vec::new();
            for i in 0..10 {
                let batch = AppendBatch { arrival_ms: i, records: vec![record(None); (i % 3 + 1) as usize] };
                all.extend(apply_append(&shard, i as u64, &batch, &mut applied, &mut out).unwrap());
            }
            all
        };
        assert_eq!(run(), run());
    }
}
