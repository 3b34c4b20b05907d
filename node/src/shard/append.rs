//! Applying an `Append` entry: every replica runs this on the same committed entries in the
//! same order, so every replica assigns the same sequence numbers and arrival times, and
//! refuses the same commands.
//!
//! Nothing a client sends may reach an assertion here: the edge validates requests, and
//! whatever gets past it (a bug, a peer of another release) is refused deterministically
//! with `AppendRefused`, leaving the shard untouched. The assertions that remain state what
//! this code guarantees by construction.

use super::batch::{BatchView, RecordBody, SEALED_BYTES_MIN};
use super::index::IndexValue;
use super::{ShardApplied, ShardShared};
use crate::domain::SequenceNumber;
use crate::limits::{PARTITION_KEY_CHARS_MAX, PARTITION_KEY_CHARS_MIN, PUT_RECORDS_COUNT_MAX, RECORD_DATA_BYTES_MAX};
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Batch, Cf};
use serde::{Deserialize, Serialize};

/// Why a committed `Append` was not applied. Every replica refuses it the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppendRefused {
    /// SequenceNumberForOrdering names a number this shard never issued.
    #[error("SequenceNumberForOrdering {0} was not issued by this shard")]
    NotIssued(SequenceNumber),
    /// The records break a limit the edge enforces.
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The shard's counter space is used up (2^64 numbers).
    #[error("the shard has issued every sequence number it can")]
    Exhausted,
    /// The shard was sealed by a reshard; its children take the records.
    #[error("the shard is closed")]
    Sealed,
}

/// A sealed record holds a partition key of 1 to 256 characters (4 bytes each at most) and
/// at most `RECORD_DATA_BYTES_MAX` bytes of data.
const SEALED_MIN: usize = SEALED_BYTES_MIN + PARTITION_KEY_CHARS_MIN;
const SEALED_MAX: usize = SEALED_BYTES_MIN + 4 * PARTITION_KEY_CHARS_MAX + RECORD_DATA_BYTES_MAX;

fn check_limits(batch: &BatchView<'_>) -> Result<(), AppendRefused> {
    let count = batch.records.len();
    if !(1..=PUT_RECORDS_COUNT_MAX).contains(&count) {
        return Err(AppendRefused::Invalid(format!("{count} records")));
    }
    for r in &batch.records {
        match r.body {
            RecordBody::Plain { partition_key, data } => {
                let chars = partition_key.chars().count();
                if !(PARTITION_KEY_CHARS_MIN..=PARTITION_KEY_CHARS_MAX).contains(&chars) {
                    return Err(AppendRefused::Invalid(format!("a partition key of {chars} characters")));
                }
                if data.len() > RECORD_DATA_BYTES_MAX {
                    return Err(AppendRefused::Invalid(format!("{} bytes of data", data.len())));
                }
            }
            // Applying never opens a record: the bounds of the sealed size stand for the
            // limits the edge checked on the plaintext.
            RecordBody::Sealed(sealed) if !(SEALED_MIN..=SEALED_MAX).contains(&sealed.len()) => {
                return Err(AppendRefused::Invalid(format!("a sealed record of {} bytes", sealed.len())));
            }
            RecordBody::Sealed(_) => {}
        }
    }
    Ok(())
}

/// The counters `batch` gets after `last_counter`, or why it gets none.
fn counters(shard: &ShardShared, batch: &BatchView<'_>, mut last_counter: u64) -> Result<Vec<u64>, AppendRefused> {
    let mut out = Vec::with_capacity(batch.records.len());
    for record in &batch.records {
        let mut counter = last_counter.checked_add(1).ok_or(AppendRefused::Exhausted)?.max(shard.starting_counter);
        if let Some(after) = record.after {
            // Strictly above the given number. A number of this shard must have been issued;
            // one of another shard was checked against that shard at the edge, and its
            // counter fits in 64 bits if Runnel issued it.
            if after.shard() == shard.shard && after.counter() > last_counter {
                return Err(AppendRefused::NotIssued(after));
            }
            let above =
                after.counter_checked().and_then(|c| c.checked_add(1)).ok_or(AppendRefused::NotIssued(after))?;
            counter = counter.max(above);
        }
        if counter == u64::MAX {
            return Err(AppendRefused::Exhausted);
        }
        assert!(counter > last_counter, "sequence numbers must strictly increase");
        assert!(counter >= shard.starting_counter, "counters start at the shard's starting counter");
        out.push(counter);
        last_counter = counter;
    }
    Ok(out)
}

/// Assigns sequence numbers to `batch` (the entry at `log_index`), adds its index and time
/// rows to `out` and advances `applied`. On refusal neither `out` nor `applied` changes.
pub fn apply_append(
    shard: &ShardShared,
    log_index: u64,
    batch: &BatchView<'_>,
    applied: &mut ShardApplied,
    out: &mut Batch,
) -> Result<Vec<SequenceNumber>, AppendRefused> {
    if applied.sealed {
        return Err(AppendRefused::Sealed);
    }
    check_limits(batch)?;
    let counters = counters(shard, batch, applied.last_counter)?;
    // Arrival times never go backwards within a shard, whatever the leaders' clocks did,
    // so the time rows can be searched in order.
    let arrival_ms = batch.arrival_ms.max(applied.last_arrival_ms);
    assert!(arrival_ms >= applied.last_arrival_ms, "arrival times never decrease");
    if arrival_ms > applied.last_arrival_ms || applied.last_counter == 0 {
        // The first record at a new arrival time: the seek target of AT_TIMESTAMP.
        out.put(Cf::Index, keys::arrival(shard.group, arrival_ms, counters[0]), Vec::new());
    }
    let mut sequence_numbers = Vec::with_capacity(counters.len());
    for (position, counter) in counters.into_iter().enumerate() {
        // At most PUT_RECORDS_COUNT_MAX records per batch, checked above.
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        let row = IndexValue::InLog { log_index, position, arrival_ms };
        out.put(Cf::Index, keys::numbered(shard.group, KeyKind::Record, counter), row.encode());
        applied.last_counter = counter;
        sequence_numbers.push(SequenceNumber::new(shard.shard, counter));
    }
    applied.last_arrival_ms = arrival_ms;
    Ok(sequence_numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::RecordKey;
    use crate::domain::{GroupId, ShardId};
    use crate::shard::batch::{AppendBatch, NewRecord};

    fn record(after: Option<SequenceNumber>) -> NewRecord {
        NewRecord { partition_key: "k".into(), data: b"d".to_vec(), after }
    }

    /// A batch stored in clear.
    fn plain(arrival_ms: i64, records: Vec<NewRecord>) -> AppendBatch {
        AppendBatch { arrival_ms, records, seal_with: None }
    }

    fn encoded(batch: &AppendBatch) -> Vec<u8> {
        let mut out = Vec::new();
        batch.encode_into(&mut out).unwrap();
        out
    }

    fn apply(
        shard: &ShardShared,
        index: u64,
        batch: &AppendBatch,
        applied: &mut ShardApplied,
        out: &mut Batch,
    ) -> Result<Vec<SequenceNumber>, AppendRefused> {
        let bytes = encoded(batch);
        apply_append(shard, index, &BatchView::decode(&bytes).unwrap(), applied, out)
    }

    #[test]
    fn numbers_increase_strictly_and_honour_sequence_number_for_ordering() {
        let shard = ShardShared::new(GroupId(3), ShardId(2), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        let mut out = Batch::default();
        let batch = plain(100, vec![record(None), record(None)]);
        let first = apply(&shard, 5, &batch, &mut applied, &mut out).unwrap();
        assert_eq!(first, vec![SequenceNumber::new(ShardId(2), 1), SequenceNumber::new(ShardId(2), 2)]);
        // A producer's previous number from another shard with a higher counter.
        let ahead = SequenceNumber::new(ShardId(9), 50);
        let batch = plain(90, vec![record(Some(ahead)), record(None)]);
        let second = apply(&shard, 6, &batch, &mut applied, &mut out).unwrap();
        assert_eq!(second[0].counter(), 51);
        assert_eq!(second[1].counter(), 52);
        // This shard's own issued number: the next one is above it anyway.
        let own = SequenceNumber::new(ShardId(2), 52);
        let third = apply(&shard, 7, &plain(95, vec![record(Some(own))]), &mut applied, &mut out);
        assert_eq!(third.unwrap()[0].counter(), 53);
        // The clock went backwards; arrival time did not.
        assert_eq!(applied.last_arrival_ms, 100);
        // 5 index rows, and one time row: later batches arrived at the same time.
        assert_eq!(out.ops.len(), 6);
    }

    /// The fault: SequenceNumberForOrdering = 2^128-1 pushed the counter to u64::MAX and the
    /// next put panicked inside apply, stopping the shard for good on every replica.
    #[test]
    fn numbers_never_issued_are_refused_and_the_shard_keeps_working() {
        let shard = ShardShared::new(GroupId(3), ShardId(0), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        let mut out = Batch::default();
        apply(&shard, 1, &plain(1, vec![record(None)]), &mut applied, &mut out).unwrap();
        let before = (applied.clone(), out.ops.len());
        for bad in [
            SequenceNumber(u128::MAX),
            SequenceNumber::new(ShardId(0), 2),
            SequenceNumber::new(ShardId(0), u64::MAX),
            SequenceNumber::new(ShardId(7), u64::MAX),
            SequenceNumber::new(ShardId(7), u64::MAX - 1),
        ] {
            let batch = plain(2, vec![record(Some(bad))]);
            let refused = apply(&shard, 2, &batch, &mut applied, &mut out).unwrap_err();
            assert!(matches!(refused, AppendRefused::NotIssued(_) | AppendRefused::Exhausted), "{bad}: {refused:?}");
            assert_eq!((applied.clone(), out.ops.len()), before, "a refusal changes nothing");
        }
        let next = apply(&shard, 3, &plain(3, vec![record(None)]), &mut applied, &mut out);
        assert_eq!(next.unwrap()[0].counter(), 2, "the shard goes on from where it was");
    }

    /// After the seal of a reshard, every append is refused the same way on every replica
    /// and nothing changes, so the shard's end is its newest record at the seal.
    #[test]
    fn a_sealed_shard_refuses_every_append_and_stays_as_it_was() {
        let shard = ShardShared::new(GroupId(3), ShardId(0), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        let mut out = Batch::default();
        apply(&shard, 1, &plain(1, vec![record(None)]), &mut applied, &mut out).unwrap();
        applied.sealed = true;
        let before = (applied.clone(), out.ops.len());
        for batch in [
            plain(2, vec![record(None)]),
            AppendBatch {
                arrival_ms: 2,
                records: vec![record(Some(SequenceNumber::new(ShardId(0), 1)))],
                seal_with: None,
            },
            plain(2, vec![]),
        ] {
            assert_eq!(apply(&shard, 2, &batch, &mut applied, &mut out), Err(AppendRefused::Sealed));
            assert_eq!((applied.clone(), out.ops.len()), before);
        }
    }

    #[test]
    fn limits_are_enforced_again_when_applying() {
        let shard = ShardShared::new(GroupId(3), ShardId(0), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        let mut out = Batch::default();
        let cases = [
            plain(1, vec![]),
            plain(1, vec![record(None); PUT_RECORDS_COUNT_MAX + 1]),
            AppendBatch {
                arrival_ms: 1,
                records: vec![NewRecord { partition_key: String::new(), data: vec![], after: None }],
                seal_with: None,
            },
            AppendBatch {
                arrival_ms: 1,
                records: vec![NewRecord {
                    partition_key: "k".into(),
                    data: vec![0; RECORD_DATA_BYTES_MAX + 1],
                    after: None,
                }],
                seal_with: None,
            },
            // Sealed: too small to hold a key, too large to hold a record the edge accepts.
            AppendBatch {
                arrival_ms: 1,
                records: vec![NewRecord { partition_key: String::new(), data: vec![], after: None }],
                seal_with: Some(RecordKey::generate()),
            },
            AppendBatch {
                arrival_ms: 1,
                records: vec![NewRecord {
                    partition_key: "k".into(),
                    data: vec![0; RECORD_DATA_BYTES_MAX + 4 * PARTITION_KEY_CHARS_MAX],
                    after: None,
                }],
                seal_with: Some(RecordKey::generate()),
            },
        ];
        for batch in cases {
            assert!(matches!(apply(&shard, 1, &batch, &mut applied, &mut out), Err(AppendRefused::Invalid(_))));
        }
        assert!(out.ops.is_empty());
        assert_eq!(applied, ShardApplied::default());
    }

    /// Applying a sealed batch needs no key: sequence numbers and rows come from the
    /// clear parts (`after`, arrival time) alone.
    #[test]
    fn sealed_records_apply_without_the_key() {
        let shard = ShardShared::new(GroupId(3), ShardId(2), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        let mut out = Batch::default();
        let ahead = SequenceNumber::new(ShardId(9), 50);
        let batch = AppendBatch {
            arrival_ms: 100,
            records: vec![
                record(None),
                NewRecord {
                    partition_key: "é".repeat(PARTITION_KEY_CHARS_MAX),
                    data: vec![1; RECORD_DATA_BYTES_MAX],
                    after: Some(ahead),
                },
            ],
            seal_with: Some(RecordKey::generate()),
        };
        let numbers = apply(&shard, 5, &batch, &mut applied, &mut out).unwrap();
        assert_eq!(numbers.iter().map(|n| n.counter()).collect::<Vec<_>>(), vec![1, 51]);
        assert_eq!(applied.last_counter, 51);
    }

    #[test]
    fn replicas_applying_the_same_entries_agree() {
        let run = || {
            let shard = ShardShared::new(GroupId(1), ShardId(0), 1, ShardApplied::default());
            let mut applied = ShardApplied::default();
            let mut out = Batch::default();
            let mut all = Vec::new();
            for i in 0..10 {
                let batch = plain(i, vec![record(None); (i % 3 + 1) as usize]);
                all.extend(apply(&shard, i as u64, &batch, &mut applied, &mut out).unwrap());
            }
            all
        };
        assert_eq!(run(), run());
    }
}
