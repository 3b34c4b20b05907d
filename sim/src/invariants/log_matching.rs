//! Log matching across replicas: for any group and index known committed on some replica,
//! every replica that holds an entry at that index and has it committed holds the same
//! entry: the same term and the same payload bytes (compared by hash).
//!
//! "Has it committed" is read as "has applied it": an applied entry is committed and was
//! read from that replica's log, whereas openraft may count an entry as locally committed
//! while the write that puts it in the log is still queued. Entries are sampled as replicas
//! apply them (only the newly applied indexes each time) and once more from every disk at
//! the end of the run, crashed replicas included.
//!
//! Source: Raft's Log Matching and State Machine Safety properties (Ongaro & Ousterhout,
//! Figure 3, §5.3-5.4); openraft's tests-turmoil `invariants/log_matching.rs`, which
//! compares committed log ids (committed leader id = term here) index by index.

use super::{CommittedEntry, Violation};
use runnel_node::domain::NodeId;
use std::collections::BTreeMap;
use std::time::Duration;

pub const NAME: &str = "log-matching";

/// The first committed entry seen at each (group, index), and which replica held it.
#[derive(Debug, Default)]
pub struct Witness {
    first: BTreeMap<(u64, u64), (CommittedEntry, NodeId)>,
}

impl Witness {
    pub fn observe(&mut self, node: NodeId, entry: CommittedEntry, now: Duration) -> Option<Violation> {
        let key = (entry.group, entry.index);
        match self.first.get(&key) {
            None => {
                self.first.insert(key, (entry, node));
                None
            }
            // The same replica holding something else later is `committed_immutable`'s.
            Some((first, by)) if *by == node || first.same_as(&entry) => None,
            Some((first, by)) => Some(Violation {
                invariant: NAME,
                detail: format!(
                    "group {} index {}: n{by} committed term {} payload #{:016x}, n{node} committed term {} payload #{:016x} (seen at {:.3}s)",
                    entry.group,
                    entry.index,
                    first.term,
                    first.hash,
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

    fn entry(index: u64, term: u64, hash: u64) -> CommittedEntry {
        CommittedEntry { group: 1, index, term, hash }
    }

    #[test]
    fn replicas_that_differ_at_a_committed_index_are_reported() {
        let mut w = Witness::default();
        let t = Duration::ZERO;
        assert!(w.observe(1, entry(1, 1, 10), t).is_none());
        assert!(w.observe(2, entry(1, 1, 10), t).is_none());
        assert!(w.observe(3, entry(1, 2, 10), t).is_some(), "another term");
        assert!(w.observe(3, entry(1, 1, 11), t).is_some(), "another payload");
        assert!(w.observe(1, entry(1, 2, 99), t).is_none(), "the first replica itself is not this check's");
    }
}
