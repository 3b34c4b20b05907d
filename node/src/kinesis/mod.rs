//! The Kinesis service, independent of any wire: plain requests in (`types`), plain
//! responses or a `KinesisError` out. It validates each request, consults the metadata,
//! and turns it into proposals and linearizable reads on the right groups. The gRPC
//! service (api/kinesis.rs) is a thin adapter over it; an HTTP adapter will sit beside.
//!
//! - `streams`: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams.
//! - `shards`: ListShards.
//! - `records`: PutRecord, PutRecords.
//! - `reads`: GetShardIterator, GetRecords.
//! - `resharding`: SplitShard, MergeShards, UpdateShardCount.
//! - `retention`: IncreaseStreamRetentionPeriod, DecreaseStreamRetentionPeriod.
//! - `capacity`: UpdateStreamMode, UpdateMaxRecordSize, UpdateStreamWarmThroughput.
//! - `subscribe`: SubscribeToShard (enhanced fan-out push streams).
//! - `tags`: AddTagsToStream, RemoveTagsFromStream, ListTagsForStream, TagResource,
//!   UntagResource, ListTagsForResource.
//! - `policies`: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy.
//! - `monitoring`: EnableEnhancedMonitoring, DisableEnhancedMonitoring.
//! - `encryption`: StartStreamEncryption, StopStreamEncryption, and the key records of an
//!   encrypted stream are sealed with before they are proposed.
//! - `account`: DescribeLimits, DescribeAccountSettings, UpdateAccountSettings.
//! - `consumers`: RegisterStreamConsumer, DeregisterStreamConsumer, DescribeStreamConsumer,
//!   ListStreamConsumers (enhanced fan-out consumers).
//! - `arn`: stream and consumer ARNs with the node's region and account.
//! - `tokens`: authenticated shard iterators and NextTokens.
//! - `validate`: member checks shared by the actions.
//! - `admission`: bounded work per node.
//! - `metrics`: Kinesis's CloudWatch metrics as Prometheus series (every name).
//! - `error`: `KinesisError`.

mod account;
pub mod admission;
pub mod arn;
mod capacity;
mod consumers;
mod encryption;
pub mod error;
pub mod metrics;
mod monitoring;
mod policies;
mod reads;
mod records;
mod resharding;
mod retention;
mod shards;
mod streams;
mod subscribe;
mod tags;
pub mod tokens;
pub mod types;
pub mod validate;

pub use error::KinesisError;
pub use subscribe::SubscriptionEvents;

use crate::cluster::propose::{propose, ProposeError};
use crate::cluster::Node;
use crate::control::{ConsumerMeta, MetaCommand, MetaResult, ShardMeta, StreamMeta, StreamStatus, Tags, TokenKey};
use crate::crypto::RecordKey;
use crate::domain::{SequenceNumber, ShardId, StreamName, META_GROUP};
use crate::replica::{GroupCommand, GroupReply};
use crate::shard::append::AppendRefused;
use crate::shard::batch::{AppendBatch, NewRecord};
use admission::Admission;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokens::{TokenError, TokenKind};
use types::{ShardDescription, StreamRef};

/// How long a metadata write waits to be visible on the node that answers.
const META_VISIBLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write refused by a sealed parent waits for the metadata to name its
/// children (the metadata leader completes the reshard right after the seal).
const RESHARD_WAIT: Duration = Duration::from_secs(10);
/// How long a read naming a shard this node does not know yet waits for its metadata.
const META_CATCH_UP: Duration = Duration::from_secs(3);
/// Generations a write follows before giving up (a reshard of a just-made child...).
const RESHARD_HOPS_MAX: usize = 8;

#[derive(Clone)]
pub struct KinesisService {
    node: Arc<Node>,
    admission: Admission,
    subscriptions: subscribe::Subscriptions,
    metrics: metrics::KinesisMetrics,
}

fn describe_shard(shard: &ShardMeta) -> ShardDescription {
    ShardDescription {
        shard_id: shard.id,
        parent_shard_id: shard.parents.first().copied(),
        adjacent_parent_shard_id: shard.parents.get(1).copied(),
        hash_key_range: shard.range(),
        starting_sequence_number: SequenceNumber::new(shard.id, shard.starting_counter),
        ending_sequence_number: shard.closed.map(|c| SequenceNumber::new(shard.id, c.ending_counter)),
    }
}

/// Why records did not land in the shard they were sent to.
enum AppendFailure {
    /// The shard was sealed first: nothing was written; the records come back to be
    /// routed to its children.
    Sealed(Vec<NewRecord>),
    /// The shard's write quota admitted none of them: nothing was written.
    Throttled,
    Failed(KinesisError),
}

impl From<KinesisError> for AppendFailure {
    fn from(e: KinesisError) -> AppendFailure {
        AppendFailure::Failed(e)
    }
}

impl KinesisService {
    pub fn new(node: Arc<Node>) -> KinesisService {
        let admission = Admission::new(node.config.limits);
        let metrics = metrics::KinesisMetrics::new(node.id);
        KinesisService { node, admission, subscriptions: Default::default(), metrics }
    }

    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    fn now_ms(&self) -> i64 {
        self.node.clock.now_ms()
    }

    /// The region and account of this cluster's ARNs.
    pub fn account(&self) -> arn::Account<'_> {
        arn::Account { region: &self.node.config.region, id: &self.node.config.account_id }
    }

    pub fn stream_arn(&self, name: &StreamName) -> String {
        self.account().stream_arn(name)
    }

    fn not_found(&self, name: &StreamName) -> KinesisError {
        self.account().not_found(name.as_str())
    }

    /// The stream a request names by StreamName or StreamARN (which must be this cluster's).
    fn stream_name(&self, stream: &StreamRef) -> Result<StreamName, KinesisError> {
        self.account().stream_named(stream.name.as_deref().unwrap_or(""), stream.arn.as_deref().unwrap_or(""))
    }

    /// The metric labels of the stream a request names, if it exists: a name nobody
    /// created gets no series, so clients cannot grow them without end.
    fn metered(&self, stream: &StreamRef) -> Option<metrics::StreamLabels> {
        let name = self.stream_name(stream).ok()?;
        self.node.meta.current().state.streams.get(&name).map(|s| self.metrics.stream(s))
    }

    fn stream(&self, name: &StreamName) -> Result<StreamMeta, KinesisError> {
        self.node.meta.current().state.streams.get(name).cloned().ok_or_else(|| self.not_found(name))
    }

    /// A stream that accepts reads and writes.
    fn live_stream(&self, name: &StreamName) -> Result<StreamMeta, KinesisError> {
        let stream = self.stream(name)?;
        match stream.status {
            StreamStatus::Active | StreamStatus::Updating => Ok(stream),
            status => Err(KinesisError::ResourceNotFound(format!(
                "Stream {name} under account {} is {}, not ACTIVE.",
                self.account().id,
                status.as_kinesis()
            ))),
        }
    }

    /// The live stream once this node's metadata knows shard `id`. A shard a reshard just
    /// made (its id at or above the stream's next one here) may be known to the node that
    /// named it to the caller (ChildShards) before it is here: wait a little for the
    /// metadata to catch up rather than deny it exists.
    async fn stream_with_shard(&self, name: &StreamName, id: ShardId) -> Result<StreamMeta, KinesisError> {
        let mut meta = self.node.meta.subscribe();
        let deadline = tokio::time::Instant::now() + META_CATCH_UP;
        loop {
            let stream = self.live_stream(name)?;
            if stream.shard(id).is_some() || id.0 < stream.next_shard {
                return Ok(stream);
            }
            meta.borrow_and_update();
            if tokio::time::timeout_at(deadline, meta.changed()).await.is_err() {
                return Ok(stream);
            }
        }
    }

    /// The stream and consumer a consumer ARN names (its name and creation second must
    /// match: an ARN of a deregistered consumer names no consumer registered again since).
    /// `member` is the model's name for it (`consumerARN`, `resourceARN`), used in messages.
    fn consumer(&self, arn: &str, member: &str) -> Result<(StreamMeta, ConsumerMeta), KinesisError> {
        let (name, consumer, epoch_s) = self.account().consumer_of(arn, member)?;
        let stream = self.stream(&name)?;
        let found = stream.consumer(&consumer).filter(|c| c.created_epoch_s() == epoch_s).cloned();
        match found {
            Some(c) => Ok((stream, c)),
            None => Err(KinesisError::ResourceNotFound(format!("Consumer {arn} not found."))),
        }
    }

    fn token_keys(&self) -> Vec<TokenKey> {
        self.node.meta.current().state.token_keys.clone()
    }

    fn seal<T: Serialize + TokenKind>(&self, value: &T) -> Result<String, KinesisError> {
        tokens::seal(&self.token_keys(), value).map_err(|e| match e {
            TokenError::NoKey => {
                KinesisError::ServiceUnavailable("the cluster is still starting (no token key)".into())
            }
            TokenError::Invalid => KinesisError::InternalFailure("a token could not be sealed".into()),
        })
    }

    /// The token, if this cluster sealed it (callers say what an invalid one is).
    fn open<T: DeserializeOwned + TokenKind>(&self, token: &str) -> Option<T> {
        tokens::open(&self.token_keys(), token).ok()
    }

    /// `command` (CreateStream, SplitShard, UpdateShardCount) under this node's shard limit.
    fn shard_limited(&self, command: MetaCommand) -> MetaCommand {
        self.shard_limited_with(Tags::new(), command)
    }

    /// Like `shard_limited`; a CreateStream's tags go with it.
    fn shard_limited_with(&self, tags: Tags, command: MetaCommand) -> MetaCommand {
        MetaCommand::ShardLimited { shard_limit: self.node.config.shard_limit, tags, command: Box::new(command) }
    }

    /// Proposes a metadata change and waits until this node has applied it, so that the
    /// caller's next request here sees it.
    async fn meta_write(&self, command: MetaCommand) -> Result<MetaResult, KinesisError> {
        let replicas: Vec<_> = self.node.config.peers.keys().copied().collect();
        let proposed = propose(&self.node, META_GROUP, &replicas, &GroupCommand::Meta(command)).await?;
        let waited = self
            .node
            .meta_raft
            .wait(Some(META_VISIBLE_TIMEOUT))
            .applied_index_at_least(Some(proposed.log_index), "metadata write visible")
            .await;
        if let Err(e) = waited {
            tracing::debug!("metadata write applied elsewhere, not yet here: {e}");
        }
        match proposed.reply {
            GroupReply::Meta(MetaResult::Refused(why)) => Err(KinesisError::InvalidArgument(why)),
            GroupReply::Meta(result) => Ok(result),
            other => Err(KinesisError::InternalFailure(format!("unexpected metadata reply {other:?}"))),
        }
    }

    /// Kinesis's refusal of a shard's records or reads over its quota.
    fn rate_exceeded(&self, stream: &StreamName, shard: ShardId) -> String {
        format!("Rate exceeded for shard {shard} in stream {stream} under account {}.", self.account().id)
    }

    /// The stream once the metadata shows `shard` closed (its children listed), after a
    /// write found it sealed.
    async fn wait_closed(&self, stream: &StreamMeta, shard: ShardId) -> Result<StreamMeta, KinesisError> {
        let mut meta = self.node.meta.subscribe();
        let waited = tokio::time::timeout(RESHARD_WAIT, async {
            loop {
                let current = meta.borrow_and_update().state.streams.get(&stream.name).cloned();
                match current {
                    Some(s) if s.incarnation != stream.incarnation => return None,
                    Some(s) if s.shard(shard).is_some_and(|sh| !sh.is_open()) => return Some(s),
                    Some(_) => {}
                    None => return None,
                }
                if meta.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match waited {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(self.not_found(&stream.name)),
            Err(_) => Err(KinesisError::ServiceUnavailable(format!(
                "shard {shard} is closing and its children are not open yet; nothing was written"
            ))),
        }
    }

    /// Appends records to one shard; returns the sequence numbers of the records written,
    /// in order. Fewer than were given when the shard's write quota admitted only the first
    /// ones (`kinesis_limits` mode): the rest were not written. With `seal_with` (the
    /// stream is encrypted) each record's key and data are sealed as the command is
    /// encoded, before it is proposed: only ciphertext reaches the Raft log, and through it
    /// every replica's storage and snapshots.
    async fn append(
        &self,
        stream: &StreamMeta,
        shard: &ShardMeta,
        records: Vec<NewRecord>,
        seal_with: Option<RecordKey>,
    ) -> Result<Vec<SequenceNumber>, AppendFailure> {
        let count = records.len();
        let batch = AppendBatch { arrival_ms: self.now_ms(), records, seal_with };
        let command = GroupCommand::Append(batch);
        let proposed = match propose(&self.node, shard.group, &shard.replicas, &command).await {
            Ok(p) => p,
            Err(ProposeError::Throttled(_)) => {
                let refused = metrics::ShardWrite { throttled: count as u64, ..Default::default() };
                self.metrics.stream(stream).shard_write(shard.id, refused);
                return Err(AppendFailure::Throttled);
            }
            Err(e) => return Err(KinesisError::from(e).into()),
        };
        let written = count.saturating_sub(proposed.throttled as usize);
        match proposed.reply {
            GroupReply::Appended(seqs) if seqs.len() == written && written > 0 => {
                let GroupCommand::Append(batch) = &command else { unreachable!("built as an append above") };
                let bytes =
                    batch.records[..written].iter().map(|r| r.data.len() + r.partition_key.len()).sum::<usize>();
                let write = metrics::ShardWrite {
                    records: written as u64,
                    bytes: bytes as u64,
                    throttled: (count - written) as u64,
                };
                self.metrics.stream(stream).shard_write(shard.id, write);
                Ok(seqs)
            }
            GroupReply::AppendRefused(AppendRefused::Sealed) => {
                let GroupCommand::Append(batch) = command else { unreachable!("built as an append above") };
                Err(AppendFailure::Sealed(batch.records))
            }
            GroupReply::AppendRefused(AppendRefused::NotIssued(seq)) => {
                Err(AppendFailure::Failed(KinesisError::InvalidArgument(format!(
                    "SequenceNumberForOrdering {seq} was not issued by shard {} of this stream",
                    shard.id
                ))))
            }
            GroupReply::AppendRefused(refused) => {
                Err(AppendFailure::Failed(KinesisError::InvalidArgument(refused.to_string())))
            }
            other => {
                Err(AppendFailure::Failed(KinesisError::InternalFailure(format!("unexpected append reply {other:?}"))))
            }
        }
    }
}
