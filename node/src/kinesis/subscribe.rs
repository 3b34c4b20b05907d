//! SubscribeToShard: records pushed to an enhanced fan-out consumer as they are applied.
//!
//! The node that takes the call serves it. It takes the consumer's lease on the shard (a
//! metadata write: one live subscription per consumer and shard, Kinesis's 5 s takeover
//! rule), then follows the shard on its own replica: every applied entry wakes it through
//! the shard's applied-counter watch, and it reads from storage what it has applied, so
//! every record it sends is committed, and the three replicas share the fan-out load. A
//! node without a replica of the shard follows it through linearizable reads at the
//! leader instead, polling.
//!
//! Each subscription has a bounded channel of events: a slow subscriber blocks only its
//! own task, which reads on from storage when it is let go; nothing queues up in memory.
//! An event carries at most `SUBSCRIPTION_EVENT_BYTES_MAX` of records, its continuation
//! sequence number (resuming AFTER_SEQUENCE_NUMBER it loses and repeats nothing), how far
//! behind the newest record it is, and, once a closed shard has been delivered to its end,
//! the children. An idle subscription sends an empty event every
//! `SUBSCRIPTION_HEARTBEAT_MS`. It ends after the node's `subscription_ms` (5 minutes),
//! when its lease is taken over (ResourceInUseException) or its consumer deregistered
//! (ResourceNotFoundException), and releases its lease when it ends.

use super::metrics::{Outcome, ShardRead as MeteredRead, StreamLabels};
use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::cluster::read::{read, read_replica, ReadFrom, ShardRead, ShardReadReply};
use crate::cluster::Continuation;
use crate::control::{ConsumerRef, ConsumerRefused, ConsumerStatus, Lease, MetaCommand, MetaResult, StreamMeta};
use crate::domain::{SequenceNumber, ShardId};
use crate::limits::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Events buffered per subscription before its task waits for the subscriber.
const SUBSCRIPTION_BUFFER_EVENTS: usize = 2;
/// How often a node without a replica of the shard asks the leader for more.
const REMOTE_POLL: Duration = Duration::from_millis(20);

/// What a subscription yields: events, then possibly one error that ends it.
pub type SubscriptionEvents = mpsc::Receiver<Result<SubscribeToShardEvent, KinesisError>>;

/// Subscriptions this node serves at once, at most `SUBSCRIPTIONS_PER_NODE_MAX`.
#[derive(Clone)]
pub struct Subscriptions(Arc<Semaphore>);

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions(Arc::new(Semaphore::new(SUBSCRIPTIONS_PER_NODE_MAX)))
    }
}

impl KinesisService {
    pub async fn subscribe_to_shard(&self, req: SubscribeToShardInput) -> Result<SubscriptionEvents, KinesisError> {
        let mut metered = None;
        let result = self.subscribe_unmetered(req, &mut metered).await;
        if let Some((labels, consumer)) = metered {
            let outcome = if result.is_ok() { Outcome::Success } else { Outcome::Failure };
            // Kinesis's RateExceeded: the consumer's lease is held by another subscription
            // (or the consumer is not ACTIVE), both ResourceInUseException.
            let rate_exceeded = matches!(result, Err(KinesisError::ResourceInUse(_)));
            labels.subscribe(&consumer, outcome, rate_exceeded);
        }
        result
    }

    /// SubscribeToShard; sets `metered` to the stream and consumer once the ARN names an
    /// existing one, so that the call is counted against them.
    async fn subscribe_unmetered(
        &self,
        req: SubscribeToShardInput,
        metered: &mut Option<(StreamLabels, String)>,
    ) -> Result<SubscriptionEvents, KinesisError> {
        validate::subscribe_to_shard(&req)?;
        let permit = self.subscriptions.0.clone().try_acquire_owned().map_err(|_| KinesisError::Overloaded {
            message: format!("This node serves {SUBSCRIPTIONS_PER_NODE_MAX} subscriptions already."),
            retry_after_ms: 1_000,
        })?;
        let (stream, consumer) = self.consumer(&req.consumer_arn, "consumerARN")?;
        *metered = Some((self.metrics.stream(&stream), consumer.name.clone()));
        if consumer.status != ConsumerStatus::Active {
            return Err(KinesisError::ResourceInUse(format!(
                "Consumer {} is {}, not ACTIVE.",
                req.consumer_arn,
                consumer.status.as_kinesis()
            )));
        }
        let shard_id = ShardId::resolve(&req.shard_id);
        let stream = match shard_id {
            Some(id) => self.stream_with_shard(&stream.name, id).await?,
            None => self.live_stream(&stream.name)?,
        };
        let shard_missing = || {
            KinesisError::ResourceNotFound(format!(
                "Shard {} in stream {} under account {} does not exist",
                req.shard_id,
                stream.name,
                self.account().id
            ))
        };
        let shard = shard_id.and_then(|id| stream.shard(id)).ok_or_else(shard_missing)?.clone();
        let position = req.starting_position.unwrap_or_default();
        let next = self
            .start_position(
                &stream.name,
                &shard,
                &position.kind,
                position.sequence_number.as_deref(),
                position.timestamp_ms,
            )
            .await?;
        let consumer =
            ConsumerRef { stream: stream.name.clone(), name: consumer.name, created_ms: consumer.created_ms };
        let lease = Lease { id: self.node.random_id(), node: self.node.id, since_ms: self.now_ms() };
        let take = MetaCommand::TakeLease { consumer: consumer.clone(), shard: shard.id, lease };
        match self.meta_write(take).await? {
            MetaResult::Ok => {}
            MetaResult::Consumer(ConsumerRefused::InUse(why)) => return Err(KinesisError::ResourceInUse(why)),
            MetaResult::Consumer(_) => {
                return Err(KinesisError::ResourceNotFound(format!("Consumer {} not found.", req.consumer_arn)))
            }
            other => return Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_BUFFER_EVENTS);
        let subscription = Subscription {
            service: self.clone(),
            consumer,
            incarnation: stream.incarnation,
            shard: shard.id,
            lease,
            next,
            tx,
            _permit: permit,
        };
        tokio::spawn(subscription.run());
        Ok(rx)
    }
}

/// One live subscription, served by its own task.
struct Subscription {
    service: KinesisService,
    consumer: ConsumerRef,
    incarnation: u64,
    shard: ShardId,
    lease: Lease,
    /// The counter the next record sent must be at or above.
    next: u64,
    tx: mpsc::Sender<Result<SubscribeToShardEvent, KinesisError>>,
    _permit: OwnedSemaphorePermit,
}

impl Subscription {
    async fn run(mut self) {
        let ended = self.serve().await;
        if let Err(e) = ended {
            let _ = self.tx.send(Err(e)).await;
        }
        let release =
            MetaCommand::ReleaseLease { consumer: self.consumer.clone(), shard: self.shard, lease_id: self.lease.id };
        if let Err(e) = self.service.meta_write(release).await {
            tracing::debug!(shard = %self.shard, "subscription lease not released (it lapses): {e}");
        }
    }

    /// The stream as this node sees it, if the subscription may go on there.
    fn check<'m>(&self, stream: Option<&'m StreamMeta>) -> Result<&'m StreamMeta, KinesisError> {
        let gone = || KinesisError::ResourceNotFound(format!("Consumer {} was deregistered.", self.consumer.name));
        let stream = stream.filter(|s| s.incarnation == self.incarnation).ok_or_else(gone)?;
        let consumer = stream
            .consumer(&self.consumer.name)
            .filter(|c| c.created_ms == self.consumer.created_ms && c.status == ConsumerStatus::Active)
            .ok_or_else(gone)?;
        if consumer.leases.get(&self.shard).map(|l| l.id) != Some(self.lease.id) {
            return Err(KinesisError::ResourceInUse(format!(
                "Another subscription of consumer {} to shard {} took over.",
                self.consumer.name, self.shard
            )));
        }
        Ok(stream)
    }

    async fn serve(&mut self) -> Result<(), KinesisError> {
        let node = self.service.node().clone();
        let ends_at = Instant::now() + Duration::from_millis(node.config.subscription_ms);
        let heartbeat = Duration::from_millis(SUBSCRIPTION_HEARTBEAT_MS);
        let mut meta_rx = node.meta.subscribe();
        let mut applied_rx = node.group(self.stream_shard_group(&node)?).map(|g| g.shared.subscribe());
        let mut last_sent: Option<Instant> = None;
        loop {
            if Instant::now() >= ends_at {
                return Ok(());
            }
            meta_rx.borrow_and_update();
            if let Some(rx) = applied_rx.as_mut() {
                rx.borrow_and_update();
            }
            let meta = node.meta.current();
            let stream = self.check(meta.state.streams.get(&self.consumer.stream))?;
            let shard = stream.shard(self.shard).cloned().ok_or_else(|| {
                KinesisError::ResourceNotFound(format!("Shard {} of stream {} expired.", self.shard, stream.name))
            })?;
            let req = ShardRead {
                group: shard.group,
                shard: shard.id,
                from: ReadFrom::Counter(self.next),
                limit: SUBSCRIPTION_EVENT_RECORDS_MAX,
                bytes_max: SUBSCRIPTION_EVENT_BYTES_MAX as u64,
            };
            // Whether this replica had applied the shard's seal before the read: every
            // record comes before the seal, so the read then saw all there will be.
            let sealed_here = node.group(shard.group).is_some_and(|g| g.shared.applied().sealed);
            let (reply, sealed) = match read_replica(&node, &req).await {
                Some(reply) => (reply?, sealed_here),
                // At the leader, which applied everything committed: a shard is closed in
                // the metadata only after its seal committed.
                None => (read(&node, &shard.replicas, &req).await?, true),
            };
            // Past the EndingSequenceNumber, or nothing after the read in a sealed shard: an
            // empty shard has no record at its EndingSequenceNumber to read past.
            let ended = shard
                .closed
                .is_some_and(|c| reply.next_counter > c.ending_counter || sealed && reply.next_arrival_ms.is_none());
            let due = last_sent.is_none_or(|t| t.elapsed() >= heartbeat);
            let has_records = !reply.records.is_empty();
            if has_records || ended || due {
                let children = if ended {
                    stream
                        .children_of(shard.id)
                        .map(|c| ChildShard {
                            shard_id: c.id,
                            parent_shards: c.parents.clone(),
                            hash_key_range: c.range(),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let event = self.event(reply, children);
                let read = MeteredRead {
                    records: event.records.len() as u64,
                    bytes: event.records.iter().map(|r| (r.data.len() + r.partition_key.len()) as u64).sum(),
                    age_ms: event.millis_behind_latest,
                };
                self.service.metrics.stream(stream).subscribe_event(&self.consumer.name, shard.id, read);
                if self.tx.send(Ok(event)).await.is_err() {
                    return Ok(()); // The subscriber went away.
                }
                last_sent = Some(Instant::now());
                if ended {
                    return Ok(());
                }
                if has_records {
                    continue;
                }
            }
            let wake_at = last_sent.map_or(ends_at, |t| (t + heartbeat).min(ends_at));
            tokio::select! {
                biased;
                _ = self.tx.closed() => return Ok(()),
                _ = applied(&mut applied_rx) => {}
                _ = meta_rx.changed() => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    fn stream_shard_group(&self, node: &crate::cluster::Node) -> Result<crate::domain::GroupId, KinesisError> {
        let meta = node.meta.current();
        let stream = self.check(meta.state.streams.get(&self.consumer.stream))?;
        stream
            .shard(self.shard)
            .map(|s| s.group)
            .ok_or_else(|| KinesisError::ResourceNotFound(format!("Shard {} does not exist.", self.shard)))
    }

    /// The counter of the continuation number: AFTER_SEQUENCE_NUMBER of it resumes at
    /// `next`.
    fn continuation(&self) -> u64 {
        match self.service.node().continuation {
            Continuation::BeforeNext => self.next.saturating_sub(1),
            // The planted bug: a resume after it starts one record too late.
            Continuation::AtNext => self.next,
            // The other planted bug: a resume after it repeats the last record sent.
            Continuation::AtLast => self.next.saturating_sub(2),
        }
    }

    /// The event for what a read returned; moves the subscription past it.
    fn event(&mut self, reply: ShardReadReply, child_shards: Vec<ChildShard>) -> SubscribeToShardEvent {
        let now = self.service.node().clock.now_ms();
        self.next = self.next.max(reply.next_counter);
        SubscribeToShardEvent {
            records: reply.records.into_iter().map(Record::from).collect(),
            continuation_sequence_number: SequenceNumber::new(self.shard, self.continuation()),
            millis_behind_latest: reply.next_arrival_ms.map_or(0, |t| now.saturating_sub(t).max(0)),
            child_shards,
        }
    }
}

/// Resolves when the replica applied more; never when this node holds none (the caller
/// polls then).
async fn applied(rx: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match rx {
        Some(rx) => {
            if rx.changed().await.is_err() {
                // The group stopped here (dropped, shutting down): look again soon.
                tokio::time::sleep(REMOTE_POLL).await;
            }
        }
        None => tokio::time::sleep(REMOTE_POLL).await,
    }
}
