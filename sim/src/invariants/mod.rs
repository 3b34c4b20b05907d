//! The promises a run is checked against, one per file, each naming where it comes from.
//!
//! Checked while the run goes (`crate::sampler` feeds them every few steps): election
//! safety, log matching, committed entries never change, applied index only grows, open
//! shards tile the key space (also after the run). The rest judge the oracle and the
//! replicas' final contents after the run; the `subscription_*` ones what the fan-out
//! subscribers were pushed.

pub mod applied_monotonic;
pub mod committed_immutable;
mod consumer_order;
mod duplicates;
pub mod election_safety;
pub mod expired_stay_gone;
mod key_order;
mod liveness;
pub mod log_matching;
mod no_lost_acks;
mod no_phantoms;
mod sequence_numbers;
mod sequence_ranges;
pub mod shard_tiling;
pub mod stale_reads;
mod subscription_committed;
mod subscription_complete;
mod subscription_order;

use crate::oracle::Oracle;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.invariant, self.detail)
    }
}

/// A committed Raft entry as one replica stores it: its term (the committed leader id
/// under standard single-leader terms) and a hash of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedEntry {
    pub group: u64,
    pub index: u64,
    pub term: u64,
    pub hash: u64,
}

impl CommittedEntry {
    pub fn same_as(&self, other: &CommittedEntry) -> bool {
        self.term == other.term && self.hash == other.hash
    }
}

/// Every record each replica stores, read from its engine after the run:
/// (shard id, node) -> [(sequence number, payload)] in index order.
pub type ReplicaContents = BTreeMap<(String, u64), Vec<(u128, String)>>;

/// Checks every invariant judged after the run, and adds those found while it went; also
/// returns how many duplicates retries caused. A run that did not complete (a node
/// panicked) never reached its final reads: only what it observed until then is judged.
pub fn check_all(oracle: &Oracle, replicas: &ReplicaContents, completed: bool) -> (Vec<Violation>, usize) {
    let mut violations = oracle.live_violations.clone();
    violations.extend(no_phantoms::check(oracle, replicas));
    violations.extend(sequence_numbers::check(oracle, replicas));
    violations.extend(stale_reads::check(oracle));
    violations.extend(sequence_ranges::check(oracle, replicas));
    violations.extend(expired_stay_gone::check(oracle));
    violations.extend(subscription_order::check(oracle));
    let mut duplicates = 0;
    if completed {
        violations.extend(shard_tiling::check(oracle));
        violations.extend(key_order::check(oracle));
        violations.extend(no_lost_acks::check(oracle));
        violations.extend(consumer_order::check(oracle));
        violations.extend(subscription_complete::check(oracle));
        violations.extend(subscription_committed::check(oracle));
        let (dup_violations, count) = duplicates::check(oracle);
        duplicates = count;
        violations.extend(dup_violations);
        violations.extend(liveness::check(oracle));
    } else {
        // The run ran out of time: what the driver saw of the heal still counts.
        violations.extend(liveness::check_failure(oracle));
    }
    (violations, duplicates)
}

/// Caps how many violations of one kind are reported, so a broken run stays readable.
pub(crate) const REPORT_MAX: usize = 20;

/// A small run with one subscriber, for the `subscription_*` checks' tests: shard `p`
/// (closed, records #1 `a` and #2 `b`) split into `c` (open, #10 `x`); the subscriber was
/// pushed all of it in order, `p`'s end between.
#[cfg(test)]
pub(crate) fn fan_out_run() -> Oracle {
    use crate::oracle::{Ack, ShardInfo, SubscriberView, Write};
    use std::time::Duration;
    let mut o = Oracle { final_reads_done: Some(Duration::from_secs(30)), ..Default::default() };
    o.shards.insert("p".into(), ShardInfo { ending_seq: Some(3), ..Default::default() });
    o.shards.insert("c".into(), ShardInfo { parents: vec!["p".into()], starting_seq: 10, ..Default::default() });
    let mut view = SubscriberView { consumer_arn: Some("arn".into()), drained: true, ..Default::default() };
    for (shard, seq, payload) in [("p", 1, "a"), ("p", 2, "b"), ("c", 10, "x")] {
        let ack = Ack { shard: shard.into(), seq, at: Duration::from_secs(1) };
        o.writes.insert(payload.into(), Write { attempts: 1, acks: vec![ack], ..Default::default() });
        o.final_reads.entry(shard.into()).or_default().push((seq, payload.into()));
        if shard == "c" {
            view.deliveries.push(ended("p", &["c"]));
        }
        view.deliveries.push(pushed(shard, seq, payload));
    }
    o.subscribers.insert("s".into(), view);
    o
}

#[cfg(test)]
pub(crate) fn pushed(shard: &str, seq: u128, payload: &str) -> crate::oracle::Delivered {
    let at = std::time::Duration::from_secs(2);
    crate::oracle::Delivered::Record { shard: shard.into(), seq, payload: payload.into(), at }
}

#[cfg(test)]
pub(crate) fn ended(shard: &str, children: &[&str]) -> crate::oracle::Delivered {
    let children = children.iter().map(|c| c.to_string()).collect();
    crate::oracle::Delivered::Ended { shard: shard.into(), children, at: std::time::Duration::from_secs(2) }
}
