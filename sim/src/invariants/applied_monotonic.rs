//! A node's applied index only grows while it runs: a state machine never un-applies an
//! entry. A crash ends the node's lifetime (it may come back with less: what it applied
//! but had not synced is gone), so the witness forgets a node when it goes down.
//!
//! Source: Raft's State Machine Safety and the monotonic `lastApplied` of Figure 2
//! (Ongaro & Ousterhout); openraft's tests-turmoil `invariants/sm_monotonic.rs`.

use super::Violation;
use runnel_node::domain::NodeId;
use std::collections::BTreeMap;
use std::time::Duration;

pub const NAME: &str = "applied-only-grows";

/// The highest applied index seen per (node, group) in the node's current lifetime.
#[derive(Debug, Default)]
pub struct Witness {
    applied: BTreeMap<(NodeId, u64), u64>,
}

impl Witness {
    /// `node` reports `applied` for `group` (`None`: nothing applied yet).
    pub fn observe(&mut self, node: NodeId, group: u64, applied: Option<u64>, now: Duration) -> Option<Violation> {
        let seen = self.applied.entry((node, group)).or_default();
        let now_applied = applied.unwrap_or(0);
        if now_applied < *seen {
            let before = *seen;
            *seen = now_applied;
            return Some(Violation {
                invariant: NAME,
                detail: format!(
                    "n{node} group {group}: applied index went from {before} back to {applied:?} without a restart (at {:.3}s)",
                    now.as_secs_f64()
                ),
            });
        }
        *seen = now_applied;
        None
    }

    /// `node` went down: its next lifetime starts from what it kept.
    pub fn forget(&mut self, node: NodeId) {
        self.applied.retain(|(n, _), _| *n != node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn going_back_is_reported_unless_the_node_restarted() {
        let mut w = Witness::default();
        let t = Duration::ZERO;
        assert!(w.observe(1, 5, Some(3), t).is_none());
        assert!(w.observe(1, 5, Some(7), t).is_none());
        assert!(w.observe(2, 5, Some(1), t).is_none(), "another node");
        assert!(w.observe(1, 5, Some(6), t).is_some());
        w.forget(1);
        assert!(w.observe(1, 5, Some(2), t).is_none(), "a new lifetime");
        assert!(w.observe(1, 5, None, t).is_some());
    }
}
