//! Where a shard's replicas live.
//!
//! Replicas are consecutive nodes (in id order) starting at a node chosen by the group id,
//! and the first replica initializes the group and so becomes its first leader. Consecutive
//! group ids therefore spread both replicas and leadership evenly over the nodes.

use crate::domain::{GroupId, NodeId};

/// The replicas of `group`, preferred leader first. `nodes` must be sorted and unique.
pub fn replicas_for(group: GroupId, nodes: &[NodeId], replication_factor: usize) -> Vec<NodeId> {
    assert!(!nodes.is_empty(), "placement needs at least one node");
    assert!(nodes.windows(2).all(|w| w[0] < w[1]), "nodes must be sorted and unique");
    let count = replication_factor.min(nodes.len());
    let start = (group.0 % nodes.len() as u64) as usize;
    (0..count).map(|i| nodes[(start + i) % nodes.len()]).collect()
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
            let replicas = replicas_for(GroupId(g), &nodes, 3);
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
    fn replication_factor_is_capped_by_the_node_count() {
        assert_eq!(replicas_for(GroupId(4), &[1, 2], 3).len(), 2);
        assert_eq!(replicas_for(GroupId(4), &[7], 3), vec![7]);
    }
}
