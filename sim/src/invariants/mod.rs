//! The promises a run is checked against, one per file, each naming where it comes from.

mod consumer_order;
mod duplicates;
mod election_safety;
mod liveness;
mod no_lost_acks;
mod no_phantoms;
mod sequence_numbers;

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

/// Every record each replica stores, read from its engine after the run:
/// (shard id, node) -> [(sequence number, payload)] in index order.
pub type ReplicaContents = BTreeMap<(String, u64), Vec<(u128, String)>>;

/// Checks every invariant; also returns how many duplicates retries caused. A run that did
/// not complete (a node panicked) never reached its final reads: only what it observed
/// until then is judged.
pub fn check_all(oracle: &Oracle, replicas: &ReplicaContents, completed: bool) -> (Vec<Violation>, usize) {
    let mut violations = Vec::new();
    violations.extend(no_phantoms::check(oracle, replicas));
    violations.extend(sequence_numbers::check(oracle, replicas));
    violations.extend(election_safety::check(oracle));
    let mut duplicates = 0;
    if completed {
        violations.extend(no_lost_acks::check(oracle));
        violations.extend(consumer_order::check(oracle));
        let (dup_violations, count) = duplicates::check(oracle);
        duplicates = count;
        violations.extend(dup_violations);
        violations.extend(liveness::check(oracle));
    }
    (violations, duplicates)
}

/// Caps how many violations of one kind are reported, so a broken run stays readable.
pub(crate) const REPORT_MAX: usize = 20;
