//! Each subscriber gets each shard in sequence order and nothing twice: per shard, the
//! sequence numbers pushed strictly increase across every subscription (renewals and
//! failovers resume after the last one, never at or before it); nothing of a shard comes
//! after its end; a shard ends once, naming exactly its children; and a shard's records
//! come only after every parent ended (lineage: per partition key, a child's records
//! follow its parents').
//!
//! Source: the enhanced fan-out promise ("every consumer receives every acknowledged
//! record exactly once per shard in sequence order, across renewals and failovers"), and
//! Kinesis's resharding rule that readers finish parents before children
//! (SubscribeToShard's ContinuationSequenceNumber and ChildShards).

use super::{Violation, REPORT_MAX};
use crate::oracle::{Delivered, Oracle};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "subscription-order";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    let mut out = Vec::new();
    for (name, view) in &oracle.subscribers {
        let mut newest: BTreeMap<&str, u128> = BTreeMap::new();
        let mut ended: BTreeSet<&str> = BTreeSet::new();
        let mut problems = Vec::new();
        for delivered in &view.deliveries {
            match delivered {
                Delivered::Record { shard, seq, payload, at } => {
                    let when = format!("{name} was pushed {payload} ({shard} #{seq}) at {:.3}s", at.as_secs_f64());
                    if ended.contains(shard.as_str()) {
                        problems.push(format!("{when}, after {shard} ended"));
                    }
                    if let Some(before) = newest.get(shard.as_str()).filter(|before| *seq <= **before) {
                        problems.push(format!("{when}, after #{before} of that shard"));
                    }
                    let parents = oracle.shards.get(shard).map(|s| s.parents.as_slice()).unwrap_or_default();
                    for parent in parents {
                        // A parent retention forgot before the listings is not waited for.
                        if oracle.shards.contains_key(parent) && !ended.contains(parent.as_str()) {
                            problems.push(format!("{when}, before its parent {parent} ended"));
                        }
                    }
                    newest.insert(shard.as_str(), *seq);
                }
                Delivered::Ended { shard, children, at } => {
                    let when = format!("{name} was told {shard} ended at {:.3}s", at.as_secs_f64());
                    if !ended.insert(shard.as_str()) {
                        problems.push(format!("{when}, again"));
                    }
                    if oracle.shards.get(shard).is_some_and(|info| info.ending_seq.is_none()) {
                        problems.push(format!("{when}; it is open"));
                    }
                    let named: BTreeSet<&str> = children.iter().map(String::as_str).collect();
                    let actual: BTreeSet<&str> = oracle
                        .shards
                        .iter()
                        .filter(|(_, s)| s.parents.contains(shard))
                        .map(|(id, _)| id.as_str())
                        .collect();
                    if named != actual {
                        problems.push(format!("{when} with children {named:?}; its children are {actual:?}"));
                    }
                }
            }
        }
        out.extend(problems.into_iter().take(REPORT_MAX).map(|detail| Violation { invariant: NAME, detail }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::{ended, fan_out_run, pushed};

    fn found(change: impl FnOnce(&mut Vec<Delivered>)) -> Vec<String> {
        let mut o = fan_out_run();
        change(&mut o.subscribers.get_mut("s").unwrap().deliveries);
        check(&o).into_iter().map(|v| v.detail).collect()
    }

    #[test]
    fn repeats_reordering_and_children_before_their_parents_end_are_caught() {
        assert!(found(|_| {}).is_empty());
        // A resume at (not after) the continuation number pushes #2 again.
        let repeat = found(|d| d.insert(2, pushed("p", 2, "b")));
        assert!(repeat[0].contains("after #2 of that shard"), "{repeat:?}");
        assert!(found(|d| d.swap(0, 1))[0].contains("after #2 of that shard"));
        // The child's record before its parent's end, and a record after that end.
        let early = found(|d| d.swap(2, 3));
        assert!(early.iter().any(|v| v.contains("before its parent p ended")), "{early:?}");
        assert!(found(|d| d.push(pushed("p", 3, "b")))[0].contains("after p ended"));
        // Ends twice, ends an open shard, or names other children.
        assert!(found(|d| d.push(ended("p", &["c"])))[0].contains("again"));
        assert!(found(|d| d.push(ended("c", &[])))[0].contains("it is open"));
        assert!(found(|d| d[2] = ended("p", &[]))[0].contains("its children are {\"c\"}"));
    }
}
