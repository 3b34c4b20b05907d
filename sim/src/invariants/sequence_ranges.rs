//! Every record lies within its shard's sequence number range: at or above its starting
//! sequence number and, once the shard is closed, at or below its EndingSequenceNumber;
//! a child's records come after every parent's end. This is what makes a closed parent
//! final: a write racing a split lands in the parent before its end, or in a child.
//!
//! Checked against ListShards after the heal, for the final reads, every consumer's view,
//! every acknowledgement and every replica's stored records.
//!
//! Source: Kinesis `SequenceNumberRange` ("EndingSequenceNumber: the ending sequence number
//! for the range. Shards that are in the OPEN state have an ending sequence number of
//! null") and GetRecords ("a null NextShardIterator means the shard has been closed and
//! all its records were read"); Runnel seals a parent in its own log before closing it
//! (`node/src/control/reshard.rs`).

use super::{ReplicaContents, Violation, REPORT_MAX};
use crate::oracle::Oracle;

pub const NAME: &str = "records-within-shard-ranges";

pub fn check(oracle: &Oracle, replicas: &ReplicaContents) -> Vec<Violation> {
    let mut out = Vec::new();
    let finals = oracle.final_reads.iter().map(|(s, r)| (s.as_str(), "the final read".to_string(), r));
    let views = oracle.consumer_views.values().map(|v| (v.shard.as_str(), v.consumer.clone(), &v.records));
    let stored = replicas.iter().map(|((s, n), r)| (s.as_str(), format!("replica n{n}"), r));
    for (shard, reader, records) in finals.chain(views).chain(stored) {
        let Some(info) = oracle.shards.get(shard) else { continue };
        let parent_end = info.parents.iter().filter_map(|p| oracle.shards.get(p)?.ending_seq).max();
        for (seq, payload) in records {
            let why = if *seq < info.starting_seq {
                format!("below its starting #{}", info.starting_seq)
            } else if info.ending_seq.is_some_and(|end| *seq > end) {
                format!("past its EndingSequenceNumber #{}", info.ending_seq.unwrap_or_default())
            } else if parent_end.is_some_and(|end| *seq <= end) {
                format!("not above its parents' end #{}", parent_end.unwrap_or_default())
            } else {
                continue;
            };
            out.push(Violation {
                invariant: NAME,
                detail: format!("{reader} of {shard} holds {payload} #{seq}, {why}"),
            });
            if out.len() >= REPORT_MAX {
                return out;
            }
        }
    }
    for (payload, write) in &oracle.writes {
        for ack in &write.acks {
            let Some(info) = oracle.shards.get(&ack.shard) else { continue };
            if ack.seq < info.starting_seq || info.ending_seq.is_some_and(|end| ack.seq > end) {
                out.push(Violation {
                    invariant: NAME,
                    detail: format!(
                        "{payload} acknowledged as {} #{} outside the shard's range #{}..={:?}",
                        ack.shard, ack.seq, info.starting_seq, info.ending_seq
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
