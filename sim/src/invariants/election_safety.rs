//! At most one leader per term per group, checked while the run goes: every few steps each
//! running node's metrics say whether it leads a group, and in which term.
//!
//! Source: Raft's Election Safety property (Ongaro & Ousterhout, "In Search of an
//! Understandable Consensus Algorithm", Figure 3); openraft's tests-turmoil
//! `invariants/election_safety.rs`. Runnel uses standard single-leader terms
//! (`leader_id_std`), so the committed leader id is the term.

use super::Violation;
use runnel_node::domain::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const NAME: &str = "election-safety";

/// Who was seen leading each (group, term).
#[derive(Debug, Default)]
pub struct Witness {
    claims: BTreeMap<(u64, u64), BTreeSet<NodeId>>,
}

impl Witness {
    /// `node` is the leader of `group` in `term`.
    pub fn observe(&mut self, group: u64, term: u64, node: NodeId, now: Duration) -> Option<Violation> {
        let leaders = self.claims.entry((group, term)).or_default();
        (leaders.insert(node) && leaders.len() > 1).then(|| Violation {
            invariant: NAME,
            detail: format!("group {group} term {term} had leaders {leaders:?} (at {:.3}s)", now.as_secs_f64()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_leader_in_a_term_is_reported_once() {
        let mut w = Witness::default();
        let t = Duration::ZERO;
        assert!(w.observe(1, 2, 1, t).is_none());
        assert!(w.observe(1, 2, 1, t).is_none(), "the same claim again");
        assert!(w.observe(1, 3, 2, t).is_none(), "another term");
        assert!(w.observe(2, 2, 2, t).is_none(), "another group");
        assert!(w.observe(1, 2, 3, t).is_some());
    }
}
