//! Per partition key, order holds across generations: when one write's acknowledgement
//! came before another write of the same key was first sent, a reader that follows the
//! lineage (parents to their ends, then children) reads the first before the second. The
//! final reader reads that way; this judges its reads (the acknowledged copy of each).
//!
//! Within a shard this is the shard's order; across a split or merge it holds only if a
//! parent takes no write after its children opened, which is what sealing the parent
//! before closing it is for.
//!
//! Source: Kinesis ("a partition key ... groups data by shard"; records with the same
//! partition key go to the same shard, read in order) and its resharding guidance: "read
//! all data from the parent shards before you read data from the child shards ... to read
//! records for a given partition key in the order they were written".

use super::{Violation, REPORT_MAX};
use crate::oracle::Oracle;
use std::collections::BTreeMap;
use std::time::Duration;

pub const NAME: &str = "key-order";

/// An acknowledged copy of a write: where the final read had it, when it was acknowledged,
/// and when the write was first sent.
struct Copy<'a> {
    payload: &'a str,
    position: usize,
    acked: Duration,
    first_sent: Duration,
}

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    // The final read as one sequence, in the order it read the shards.
    let mut position: BTreeMap<(&str, u128), usize> = BTreeMap::new();
    for shard in &oracle.final_order {
        for (seq, _) in oracle.final_reads.get(shard).into_iter().flatten() {
            let next = position.len();
            position.entry((shard.as_str(), *seq)).or_insert(next);
        }
    }
    let mut by_key: BTreeMap<&str, Vec<Copy>> = BTreeMap::new();
    for (payload, write) in &oracle.writes {
        for ack in &write.acks {
            // A copy that is not there is no-lost-acks' to report.
            let Some(p) = position.get(&(ack.shard.as_str(), ack.seq)) else { continue };
            by_key.entry(write.partition_key.as_str()).or_default().push(Copy {
                payload,
                position: *p,
                acked: ack.at,
                first_sent: write.first_attempt_at,
            });
        }
    }
    let mut out = Vec::new();
    for (key, copies) in &by_key {
        for a in copies {
            let later = copies.iter().find(|b| a.acked < b.first_sent && b.position < a.position);
            if let Some(b) = later {
                out.push(Violation {
                    invariant: NAME,
                    detail: format!(
                        "key {key}: {} was acknowledged at {:.3}s, {} first sent at {:.3}s, yet read before it",
                        a.payload,
                        a.acked.as_secs_f64(),
                        b.payload,
                        b.first_sent.as_secs_f64()
                    ),
                });
                if out.len() >= REPORT_MAX {
                    return out;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{Ack, Write};

    fn write(o: &mut Oracle, payload: &str, shard: &str, seq: u128, sent_ms: u64, acked_ms: u64) {
        o.writes.insert(
            payload.to_string(),
            Write {
                partition_key: "k".into(),
                attempts: 1,
                first_attempt_at: Duration::from_millis(sent_ms),
                acks: vec![Ack { shard: shard.into(), seq, at: Duration::from_millis(acked_ms) }],
                ..Default::default()
            },
        );
        o.final_reads.entry(shard.to_string()).or_default().push((seq, payload.to_string()));
    }

    #[test]
    fn a_later_write_read_in_the_parent_after_an_earlier_one_in_the_child_is_caught() {
        let mut o = Oracle { final_order: vec!["parent".into(), "child".into()], ..Default::default() };
        write(&mut o, "a", "parent", 1, 0, 10);
        write(&mut o, "b", "child", 50, 20, 30);
        assert!(check(&o).is_empty());
        // Sent after b was acknowledged, yet it landed in the parent (read first).
        write(&mut o, "c", "parent", 2, 40, 45);
        assert_eq!(check(&o).len(), 1, "{:?}", check(&o));
        // Concurrent writes may land in either order.
        o.writes.get_mut("c").unwrap().first_attempt_at = Duration::from_millis(25);
        assert!(check(&o).is_empty());
    }
}
