//! The commands of the metadata group, and applying them.
//!
//! Commands are validated again when applied (two proposals may race, and a command could
//! come from a node of another release): anything unacceptable is refused with
//! `MetaResult::Refused`, identically on every replica, and changes nothing. Every decision
//! that must be the same on all replicas (group ids, placement, shard ranges) is made here,
//! from the state and the command alone.

use super::attributes::{AccountSettings, ShardMetric, Tags};
use super::consumers::{ConsumerRef, ConsumerRefused, Lease};
use super::encryption::{set_encryption, EncryptionRefused};
use super::placement::replicas_for;
use super::reshard::{self, ReshardRefused};
use super::retention::{set_retention, RetentionChange, RetentionRefused};
use super::state::{MetaState, ShardMeta, StreamMeta, StreamMode, StreamStatus, TokenKey};
use crate::domain::{GroupId, HashKeyRange, NodeId, ShardId, StreamName};
use crate::limits::{ON_DEMAND_STREAMS_MAX, SHARDS_PER_STREAM_MAX, STREAMS_MAX, TOKEN_KEYS_KEPT};
use crate::raft::types::{Command, CommandKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaCommand {
    CreateStream {
        name: StreamName,
        shard_count: u32,
        mode: StreamMode,
        created_ms: i64,
        replication_factor: u32,
        retention_hours: u32,
        max_record_size_kib: u32,
        /// WarmThroughputMiBps of an on-demand stream.
        warm_mibps: Option<u32>,
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
    /// A new token signing key; `id` must be the next one.
    RotateTokenKey {
        key: TokenKey,
    },
    /// SplitShard: the second child starts at `new_starting_hash`.
    SplitShard {
        name: StreamName,
        shard: ShardId,
        new_starting_hash: u128,
    },
    /// MergeShards.
    MergeShards {
        name: StreamName,
        shard: ShardId,
        adjacent: ShardId,
    },
    /// UpdateShardCount with UNIFORM_SCALING; `scalings_per_window_max` is the proposing
    /// node's setting, carried so that every replica decides alike.
    UpdateShardCount {
        name: StreamName,
        target: u32,
        now_ms: i64,
        scalings_per_window_max: u32,
    },
    /// The parents of the reshard under way are sealed, each at its newest counter.
    CompleteReshard {
        name: StreamName,
        incarnation: u64,
        endings: Vec<(ShardId, u64)>,
        now_ms: i64,
    },
    /// IncreaseStreamRetentionPeriod or DecreaseStreamRetentionPeriod.
    SetRetention {
        name: StreamName,
        hours: u32,
        change: RetentionChange,
    },
    /// Forget the stream's closed shards whose records have all expired at `now_ms` (the
    /// proposer's clock, with its length of an hour, so every replica decides alike).
    ExpireShards {
        name: StreamName,
        incarnation: u64,
        now_ms: i64,
        hour_ms: u64,
    },
    /// A CreateStream, SplitShard or UpdateShardCount, refused when the cluster would then
    /// hold more than `shard_limit` open shards (the proposer's setting, carried so every
    /// replica decides alike); a CreateStream's `tags` go on the stream in the same step.
    ShardLimited {
        shard_limit: u32,
        tags: Tags,
        command: Box<MetaCommand>,
    },
    /// AddTagsToStream, TagResource: adds or overwrites.
    AddTags {
        name: StreamName,
        tags: Tags,
    },
    /// RemoveTagsFromStream, UntagResource: keys the stream lacks are ignored.
    RemoveTags {
        name: StreamName,
        keys: Vec<String>,
    },
    PutPolicy {
        name: StreamName,
        policy: String,
    },
    DeletePolicy {
        name: StreamName,
    },
    /// EnableEnhancedMonitoring (`enable`) or DisableEnhancedMonitoring.
    SetMonitoring {
        name: StreamName,
        metrics: Vec<ShardMetric>,
        enable: bool,
    },
    /// UpdateAccountSettings: the minimum throughput billing commitment.
    UpdateAccountSettings {
        enable_commitment: bool,
        now_ms: i64,
    },
    /// UpdateStreamMode (with an on-demand stream's WarmThroughputMiBps).
    SetStreamMode {
        name: StreamName,
        mode: StreamMode,
        warm_mibps: Option<u32>,
        now_ms: i64,
    },
    /// UpdateMaxRecordSize.
    SetMaxRecordSize {
        name: StreamName,
        kib: u32,
    },
    /// UpdateStreamWarmThroughput.
    SetWarmThroughput {
        name: StreamName,
        mibps: u32,
        now_ms: i64,
    },
    /// RegisterStreamConsumer, with the consumer's tags.
    RegisterConsumer {
        stream: StreamName,
        name: String,
        now_ms: i64,
        tags: Tags,
    },
    /// A registered consumer becomes ACTIVE (the metadata leader's reconcile pass).
    ActivateConsumer {
        consumer: ConsumerRef,
    },
    /// DeregisterStreamConsumer.
    DeregisterConsumer {
        consumer: ConsumerRef,
        now_ms: i64,
    },
    /// A DELETING consumer is forgotten (the metadata leader, after a grace).
    ForgetConsumer {
        consumer: ConsumerRef,
    },
    /// SubscribeToShard takes the shard's lease of the consumer.
    TakeLease {
        consumer: ConsumerRef,
        shard: ShardId,
        lease: Lease,
    },
    /// A subscription ended.
    ReleaseLease {
        consumer: ConsumerRef,
        shard: ShardId,
        lease_id: u64,
    },
    /// StartStreamEncryption (`key_id` set: the KeyId, kept as given) or
    /// StopStreamEncryption (`None`).
    SetEncryption {
        name: StreamName,
        key_id: Option<String>,
    },
    /// DeleteStream without EnforceConsumerDeletion: refused while the stream has
    /// registered consumers.
    DeleteStreamWithoutConsumers {
        name: StreamName,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaResult {
    Ok,
    StreamInUse(StreamName),
    StreamNotFound(StreamName),
    TooManyStreams,
    /// The command breaks a rule; nothing changed.
    Refused(String),
    /// A reshard of a stream that is not ACTIVE.
    NotActive(StreamStatus),
    ShardNotFound(ShardId),
    /// Over a shard or scaling limit; nothing changed.
    LimitExceeded(String),
    /// UpdateShardCount accepted; the open shard count it started from.
    Scaling {
        current: u32,
    },
    /// DeletePolicy of a stream without one.
    NoPolicy,
    /// SetMonitoring: the metrics before and after.
    Monitoring {
        current: Vec<ShardMetric>,
        desired: Vec<ShardMetric>,
    },
    /// UpdateAccountSettings: the settings after.
    Account(AccountSettings),
    /// A consumer command changed nothing.
    Consumer(ConsumerRefused),
}

impl From<ReshardRefused> for MetaResult {
    fn from(refused: ReshardRefused) -> MetaResult {
        match refused {
            ReshardRefused::NotActive(status) => MetaResult::NotActive(status),
            ReshardRefused::ShardNotFound(id) => MetaResult::ShardNotFound(id),
            ReshardRefused::Invalid(why) => MetaResult::Refused(why),
            ReshardRefused::Limit(why) => MetaResult::LimitExceeded(why),
        }
    }
}

impl MetaCommand {
    /// The command as a Raft command (postcard of Runnel's own type; the log entry around
    /// it carries the CRC).
    pub fn encode(&self) -> Result<Command, postcard::Error> {
        Command::build(CommandKind::Meta, 64, |buf| {
            let body = postcard::to_stdvec(self)?;
            buf.extend_from_slice(&body);
            Ok(())
        })
    }

    pub fn decode(body: &[u8]) -> Result<MetaCommand, String> {
        postcard::from_bytes(body).map_err(|e| format!("undecodable metadata command: {e}"))
    }
}

impl MetaState {
    pub fn apply(&mut self, command: &MetaCommand) -> MetaResult {
        match command {
            MetaCommand::CreateStream {
                name,
                shard_count,
                mode,
                created_ms,
                replication_factor,
                retention_hours,
                max_record_size_kib,
                warm_mibps,
            } => {
                if self.streams.contains_key(name) {
                    return MetaResult::StreamInUse(name.clone());
                }
                if self.streams.len() >= STREAMS_MAX {
                    return MetaResult::TooManyStreams;
                }
                let on_demand = self.streams.values().filter(|s| s.mode == StreamMode::OnDemand).count();
                if *mode == StreamMode::OnDemand && on_demand >= ON_DEMAND_STREAMS_MAX as usize {
                    return MetaResult::LimitExceeded(format!(
                        "This request would exceed the limit of {ON_DEMAND_STREAMS_MAX} on-demand streams."
                    ));
                }
                if !(1..=SHARDS_PER_STREAM_MAX).contains(shard_count) {
                    return MetaResult::Refused(format!("a stream has 1 to {SHARDS_PER_STREAM_MAX} shards"));
                }
                let nodes: Vec<NodeId> = self.nodes.keys().copied().collect();
                let first_group = self.next_group.max(1);
                let Some(next_group) = first_group.checked_add(u64::from(*shard_count)) else {
                    return MetaResult::Refused("group ids are exhausted".into());
                };
                let mut shards = Vec::with_capacity(*shard_count as usize);
                for (i, range) in HashKeyRange::split_evenly(*shard_count).into_iter().enumerate() {
                    let group = GroupId(first_group + i as u64);
                    let Some(replicas) = replicas_for(group, &nodes, *replication_factor as usize) else {
                        return MetaResult::Refused(format!(
                            "cannot place {replication_factor} replicas on {} nodes",
                            nodes.len()
                        ));
                    };
                    shards.push(ShardMeta {
                        id: ShardId(i as u32),
                        group,
                        start_hash: range.start.0,
                        end_hash: range.end.0,
                        replicas,
                        ready: false,
                        starting_counter: 1,
                        parents: Vec::new(),
                        opened_ms: *created_ms,
                        closed: None,
                    });
                }
                debug_assert_eq!(shards.first().map(|s| s.start_hash), Some(0));
                debug_assert_eq!(shards.last().map(|s| s.end_hash), Some(u128::MAX));
                self.next_group = next_group;
                self.streams.insert(
                    name.clone(),
                    StreamMeta {
                        name: name.clone(),
                        status: StreamStatus::Creating,
                        mode: *mode,
                        created_ms: *created_ms,
                        retention_hours: *retention_hours,
                        incarnation: first_group,
                        next_shard: *shard_count,
                        shards,
                        reshard: None,
                        scaling_target: None,
                        scalings_ms: Vec::new(),
                        tags: Tags::new(),
                        policy: None,
                        shard_level_metrics: Default::default(),
                        max_record_size_kib: *max_record_size_kib,
                        warm_throughput_mibps: warm_mibps.filter(|_| *mode == StreamMode::OnDemand),
                        mode_changes_ms: Vec::new(),
                        consumers: Vec::new(),
                        encryption: None,
                    },
                );
                MetaResult::Ok
            }
            MetaCommand::ShardReady { group } => {
                let name = self.streams.holding(*group).cloned();
                if let Some(stream) = name.and_then(|name| self.streams.get_mut(&name)) {
                    if let Some(shard) = stream.shards.iter_mut().find(|s| s.group == *group) {
                        shard.ready = true;
                        stream.activate_when_ready();
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
            MetaCommand::RotateTokenKey { key } => {
                let next_id = self.token_keys.last().map_or(Some(1), |k| k.id.checked_add(1));
                if Some(key.id) != next_id {
                    // Two leaders proposed a rotation; the first one to commit won.
                    return MetaResult::Refused(format!("token key {} is not the next one", key.id));
                }
                self.token_keys.push(key.clone());
                let excess = self.token_keys.len().saturating_sub(TOKEN_KEYS_KEPT);
                self.token_keys.drain(..excess);
                MetaResult::Ok
            }
            MetaCommand::SplitShard { name, shard, new_starting_hash } => {
                let Some(stream) = self.streams.get_mut(name) else {
                    return MetaResult::StreamNotFound(name.clone());
                };
                match reshard::plan_split(stream, *shard, *new_starting_hash).and_then(|r| reshard::begin(stream, r)) {
                    Ok(()) => MetaResult::Ok,
                    Err(refused) => refused.into(),
                }
            }
            MetaCommand::MergeShards { name, shard, adjacent } => {
                let Some(stream) = self.streams.get_mut(name) else {
                    return MetaResult::StreamNotFound(name.clone());
                };
                match reshard::plan_merge(stream, *shard, *adjacent).and_then(|r| reshard::begin(stream, r)) {
                    Ok(()) => MetaResult::Ok,
                    Err(refused) => refused.into(),
                }
            }
            MetaCommand::UpdateShardCount { name, target, now_ms, scalings_per_window_max } => {
                let Some(stream) = self.streams.get_mut(name) else {
                    return MetaResult::StreamNotFound(name.clone());
                };
                match reshard::begin_scaling(stream, *target, *now_ms, *scalings_per_window_max) {
                    Ok(current) => MetaResult::Scaling { current },
                    Err(refused) => refused.into(),
                }
            }
            MetaCommand::CompleteReshard { name, incarnation, endings, now_ms } => {
                match self.complete_reshard(name, *incarnation, endings, *now_ms) {
                    Ok(()) => MetaResult::Ok,
                    Err(why) => MetaResult::Refused(why),
                }
            }
            MetaCommand::SetRetention { name, hours, change } => {
                let Some(stream) = self.streams.get_mut(name) else {
                    return MetaResult::StreamNotFound(name.clone());
                };
                match set_retention(stream, *hours, *change) {
                    Ok(()) => MetaResult::Ok,
                    Err(RetentionRefused::NotActive(status)) => MetaResult::NotActive(status),
                    Err(RetentionRefused::Invalid(why)) => MetaResult::Refused(why),
                }
            }
            MetaCommand::ExpireShards { name, incarnation, now_ms, hour_ms } => {
                match self.streams.get_mut(name).filter(|s| s.incarnation == *incarnation) {
                    Some(stream) => {
                        stream.forget_expired(*now_ms, *hour_ms);
                        MetaResult::Ok
                    }
                    None => MetaResult::StreamNotFound(name.clone()),
                }
            }
            MetaCommand::SetEncryption { name, key_id } => {
                let Some(stream) = self.streams.get_mut(name) else {
                    return MetaResult::StreamNotFound(name.clone());
                };
                match set_encryption(stream, key_id.as_deref()) {
                    Ok(()) => MetaResult::Ok,
                    Err(EncryptionRefused::NotActive(status)) => MetaResult::NotActive(status),
                    Err(EncryptionRefused::Invalid(why)) => MetaResult::Refused(why),
                }
            }
            MetaCommand::ShardLimited { .. }
            | MetaCommand::AddTags { .. }
            | MetaCommand::RemoveTags { .. }
            | MetaCommand::PutPolicy { .. }
            | MetaCommand::DeletePolicy { .. }
            | MetaCommand::SetMonitoring { .. }
            | MetaCommand::UpdateAccountSettings { .. } => self.apply_attributes(command),
            MetaCommand::SetStreamMode { name, mode, warm_mibps, now_ms } => {
                self.set_stream_mode(name, *mode, *warm_mibps, *now_ms)
            }
            MetaCommand::SetMaxRecordSize { name, kib } => self.set_max_record_size(name, *kib),
            MetaCommand::SetWarmThroughput { name, mibps, now_ms } => self.set_warm_throughput(name, *mibps, *now_ms),
            MetaCommand::RegisterConsumer { stream, name, now_ms, tags } => {
                self.register_consumer(stream, name, *now_ms, tags)
            }
            MetaCommand::ActivateConsumer { consumer } => self.activate_consumer(consumer),
            MetaCommand::DeregisterConsumer { consumer, now_ms } => self.deregister_consumer(consumer, *now_ms),
            MetaCommand::ForgetConsumer { consumer } => self.forget_consumer(consumer),
            MetaCommand::TakeLease { consumer, shard, lease } => self.take_lease(consumer, *shard, *lease),
            MetaCommand::ReleaseLease { consumer, shard, lease_id } => self.release_lease(consumer, *shard, *lease_id),
            MetaCommand::DeleteStreamWithoutConsumers { name } => self.delete_stream_without_consumers(name),
        }
    }
}

impl StreamMeta {
    /// CREATING or UPDATING becomes ACTIVE once no reshard is under way and every open
    /// shard's group has a leader.
    fn activate_when_ready(&mut self) {
        let settled = self.reshard.is_none() && self.open_shards().all(|s| s.ready);
        if matches!(self.status, StreamStatus::Creating | StreamStatus::Updating) && settled {
            self.status = StreamStatus::Active;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::HashKey;

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
            max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
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

    /// The fault: placement asserted inside apply, so a CreateStream applied before the
    /// membership (no nodes) or with a bad count stopped the metadata group everywhere.
    #[test]
    fn bad_commands_are_refused_and_change_nothing() {
        let mut empty = MetaState::default();
        assert!(matches!(empty.apply(&create("a", 1)), MetaResult::Refused(_)));
        assert_eq!(empty, MetaState::default());
        let mut state = state_with_nodes(3);
        let before = state.clone();
        for bad in [create("a", 0), create("a", SHARDS_PER_STREAM_MAX + 1)] {
            assert!(matches!(state.apply(&bad), MetaResult::Refused(_)), "{bad:?}");
        }
        let no_replicas = MetaCommand::CreateStream {
            name: StreamName::parse("z").unwrap(),
            shard_count: 1,
            mode: StreamMode::Provisioned,
            created_ms: 1,
            replication_factor: 0,
            retention_hours: 24,
            max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
        };
        assert!(matches!(state.apply(&no_replicas), MetaResult::Refused(_)));
        state.next_group = u64::MAX - 1;
        let before_exhausted = state.clone();
        assert!(matches!(state.apply(&create("a", 4)), MetaResult::Refused(_)));
        assert_eq!(state, before_exhausted);
        state.next_group = before.next_group;
        assert_eq!(state, before);
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
    fn token_keys_rotate_in_order_and_only_the_newest_few_are_kept() {
        let mut state = state_with_nodes(1);
        let key = |id| TokenKey { id, secret: [id as u8; 32], created_ms: 0 };
        assert!(matches!(state.apply(&MetaCommand::RotateTokenKey { key: key(2) }), MetaResult::Refused(_)));
        for id in 1..=5 {
            assert_eq!(state.apply(&MetaCommand::RotateTokenKey { key: key(id) }), MetaResult::Ok);
        }
        // A racing second rotation with the same id loses.
        assert!(matches!(state.apply(&MetaCommand::RotateTokenKey { key: key(5) }), MetaResult::Refused(_)));
        let ids: Vec<u32> = state.token_keys.iter().map(|k| k.id).collect();
        assert_eq!(ids.len(), TOKEN_KEYS_KEPT);
        assert_eq!(ids.last(), Some(&5));
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
            assert_eq!(stream.shards.iter().filter(|s| s.range().contains(key)).count(), 1);
        }
        assert_eq!(stream.shard_for(HashKey::MIN).unwrap().id, ShardId(0));
        assert_eq!(stream.shard_for(HashKey::MAX).unwrap().id, ShardId(4));
    }

    #[test]
    fn encryption_changes_only_an_active_stream_that_exists() {
        let mut state = state_with_nodes(3);
        let name = StreamName::parse("e").unwrap();
        let start = MetaCommand::SetEncryption { name: name.clone(), key_id: Some("alias/aws/kinesis".into()) };
        assert_eq!(state.apply(&start), MetaResult::StreamNotFound(name.clone()));
        state.apply(&create("e", 1));
        assert_eq!(state.apply(&start), MetaResult::NotActive(StreamStatus::Creating));
        state.apply(&MetaCommand::ShardReady { group: GroupId(1) });
        assert_eq!(state.apply(&start), MetaResult::Ok);
        assert_eq!(state.streams[&name].encryption.as_deref(), Some("alias/aws/kinesis"));
        let empty = MetaCommand::SetEncryption { name: name.clone(), key_id: Some(String::new()) };
        assert!(matches!(state.apply(&empty), MetaResult::Refused(_)));
        assert_eq!(state.apply(&MetaCommand::SetEncryption { name: name.clone(), key_id: None }), MetaResult::Ok);
        assert_eq!(state.streams[&name].encryption, None);
    }

    #[test]
    fn commands_round_trip_as_raft_commands() {
        let cmd = create("x", 3);
        let encoded = cmd.encode().unwrap();
        let (kind, body) = Command::split(&encoded.0).unwrap();
        assert_eq!(kind, CommandKind::Meta);
        assert_eq!(MetaCommand::decode(body).unwrap(), cmd);
        assert!(MetaCommand::decode(&[0xff, 0xff]).is_err());
        let encrypt =
            MetaCommand::SetEncryption { name: StreamName::parse("x").unwrap(), key_id: Some("alias/a".into()) };
        let encoded = encrypt.encode().unwrap();
        let (_, body) = Command::split(&encoded.0).unwrap();
        assert_eq!(MetaCommand::decode(body).unwrap(), encrypt);
    }
}
