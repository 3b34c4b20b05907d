//! Committed entries never change: an entry a replica once held committed at (group,
//! index) keeps its term and payload there forever, across crashes and restarts. Each
//! replica's committed entries are sampled as it applies them; after every restart the
//! replica's log is walked again up to what it applied, and at the end of the run every
//! disk is, crashed replicas included.
//!
//! Together with `log_matching` (replicas agree with each other) this covers openraft's
//! `committed_immutable` (no replica ever reports another entry at a committed index).
//! Lost durability shows up here: a replica that acknowledged an entry before syncing it
//! and lost it in a crash later holds another entry at that index.
//!
//! Source: Raft's Leader Completeness and State Machine Safety properties (Ongaro &
//! Ousterhout, Figure 3, §5.4); openraft's tests-turmoil `invariants/committed_immutable.rs`.

use super::{CommittedEntry, Violation};
use runnel_node::domain::NodeId;
use std::collections::BTreeMap;
use std::time::Duration;

pub const NAME: &str = "committed-never-changes";

/// What each replica held committed at each (group, index), and when it was first seen.
#[derive(Debug, Default)]
pub struct Witness {
    held: BTreeMap<(NodeId, u64, u64), (CommittedEntry, Duration)>,
}

impl Witness {
    pub fn observe(&mut self, node: NodeId, entry: CommittedEntry, now: Duration) -> Option<Violation> {
        let key = (node, entry.group, entry.index);
        match self.held.get(&key) {
            None => {
                self.held.insert(key, (entry, now));
                None
            }
            Some((first, _)) if first.same_as(&entry) => None,
            Some((first, since)) => Some(Violation {
                invariant: NAME,
                detail: format!(
                    "n{node} group {} index {}: committed term {} payload #{:016x} at {:.3}s, term {} payload #{:016x} at {:.3}s",
                    entry.group,
                    entry.index,
                    first.term,
                    first.hash,
                    since.as_secs_f64(),
                    entry.term,
                    entry.hash,
                    now.as_secs_f64()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_holding_another_entry_at_a_committed_index_is_reported() {
        let mut w = Witness::default();
        let e = |term, hash| CommittedEntry { group: 2, index: 7, term, hash };
        assert!(w.observe(1, e(3, 5), Duration::ZERO).is_none());
        assert!(w.observe(1, e(3, 5), Duration::from_secs(1)).is_none(), "the same entry after a restart");
        assert!(w.observe(2, e(4, 6), Duration::ZERO).is_none(), "another replica is log_matching's");
        assert!(w.observe(1, e(4, 6), Duration::from_secs(2)).is_some());
    }
}
