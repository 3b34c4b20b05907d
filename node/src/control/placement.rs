//! Where a shard's replicas live.
//!
//! Replicas are consecutive nodes (in id order) starting at a node chosen by the group id,
//! and the first replica initializes the group and so becomes its first leader. Consecutive
//! group ids therefore spread both replicas and leadership evenly over the nodes.

use crate::domain::{GroupId, NodeId};

/// The replicas of `group`, preferred leader first, or `None` when there is no node to
/// place on. `nodes` are deduplicated and sorted here, so any list will do.
pub fn replicas_for(group: GroupId, nodes: &[NodeId], replication_factor: usize) -> Option<Vec<NodeId>> {
    let mut nodes = nodes.to_vec();
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.is_empty() || replication_factor == 0 {
        return None;
    }
    let count = replication_factor.min(nodes.len());
    let start = (group.0 % nodes.len() as u64) as usize;
    let replicas: Vec<NodeId> = (0..count).map(|i| nodes[(start + i) % nodes.len()]).collect();
    debug_assert_eq!(replicas.len(), count);
    Some(replicas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn replicas_are_distinct_and_leaders_spread_evenly() {
        let nodes = [1, 2, 3, 4, 5];
        let mut leads: BTreeMap<NodeId, usize> = BTreeMap::new();
        let mut hosts: BTreeMap<NodeId, usize> = BTreeMap::new();
        for g in 1..=100u64 {
            let replicas = replicas_for(GroupId(g), &nodes, 3).unwrap();
            assert_eq!(replicas.len(), 3);
            let mut sorted = replicas.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 3, "replicas must be distinct: {replicas:?}");
            *leads.entry(replicas[0]).or_default() += 1;
            for r in replicas {
                *hosts.entry(r).or_default() += 1;
            }
        }
        assert!(leads.values().all(|&n| n == 20), "{leads:?}");
        assert!(hosts.values().all(|&n| n == 60), "{hosts:?}");
    }

    #[test]
    fn replication_factor_is_capped_by_the_node_count_and_nothing_panics() {
        assert_eq!(replicas_for(GroupId(4), &[1, 2], 3).unwrap().len(), 2);
        assert_eq!(replicas_for(GroupId(4), &[7], 3), Some(vec![7]));
        assert_eq!(replicas_for(GroupId(4), &[], 3), None);
        assert_eq!(replicas_for(GroupId(4), &[1, 2], 0), None);
        assert_eq!(replicas_for(GroupId(u64::MAX), &[3, 1, 3, 2], 3).unwrap().len(), 3);
    }
}
