//! Per shard, sequence numbers strictly increase, and one sequence number always names the
//! same record, whoever reads it (final reader, consumers, every replica) and whenever.
//!
//! Source: Kinesis ("sequence numbers ... increase over time", unique per stream) and
//! Raft's Log Matching / State Machine Safety (replicas apply the same entries in the same
//! order, so they assign the same numbers).

use super::{ReplicaContents, Violation, REPORT_MAX};
use crate::oracle::Oracle;
use std::collections::BTreeMap;

const NAME: &str = "sequence-numbers";

pub fn check(oracle: &Oracle, replicas: &ReplicaContents) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut named: BTreeMap<u128, (String, String)> = BTreeMap::new();
    let mut observe = |seq: u128, payload: &str, who: String, out: &mut Vec<Violation>| match named.get(&seq) {
        Some((p, first)) if *p != payload => out.push(Violation {
            invariant: NAME,
            detail: format!("#{seq} is {p:?} for {first} but {payload:?} for {who}"),
        }),
        Some(_) => {}
        None => {
            named.insert(seq, (payload.to_string(), who));
        }
    };
    let ordered = oracle
        .final_reads
        .iter()
        .map(|(shard, records)| (format!("final read of {shard}"), records))
        .chain(replicas.iter().map(|((shard, node), records)| (format!("replica n{node} of {shard}"), records)));
    for (reader, records) in ordered {
        if let Some(w) = records.windows(2).find(|w| w[0].0 >= w[1].0) {
            out.push(Violation { invariant: NAME, detail: format!("{reader}: #{} then #{}", w[0].0, w[1].0) });
        }
        for (seq, p) in records {
            observe(*seq, p, reader.clone(), &mut out);
        }
    }
    for view in oracle.consumer_views.values() {
        for (seq, p) in &view.records {
            observe(*seq, p, format!("{} on {}", view.consumer, view.shard), &mut out);
        }
    }
    for (payload, write) in &oracle.writes {
        for ack in &write.acks {
            observe(ack.seq, payload, format!("the ack on {}", ack.shard), &mut out);
        }
    }
    out.truncate(REPORT_MAX);
    out
}
