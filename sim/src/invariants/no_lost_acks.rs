//! No acknowledged write is lost, and it is where it was acknowledged.
//!
//! Source: Runnel's durability promise (acknowledge only after a quorum synced), and
//! Kinesis PutRecord/PutRecords: the returned ShardId and SequenceNumber identify the
//! record. Routing: a record lands on a shard whose hash range holds MD5(partition key)
//! (the open one when it was written: a parent or one of its children). The final reads
//! follow the lineage, so records in closed shards count.
//! Writes whose outcome the client never learned are unknown and not checked here. With
//! retention on, a write first sent more than a retention period before the final reads
//! ended may have expired; every later one must be there.

use super::{Violation, REPORT_MAX};
use crate::oracle::Oracle;
use runnel_proto::hash_key::HashKey;
use std::collections::BTreeSet;
use std::time::Duration;

const NAME: &str = "no-lost-acks";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    let mut out = Vec::new();
    let present: BTreeSet<(&str, u128, &str)> = oracle
        .final_reads
        .iter()
        .flat_map(|(shard, records)| records.iter().map(move |(seq, p)| (shard.as_str(), *seq, p.as_str())))
        .collect();
    let done = oracle.final_reads_done.unwrap_or(Duration::MAX);
    for (payload, write) in &oracle.writes {
        let expired = oracle.may_have_expired(write.first_attempt_at, done);
        for ack in &write.acks {
            let (shard, seq) = (&ack.shard, &ack.seq);
            if !expired && !present.contains(&(shard.as_str(), *seq, payload.as_str())) {
                out.push(Violation {
                    invariant: NAME,
                    detail: format!("{payload} acknowledged as {shard} #{seq} is not there"),
                });
            }
            let key = HashKey::of_partition_key(&write.partition_key).0;
            let range = oracle.shards.get(shard).map(|s| (s.start, s.end));
            if range.is_some_and(|(start, end)| !(start <= key && key <= end)) {
                out.push(Violation {
                    invariant: NAME,
                    detail: format!(
                        "{payload} (key {}) acknowledged on {shard}, whose range {range:?} does not hold it",
                        write.partition_key
                    ),
                });
            }
        }
        if out.len() >= REPORT_MAX {
            break;
        }
    }
    out
}
