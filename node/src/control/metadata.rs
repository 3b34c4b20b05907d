//! The metadata state machine's data and the commands that change it.
//!
//! Commands are validated again when applied (two proposals may race), and every decision
//! that must be the same on all replicas (group ids, placement, shard ranges) is made in
//! `apply`, from the state and the command alone.

use super::placement::replicas_for;
use crate::domain::{GroupId, HashKey, HashKeyRange, NodeId, ShardId, StreamName};
use crate::limits::STREAMS_MAX;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamStatus {
    Creating,
    Active,
    Deleting,
}

impl StreamStatus {
    pub fn as_kinesis(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
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
    /// The counter of the shard's first sequence number.
    pub starting_counter: u64,
}

impl ShardMeta {
    pub fn range(&self) -> HashKeyRange {
        HashKeyRange { start: HashKey(self.start_hash), end: HashKey(self.end_hash) }
    }
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
    pub shards: Vec<ShardMeta>,
}

impl StreamMeta {
    /// The open shard whose hash range holds `key`.
    pub fn shard_for(&self, key: HashKey) -> Option<&ShardMeta> {
        self.shards.iter().find(|s| s.range().contains(key))
    }

    pub fn shard(&self, id: ShardId) -> Option<&ShardMeta> {
        self.shards.iter().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    pub streams: BTreeMap<StreamName, StreamMeta>,
    /// The next shard group id; ids below it that no stream holds were deleted.
    pub next_group: u64,
    /// Cluster nodes and their advertised addresses, from the metadata group's membership.
    pub nodes: BTreeMap<NodeId, String>,
}

impl MetaState {
    /// Every shard group and its stream.
    pub fn groups(&self) -> impl Iterator<Item = (&StreamMeta, &ShardMeta)> {
        self.streams.values().flat_map(|s| s.shards.iter().map(move |sh| (s, sh)))
    }

    pub fn find_group(&self, group: GroupId) -> Option<(&StreamMeta, &ShardMeta)> {
        self.groups().find(|(_, sh)| sh.group == group)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaCommand {
    CreateStream {
        name: StreamName,
        shard_count: u32,
        mode: StreamMode,
        created_ms: i64,
        replication_factor: u32,
        retention_hours: u32,
    },
    /// A shard's group has a leader; when all of a stream's have one it becomes ACTIVE.
    ShardReady {
        group: GroupId,
    },
    DeleteStream {
        name: StreamName,
    },
    /// Forgets a DELETING stream; nodes then drop its groups' data.
    PurgeStream {
        name: StreamName,
        incarnation: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaResult {
    Ok,
    StreamInUse(StreamName),
    StreamNotFound(StreamName),
    TooManyStreams,
}

impl MetaState {
    pub fn apply(&mut self, command: &MetaCommand) -> MetaResult {
        match command {
            MetaCommand::CreateStream { name, shard_count, mode, created_ms, replication_factor, retention_hours } => {
                if self.streams.contains_key(name) {
                    return MetaResult::StreamInUse(name.clone());
                }
                if self.streams.len() >= STREAMS_MAX {
                    return MetaResult::TooManyStreams;
                }
                let nodes: Vec<NodeId> = self.nodes.keys().copied().collect();
                let first_group = self.next_group.max(1);
                let shards: Vec<ShardMeta> = HashKeyRange::split_evenly(*shard_count)
                    .into_iter()
                    .enumerate()
                    .map(|(i, range)| {
                        let group = GroupId(first_group + i as u64);
                        ShardMeta {
                            id: ShardId(i as u32),
                            group,
                            start_hash: range.start.0,
                            end_hash: range.end.0,
                            replicas: replicas_for(group, &nodes, *replication_factor as usize),
                            ready: false,
                            starting_counter: 1,
                        }
                    })
                    .collect();
                self.next_group = first_group + u64::from(*shard_count);
                self.streams.insert(
                    name.clone(),
                    StreamMeta {
                        name: name.clone(),
                        status: StreamStatus::Creating,
                        mode: *mode,
                        created_ms: *created_ms,
                        retention_hours: *retention_hours,
                        incarnation: first_group,
                        shards,
                    },
                );
                MetaResult::Ok
            }
            MetaCommand::ShardReady { group } => {
                for stream in self.streams.values_mut() {
                    if let Some(shard) = stream.shards.iter_mut().find(|s| s.group == *group) {
                        shard.ready = true;
                        if stream.status == StreamStatus::Creating && stream.shards.iter().all(|s| s.ready) {
                            stream.status = StreamStatus::Active;
                        }
                    }
                }
                MetaResult::Ok
            }
            MetaCommand::DeleteStream { name } => match self.streams.get_mut(name) {
                Some(stream) => {
                    stream.status = StreamStatus::Deleting;
                    MetaResult::Ok
                }
                None => MetaResult::StreamNotFound(name.clone()),
            },
            MetaCommand::PurgeStream { name, incarnation } => {
                let doomed = self
                    .streams
                    .get(name)
                    .is_some_and(|s| s.incarnation == *incarnation && s.status == StreamStatus::Deleting);
                if doomed {
                    self.streams.remove(name);
                }
                MetaResult::Ok
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with_nodes(n: u64) -> MetaState {
        MetaState { nodes: (1..=n).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() }
    }

    fn create(name: &str, shards: u32) -> MetaCommand {
        MetaCommand::CreateStream {
            name: StreamName::parse(name).unwrap(),
            shard_count: shards,
            mode: StreamMode::Provisioned,
            created_ms: 1,
            replication_factor: 3,
            retention_hours: 24,
        }
    }

    #[test]
    fn create_assigns_fresh_groups_covering_ranges_and_becomes_active_when_ready() {
        let mut state = state_with_nodes(3);
        assert_eq!(state.apply(&create("a", 4)), MetaResult::Ok);
        assert_eq!(state.apply(&create("a", 1)), MetaResult::StreamInUse(StreamName::parse("a").unwrap()));
        assert_eq!(state.apply(&create("b", 2)), MetaResult::Ok);
        let a = &state.streams[&StreamName::parse("a").unwrap()];
        let groups: Vec<u64> = state.groups().map(|(_, s)| s.group.0).collect();
        assert_eq!(groups, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(a.shards[0].start_hash, 0);
        assert_eq!(a.shards[3].end_hash, u128::MAX);
        assert_eq!(a.status, StreamStatus::Creating);
        for g in 1..=3 {
            state.apply(&MetaCommand::ShardReady { group: GroupId(g) });
        }
        assert_eq!(state.streams[&StreamName::parse("a").unwrap()].status, StreamStatus::Creating);
        state.apply(&MetaCommand::ShardReady { group: GroupId(4) });
        assert_eq!(state.streams[&StreamName::parse("a").unwrap()].status, StreamStatus::Active);
    }

    #[test]
    fn delete_then_purge_forgets_only_the_same_incarnation() {
        let mut state = state_with_nodes(3);
        let name = StreamName::parse("s").unwrap();
        state.apply(&create("s", 1));
        assert_eq!(state.apply(&MetaCommand::DeleteStream { name: name.clone() }), MetaResult::Ok);
        state.apply(&MetaCommand::PurgeStream { name: name.clone(), incarnation: 99 });
        assert!(state.streams.contains_key(&name));
        state.apply(&MetaCommand::PurgeStream { name: name.clone(), incarnation: 1 });
        assert!(!state.streams.contains_key(&name));
        assert_eq!(state.apply(&MetaCommand::DeleteStream { name: name.clone() }), MetaResult::StreamNotFound(name));
        // Group ids are never reused.
        state.apply(&create("s", 1));
        assert_eq!(state.streams.values().next().unwrap().shards[0].group, GroupId(2));
    }

    #[test]
    fn partition_keys_route_to_the_shard_whose_range_holds_their_md5() {
        let mut state = state_with_nodes(3);
        state.apply(&create("r", 5));
        let stream = &state.streams[&StreamName::parse("r").unwrap()];
        for i in 0..1000 {
            let pk = format!("key-{i}");
            let key = HashKey::of_partition_key(&pk);
            let shard = stream.shard_for(key).expect("the shards cover the key space");
            assert!(shard.start_hash <= key.0 && key.0 <= shard.end_hash);
            // No other shard claims it.
            assert_eq!(stream.shards.iter().filter(|s| s.range().contains(key)).count(), 1);
        }
        assert_eq!(stream.shard_for(HashKey::MIN).unwrap().id, ShardId(0));
        assert_eq!(stream.shard_for(HashKey::MAX).unwrap().id, ShardId(4));
    }
}
