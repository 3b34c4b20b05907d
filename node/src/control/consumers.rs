//! Enhanced fan-out consumers of a stream (RegisterStreamConsumer and the rest) and the
//! lease each live SubscribeToShard holds, applied alike on every replica.
//!
//! A consumer is CREATING when registered, ACTIVE once the metadata leader's reconcile
//! pass saw it (a subscription needs ACTIVE), DELETING once deregistered, and forgotten
//! after `CONSUMER_DELETE_GRACE_MS`, when every node has ended its subscriptions.
//!
//! One subscription per consumer and shard: a SubscribeToShard takes the shard's lease.
//! Within `SUBSCRIPTION_TAKEOVER_MS` of the lease being taken, another one is refused
//! (ResourceInUseException, Kinesis's rule); later it takes the lease over, and the node
//! serving the old one ends it when it sees its lease gone. A subscription that ends
//! releases its lease, so a renewal is never refused.
//!
//! A stream with registered consumers (CREATING or ACTIVE) is deleted only when the
//! DeleteStream says EnforceConsumerDeletion; its consumers go with it.

use super::attributes::{check_new_tags, Tags};
use super::command::{MetaCommand, MetaResult};
use super::state::{MetaState, StreamMeta, StreamStatus};
use crate::domain::{NodeId, ShardId, StreamName};
use crate::limits::{CONSUMERS_PER_STREAM_MAX, SUBSCRIPTION_TAKEOVER_MS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerStatus {
    Creating,
    Active,
    Deleting,
}

impl ConsumerStatus {
    pub fn as_kinesis(self) -> &'static str {
        match self {
            ConsumerStatus::Creating => "CREATING",
            ConsumerStatus::Active => "ACTIVE",
            ConsumerStatus::Deleting => "DELETING",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerMeta {
    pub name: String,
    /// When it was registered, by the proposer's clock; its ARN carries the seconds, so a
    /// consumer registered again under the same name has another ARN.
    pub created_ms: i64,
    pub status: ConsumerStatus,
    /// When it was deregistered.
    pub deleting_since_ms: Option<i64>,
    /// The live subscription of each shard.
    pub leases: BTreeMap<ShardId, Lease>,
    /// Given to RegisterStreamConsumer.
    pub tags: Tags,
}

impl ConsumerMeta {
    /// The creation time in an ARN: whole seconds.
    pub fn created_epoch_s(&self) -> i64 {
        self.created_ms.div_euclid(1000)
    }
}

/// Who serves a consumer's subscription to one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Unique per subscription (the serving node draws it).
    pub id: u64,
    pub node: NodeId,
    pub since_ms: i64,
}

/// Which consumer a command means: its name and creation time (an ARN's two parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerRef {
    pub stream: StreamName,
    pub name: String,
    pub created_ms: i64,
}

impl StreamMeta {
    pub fn consumer(&self, name: &str) -> Option<&ConsumerMeta> {
        self.consumers.iter().find(|c| c.name == name)
    }

    /// The consumers registered and not deregistered (CREATING or ACTIVE): DescribeStreamSummary's
    /// ConsumerCount, and what keeps a DeleteStream without EnforceConsumerDeletion from
    /// going through. None once the stream is DELETING.
    pub fn registered_consumers(&self) -> usize {
        if self.status == StreamStatus::Deleting {
            return 0;
        }
        self.consumers.iter().filter(|c| c.status != ConsumerStatus::Deleting).count()
    }

    fn consumer_mut(&mut self, consumer: &ConsumerRef) -> Option<&mut ConsumerMeta> {
        self.consumers.iter_mut().find(|c| c.name == consumer.name && c.created_ms == consumer.created_ms)
    }
}

/// Why a consumer command changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerRefused {
    StreamNotFound,
    ConsumerNotFound,
    /// The stream or the consumer is not in a state that allows it.
    InUse(String),
    Limit(String),
}

impl MetaState {
    fn consumer_stream(&mut self, name: &StreamName) -> Result<&mut StreamMeta, ConsumerRefused> {
        match self.streams.get_mut(name) {
            Some(s) if s.status != StreamStatus::Deleting => Ok(s),
            _ => Err(ConsumerRefused::StreamNotFound),
        }
    }

    /// RegisterStreamConsumer: a new CREATING consumer, at most
    /// `CONSUMERS_PER_STREAM_MAX` per stream (DELETING ones count until forgotten).
    pub(super) fn register_consumer(
        &mut self,
        stream: &StreamName,
        name: &str,
        now_ms: i64,
        tags: &Tags,
    ) -> MetaResult {
        if let Err(refused) = check_new_tags(&Tags::new(), tags) {
            return refused;
        }
        let result = self.consumer_stream(stream).and_then(|s| {
            if s.status == StreamStatus::Creating {
                return Err(ConsumerRefused::InUse(format!("Stream {stream} is CREATING, not ACTIVE.")));
            }
            if s.consumer(name).is_some() {
                return Err(ConsumerRefused::InUse(format!("Consumer {name} under stream {stream} already exists.")));
            }
            if s.consumers.len() >= CONSUMERS_PER_STREAM_MAX {
                return Err(ConsumerRefused::Limit(format!(
                    "Stream {stream} has reached the limit of {CONSUMERS_PER_STREAM_MAX} registered consumers."
                )));
            }
            s.consumers.push(ConsumerMeta {
                name: name.to_string(),
                created_ms: now_ms,
                status: ConsumerStatus::Creating,
                deleting_since_ms: None,
                leases: BTreeMap::new(),
                tags: tags.clone(),
            });
            Ok(())
        });
        consumer_result(result)
    }

    /// DeleteStream without EnforceConsumerDeletion: refused while consumers are registered.
    pub(super) fn delete_stream_without_consumers(&mut self, name: &StreamName) -> MetaResult {
        let registered = self.streams.get(name).map_or(0, StreamMeta::registered_consumers);
        if registered > 0 {
            return MetaResult::Consumer(ConsumerRefused::InUse(format!(
                "Stream {name} has {registered} registered consumer(s)."
            )));
        }
        self.apply(&MetaCommand::DeleteStream { name: name.clone() })
    }

    /// A CREATING consumer becomes ACTIVE.
    pub(super) fn activate_consumer(&mut self, consumer: &ConsumerRef) -> MetaResult {
        let result = self.consumer_stream(&consumer.stream).and_then(|s| {
            let c = s.consumer_mut(consumer).ok_or(ConsumerRefused::ConsumerNotFound)?;
            if c.status == ConsumerStatus::Creating {
                c.status = ConsumerStatus::Active;
            }
            Ok(())
        });
        consumer_result(result)
    }

    /// DeregisterStreamConsumer: DELETING at once; its subscriptions end.
    pub(super) fn deregister_consumer(&mut self, consumer: &ConsumerRef, now_ms: i64) -> MetaResult {
        let result = self.consumer_stream(&consumer.stream).and_then(|s| {
            let c = s.consumer_mut(consumer).ok_or(ConsumerRefused::ConsumerNotFound)?;
            if c.status != ConsumerStatus::Deleting {
                c.status = ConsumerStatus::Deleting;
                c.deleting_since_ms = Some(now_ms);
                c.leases.clear();
            }
            Ok(())
        });
        consumer_result(result)
    }

    /// Forgets a DELETING consumer.
    pub(super) fn forget_consumer(&mut self, consumer: &ConsumerRef) -> MetaResult {
        if let Ok(s) = self.consumer_stream(&consumer.stream) {
            s.consumers.retain(|c| {
                !(c.name == consumer.name
                    && c.created_ms == consumer.created_ms
                    && c.status == ConsumerStatus::Deleting)
            });
        }
        MetaResult::Ok
    }

    /// SubscribeToShard: takes the shard's lease for `lease`, unless another subscription
    /// took it less than `SUBSCRIPTION_TAKEOVER_MS` ago.
    pub(super) fn take_lease(&mut self, consumer: &ConsumerRef, shard: ShardId, lease: Lease) -> MetaResult {
        let result = self.consumer_stream(&consumer.stream).and_then(|s| {
            if s.shard(shard).is_none() {
                return Err(ConsumerRefused::InUse(format!(
                    "Shard {shard} of stream {} does not exist.",
                    consumer.stream
                )));
            }
            let c = s.consumer_mut(consumer).ok_or(ConsumerRefused::ConsumerNotFound)?;
            if c.status != ConsumerStatus::Active {
                return Err(ConsumerRefused::InUse(format!(
                    "Consumer {} is {}, not ACTIVE.",
                    consumer.name,
                    c.status.as_kinesis()
                )));
            }
            if let Some(held) = c.leases.get(&shard) {
                if held.id != lease.id && lease.since_ms.saturating_sub(held.since_ms) < SUBSCRIPTION_TAKEOVER_MS {
                    return Err(ConsumerRefused::InUse(format!(
                        "Another active subscription exists for consumer {} on shard {shard}.",
                        consumer.name
                    )));
                }
            }
            c.leases.insert(shard, lease);
            Ok(())
        });
        consumer_result(result)
    }

    /// A subscription ended: its lease goes, unless another took it over.
    pub(super) fn release_lease(&mut self, consumer: &ConsumerRef, shard: ShardId, lease_id: u64) -> MetaResult {
        if let Ok(s) = self.consumer_stream(&consumer.stream) {
            if let Some(c) = s.consumer_mut(consumer) {
                if c.leases.get(&shard).is_some_and(|l| l.id == lease_id) {
                    c.leases.remove(&shard);
                }
            }
        }
        MetaResult::Ok
    }
}

fn consumer_result(result: Result<(), ConsumerRefused>) -> MetaResult {
    match result {
        Ok(()) => MetaResult::Ok,
        Err(refused) => MetaResult::Consumer(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{MetaCommand, StreamMode};
    use crate::domain::GroupId;
    use crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT;

    fn stream() -> (MetaState, StreamName) {
        let mut state =
            MetaState { nodes: (1..=3).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() };
        let name = StreamName::parse("s").unwrap();
        state.apply(&MetaCommand::CreateStream {
            name: name.clone(),
            shard_count: 1,
            mode: StreamMode::Provisioned,
            created_ms: 0,
            replication_factor: 3,
            retention_hours: 24,
            max_record_size_kib: MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
        });
        state.apply(&MetaCommand::ShardReady { group: GroupId(1) });
        (state, name)
    }

    fn active(state: &mut MetaState, stream: &StreamName, name: &str, now_ms: i64) -> ConsumerRef {
        assert_eq!(state.register_consumer(stream, name, now_ms, &Tags::new()), MetaResult::Ok);
        let consumer = ConsumerRef { stream: stream.clone(), name: name.into(), created_ms: now_ms };
        assert_eq!(state.activate_consumer(&consumer), MetaResult::Ok);
        consumer
    }

    #[test]
    fn consumers_register_once_each_up_to_the_limit() {
        let (mut state, s) = stream();
        for i in 0..CONSUMERS_PER_STREAM_MAX {
            assert_eq!(state.register_consumer(&s, &format!("c{i}"), 1, &Tags::new()), MetaResult::Ok);
        }
        let none = Tags::new();
        assert!(matches!(state.register_consumer(&s, "c0", 2, &none), MetaResult::Consumer(ConsumerRefused::InUse(_))));
        let refused = state.register_consumer(&s, "one-more", 2, &none);
        assert!(matches!(refused, MetaResult::Consumer(ConsumerRefused::Limit(_))));
        let nope = StreamName::parse("nope").unwrap();
        assert_eq!(
            state.register_consumer(&nope, "c", 2, &none),
            MetaResult::Consumer(ConsumerRefused::StreamNotFound)
        );
        assert_eq!(state.streams[&s].consumer("c3").unwrap().status, ConsumerStatus::Creating);
    }

    #[test]
    fn a_lease_is_taken_over_only_after_the_grace_and_released_by_its_holder_only() {
        let (mut state, s) = stream();
        let c = active(&mut state, &s, "c", 1_000);
        let shard = ShardId(0);
        let lease = |id, since_ms| Lease { id, node: 1, since_ms };
        assert_eq!(state.take_lease(&c, shard, lease(1, 10_000)), MetaResult::Ok);
        let early = state.take_lease(&c, shard, lease(2, 10_000 + SUBSCRIPTION_TAKEOVER_MS - 1));
        assert!(matches!(early, MetaResult::Consumer(ConsumerRefused::InUse(_))), "{early:?}");
        assert_eq!(state.take_lease(&c, shard, lease(2, 10_000 + SUBSCRIPTION_TAKEOVER_MS)), MetaResult::Ok);
        state.release_lease(&c, shard, 1);
        assert_eq!(state.streams[&s].consumer("c").unwrap().leases[&shard].id, 2, "the old holder releases nothing");
        state.release_lease(&c, shard, 2);
        assert!(state.streams[&s].consumer("c").unwrap().leases.is_empty());
        assert_eq!(state.take_lease(&c, shard, lease(3, 10_001)), MetaResult::Ok, "a renewal after a release");
        let missing = state.take_lease(&c, ShardId(9), lease(4, 0));
        assert!(matches!(missing, MetaResult::Consumer(ConsumerRefused::InUse(_))));
    }

    #[test]
    fn deregistering_ends_leases_and_an_old_arn_names_nothing() {
        let (mut state, s) = stream();
        let c = active(&mut state, &s, "c", 1_000);
        assert_eq!(state.take_lease(&c, ShardId(0), Lease { id: 1, node: 1, since_ms: 2_000 }), MetaResult::Ok);
        assert_eq!(state.deregister_consumer(&c, 3_000), MetaResult::Ok);
        let deleting = state.streams[&s].consumer("c").unwrap();
        assert_eq!((deleting.status, deleting.leases.len()), (ConsumerStatus::Deleting, 0));
        let refused = state.take_lease(&c, ShardId(0), Lease { id: 2, node: 1, since_ms: 9_000 });
        assert!(matches!(refused, MetaResult::Consumer(ConsumerRefused::InUse(_))));
        state.forget_consumer(&c);
        assert!(state.streams[&s].consumer("c").is_none());
        // Registered again: another creation time, so the first ARN names nothing.
        active(&mut state, &s, "c", 5_000);
        assert_eq!(state.deregister_consumer(&c, 6_000), MetaResult::Consumer(ConsumerRefused::ConsumerNotFound));
    }

    #[test]
    fn a_stream_with_registered_consumers_is_deleted_only_when_enforced() {
        let (mut state, s) = stream();
        let c = active(&mut state, &s, "c", 1_000);
        let tags: Tags = [("team".to_string(), "a".to_string())].into();
        assert_eq!(state.register_consumer(&s, "d", 1_000, &tags), MetaResult::Ok);
        assert_eq!(state.streams[&s].consumer("d").unwrap().tags, tags);
        assert_eq!(state.streams[&s].registered_consumers(), 2);
        let too_many: Tags = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(matches!(state.register_consumer(&s, "e", 1_000, &too_many), MetaResult::LimitExceeded(_)));
        assert!(state.streams[&s].consumer("e").is_none());

        let keep = MetaCommand::DeleteStreamWithoutConsumers { name: s.clone() };
        assert!(matches!(state.apply(&keep), MetaResult::Consumer(ConsumerRefused::InUse(_))));
        assert_eq!(state.streams[&s].status, StreamStatus::Active);
        // DELETING consumers do not hold the stream back.
        assert_eq!(state.deregister_consumer(&c, 2_000), MetaResult::Ok);
        let d = ConsumerRef { stream: s.clone(), name: "d".into(), created_ms: 1_000 };
        assert_eq!(state.deregister_consumer(&d, 2_000), MetaResult::Ok);
        assert_eq!(state.streams[&s].registered_consumers(), 0);
        assert_eq!(state.apply(&keep), MetaResult::Ok);
        assert_eq!(state.streams[&s].status, StreamStatus::Deleting);
        let nope = MetaCommand::DeleteStreamWithoutConsumers { name: StreamName::parse("nope").unwrap() };
        assert!(matches!(state.apply(&nope), MetaResult::StreamNotFound(_)));
    }

    #[test]
    fn enforced_deletion_takes_the_consumers_along() {
        let (mut state, s) = stream();
        active(&mut state, &s, "c", 1_000);
        assert_eq!(state.apply(&MetaCommand::DeleteStream { name: s.clone() }), MetaResult::Ok);
        assert_eq!(state.streams[&s].registered_consumers(), 0);
        let refused = state.register_consumer(&s, "late", 3_000, &Tags::new());
        assert_eq!(refused, MetaResult::Consumer(ConsumerRefused::StreamNotFound));
    }
}
