//! Consumers see each shard in order with no gaps: what a consumer read of a shard, across
//! all its iterators, is exactly a prefix of the shard as finally read. With retention on,
//! what the consumer read before the final read's first record may have expired since (a
//! consumer may also have skipped records that expired before it got to them); from
//! there on it must match.
//!
//! Source: Kinesis GetRecords with NextShardIterator / AFTER_SEQUENCE_NUMBER continues
//! where the last read stopped; a committed record is never inserted behind a reader.

use super::Violation;
use crate::oracle::Oracle;

const NAME: &str = "consumer-order";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    let mut out = Vec::new();
    for view in oracle.consumer_views.values() {
        let Some(finals) = oracle.final_reads.get(&view.shard) else { continue };
        let expired = match (oracle.retention, finals.first()) {
            (Some(_), Some((first, _))) => view.records.partition_point(|(seq, _)| seq < first),
            (Some(_), None) => view.records.len(),
            (None, _) => 0,
        };
        for (i, record) in view.records[expired..].iter().enumerate() {
            match finals.get(i) {
                Some(expected) if expected == record => {}
                other => {
                    out.push(Violation {
                        invariant: NAME,
                        detail: format!(
                            "{} read {:?} as record {i} of {}, the shard has {:?} there",
                            view.consumer, record, view.shard, other
                        ),
                    });
                    break;
                }
            }
        }
    }
    out
}
