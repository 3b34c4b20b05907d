//! Key layouts. Every key is `group (u64 BE) | kind (u8) | rest`, so that one range per
//! kind drops a group's data, and numbers are big-endian so byte order is numeric order.

use crate::domain::GroupId;

/// Every kind of key Runnel stores. Persisted: a kind's number never changes and is never
/// reused for something else.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    /// `Cf::Log`: `| log index (u64)` -> a Raft entry (raft/entry_codec.rs). For a shard the
    /// committed log is the record data; nothing copies it elsewhere.
    LogEntry = 1,
    /// `Cf::RaftMeta`: the group's Raft vote.
    Vote = 2,
    /// `Cf::RaftMeta`: the last committed log id this replica knows of.
    Committed = 3,
    /// `Cf::RaftMeta`: the last log id purged from the log.
    Purged = 4,
    /// `Cf::State`: a shard's applied state (shard/applied.rs).
    ShardApplied = 5,
    /// `Cf::State`: the metadata group's whole applied state in one row, as releases before
    /// `MetaHeader` and `MetaStream` wrote it; read once and rewritten as those
    /// (control/applied.rs).
    MetaApplied = 6,
    /// `Cf::Index`: `| counter (u64)` -> where a record is (shard/index.rs).
    Record = 7,
    /// `Cf::Index`: `| arrival ms (i64, sign bit flipped) | counter (u64)` -> nothing: the
    /// first record of each appended batch, so AT_TIMESTAMP is a seek.
    ArrivalTime = 8,
    /// `Cf::State`: the group was dropped on this node and must never start again.
    Tombstone = 9,
    /// `Cf::State`: `| chunk number (u64)` -> a received snapshot chunk awaiting install.
    SnapshotChunk = 10,
    /// `Cf::State`, under `NODE_KEYS`: the format version of the whole database.
    Format = 11,
    /// `Cf::State`, under `NODE_KEYS`: this node takes part in the cluster, or is
    /// rebuilding from an empty volume (cluster/join.rs).
    Joined = 12,
    /// `Cf::State`: the metadata group's applied log id, membership and the state's parts
    /// other than streams (control/applied.rs).
    MetaHeader = 13,
    /// `Cf::State`: `| stream name` -> one stream of the metadata state.
    MetaStream = 14,
}

impl KeyKind {
    /// Every kind that holds a group's data, i.e. all but the tombstone.
    pub const GROUP_DATA: [KeyKind; 11] = [
        KeyKind::LogEntry,
        KeyKind::Vote,
        KeyKind::Committed,
        KeyKind::Purged,
        KeyKind::ShardApplied,
        KeyKind::MetaApplied,
        KeyKind::Record,
        KeyKind::ArrivalTime,
        KeyKind::SnapshotChunk,
        KeyKind::MetaHeader,
        KeyKind::MetaStream,
    ];
}

/// Keys that belong to the node rather than to a group. No group is ever numbered so.
pub const NODE_KEYS: GroupId = GroupId(u64::MAX);

const GROUP_BYTES: usize = 8;
const PREFIX_BYTES: usize = GROUP_BYTES + 1;
const NUMBERED_BYTES: usize = PREFIX_BYTES + 8;
const ARRIVAL_BYTES: usize = NUMBERED_BYTES + 8;

/// `group | kind`: the whole key of single-valued kinds, the prefix of the others.
pub fn key(group: GroupId, kind: KeyKind) -> Vec<u8> {
    let mut key = Vec::with_capacity(NUMBERED_BYTES);
    key.extend_from_slice(&group.0.to_be_bytes());
    key.push(kind as u8);
    key
}

/// The first key after every key of `kind` in `group`.
pub fn kind_end(group: GroupId, kind: KeyKind) -> Vec<u8> {
    let mut key = key(group, kind);
    // Kinds are far below 255, so the next kind byte exists.
    key[GROUP_BYTES] += 1;
    key
}

/// `group | kind | n`: log indexes, record counters, snapshot chunks.
pub fn numbered(group: GroupId, kind: KeyKind, n: u64) -> Vec<u8> {
    let mut key = key(group, kind);
    key.extend_from_slice(&n.to_be_bytes());
    debug_assert_eq!(key.len(), NUMBERED_BYTES);
    key
}

/// The number of a `numbered` key of `group` and `kind`; `None` when the key is not one
/// (the caller reports corruption).
pub fn number_of(key: &[u8], group: GroupId, kind: KeyKind) -> Option<u64> {
    if key.len() != NUMBERED_BYTES || !has_prefix(key, group, kind) {
        return None;
    }
    Some(u64::from_be_bytes(key[PREFIX_BYTES..].try_into().ok()?))
}

/// `group | ArrivalTime | arrival | counter`. Flipping the sign bit makes byte order the
/// numeric order of signed times.
pub fn arrival(group: GroupId, arrival_ms: i64, counter: u64) -> Vec<u8> {
    let mut key = key(group, KeyKind::ArrivalTime);
    key.extend_from_slice(&((arrival_ms as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(&counter.to_be_bytes());
    debug_assert_eq!(key.len(), ARRIVAL_BYTES);
    key
}

/// The (arrival ms, counter) of an `arrival` key of `group`.
pub fn arrival_of(key: &[u8], group: GroupId) -> Option<(i64, u64)> {
    if key.len() != ARRIVAL_BYTES || !has_prefix(key, group, KeyKind::ArrivalTime) {
        return None;
    }
    let time = u64::from_be_bytes(key[PREFIX_BYTES..NUMBERED_BYTES].try_into().ok()?) ^ (1 << 63);
    let counter = u64::from_be_bytes(key[NUMBERED_BYTES..].try_into().ok()?);
    Some((time as i64, counter))
}

fn has_prefix(key: &[u8], group: GroupId, kind: KeyKind) -> bool {
    key.len() >= PREFIX_BYTES && key[..GROUP_BYTES] == group.0.to_be_bytes() && key[GROUP_BYTES] == kind as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_keys_sort_numerically_and_stay_inside_their_group_and_kind() {
        let g = GroupId(7);
        let keys: Vec<_> = [0u64, 1, 255, 256, u64::MAX].iter().map(|n| numbered(g, KeyKind::Record, *n)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let (start, end) = (key(g, KeyKind::Record), kind_end(g, KeyKind::Record));
        assert!(keys.iter().all(|k| k.as_slice() >= start.as_slice() && k.as_slice() < end.as_slice()));
        assert!(numbered(GroupId(6), KeyKind::Record, u64::MAX) < numbered(g, KeyKind::LogEntry, 0));
        assert_eq!(number_of(&numbered(g, KeyKind::Record, 300), g, KeyKind::Record), Some(300));
        // A key of another group, kind or length is not taken for one.
        assert_eq!(number_of(&numbered(g, KeyKind::Record, 300), GroupId(8), KeyKind::Record), None);
        assert_eq!(number_of(&numbered(g, KeyKind::Record, 300), g, KeyKind::LogEntry), None);
        assert_eq!(number_of(&key(g, KeyKind::Record), g, KeyKind::Record), None);
    }

    #[test]
    fn arrival_keys_sort_by_signed_time_then_counter() {
        let g = GroupId(3);
        let points = [(i64::MIN, 0u64), (-5, 9), (-1, 0), (0, 0), (0, 1), (1, 0), (i64::MAX, u64::MAX)];
        let keys: Vec<_> = points.iter().map(|(t, c)| arrival(g, *t, *c)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for ((t, c), k) in points.iter().zip(&keys) {
            assert_eq!(arrival_of(k, g), Some((*t, *c)));
        }
    }

    #[test]
    fn kind_numbers_are_the_persisted_ones() {
        // Renumbering a kind would misread every existing database: this pins them.
        let pinned = [
            (KeyKind::LogEntry, 1),
            (KeyKind::Vote, 2),
            (KeyKind::Committed, 3),
            (KeyKind::Purged, 4),
            (KeyKind::ShardApplied, 5),
            (KeyKind::MetaApplied, 6),
            (KeyKind::Record, 7),
            (KeyKind::ArrivalTime, 8),
            (KeyKind::Tombstone, 9),
            (KeyKind::SnapshotChunk, 10),
            (KeyKind::Format, 11),
            (KeyKind::Joined, 12),
            (KeyKind::MetaHeader, 13),
            (KeyKind::MetaStream, 14),
        ];
        for (kind, n) in pinned {
            assert_eq!(kind as u8, n, "{kind:?}");
        }
        assert!(!KeyKind::GROUP_DATA.contains(&KeyKind::Tombstone));
    }
}
