//! The client's routing cache: which shard owns a hash key, and which node leads it.
//!
//! Every node forwards requests to the right leader, so this cache only saves a hop; a
//! stale entry costs latency, never correctness. A write the server stored in another
//! shard than the map predicted (a reshard closed it) drops the stream's map.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use runnel_proto::hash_key::{HashKey, HashKeyRange};
use runnel_proto::v1::{DescribeClusterResponse, Shard};
use tokio::time::Instant;

use crate::error::ClientError;

/// How old a shard map must be before a write that landed elsewhere drops it. While a
/// reshard is under way the listing can lag the shard that takes the writes; this bounds
/// the refetches to one per stream per interval.
pub(crate) const SHARD_MAP_MIN_AGE: Duration = Duration::from_secs(1);

/// A shard's id within its stream, e.g. `shardId-000000000000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(pub String);

impl ShardId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node's gRPC URL, e.g. `http://127.0.0.1:50051`, without a trailing slash so that
/// the same node spelled two ways shares one channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddress(String);

impl NodeAddress {
    pub fn new(address: &str) -> NodeAddress {
        NodeAddress(address.trim().trim_end_matches('/').to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One open shard and the hash keys it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRoute {
    pub shard_id: ShardId,
    pub range: HashKeyRange,
}

/// The open shards of a stream, sorted by the start of their hash key range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardMap {
    routes: Vec<ShardRoute>,
}

impl ShardMap {
    /// Builds the map from ListShards output. Closed shards are left out: after a
    /// reshard their ranges overlap the children's, and they take no writes.
    pub fn from_shards(shards: &[Shard]) -> Result<ShardMap, ClientError> {
        let mut routes = Vec::with_capacity(shards.len());
        for shard in shards {
            if is_closed(shard) {
                continue;
            }
            routes.push(ShardRoute { shard_id: ShardId(shard.shard_id.clone()), range: shard_hash_range(shard)? });
        }
        routes.sort_by_key(|r| r.range.start);
        Ok(ShardMap { routes })
    }

    /// The open shard whose range holds `key`, if any.
    pub fn shard_for(&self, key: HashKey) -> Option<&ShardId> {
        // Index of the first range starting after `key`; the one before it may hold it.
        let after = self.routes.partition_point(|r| r.range.start <= key);
        let route = self.routes.get(after.checked_sub(1)?)?;
        route.range.contains(key).then_some(&route.shard_id)
    }

    /// The shard a record goes to: by explicit hash key if given, else by partition key.
    /// `None` when the explicit hash key is malformed (the server will say why).
    pub fn shard_for_record(&self, partition_key: &str, explicit_hash_key: Option<&str>) -> Option<&ShardId> {
        let key = match explicit_hash_key {
            Some(explicit) => explicit.parse::<HashKey>().ok()?,
            None => HashKey::of_partition_key(partition_key),
        };
        self.shard_for(key)
    }

    /// Whether a record stored in `stored_in` shows this map stale: the map would have
    /// sent it to another shard, or to none. A malformed explicit hash key proves nothing.
    pub fn misses(&self, partition_key: &str, explicit_hash_key: Option<&str>, stored_in: &str) -> bool {
        let key = match explicit_hash_key {
            Some(explicit) => match explicit.parse::<HashKey>() {
                Ok(key) => key,
                Err(_) => return false,
            },
            None => HashKey::of_partition_key(partition_key),
        };
        self.shard_for(key).is_none_or(|predicted| predicted.as_str() != stored_in)
    }

    pub fn routes(&self) -> &[ShardRoute] {
        &self.routes
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// Whether ListShards reports the shard closed (it has an ending sequence number).
pub fn is_closed(shard: &Shard) -> bool {
    shard.sequence_number_range.as_ref().is_some_and(|r| r.ending_sequence_number.is_some())
}

/// The hash key range of a listed shard, parsed.
pub fn shard_hash_range(shard: &Shard) -> Result<HashKeyRange, ClientError> {
    let range = shard
        .hash_key_range
        .as_ref()
        .ok_or_else(|| ClientError::MalformedResponse(format!("shard {} has no hash key range", shard.shard_id)))?;
    let parse = |s: &str| {
        s.parse::<HashKey>().map_err(|e| ClientError::MalformedResponse(format!("shard {}: {e}", shard.shard_id)))
    };
    Ok(HashKeyRange { start: parse(&range.starting_hash_key)?, end: parse(&range.ending_hash_key)? })
}

/// A node as the last DescribeCluster saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownNode {
    pub address: NodeAddress,
    pub healthy: bool,
}

/// A stream's shard map and when it was fetched.
#[derive(Debug)]
struct CachedShardMap {
    map: Arc<ShardMap>,
    fetched_at: Instant,
}

/// Shard maps per stream plus the leader of each shard, as last learned.
#[derive(Debug, Default)]
pub(crate) struct RoutingTable {
    shard_maps: HashMap<String, CachedShardMap>,
    leaders: HashMap<(String, ShardId), NodeAddress>,
    nodes: Vec<KnownNode>,
    /// Bumped at every cluster refresh attempt, so concurrent callers refresh once.
    epoch: u64,
    refreshed_at: Option<Instant>,
}

impl RoutingTable {
    pub fn shard_map(&self, stream: &str) -> Option<Arc<ShardMap>> {
        self.shard_maps.get(stream).map(|cached| cached.map.clone())
    }

    pub fn set_shard_map(&mut self, stream: &str, map: ShardMap, now: Instant) {
        self.shard_maps.insert(stream.to_string(), CachedShardMap { map: Arc::new(map), fetched_at: now });
    }

    /// A write landed in a shard `seen` did not predict: the stream was resharded. Drops
    /// the map, unless it was replaced since `seen` was read or is younger than
    /// `SHARD_MAP_MIN_AGE`, and asks for a new cluster view, which names the children's
    /// leaders. Returns whether it dropped the map.
    pub fn forget_missed_shard_map(&mut self, stream: &str, seen: &Arc<ShardMap>, now: Instant) -> bool {
        let Some(cached) = self.shard_maps.get(stream) else {
            return false;
        };
        if !Arc::ptr_eq(&cached.map, seen) || now.saturating_duration_since(cached.fetched_at) < SHARD_MAP_MIN_AGE {
            return false;
        }
        self.shard_maps.remove(stream);
        self.refreshed_at = None;
        true
    }

    /// Drops what is known of a stream, e.g. after it was deleted or not found.
    pub fn forget_stream(&mut self, stream: &str) {
        self.shard_maps.remove(stream);
        self.leaders.retain(|(s, _), _| s != stream);
    }

    pub fn leader(&self, stream: &str, shard: &ShardId) -> Option<&NodeAddress> {
        self.leaders.get(&(stream.to_string(), shard.clone()))
    }

    pub fn forget_leader(&mut self, stream: &str, shard: &ShardId) {
        self.leaders.remove(&(stream.to_string(), shard.clone()));
    }

    /// Replaces nodes and leaders with what DescribeCluster reports.
    pub fn apply_cluster(&mut self, cluster: &DescribeClusterResponse, now: Instant) {
        let addresses: HashMap<u64, NodeAddress> =
            cluster.nodes.iter().map(|n| (n.node_id, NodeAddress::new(&n.address))).collect();
        self.nodes = cluster
            .nodes
            .iter()
            .filter(|n| !n.address.trim().is_empty())
            .map(|n| KnownNode { address: NodeAddress::new(&n.address), healthy: n.healthy })
            .collect();
        self.leaders.clear();
        for group in &cluster.groups {
            // The metadata group has no stream; groups mid-election have no leader.
            let Some(leader) = group.leader else { continue };
            if group.stream_name.is_empty() {
                continue;
            }
            if let Some(address) = addresses.get(&leader) {
                self.leaders.insert((group.stream_name.clone(), ShardId(group.shard_id.clone())), address.clone());
            }
        }
        self.refreshed_at = Some(now);
    }

    pub fn nodes(&self) -> &[KnownNode] {
        &self.nodes
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn bump_epoch(&mut self) {
        self.epoch += 1;
    }

    /// Records a refresh attempt, successful or not, so callers do not retry it at once.
    pub fn mark_refresh_attempt(&mut self, now: Instant) {
        self.refreshed_at = Some(now);
    }

    /// When the cluster view was last refreshed, or a refresh last tried.
    pub fn refreshed_at(&self) -> Option<Instant> {
        self.refreshed_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runnel_proto::v1::{GroupState, HashKeyRange as ProtoRange, NodeState, SequenceNumberRange};

    fn shard(id: &str, range: HashKeyRange, closed: bool) -> Shard {
        Shard {
            shard_id: id.to_string(),
            hash_key_range: Some(ProtoRange {
                starting_hash_key: range.start.to_string(),
                ending_hash_key: range.end.to_string(),
            }),
            sequence_number_range: Some(SequenceNumberRange {
                starting_sequence_number: "1".into(),
                ending_sequence_number: closed.then(|| "9".to_string()),
            }),
            ..Default::default()
        }
    }

    fn even_map(count: u32) -> ShardMap {
        let shards: Vec<Shard> = HashKeyRange::split_evenly(count)
            .into_iter()
            .enumerate()
            .rev() // out of order on purpose: the map sorts
            .map(|(i, r)| shard(&format!("shardId-{i:012}"), r, false))
            .collect();
        ShardMap::from_shards(&shards).expect("well-formed shards")
    }

    #[test]
    fn lookup_finds_the_owning_shard_at_every_boundary() {
        let map = even_map(4);
        let ranges = HashKeyRange::split_evenly(4);
        assert_eq!(map.len(), 4);
        for (i, range) in ranges.iter().enumerate() {
            let want = ShardId(format!("shardId-{i:012}"));
            assert_eq!(map.shard_for(range.start), Some(&want));
            assert_eq!(map.shard_for(range.end), Some(&want));
        }
        assert_eq!(map.shard_for(HashKey::MIN), Some(&ShardId("shardId-000000000000".into())));
        assert_eq!(map.shard_for(HashKey::MAX), Some(&ShardId("shardId-000000000003".into())));
    }

    #[test]
    fn lookup_by_partition_key_uses_md5() {
        let map = even_map(2);
        // md5("a") starts with 0x0c: the lower half of the key space.
        assert_eq!(map.shard_for_record("a", None), Some(&ShardId("shardId-000000000000".into())));
        assert_eq!(
            map.shard_for_record("ignored", Some(&u128::MAX.to_string())),
            Some(&ShardId("shardId-000000000001".into()))
        );
        assert_eq!(map.shard_for_record("a", Some("not-a-number")), None);
    }

    #[test]
    fn closed_shards_are_skipped_and_gaps_find_nothing() {
        let halves = HashKeyRange::split_evenly(2);
        let shards = vec![
            shard("parent", HashKeyRange { start: HashKey::MIN, end: HashKey::MAX }, true),
            shard("low", halves[0], false),
        ];
        let map = ShardMap::from_shards(&shards).expect("well-formed shards");
        assert_eq!(map.len(), 1);
        assert_eq!(map.shard_for(HashKey::MIN), Some(&ShardId("low".into())));
        assert_eq!(map.shard_for(HashKey::MAX), None);
        assert_eq!(ShardMap::default().shard_for(HashKey::MIN), None);
    }

    #[test]
    fn a_record_stored_elsewhere_shows_the_map_stale() {
        let map = even_map(2);
        // md5("a") lies in the lower half.
        assert!(!map.misses("a", None, "shardId-000000000000"));
        assert!(map.misses("a", None, "shardId-000000000002"), "a child of the predicted shard");
        assert!(!map.misses("ignored", Some(&u128::MAX.to_string()), "shardId-000000000001"));
        assert!(map.misses("ignored", Some(&u128::MAX.to_string()), "shardId-000000000000"));
        // A malformed explicit key proves nothing; a map with a gap is stale.
        assert!(!map.misses("a", Some("not-a-number"), "anything"));
        assert!(ShardMap::default().misses("a", None, "shardId-000000000000"));
    }

    #[test]
    fn a_missed_map_is_dropped_once_old_enough_and_only_if_still_cached() {
        let mut table = RoutingTable::default();
        let fetched = Instant::now();
        table.set_shard_map("s", even_map(2), fetched);
        table.apply_cluster(&DescribeClusterResponse::default(), fetched);
        let seen = table.shard_map("s").expect("cached");
        // Young: the listing may lag a reshard under way; keep it.
        assert!(!table.forget_missed_shard_map("s", &seen, fetched + SHARD_MAP_MIN_AGE / 2));
        assert!(table.shard_map("s").is_some());
        // Replaced since it was read: the newer map stays.
        table.set_shard_map("s", even_map(4), fetched);
        let late = fetched + SHARD_MAP_MIN_AGE * 2;
        assert!(!table.forget_missed_shard_map("s", &seen, late));
        assert_eq!(table.shard_map("s").map(|m| m.len()), Some(4));
        assert!(table.refreshed_at().is_some());
        // Old and still cached: dropped, and the cluster view is due (the children's leaders).
        let current = table.shard_map("s").expect("cached");
        assert!(table.forget_missed_shard_map("s", &current, late));
        assert!(table.shard_map("s").is_none());
        assert!(table.refreshed_at().is_none());
        assert!(!table.forget_missed_shard_map("s", &current, late), "already gone");
        assert!(!table.forget_missed_shard_map("other", &current, late));
    }

    #[test]
    fn malformed_hash_keys_are_rejected() {
        let mut bad = shard("s", HashKeyRange { start: HashKey::MIN, end: HashKey::MAX }, false);
        if let Some(range) = bad.hash_key_range.as_mut() {
            range.ending_hash_key = "-1".into();
        }
        assert!(matches!(ShardMap::from_shards(&[bad]), Err(ClientError::MalformedResponse(_))));
    }

    #[test]
    fn cluster_view_maps_group_leaders_to_node_addresses() {
        let cluster = DescribeClusterResponse {
            answered_by: 1,
            nodes: vec![
                NodeState {
                    node_id: 1,
                    address: "http://127.0.0.1:50051/".into(),
                    healthy: true,
                    ..Default::default()
                },
                NodeState {
                    node_id: 2,
                    address: "http://127.0.0.1:50052".into(),
                    healthy: false,
                    ..Default::default()
                },
            ],
            groups: vec![
                GroupState { group_id: 0, leader: Some(1), ..Default::default() },
                GroupState {
                    group_id: 1,
                    stream_name: "s".into(),
                    shard_id: "shardId-000000000000".into(),
                    leader: Some(2),
                    ..Default::default()
                },
                GroupState {
                    group_id: 2,
                    stream_name: "s".into(),
                    shard_id: "shardId-000000000001".into(),
                    leader: None,
                    ..Default::default()
                },
            ],
        };
        let mut table = RoutingTable::default();
        table.apply_cluster(&cluster, Instant::now());
        let s0 = ShardId("shardId-000000000000".into());
        let s1 = ShardId("shardId-000000000001".into());
        assert_eq!(table.leader("s", &s0), Some(&NodeAddress::new("http://127.0.0.1:50052")));
        assert_eq!(table.leader("s", &s1), None);
        assert_eq!(table.nodes()[0].address.as_str(), "http://127.0.0.1:50051");
        assert!(!table.nodes()[1].healthy);
        table.forget_stream("s");
        assert_eq!(table.leader("s", &s0), None);
    }
}
