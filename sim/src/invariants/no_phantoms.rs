//! No phantom records: everything read, by any reader or from any replica, or pushed to a
//! subscriber, was written by a client.
//!
//! Source: a log returns only what was appended to it (Kinesis GetRecords; Raft's State
//! Machine Safety: only committed client entries are applied).

use super::{ReplicaContents, Violation, REPORT_MAX};
use crate::oracle::Oracle;

const NAME: &str = "no-phantoms";

pub fn check(oracle: &Oracle, replicas: &ReplicaContents) -> Vec<Violation> {
    let mut out = Vec::new();
    let finals = oracle.final_reads.iter().flat_map(|(s, r)| r.iter().map(move |x| (format!("final read of {s}"), x)));
    let consumers = oracle
        .consumer_views
        .values()
        .flat_map(|v| v.records.iter().map(move |x| (format!("{} on {}", v.consumer, v.shard), x)));
    let pushed = oracle.subscribers.iter().flat_map(|(name, v)| {
        v.records().map(move |(shard, seq, payload)| (format!("{name} on {shard}"), seq, payload))
    });
    let stored = replicas.iter().flat_map(|((s, n), r)| r.iter().map(move |x| (format!("replica n{n} of {s}"), x)));
    let read = finals.chain(consumers).chain(stored).map(|(reader, (seq, p))| (reader, *seq, p.as_str()));
    for (reader, seq, payload) in read.chain(pushed) {
        if !oracle.writes.contains_key(payload) {
            out.push(Violation {
                invariant: NAME,
                detail: format!("{reader} holds #{seq} {payload:?}, which no client wrote"),
            });
            if out.len() >= REPORT_MAX {
                break;
            }
        }
    }
    out
}
