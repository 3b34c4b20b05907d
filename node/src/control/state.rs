//! What the metadata group holds.

use super::attributes::{AccountSettings, ShardMetric, Tags};
use super::consumers::ConsumerMeta;
use crate::domain::{GroupId, HashKey, HashKeyRange, NodeId, ShardId, StreamName};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamStatus {
    Creating,
    Active,
    /// A split, merge or scaling is under way.
    Updating,
    Deleting,
}

impl StreamStatus {
    pub fn as_kinesis(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
            StreamStatus::Deleting => "DELETING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub fn as_kinesis(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMeta {
    pub id: ShardId,
    pub group: GroupId,
    pub start_hash: u128,
    pub end_hash: u128,
    /// Preferred leader first.
    pub replicas: Vec<NodeId>,
    /// Its group has elected a leader and accepts writes.
    pub ready: bool,
    /// The counter of the shard's first sequence number: above every parent's last.
    pub starting_counter: u64,
    /// Lineage: none for a stream's first shards, one after a split, two after a merge
    /// (the shard to merge, then the adjacent one).
    pub parents: Vec<ShardId>,
    /// When the shard took its first write (the stream's creation, or the reshard that
    /// made it), by the proposer's clock.
    pub opened_ms: i64,
    /// Set once the shard is closed: its seal is in its log, and it takes no more writes.
    pub closed: Option<Closed>,
}

/// How a shard ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// The counter of its EndingSequenceNumber: at least its newest record's.
    pub ending_counter: u64,
    pub closed_ms: i64,
}

impl ShardMeta {
    pub fn range(&self) -> HashKeyRange {
        HashKeyRange { start: HashKey(self.start_hash), end: HashKey(self.end_hash) }
    }

    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// Where a split in two halves would start its second child; none for a one-key range.
    pub fn middle(&self) -> Option<u128> {
        (self.end_hash > self.start_hash).then(|| self.start_hash + (self.end_hash - self.start_hash) / 2 + 1)
    }
}

/// A split or merge under way: its parents are being sealed; when they are, the children
/// take their ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reshard {
    /// One (split) or two (merge: the shard to merge, then the adjacent one).
    pub parents: Vec<ShardId>,
    /// The children's hash ranges, `(start, end)` inclusive, in key order.
    pub children: Vec<(u128, u128)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamMeta {
    pub name: StreamName,
    pub status: StreamStatus,
    pub mode: StreamMode,
    pub created_ms: i64,
    pub retention_hours: u32,
    /// Distinguishes this stream from an earlier one of the same name (iterators of a
    /// deleted stream must not read a new one): the group id of its first shard.
    pub incarnation: u64,
    /// Open and closed, in id order.
    pub shards: Vec<ShardMeta>,
    /// The id the next child shard gets; ids are never reused within a stream.
    pub next_shard: u32,
    /// The split or merge under way.
    pub reshard: Option<Reshard>,
    /// The open shard count an UpdateShardCount is working towards, step by step.
    pub scaling_target: Option<u32>,
    /// When recent UpdateShardCount calls were accepted (the rolling 24 h limit).
    pub scalings_ms: Vec<i64>,
    /// At most `STREAM_TAGS_MAX`.
    pub tags: Tags,
    /// The resource policy (a JSON document) attached to the stream's ARN.
    pub policy: Option<String>,
    /// Enhanced monitoring's shard-level metrics.
    pub shard_level_metrics: BTreeSet<ShardMetric>,
    /// The largest record (data and partition key) it takes, in KiB (UpdateMaxRecordSize).
    pub max_record_size_kib: u32,
    /// The warm throughput an on-demand stream was asked for, in MiB/s.
    pub warm_throughput_mibps: Option<u32>,
    /// When recent UpdateStreamMode calls changed its mode (a rolling 24 h limit).
    pub mode_changes_ms: Vec<i64>,
    /// Enhanced fan-out consumers, in registration order.
    pub consumers: Vec<ConsumerMeta>,
    /// The KeyId of StartStreamEncryption while the stream is encrypted: records written
    /// meanwhile are stored sealed with the cluster's key (control/encryption.rs).
    pub encryption: Option<String>,
}

#[cfg(test)]
impl StreamMeta {
    /// An ACTIVE stream named `name` with no shards and nothing set, for tests to build on.
    pub fn bare(name: &str) -> StreamMeta {
        StreamMeta {
            name: StreamName::parse(name).expect("a valid stream name"),
            status: StreamStatus::Active,
            mode: StreamMode::Provisioned,
            created_ms: 0,
            retention_hours: 24,
            incarnation: 1,
            shards: Vec::new(),
            next_shard: 0,
            reshard: None,
            scaling_target: None,
            scalings_ms: Vec::new(),
            tags: Tags::new(),
            policy: None,
            shard_level_metrics: BTreeSet::new(),
            max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_throughput_mibps: None,
            mode_changes_ms: Vec::new(),
            consumers: Vec::new(),
            encryption: None,
        }
    }
}

impl StreamMeta {
    /// The open shard whose hash range holds `key`.
    pub fn shard_for(&self, key: HashKey) -> Option<&ShardMeta> {
        self.open_shards().find(|s| s.range().contains(key))
    }

    /// Shards that take writes, in id order.
    pub fn open_shards(&self) -> impl Iterator<Item = &ShardMeta> {
        self.shards.iter().filter(|s| s.is_open())
    }

    /// The shards made from `parent`.
    pub fn children_of(&self, parent: ShardId) -> impl Iterator<Item = &ShardMeta> {
        self.shards.iter().filter(move |s| s.parents.contains(&parent))
    }

    pub fn shard(&self, id: ShardId) -> Option<&ShardMeta> {
        self.shards.iter().find(|s| s.id == id)
    }
}

/// A secret that signs shard iterators and NextTokens. Generated by the metadata leader
/// and replicated, so every node verifies what any node issued.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenKey {
    pub id: u32,
    pub secret: [u8; 32],
    pub created_ms: i64,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "TokenKey {{ id: {}, created_ms: {} }}", self.id, self.created_ms)
    }
}

/// The streams by name, each behind its own `Arc`: a copy of the state (every apply starts
/// from one) copies pointers, and a stream an apply changed is one it no longer shares with
/// the state before, so only those rows are persisted (`control/applied.rs`). Encoded as a
/// plain map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streams(BTreeMap<StreamName, Arc<StreamMeta>>);

impl Streams {
    pub fn get(&self, name: &StreamName) -> Option<&StreamMeta> {
        self.0.get(name).map(|s| &**s)
    }

    /// The stream to change; copied first if an earlier state still shares it.
    pub fn get_mut(&mut self, name: &StreamName) -> Option<&mut StreamMeta> {
        self.0.get_mut(name).map(Arc::make_mut)
    }

    pub fn contains_key(&self, name: &StreamName) -> bool {
        self.0.contains_key(name)
    }

    pub fn insert(&mut self, name: StreamName, stream: StreamMeta) {
        self.0.insert(name, Arc::new(stream));
    }

    pub fn remove(&mut self, name: &StreamName) -> bool {
        self.0.remove(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &StreamMeta> + ExactSizeIterator {
        self.0.values().map(|s| &**s)
    }

    /// The name of the stream holding shard group `group`.
    pub fn holding(&self, group: GroupId) -> Option<&StreamName> {
        self.0.iter().find(|(_, s)| s.shards.iter().any(|sh| sh.group == group)).map(|(name, _)| name)
    }

    /// What changed from `before` to `self`: the streams written (new, or no longer shared
    /// with `before`) and the names removed. Compares pointers, not contents.
    pub fn changes<'a>(&'a self, before: &'a Streams) -> (Vec<&'a StreamMeta>, Vec<&'a StreamName>) {
        let written = self
            .0
            .iter()
            .filter(|(name, s)| before.0.get(*name).is_none_or(|b| !Arc::ptr_eq(b, s)))
            .map(|(_, s)| &**s)
            .collect();
        let removed = before.0.keys().filter(|name| !self.0.contains_key(*name)).collect();
        (written, removed)
    }
}

impl std::ops::Index<&StreamName> for Streams {
    type Output = StreamMeta;

    fn index(&self, name: &StreamName) -> &StreamMeta {
        &self.0[name]
    }
}

impl FromIterator<StreamMeta> for Streams {
    fn from_iter<I: IntoIterator<Item = StreamMeta>>(streams: I) -> Streams {
        Streams(streams.into_iter().map(|s| (s.name.clone(), Arc::new(s))).collect())
    }
}

impl Serialize for Streams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, s)| (name, &**s)))
    }
}

impl<'de> Deserialize<'de> for Streams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Streams, D::Error> {
        let map = BTreeMap::<StreamName, StreamMeta>::deserialize(deserializer)?;
        Ok(Streams(map.into_iter().map(|(name, s)| (name, Arc::new(s))).collect()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    pub streams: Streams,
    /// The next shard group id; ids below it that no stream holds were deleted.
    pub next_group: u64,
    /// Cluster nodes and their peer addresses, from the metadata group's membership.
    pub nodes: BTreeMap<NodeId, String>,
    /// Token signing keys, oldest first; the newest signs, all verify.
    pub token_keys: Vec<TokenKey>,
    /// UpdateAccountSettings.
    pub account: AccountSettings,
}

impl MetaState {
    /// Every shard group and its stream.
    pub fn groups(&self) -> impl Iterator<Item = (&StreamMeta, &ShardMeta)> {
        self.streams.values().flat_map(|s| s.shards.iter().map(move |sh| (s, sh)))
    }
}
