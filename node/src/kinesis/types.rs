//! The service's plain request and response types, independent of any wire format: the
//! gRPC adapter (api/kinesis.rs) converts to and from them, and an HTTP adapter will too.
//! Members arrive as the client sent them (strings unparsed, absent as `None`); the
//! service validates them, so every wire gets the same errors.

use crate::control::{ConsumerStatus, ShardMetric, StreamMode, StreamStatus};
use crate::domain::{HashKeyRange, SequenceNumber, ShardId, StreamName};

/// A stream named by StreamName or StreamARN (Kinesis accepts either).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamRef {
    pub name: Option<String>,
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateStreamInput {
    pub stream_name: String,
    pub shard_count: Option<i32>,
    pub stream_mode: Option<String>,
    /// Key and value as sent; Kinesis checks them like AddTagsToStream's.
    pub tags: Vec<(String, String)>,
    pub max_record_size_kib: Option<i32>,
    pub warm_throughput_mibps: Option<i32>,
}

/// UpdateStreamMode names its stream by StreamARN only.
#[derive(Debug, Clone, Default)]
pub struct UpdateStreamModeInput {
    pub stream_arn: Option<String>,
    pub stream_mode: Option<String>,
    pub warm_throughput_mibps: Option<i32>,
}

/// UpdateMaxRecordSize names its stream by StreamARN only.
#[derive(Debug, Clone, Default)]
pub struct UpdateMaxRecordSizeInput {
    pub stream_arn: Option<String>,
    pub max_record_size_kib: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateStreamWarmThroughputInput {
    pub stream: StreamRef,
    pub warm_throughput_mibps: Option<i32>,
}

/// An on-demand stream's warm throughput: asked for, and its write capacity now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmThroughput {
    pub target_mibps: u32,
    pub current_mibps: u32,
}

#[derive(Debug, Clone)]
pub struct UpdateStreamWarmThroughputOutput {
    pub stream_arn: String,
    pub stream_name: StreamName,
    pub warm_throughput: WarmThroughput,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteStreamInput {
    pub stream: StreamRef,
    pub enforce_consumer_deletion: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DescribeStreamInput {
    pub stream: StreamRef,
    pub limit: Option<i32>,
    pub exclusive_start_shard_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardDescription {
    pub shard_id: ShardId,
    pub parent_shard_id: Option<ShardId>,
    pub adjacent_parent_shard_id: Option<ShardId>,
    pub hash_key_range: HashKeyRange,
    pub starting_sequence_number: SequenceNumber,
    pub ending_sequence_number: Option<SequenceNumber>,
}

#[derive(Debug, Clone)]
pub struct StreamDescription {
    pub stream_name: StreamName,
    pub stream_arn: String,
    pub status: StreamStatus,
    pub mode: StreamMode,
    pub shards: Vec<ShardDescription>,
    pub has_more_shards: bool,
    pub retention_period_hours: u32,
    pub created_ms: i64,
    pub shard_level_metrics: Vec<ShardMetric>,
    /// The KeyId while the stream is encrypted (EncryptionType KMS), else `None` (NONE).
    pub encryption_key_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub stream_name: StreamName,
    pub stream_arn: String,
    pub status: StreamStatus,
    pub mode: StreamMode,
    pub retention_period_hours: u32,
    pub created_ms: i64,
    pub open_shard_count: u32,
    pub consumer_count: u32,
    pub shard_level_metrics: Vec<ShardMetric>,
    pub max_record_size_kib: u32,
    /// On-demand streams with a warm throughput.
    pub warm_throughput: Option<WarmThroughput>,
    /// The KeyId while the stream is encrypted (EncryptionType KMS), else `None` (NONE).
    pub encryption_key_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListStreamsInput {
    pub limit: Option<i32>,
    pub exclusive_start_stream_name: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ListStreamsOutput {
    pub streams: Vec<StreamSummary>,
    pub has_more_streams: bool,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ShardFilterInput {
    pub kind: String,
    pub shard_id: Option<String>,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ListShardsInput {
    pub stream: StreamRef,
    pub next_token: Option<String>,
    pub exclusive_start_shard_id: Option<String>,
    pub max_results: Option<i32>,
    pub shard_filter: Option<ShardFilterInput>,
    pub stream_creation_timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ListShardsOutput {
    pub shards: Vec<ShardDescription>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PutRecordInput {
    pub stream: StreamRef,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub explicit_hash_key: Option<String>,
    pub sequence_number_for_ordering: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordOutput {
    pub shard_id: ShardId,
    pub sequence_number: SequenceNumber,
    /// The record was stored encrypted (EncryptionType KMS).
    pub encrypted: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PutRecordsEntry {
    pub partition_key: String,
    pub data: Vec<u8>,
    pub explicit_hash_key: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PutRecordsInput {
    pub stream: StreamRef,
    pub records: Vec<PutRecordsEntry>,
}

/// One entry's outcome: its place, or its error (Kinesis names only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutRecordsResult {
    Ok { shard_id: ShardId, sequence_number: SequenceNumber },
    Failed { error_code: &'static str, error_message: String },
}

#[derive(Debug, Clone)]
pub struct PutRecordsOutput {
    pub failed_record_count: u32,
    /// Index for index with the request's records.
    pub records: Vec<PutRecordsResult>,
    /// The records were stored encrypted (EncryptionType KMS).
    pub encrypted: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GetShardIteratorInput {
    pub stream: StreamRef,
    pub shard_id: String,
    pub shard_iterator_type: String,
    pub starting_sequence_number: Option<String>,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct GetRecordsInput {
    pub shard_iterator: String,
    pub limit: Option<i32>,
    pub stream_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub data: Vec<u8>,
    pub partition_key: String,
    /// Stored encrypted (EncryptionType KMS): its stream was encrypted when it was written.
    pub encrypted: bool,
}

impl From<crate::cluster::read::ReadRecord> for Record {
    fn from(r: crate::cluster::read::ReadRecord) -> Record {
        Record {
            sequence_number: r.sequence_number,
            arrival_ms: r.arrival_ms,
            data: r.data,
            partition_key: r.partition_key,
            encrypted: r.encrypted,
        }
    }
}

/// A shard that took over (part of) a closed shard's range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildShard {
    pub shard_id: ShardId,
    pub parent_shards: Vec<ShardId>,
    pub hash_key_range: HashKeyRange,
}

#[derive(Debug, Clone)]
pub struct GetRecordsOutput {
    pub records: Vec<Record>,
    /// `None` once a closed shard has been read to its end.
    pub next_shard_iterator: Option<String>,
    pub millis_behind_latest: i64,
    /// Set with the end of a closed shard: where to read next.
    pub child_shards: Vec<ChildShard>,
}

#[derive(Debug, Clone, Default)]
pub struct SplitShardInput {
    pub stream: StreamRef,
    pub shard_to_split: String,
    pub new_starting_hash_key: String,
}

#[derive(Debug, Clone, Default)]
pub struct MergeShardsInput {
    pub stream: StreamRef,
    pub shard_to_merge: String,
    pub adjacent_shard_to_merge: String,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateShardCountInput {
    pub stream: StreamRef,
    pub target_shard_count: i32,
    pub scaling_type: String,
}

#[derive(Debug, Clone)]
pub struct UpdateShardCountOutput {
    pub stream_name: StreamName,
    pub stream_arn: String,
    pub current_shard_count: u32,
    pub target_shard_count: u32,
}

pub use crate::control::RetentionChange;

/// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod.
#[derive(Debug, Clone, Default)]
pub struct RetentionPeriodInput {
    pub stream: StreamRef,
    pub retention_period_hours: Option<i32>,
}

/// StartStreamEncryption and StopStreamEncryption (the same members; empty means absent).
#[derive(Debug, Clone, Default)]
pub struct StreamEncryptionInput {
    pub stream: StreamRef,
    /// KMS (NONE is in the model's enum, and refused).
    pub encryption_type: String,
    /// Any KMS key id, alias or ARN, kept as given.
    pub key_id: String,
}

/// A stream's tag (Kinesis' optional Value is empty when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default)]
pub struct AddTagsToStreamInput {
    pub stream: StreamRef,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct RemoveTagsFromStreamInput {
    pub stream: StreamRef,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListTagsForStreamInput {
    pub stream: StreamRef,
    pub exclusive_start_tag_key: Option<String>,
    pub limit: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTagsForStreamOutput {
    /// In key order.
    pub tags: Vec<Tag>,
    pub has_more_tags: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TagResourceInput {
    pub resource_arn: String,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagResourceInput {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeLimitsOutput {
    pub shard_limit: u32,
    pub open_shard_count: u32,
    pub on_demand_stream_count: u32,
    pub on_demand_stream_count_limit: u32,
}

/// The minimum throughput billing commitment as Kinesis reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentOutput {
    /// ENABLED, DISABLED or ENABLED_UNTIL_EARLIEST_ALLOWED_END.
    pub status: &'static str,
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub earliest_allowed_end_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateAccountSettingsInput {
    /// The MinimumThroughputBillingCommitment's Status; `None` when the member is absent.
    pub commitment_status: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PutResourcePolicyInput {
    pub resource_arn: String,
    pub policy: String,
}

#[derive(Debug, Clone, Default)]
pub struct EnhancedMonitoringInput {
    pub stream: StreamRef,
    pub shard_level_metrics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedMonitoringOutput {
    pub stream_name: StreamName,
    pub stream_arn: String,
    pub current_shard_level_metrics: Vec<ShardMetric>,
    pub desired_shard_level_metrics: Vec<ShardMetric>,
}

/// Where a subscription starts: a ShardIteratorType and its sequence number or time.
#[derive(Debug, Clone, Default)]
pub struct StartingPositionInput {
    pub kind: String,
    pub sequence_number: Option<String>,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct SubscribeToShardInput {
    pub consumer_arn: String,
    pub shard_id: String,
    pub starting_position: Option<StartingPositionInput>,
}

#[derive(Debug, Clone)]
pub struct SubscribeToShardEvent {
    pub records: Vec<Record>,
    /// Resuming AFTER_SEQUENCE_NUMBER of it continues just after this event.
    pub continuation_sequence_number: SequenceNumber,
    pub millis_behind_latest: i64,
    /// Set on the last event of a closed shard.
    pub child_shards: Vec<ChildShard>,
}

/// RegisterStreamConsumer names its stream by StreamARN only.
#[derive(Debug, Clone, Default)]
pub struct RegisterStreamConsumerInput {
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    /// Key and value as sent; checked like CreateStream's.
    pub tags: Vec<(String, String)>,
}

/// DescribeStreamConsumer and DeregisterStreamConsumer: a consumer named by its ARN, or by
/// its stream's ARN and its name, or by all three (which must agree).
#[derive(Debug, Clone, Default)]
pub struct StreamConsumerInput {
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    pub consumer_arn: Option<String>,
}

/// A consumer as Kinesis describes it (its `Consumer` shape leaves out the stream ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerDescription {
    pub consumer_name: String,
    pub consumer_arn: String,
    pub status: ConsumerStatus,
    pub created_ms: i64,
    pub stream_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListStreamConsumersInput {
    pub stream_arn: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i32>,
    pub stream_creation_timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ListStreamConsumersOutput {
    /// In name order.
    pub consumers: Vec<ConsumerDescription>,
    pub next_token: Option<String>,
}
