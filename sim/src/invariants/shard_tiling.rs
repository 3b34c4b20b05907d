//! The open shards of a stream tile the hash-key space exactly, [0, 2^128-1] with no gap
//! and no overlap, and every child shard lies within its parents' ranges and starts above
//! their ending sequence numbers. Checked on every node's applied metadata while the run
//! goes (each time it changes), and on ListShards after the heal.
//!
//! Source: Kinesis SplitShard / MergeShards ("the hash key ranges of the child shards
//! together cover the parent's range"; every hash key maps to exactly one open shard), and
//! `runnel_node::control::reshard::assert_tiles`, mirrored here so that a broken state is a
//! reported violation rather than a panic.

use super::Violation;
use crate::oracle::{Oracle, ShardInfo};
use runnel_node::control::StreamMeta;
use runnel_node::domain::SequenceNumber;
use std::collections::BTreeMap;

pub const NAME: &str = "shards-tile";

/// A stream's shards as a node's metadata holds them, in the form ListShards gives them.
pub fn listing(stream: &StreamMeta) -> BTreeMap<String, ShardInfo> {
    stream
        .shards
        .iter()
        .map(|s| {
            let info = ShardInfo {
                start: s.start_hash,
                end: s.end_hash,
                parents: s.parents.iter().map(|p| p.to_string()).collect(),
                starting_seq: SequenceNumber::new(s.id, s.starting_counter).0,
                ending_seq: s.closed.map(|c| SequenceNumber::new(s.id, c.ending_counter).0),
            };
            (s.id.to_string(), info)
        })
        .collect()
}

/// What is wrong with `shards`, if anything. With `parents_expire` (retention on), a
/// closed parent may be gone: a child is then checked only against parents still there.
pub fn problems(shards: &BTreeMap<String, ShardInfo>, parents_expire: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Vec<(&String, &ShardInfo)> = shards.iter().filter(|(_, s)| s.ending_seq.is_none()).collect();
    open.sort_by_key(|(_, s)| s.start);
    if open.first().map(|(_, s)| s.start) != Some(0) {
        out.push(format!("the open shards do not start at 0: {:?}", open.first()));
    }
    if open.last().map(|(_, s)| s.end) != Some(u128::MAX) {
        out.push(format!("the open shards do not end at 2^128-1: {:?}", open.last()));
    }
    for pair in open.windows(2) {
        let ((a, sa), (b, sb)) = (pair[0], pair[1]);
        if sa.end.checked_add(1) != Some(sb.start) {
            out.push(format!("open shards {a} [.., {}] and {b} [{}, ..] leave a gap or overlap", sa.end, sb.start));
        }
    }
    for (id, child) in shards.iter().filter(|(_, s)| !s.parents.is_empty()) {
        // Parents close together, so they expire together.
        if parents_expire && child.parents.iter().all(|p| !shards.contains_key(p)) {
            continue;
        }
        let parents: Vec<(&String, Option<&ShardInfo>)> = child.parents.iter().map(|p| (p, shards.get(p))).collect();
        let low = parents.iter().filter_map(|(_, p)| p.map(|p| p.start)).min();
        let high = parents.iter().filter_map(|(_, p)| p.map(|p| p.end)).max();
        if !(low.is_some_and(|l| l <= child.start) && high.is_some_and(|h| child.end <= h)) {
            out.push(format!(
                "child {id} [{}, {}] lies outside its parents {:?}",
                child.start, child.end, child.parents
            ));
        }
        for (p, parent) in parents {
            match parent.and_then(|s| s.ending_seq) {
                Some(end) if end < child.starting_seq => {}
                other => out
                    .push(format!("child {id} starts at #{} but its parent {p} ends at {other:?}", child.starting_seq)),
            }
        }
    }
    out
}

/// The shards listed after the heal.
pub fn check(oracle: &Oracle) -> Vec<Violation> {
    problems(&oracle.shards, oracle.retention.is_some())
        .into_iter()
        .map(|p| Violation { invariant: NAME, detail: format!("ListShards after healing: {p}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(start: u128, end: u128, parents: &[&str], seqs: (u128, Option<u128>)) -> ShardInfo {
        ShardInfo {
            start,
            end,
            parents: parents.iter().map(|p| p.to_string()).collect(),
            starting_seq: seqs.0,
            ending_seq: seqs.1,
        }
    }

    #[test]
    fn a_split_tiles_and_gaps_overlaps_and_strays_are_caught() {
        let half = u128::MAX / 2;
        let mut shards = BTreeMap::from([
            ("a".to_string(), shard(0, u128::MAX, &[], (1, Some(10)))),
            ("b".to_string(), shard(0, half, &["a"], (11, None))),
            ("c".to_string(), shard(half + 1, u128::MAX, &["a"], (11, None))),
        ]);
        assert!(problems(&shards, false).is_empty(), "{:?}", problems(&shards, false));
        shards.get_mut("c").unwrap().start = half + 2;
        assert_eq!(problems(&shards, false).len(), 1, "a gap");
        shards.get_mut("c").unwrap().start = half;
        assert_eq!(problems(&shards, false).len(), 1, "an overlap");
        shards.get_mut("c").unwrap().start = half + 1;
        shards.get_mut("b").unwrap().starting_seq = 10;
        assert_eq!(problems(&shards, false).len(), 1, "a child starting at its parent's end");
        shards.get_mut("b").unwrap().starting_seq = 11;
        shards.get_mut("a").unwrap().end = half;
        assert_eq!(problems(&shards, false).len(), 1, "c outside its parent");
        // Once its parent expired, a child is not judged against it; without retention a
        // missing parent is a problem.
        shards.get_mut("c").unwrap().start = half + 1;
        shards.remove("a");
        assert!(problems(&shards, true).is_empty(), "{:?}", problems(&shards, true));
        assert_eq!(problems(&shards, false).len(), 4);
    }
}
