//! Key layouts. Every key starts with the big-endian group id so that one range delete
//! drops a group, and big-endian numbers so that byte order is numeric order.

use crate::domain::GroupId;

/// Kinds of `Cf::RaftMeta` and `Cf::State` keys. Persisted: never renumber.
#[repr(u8)]
#[derive(Debug, Clone, Copy)]
pub enum MetaKey {
    /// The group's Raft vote.
    Vote = 1,
    /// The group's last known committed log id.
    Committed = 2,
    /// The state machine's applied log id, membership and counters.
    Applied = 3,
    /// The metadata group's state (streams, shards, placement).
    Metadata = 4,
    /// The last snapshot a group built or installed.
    Snapshot = 5,
}

pub fn group_prefix(group: GroupId) -> Vec<u8> {
    group.0.to_be_bytes().to_vec()
}

/// The first key after every key of `group`.
pub fn group_end(group: GroupId) -> Vec<u8> {
    match group.0.checked_add(1) {
        Some(next) => next.to_be_bytes().to_vec(),
        None => vec![0xff; 9],
    }
}

/// (group, u64) keys: log indexes and shard counters.
pub fn numbered(group: GroupId, n: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(16);
    key.extend_from_slice(&group.0.to_be_bytes());
    key.extend_from_slice(&n.to_be_bytes());
    key
}

pub fn numbered_part(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(8..16)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

pub fn meta(group: GroupId, kind: MetaKey) -> Vec<u8> {
    let mut key = group_prefix(group);
    key.push(kind as u8);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_keys_sort_numerically_and_stay_inside_their_group() {
        let g = GroupId(7);
        let keys: Vec<_> = [0u64, 1, 255, 256, u64::MAX].iter().map(|n| numbered(g, *n)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys
            .iter()
            .all(|k| k.as_slice() >= group_prefix(g).as_slice() && k.as_slice() < group_end(g).as_slice()));
        assert!(numbered(GroupId(6), u64::MAX) < numbered(g, 0));
        assert_eq!(numbered_part(&numbered(g, 300)), Some(300));
    }
}
