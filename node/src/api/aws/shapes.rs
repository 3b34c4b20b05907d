//! The Kinesis request and response shapes of the AWS protocols, members named as AWS
//! spells them (botocore's service model, `kinesis/2013-12-02/service-2.json`), and their
//! conversions to and from the service's plain types. No logic: members pass as sent and
//! the service validates them, as it does for gRPC.
//!
//! Requests: an absent member takes its default (empty string, `None`, empty list), which
//! the service reads as absent, and unknown members are ignored. Responses omit absent
//! optional members. `Blob` and `Timestamp` pick their encoding by the format (base64 text
//! and epoch seconds in JSON; bytes and tagged epoch milliseconds in CBOR), so both codecs
//! use these shapes unchanged.
//!
//! Actions with the same members share one shape (`RetentionPeriodRequest`,
//! `EnhancedMonitoringRequest`, `StreamEncryptionRequest`, `StreamConsumerRequest`,
//! `ResourceRequest`, `AccountSettingsResponse`, `Empty`).

use crate::control::encryption::encryption_type;
use crate::control::ShardMetric;
use crate::kinesis::types as plain;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// A blob member (record Data): base64 text in human-readable formats (JSON), raw bytes
/// in binary ones (CBOR).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&BASE64_STANDARD.encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(Base64Visitor)
        } else {
            serde_bytes::ByteBuf::deserialize(deserializer).map(|bytes| Blob(bytes.into_vec()))
        }
    }
}

struct Base64Visitor;

impl Visitor<'_> for Base64Visitor {
    type Value = Blob;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Blob, E> {
        BASE64_STANDARD.decode(text).map(Blob).map_err(|e| E::custom(format_args!("a blob is not valid base64: {e}")))
    }
}

/// A timestamp member, in milliseconds since the epoch. On the wire:
/// - JSON: epoch seconds as a number, the milliseconds its fraction (botocore sends an
///   integer when there are none, and microseconds when the datetime has them).
/// - CBOR: tag 1 around an integer of epoch *milliseconds*, not the seconds RFC 8949 gives
///   tag 1. That is what the AWS SDK for Java v1 (and with it the KCL 1.x and the KPL) writes
///   and reads: in aws/aws-sdk-java's aws-java-sdk-core, `SdkCborGenerator.writeValue(Date)`
///   writes `writeTag(1)` then `date.getTime()`, and `SimpleTypeCborUnmarshallers`'
///   `DateCborUnmarshaller` reads `new Date(parser.getLongValue())`, the tag skipped. The
///   SDK v2 does the same (aws-sdk-java-v2 #184, #979, #4661), and the emulators follow it
///   (localstack #11071, #11286; kinesis-mock's `instances/borer.scala` reads tag 1 as a
///   long). Decoding takes the number tagged or not, integer or float, a float cut to whole
///   milliseconds as `getLongValue` cuts it.
///
/// Any binary format is read as CBOR: the CBOR codec is the one there is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamp(pub i64);

/// CBOR's tag for an epoch-based date/time (RFC 8949 3.4.2), carrying milliseconds in AWS's use.
pub const CBOR_EPOCH_TIME_TAG: u64 = 1;

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_f64(self.0 as f64 / 1000.0)
        } else {
            ciborium::tag::Required::<i64, CBOR_EPOCH_TIME_TAG>(self.0).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(TimestampVisitor)
        } else {
            cbor_timestamp(ciborium::value::Value::deserialize(deserializer)?)
        }
    }
}

/// A CBOR timestamp: epoch milliseconds, in tag 1 or bare, an integer or a float.
fn cbor_timestamp<E: de::Error>(value: ciborium::value::Value) -> Result<Timestamp, E> {
    use ciborium::value::Value;
    let number = match value {
        Value::Tag(CBOR_EPOCH_TIME_TAG, inner) => *inner,
        other => other,
    };
    match number {
        Value::Integer(ms) => i64::try_from(ms)
            .map(Timestamp)
            .map_err(|_| E::custom(format_args!("timestamp {} is out of range", i128::from(ms)))),
        Value::Float(ms) => {
            let whole = ms.trunc();
            if !whole.is_finite() || whole.abs() >= i64::MAX as f64 {
                return Err(E::custom(format_args!("timestamp {ms} is out of range")));
            }
            Ok(Timestamp(whole as i64))
        }
        Value::Tag(tag, _) => {
            Err(E::custom(format_args!("a timestamp is tag 1 and epoch milliseconds, not tag {tag}")))
        }
        _ => Err(E::custom("a timestamp is epoch milliseconds as a number (in tag 1)")),
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("epoch seconds as a number")
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Timestamp, E> {
        seconds
            .checked_mul(1000)
            .map(Timestamp)
            .ok_or_else(|| E::custom(format_args!("timestamp {seconds} is out of range")))
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Timestamp, E> {
        let ms = i64::try_from(seconds).ok().and_then(|s| s.checked_mul(1000));
        ms.map(Timestamp).ok_or_else(|| E::custom(format_args!("timestamp {seconds} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Timestamp, E> {
        // The nearest millisecond: a decimal fraction such as .123 is not exact in binary,
        // so truncating could land one millisecond early.
        let ms = (seconds * 1000.0).round();
        if !ms.is_finite() || ms.abs() >= i64::MAX as f64 {
            return Err(E::custom(format_args!("timestamp {seconds} is out of range")));
        }
        Ok(Timestamp(ms as i64))
    }
}

/// The request of an action without members, and the response of one without output
/// (sent as `{}`, which every SDK parses).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Empty {}

// ---- Shapes shared by requests and responses.

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StreamModeDetails {
    pub stream_mode: String,
}

// ---- Requests, with their plain input types.

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateStreamRequest {
    pub stream_name: String,
    pub shard_count: Option<i32>,
    pub stream_mode_details: Option<StreamModeDetails>,
    pub tags: BTreeMap<String, String>,
    #[serde(rename = "MaxRecordSizeInKiB")]
    pub max_record_size_kib: Option<i32>,
    #[serde(rename = "WarmThroughputMiBps")]
    pub warm_throughput_mibps: Option<i32>,
}

impl From<CreateStreamRequest> for plain::CreateStreamInput {
    fn from(r: CreateStreamRequest) -> Self {
        plain::CreateStreamInput {
            stream_name: r.stream_name,
            shard_count: r.shard_count,
            stream_mode: r.stream_mode_details.map(|m| m.stream_mode),
            tags: r.tags.into_iter().collect(),
            max_record_size_kib: r.max_record_size_kib,
            warm_throughput_mibps: r.warm_throughput_mibps,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeleteStreamRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub enforce_consumer_deletion: bool,
}

impl From<DeleteStreamRequest> for plain::DeleteStreamInput {
    fn from(r: DeleteStreamRequest) -> Self {
        plain::DeleteStreamInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            enforce_consumer_deletion: r.enforce_consumer_deletion,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DescribeStreamRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub limit: Option<i32>,
    pub exclusive_start_shard_id: Option<String>,
}

impl From<DescribeStreamRequest> for plain::DescribeStreamInput {
    fn from(r: DescribeStreamRequest) -> Self {
        plain::DescribeStreamInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            limit: r.limit,
            exclusive_start_shard_id: r.exclusive_start_shard_id,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DescribeStreamSummaryRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

impl From<DescribeStreamSummaryRequest> for plain::StreamRef {
    fn from(r: DescribeStreamSummaryRequest) -> Self {
        plain::StreamRef { name: r.stream_name, arn: r.stream_arn }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ListStreamsRequest {
    pub limit: Option<i32>,
    pub exclusive_start_stream_name: Option<String>,
    pub next_token: Option<String>,
}

impl From<ListStreamsRequest> for plain::ListStreamsInput {
    fn from(r: ListStreamsRequest) -> Self {
        plain::ListStreamsInput {
            limit: r.limit,
            exclusive_start_stream_name: r.exclusive_start_stream_name,
            next_token: r.next_token,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ShardFilter {
    pub r#type: String,
    pub shard_id: Option<String>,
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ListShardsRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub next_token: Option<String>,
    pub exclusive_start_shard_id: Option<String>,
    pub max_results: Option<i32>,
    pub stream_creation_timestamp: Option<Timestamp>,
    pub shard_filter: Option<ShardFilter>,
}

impl From<ListShardsRequest> for plain::ListShardsInput {
    fn from(r: ListShardsRequest) -> Self {
        plain::ListShardsInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            next_token: r.next_token,
            exclusive_start_shard_id: r.exclusive_start_shard_id,
            max_results: r.max_results,
            shard_filter: r.shard_filter.map(|f| plain::ShardFilterInput {
                kind: f.r#type,
                shard_id: f.shard_id,
                timestamp_ms: f.timestamp.map(|t| t.0),
            }),
            stream_creation_timestamp_ms: r.stream_creation_timestamp.map(|t| t.0),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PutRecordRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub data: Blob,
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub sequence_number_for_ordering: Option<String>,
    /// Not carried out by Runnel; the action refuses it rather than write.
    pub dry_run: bool,
}

impl From<PutRecordRequest> for plain::PutRecordInput {
    fn from(r: PutRecordRequest) -> Self {
        plain::PutRecordInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            partition_key: r.partition_key,
            data: r.data.0,
            explicit_hash_key: r.explicit_hash_key,
            sequence_number_for_ordering: r.sequence_number_for_ordering,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PutRecordsRequestEntry {
    pub data: Blob,
    pub explicit_hash_key: Option<String>,
    pub partition_key: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PutRecordsRequest {
    pub records: Vec<PutRecordsRequestEntry>,
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// Not carried out by Runnel; the action refuses it rather than write.
    pub dry_run: bool,
}

impl From<PutRecordsRequest> for plain::PutRecordsInput {
    fn from(r: PutRecordsRequest) -> Self {
        plain::PutRecordsInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            records: r
                .records
                .into_iter()
                .map(|e| plain::PutRecordsEntry {
                    partition_key: e.partition_key,
                    data: e.data.0,
                    explicit_hash_key: e.explicit_hash_key,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GetShardIteratorRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_id: String,
    pub shard_iterator_type: String,
    pub starting_sequence_number: Option<String>,
    pub timestamp: Option<Timestamp>,
    /// Not carried out by Runnel; the action refuses it.
    pub dry_run: bool,
}

impl From<GetShardIteratorRequest> for plain::GetShardIteratorInput {
    fn from(r: GetShardIteratorRequest) -> Self {
        plain::GetShardIteratorInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            shard_id: r.shard_id,
            shard_iterator_type: r.shard_iterator_type,
            starting_sequence_number: r.starting_sequence_number,
            timestamp_ms: r.timestamp.map(|t| t.0),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GetRecordsRequest {
    pub shard_iterator: String,
    pub limit: Option<i32>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// Not carried out by Runnel; the action refuses it.
    pub dry_run: bool,
}

impl From<GetRecordsRequest> for plain::GetRecordsInput {
    fn from(r: GetRecordsRequest) -> Self {
        plain::GetRecordsInput { shard_iterator: r.shard_iterator, limit: r.limit, stream_arn: r.stream_arn }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SplitShardRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_to_split: String,
    pub new_starting_hash_key: String,
}

impl From<SplitShardRequest> for plain::SplitShardInput {
    fn from(r: SplitShardRequest) -> Self {
        plain::SplitShardInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            shard_to_split: r.shard_to_split,
            new_starting_hash_key: r.new_starting_hash_key,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MergeShardsRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_to_merge: String,
    pub adjacent_shard_to_merge: String,
}

impl From<MergeShardsRequest> for plain::MergeShardsInput {
    fn from(r: MergeShardsRequest) -> Self {
        plain::MergeShardsInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            shard_to_merge: r.shard_to_merge,
            adjacent_shard_to_merge: r.adjacent_shard_to_merge,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateShardCountRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// Absent reads as 0, which the service refuses as below the minimum of 1.
    pub target_shard_count: i32,
    pub scaling_type: String,
}

impl From<UpdateShardCountRequest> for plain::UpdateShardCountInput {
    fn from(r: UpdateShardCountRequest) -> Self {
        plain::UpdateShardCountInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            target_shard_count: r.target_shard_count,
            scaling_type: r.scaling_type,
        }
    }
}

/// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RetentionPeriodRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub retention_period_hours: Option<i32>,
}

impl From<RetentionPeriodRequest> for plain::RetentionPeriodInput {
    fn from(r: RetentionPeriodRequest) -> Self {
        plain::RetentionPeriodInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            retention_period_hours: r.retention_period_hours,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AddTagsToStreamRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl From<AddTagsToStreamRequest> for plain::AddTagsToStreamInput {
    fn from(r: AddTagsToStreamRequest) -> Self {
        plain::AddTagsToStreamInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            tags: r.tags.into_iter().collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RemoveTagsFromStreamRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub tag_keys: Vec<String>,
}

impl From<RemoveTagsFromStreamRequest> for plain::RemoveTagsFromStreamInput {
    fn from(r: RemoveTagsFromStreamRequest) -> Self {
        plain::RemoveTagsFromStreamInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            tag_keys: r.tag_keys,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ListTagsForStreamRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub exclusive_start_tag_key: Option<String>,
    pub limit: Option<i32>,
}

impl From<ListTagsForStreamRequest> for plain::ListTagsForStreamInput {
    fn from(r: ListTagsForStreamRequest) -> Self {
        plain::ListTagsForStreamInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            exclusive_start_tag_key: r.exclusive_start_tag_key,
            limit: r.limit,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TagResourceRequest {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tags: BTreeMap<String, String>,
}

impl From<TagResourceRequest> for plain::TagResourceInput {
    fn from(r: TagResourceRequest) -> Self {
        plain::TagResourceInput { resource_arn: r.resource_arn, tags: r.tags.into_iter().collect() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

impl From<UntagResourceRequest> for plain::UntagResourceInput {
    fn from(r: UntagResourceRequest) -> Self {
        plain::UntagResourceInput { resource_arn: r.resource_arn, tag_keys: r.tag_keys }
    }
}

/// ListTagsForResource, GetResourcePolicy and DeleteResourcePolicy: a resource by its ARN.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ResourceRequest {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PutResourcePolicyRequest {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub policy: String,
}

impl From<PutResourcePolicyRequest> for plain::PutResourcePolicyInput {
    fn from(r: PutResourcePolicyRequest) -> Self {
        plain::PutResourcePolicyInput { resource_arn: r.resource_arn, policy: r.policy }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MinimumThroughputBillingCommitmentInput {
    pub status: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateAccountSettingsRequest {
    pub minimum_throughput_billing_commitment: Option<MinimumThroughputBillingCommitmentInput>,
}

impl From<UpdateAccountSettingsRequest> for plain::UpdateAccountSettingsInput {
    fn from(r: UpdateAccountSettingsRequest) -> Self {
        plain::UpdateAccountSettingsInput {
            commitment_status: r.minimum_throughput_billing_commitment.map(|c| c.status),
        }
    }
}

/// EnableEnhancedMonitoring and DisableEnhancedMonitoring.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EnhancedMonitoringRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_level_metrics: Vec<String>,
}

impl From<EnhancedMonitoringRequest> for plain::EnhancedMonitoringInput {
    fn from(r: EnhancedMonitoringRequest) -> Self {
        plain::EnhancedMonitoringInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            shard_level_metrics: r.shard_level_metrics,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateStreamModeRequest {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub stream_mode_details: Option<StreamModeDetails>,
    #[serde(rename = "WarmThroughputMiBps")]
    pub warm_throughput_mibps: Option<i32>,
}

impl From<UpdateStreamModeRequest> for plain::UpdateStreamModeInput {
    fn from(r: UpdateStreamModeRequest) -> Self {
        plain::UpdateStreamModeInput {
            stream_arn: r.stream_arn,
            stream_mode: r.stream_mode_details.map(|m| m.stream_mode),
            warm_throughput_mibps: r.warm_throughput_mibps,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateMaxRecordSizeRequest {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    #[serde(rename = "MaxRecordSizeInKiB")]
    pub max_record_size_kib: Option<i32>,
}

impl From<UpdateMaxRecordSizeRequest> for plain::UpdateMaxRecordSizeInput {
    fn from(r: UpdateMaxRecordSizeRequest) -> Self {
        plain::UpdateMaxRecordSizeInput { stream_arn: r.stream_arn, max_record_size_kib: r.max_record_size_kib }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateStreamWarmThroughputRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    #[serde(rename = "WarmThroughputMiBps")]
    pub warm_throughput_mibps: Option<i32>,
}

impl From<UpdateStreamWarmThroughputRequest> for plain::UpdateStreamWarmThroughputInput {
    fn from(r: UpdateStreamWarmThroughputRequest) -> Self {
        plain::UpdateStreamWarmThroughputInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            warm_throughput_mibps: r.warm_throughput_mibps,
        }
    }
}

/// StartStreamEncryption and StopStreamEncryption.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StreamEncryptionRequest {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub encryption_type: String,
    pub key_id: String,
}

impl From<StreamEncryptionRequest> for plain::StreamEncryptionInput {
    fn from(r: StreamEncryptionRequest) -> Self {
        plain::StreamEncryptionInput {
            stream: plain::StreamRef { name: r.stream_name, arn: r.stream_arn },
            encryption_type: r.encryption_type,
            key_id: r.key_id,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RegisterStreamConsumerRequest {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl From<RegisterStreamConsumerRequest> for plain::RegisterStreamConsumerInput {
    fn from(r: RegisterStreamConsumerRequest) -> Self {
        plain::RegisterStreamConsumerInput {
            stream_arn: r.stream_arn,
            consumer_name: r.consumer_name,
            tags: r.tags.into_iter().collect(),
        }
    }
}

/// DescribeStreamConsumer and DeregisterStreamConsumer.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StreamConsumerRequest {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<String>,
}

impl From<StreamConsumerRequest> for plain::StreamConsumerInput {
    fn from(r: StreamConsumerRequest) -> Self {
        plain::StreamConsumerInput {
            stream_arn: r.stream_arn,
            consumer_name: r.consumer_name,
            consumer_arn: r.consumer_arn,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ListStreamConsumersRequest {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i32>,
    pub stream_creation_timestamp: Option<Timestamp>,
}

impl From<ListStreamConsumersRequest> for plain::ListStreamConsumersInput {
    fn from(r: ListStreamConsumersRequest) -> Self {
        plain::ListStreamConsumersInput {
            stream_arn: r.stream_arn,
            next_token: r.next_token,
            max_results: r.max_results,
            stream_creation_timestamp_ms: r.stream_creation_timestamp.map(|t| t.0),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StartingPosition {
    pub r#type: String,
    pub sequence_number: Option<String>,
    pub timestamp: Option<Timestamp>,
}

/// SubscribeToShard's request; its response is an event stream, written by the listener.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SubscribeToShardRequest {
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub shard_id: String,
    pub starting_position: Option<StartingPosition>,
    /// Not carried out by Runnel; refuse it as the other actions do.
    pub dry_run: bool,
}

impl From<SubscribeToShardRequest> for plain::SubscribeToShardInput {
    fn from(r: SubscribeToShardRequest) -> Self {
        plain::SubscribeToShardInput {
            consumer_arn: r.consumer_arn,
            shard_id: r.shard_id,
            starting_position: r.starting_position.map(|p| plain::StartingPositionInput {
                kind: p.r#type,
                sequence_number: p.sequence_number,
                timestamp_ms: p.timestamp.map(|t| t.0),
            }),
        }
    }
}

// ---- Responses, from the plain output types.

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HashKeyRange {
    pub starting_hash_key: String,
    pub ending_hash_key: String,
}

impl From<crate::domain::HashKeyRange> for HashKeyRange {
    fn from(range: crate::domain::HashKeyRange) -> Self {
        HashKeyRange { starting_hash_key: range.start.to_string(), ending_hash_key: range.end.to_string() }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    pub starting_sequence_number: String,
    /// Absent while the shard is open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending_sequence_number: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    pub shard_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjacent_parent_shard_id: Option<String>,
    pub hash_key_range: HashKeyRange,
    pub sequence_number_range: SequenceNumberRange,
}

impl From<plain::ShardDescription> for Shard {
    fn from(s: plain::ShardDescription) -> Self {
        Shard {
            shard_id: s.shard_id.to_string(),
            parent_shard_id: s.parent_shard_id.map(|p| p.to_string()),
            adjacent_parent_shard_id: s.adjacent_parent_shard_id.map(|p| p.to_string()),
            hash_key_range: s.hash_key_range.into(),
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: s.starting_sequence_number.to_string(),
                ending_sequence_number: s.ending_sequence_number.map(|n| n.to_string()),
            },
        }
    }
}

fn mode_details(mode: crate::control::StreamMode) -> StreamModeDetails {
    StreamModeDetails { stream_mode: mode.as_kinesis().to_string() }
}

fn metric_names(metrics: &[ShardMetric]) -> Vec<&'static str> {
    metrics.iter().map(|m| m.as_kinesis()).collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMetrics {
    pub shard_level_metrics: Vec<&'static str>,
}

/// Kinesis lists one EnhancedMetrics entry holding the enabled metrics.
fn enhanced_monitoring(metrics: &[ShardMetric]) -> Vec<EnhancedMetrics> {
    vec![EnhancedMetrics { shard_level_metrics: metric_names(metrics) }]
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_status: &'static str,
    pub stream_mode_details: StreamModeDetails,
    pub shards: Vec<Shard>,
    pub has_more_shards: bool,
    pub retention_period_hours: u32,
    pub stream_creation_timestamp: Timestamp,
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    pub encryption_type: &'static str,
    /// Only while the stream is encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamResponse {
    pub stream_description: StreamDescription,
}

impl From<plain::StreamDescription> for DescribeStreamResponse {
    fn from(d: plain::StreamDescription) -> Self {
        DescribeStreamResponse {
            stream_description: StreamDescription {
                stream_name: d.stream_name.to_string(),
                stream_arn: d.stream_arn,
                stream_status: d.status.as_kinesis(),
                stream_mode_details: mode_details(d.mode),
                shards: d.shards.into_iter().map(Shard::from).collect(),
                has_more_shards: d.has_more_shards,
                retention_period_hours: d.retention_period_hours,
                stream_creation_timestamp: Timestamp(d.created_ms),
                enhanced_monitoring: enhanced_monitoring(&d.shard_level_metrics),
                encryption_type: encryption_type(d.encryption_key_id.is_some()),
                key_id: d.encryption_key_id,
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WarmThroughputObject {
    #[serde(rename = "TargetMiBps")]
    pub target_mibps: u32,
    #[serde(rename = "CurrentMiBps")]
    pub current_mibps: u32,
}

impl From<plain::WarmThroughput> for WarmThroughputObject {
    fn from(w: plain::WarmThroughput) -> Self {
        WarmThroughputObject { target_mibps: w.target_mibps, current_mibps: w.current_mibps }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescriptionSummary {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_status: &'static str,
    pub stream_mode_details: StreamModeDetails,
    pub retention_period_hours: u32,
    pub stream_creation_timestamp: Timestamp,
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    pub encryption_type: &'static str,
    /// Only while the stream is encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub open_shard_count: u32,
    pub consumer_count: u32,
    #[serde(rename = "MaxRecordSizeInKiB")]
    pub max_record_size_kib: u32,
    /// Only on-demand streams with a warm throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughputObject>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryResponse {
    pub stream_description_summary: StreamDescriptionSummary,
}

impl From<plain::StreamSummary> for DescribeStreamSummaryResponse {
    fn from(s: plain::StreamSummary) -> Self {
        DescribeStreamSummaryResponse {
            stream_description_summary: StreamDescriptionSummary {
                stream_name: s.stream_name.to_string(),
                stream_arn: s.stream_arn,
                stream_status: s.status.as_kinesis(),
                stream_mode_details: mode_details(s.mode),
                retention_period_hours: s.retention_period_hours,
                stream_creation_timestamp: Timestamp(s.created_ms),
                enhanced_monitoring: enhanced_monitoring(&s.shard_level_metrics),
                encryption_type: encryption_type(s.encryption_key_id.is_some()),
                key_id: s.encryption_key_id,
                open_shard_count: s.open_shard_count,
                consumer_count: s.consumer_count,
                max_record_size_kib: s.max_record_size_kib,
                warm_throughput: s.warm_throughput.map(WarmThroughputObject::from),
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_status: &'static str,
    pub stream_mode_details: StreamModeDetails,
    pub stream_creation_timestamp: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsResponse {
    pub stream_names: Vec<String>,
    pub has_more_streams: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub stream_summaries: Vec<StreamSummary>,
}

impl From<plain::ListStreamsOutput> for ListStreamsResponse {
    fn from(out: plain::ListStreamsOutput) -> Self {
        ListStreamsResponse {
            stream_names: out.streams.iter().map(|s| s.stream_name.to_string()).collect(),
            has_more_streams: out.has_more_streams,
            next_token: out.next_token,
            stream_summaries: out
                .streams
                .into_iter()
                .map(|s| StreamSummary {
                    stream_name: s.stream_name.to_string(),
                    stream_arn: s.stream_arn,
                    stream_status: s.status.as_kinesis(),
                    stream_mode_details: mode_details(s.mode),
                    stream_creation_timestamp: Timestamp(s.created_ms),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsResponse {
    pub shards: Vec<Shard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl From<plain::ListShardsOutput> for ListShardsResponse {
    fn from(out: plain::ListShardsOutput) -> Self {
        ListShardsResponse { shards: out.shards.into_iter().map(Shard::from).collect(), next_token: out.next_token }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordResponse {
    pub shard_id: String,
    pub sequence_number: String,
    pub encryption_type: &'static str,
}

impl From<plain::PutRecordOutput> for PutRecordResponse {
    fn from(out: plain::PutRecordOutput) -> Self {
        PutRecordResponse {
            shard_id: out.shard_id.to_string(),
            sequence_number: out.sequence_number.to_string(),
            encryption_type: encryption_type(out.encrypted),
        }
    }
}

/// A placed record has ShardId and SequenceNumber; a failed one ErrorCode and ErrorMessage.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsResultEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl From<plain::PutRecordsResult> for PutRecordsResultEntry {
    fn from(result: plain::PutRecordsResult) -> Self {
        match result {
            plain::PutRecordsResult::Ok { shard_id, sequence_number } => PutRecordsResultEntry {
                sequence_number: Some(sequence_number.to_string()),
                shard_id: Some(shard_id.to_string()),
                ..PutRecordsResultEntry::default()
            },
            plain::PutRecordsResult::Failed { error_code, error_message } => PutRecordsResultEntry {
                error_code: Some(error_code),
                error_message: Some(error_message),
                ..PutRecordsResultEntry::default()
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsResponse {
    pub failed_record_count: u32,
    pub records: Vec<PutRecordsResultEntry>,
    pub encryption_type: &'static str,
}

impl From<plain::PutRecordsOutput> for PutRecordsResponse {
    fn from(out: plain::PutRecordsOutput) -> Self {
        PutRecordsResponse {
            failed_record_count: out.failed_record_count,
            records: out.records.into_iter().map(PutRecordsResultEntry::from).collect(),
            encryption_type: encryption_type(out.encrypted),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorResponse {
    pub shard_iterator: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    pub sequence_number: String,
    pub approximate_arrival_timestamp: Timestamp,
    pub data: Blob,
    pub partition_key: String,
    pub encryption_type: &'static str,
}

impl From<plain::Record> for Record {
    fn from(r: plain::Record) -> Self {
        Record {
            sequence_number: r.sequence_number.to_string(),
            approximate_arrival_timestamp: Timestamp(r.arrival_ms),
            data: Blob(r.data),
            partition_key: r.partition_key,
            encryption_type: encryption_type(r.encrypted),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildShard {
    pub shard_id: String,
    pub parent_shards: Vec<String>,
    pub hash_key_range: HashKeyRange,
}

impl From<plain::ChildShard> for ChildShard {
    fn from(c: plain::ChildShard) -> Self {
        ChildShard {
            shard_id: c.shard_id.to_string(),
            parent_shards: c.parent_shards.iter().map(|p| p.to_string()).collect(),
            hash_key_range: c.hash_key_range.into(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsResponse {
    pub records: Vec<Record>,
    /// Absent once a closed shard has been read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
    pub millis_behind_latest: i64,
    /// Only with the end of a closed shard.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub child_shards: Vec<ChildShard>,
}

impl From<plain::GetRecordsOutput> for GetRecordsResponse {
    fn from(out: plain::GetRecordsOutput) -> Self {
        GetRecordsResponse {
            records: out.records.into_iter().map(Record::from).collect(),
            next_shard_iterator: out.next_shard_iterator,
            millis_behind_latest: out.millis_behind_latest,
            child_shards: out.child_shards.into_iter().map(ChildShard::from).collect(),
        }
    }
}

/// One event of a subscription, the payload of a `SubscribeToShardEvent` message.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardEvent {
    pub records: Vec<Record>,
    pub continuation_sequence_number: String,
    pub millis_behind_latest: i64,
    /// Only with the end of a closed shard.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub child_shards: Vec<ChildShard>,
}

impl From<plain::SubscribeToShardEvent> for SubscribeToShardEvent {
    fn from(e: plain::SubscribeToShardEvent) -> Self {
        SubscribeToShardEvent {
            records: e.records.into_iter().map(Record::from).collect(),
            continuation_sequence_number: e.continuation_sequence_number.to_string(),
            millis_behind_latest: e.millis_behind_latest,
            child_shards: e.child_shards.into_iter().map(ChildShard::from).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountResponse {
    pub stream_name: String,
    pub current_shard_count: u32,
    pub target_shard_count: u32,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

impl From<plain::UpdateShardCountOutput> for UpdateShardCountResponse {
    fn from(out: plain::UpdateShardCountOutput) -> Self {
        UpdateShardCountResponse {
            stream_name: out.stream_name.to_string(),
            current_shard_count: out.current_shard_count,
            target_shard_count: out.target_shard_count,
            stream_arn: out.stream_arn,
        }
    }
}

/// Every tag has a Value: the tagging actions require one (possibly empty).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

fn tags(tags: Vec<plain::Tag>) -> Vec<Tag> {
    tags.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForStreamResponse {
    pub tags: Vec<Tag>,
    pub has_more_tags: bool,
}

impl From<plain::ListTagsForStreamOutput> for ListTagsForStreamResponse {
    fn from(out: plain::ListTagsForStreamOutput) -> Self {
        ListTagsForStreamResponse { tags: tags(out.tags), has_more_tags: out.has_more_tags }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceResponse {
    pub tags: Vec<Tag>,
}

impl From<Vec<plain::Tag>> for ListTagsForResourceResponse {
    fn from(list: Vec<plain::Tag>) -> Self {
        ListTagsForResourceResponse { tags: tags(list) }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLimitsResponse {
    pub shard_limit: u32,
    pub open_shard_count: u32,
    pub on_demand_stream_count: u32,
    pub on_demand_stream_count_limit: u32,
}

impl From<plain::DescribeLimitsOutput> for DescribeLimitsResponse {
    fn from(out: plain::DescribeLimitsOutput) -> Self {
        DescribeLimitsResponse {
            shard_limit: out.shard_limit,
            open_shard_count: out.open_shard_count,
            on_demand_stream_count: out.on_demand_stream_count,
            on_demand_stream_count_limit: out.on_demand_stream_count_limit,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinimumThroughputBillingCommitmentOutput {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_allowed_end_at: Option<Timestamp>,
}

/// DescribeAccountSettings and UpdateAccountSettings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountSettingsResponse {
    pub minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentOutput,
}

impl From<plain::CommitmentOutput> for AccountSettingsResponse {
    fn from(c: plain::CommitmentOutput) -> Self {
        AccountSettingsResponse {
            minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentOutput {
                status: c.status,
                started_at: c.started_ms.map(Timestamp),
                ended_at: c.ended_ms.map(Timestamp),
                earliest_allowed_end_at: c.earliest_allowed_end_ms.map(Timestamp),
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyResponse {
    pub policy: String,
}

/// EnableEnhancedMonitoring and DisableEnhancedMonitoring.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMonitoringResponse {
    pub stream_name: String,
    pub current_shard_level_metrics: Vec<&'static str>,
    pub desired_shard_level_metrics: Vec<&'static str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

impl From<plain::EnhancedMonitoringOutput> for EnhancedMonitoringResponse {
    fn from(out: plain::EnhancedMonitoringOutput) -> Self {
        EnhancedMonitoringResponse {
            stream_name: out.stream_name.to_string(),
            current_shard_level_metrics: metric_names(&out.current_shard_level_metrics),
            desired_shard_level_metrics: metric_names(&out.desired_shard_level_metrics),
            stream_arn: out.stream_arn,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamWarmThroughputResponse {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_name: String,
    pub warm_throughput: WarmThroughputObject,
}

impl From<plain::UpdateStreamWarmThroughputOutput> for UpdateStreamWarmThroughputResponse {
    fn from(out: plain::UpdateStreamWarmThroughputOutput) -> Self {
        UpdateStreamWarmThroughputResponse {
            stream_arn: out.stream_arn,
            stream_name: out.stream_name.to_string(),
            warm_throughput: out.warm_throughput.into(),
        }
    }
}

/// A consumer as RegisterStreamConsumer and ListStreamConsumers give it (no StreamARN).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer {
    pub consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub consumer_status: &'static str,
    pub consumer_creation_timestamp: Timestamp,
}

impl From<plain::ConsumerDescription> for Consumer {
    fn from(c: plain::ConsumerDescription) -> Self {
        Consumer {
            consumer_name: c.consumer_name,
            consumer_arn: c.consumer_arn,
            consumer_status: c.status.as_kinesis(),
            consumer_creation_timestamp: Timestamp(c.created_ms),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerResponse {
    pub consumer: Consumer,
}

impl From<plain::ConsumerDescription> for RegisterStreamConsumerResponse {
    fn from(c: plain::ConsumerDescription) -> Self {
        RegisterStreamConsumerResponse { consumer: c.into() }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerDescription {
    pub consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub consumer_status: &'static str,
    pub consumer_creation_timestamp: Timestamp,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamConsumerResponse {
    pub consumer_description: ConsumerDescription,
}

impl From<plain::ConsumerDescription> for DescribeStreamConsumerResponse {
    fn from(c: plain::ConsumerDescription) -> Self {
        DescribeStreamConsumerResponse {
            consumer_description: ConsumerDescription {
                consumer_name: c.consumer_name,
                consumer_arn: c.consumer_arn,
                consumer_status: c.status.as_kinesis(),
                consumer_creation_timestamp: Timestamp(c.created_ms),
                stream_arn: c.stream_arn,
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersResponse {
    pub consumers: Vec<Consumer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl From<plain::ListStreamConsumersOutput> for ListStreamConsumersResponse {
    fn from(out: plain::ListStreamConsumersOutput) -> Self {
        ListStreamConsumersResponse {
            consumers: out.consumers.into_iter().map(Consumer::from).collect(),
            next_token: out.next_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{StreamMode, StreamStatus};
    use crate::domain::{HashKey, SequenceNumber, ShardId, StreamName};
    use crate::limits::RECORD_DATA_BYTES_MAX;
    use ciborium::value::Value as Cbor;
    use serde_json::{json, Value};

    fn request<T: serde::de::DeserializeOwned>(body: &str) -> T {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    fn encoded<T: Serialize>(response: T) -> Value {
        serde_json::to_value(response).expect("a response encodes")
    }

    fn range(start: u128, end: u128) -> crate::domain::HashKeyRange {
        crate::domain::HashKeyRange { start: HashKey(start), end: HashKey(end) }
    }

    #[test]
    fn put_records_decodes_base64_data_and_explicit_hash_keys_as_boto3_sends_them() {
        let body = r#"{"Records": [{"Data": "aGVsbG8=", "PartitionKey": "pk-1"},
            {"Data": "", "PartitionKey": "pk-2", "ExplicitHashKey": "340282366920938463463374607431768211455"}],
            "StreamName": "orders"}"#;
        let input: plain::PutRecordsInput = request::<PutRecordsRequest>(body).into();
        assert_eq!(input.stream, plain::StreamRef { name: Some("orders".into()), arn: None });
        assert_eq!(input.records.len(), 2);
        assert_eq!(input.records[0].data, b"hello");
        assert_eq!(input.records[0].partition_key, "pk-1");
        assert_eq!(input.records[0].explicit_hash_key, None);
        assert!(input.records[1].data.is_empty());
        assert_eq!(input.records[1].explicit_hash_key.as_deref(), Some(u128::MAX.to_string().as_str()));
    }

    #[test]
    fn get_shard_iterator_reads_timestamps_as_epoch_seconds_to_the_millisecond() {
        let body = r#"{"StreamName": "orders", "ShardId": "shardId-000000000001",
            "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1700000000.123}"#;
        let input: plain::GetShardIteratorInput = request::<GetShardIteratorRequest>(body).into();
        assert_eq!(input.shard_id, "shardId-000000000001");
        assert_eq!(input.shard_iterator_type, "AT_TIMESTAMP");
        assert_eq!(input.starting_sequence_number, None);
        assert_eq!(input.timestamp_ms, Some(1_700_000_000_123));
        // botocore sends an integer without a fraction, and microseconds when it has them.
        assert_eq!(request::<Timestamp>("1700000000"), Timestamp(1_700_000_000_000));
        assert_eq!(request::<Timestamp>("1700000000.123456"), Timestamp(1_700_000_000_123));
        assert_eq!(request::<Timestamp>("-1.5"), Timestamp(-1500));
        for bad in [r#""1700000000""#, "1e300", "18446744073709551615", "null"] {
            assert!(serde_json::from_str::<Timestamp>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_stream_decodes_mode_details_and_tags_and_ignores_unknown_members() {
        let body = r#"{"StreamName": "orders", "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "Tags": {"team": "payments", "env": ""}, "MaxRecordSizeInKiB": 2048,
            "WarmThroughputMiBps": 10, "RecordDistributionStrategy": "AUTO", "SomethingNew": [1]}"#;
        let input: plain::CreateStreamInput = request::<CreateStreamRequest>(body).into();
        assert_eq!(input.stream_name, "orders");
        assert_eq!(input.shard_count, None);
        assert_eq!(input.stream_mode.as_deref(), Some("ON_DEMAND"));
        assert_eq!(input.tags, vec![("env".to_string(), String::new()), ("team".to_string(), "payments".to_string())]);
        assert_eq!(input.max_record_size_kib, Some(2048));
        assert_eq!(input.warm_throughput_mibps, Some(10));
        // An absent required member is left for the service to report as null.
        let empty: plain::CreateStreamInput = request::<CreateStreamRequest>("{}").into();
        assert_eq!(empty.stream_name, "");
        assert_eq!(empty.stream_mode, None);
    }

    #[test]
    fn list_shards_decodes_a_next_token_and_a_shard_filter() {
        let next: plain::ListShardsInput =
            request::<ListShardsRequest>(r#"{"NextToken": "AAAA/token==", "MaxResults": 1000}"#).into();
        assert_eq!(next.next_token.as_deref(), Some("AAAA/token=="));
        assert_eq!(next.max_results, Some(1000));
        assert_eq!(next.stream, plain::StreamRef::default(), "with a NextToken the stream is not named");
        assert!(next.shard_filter.is_none() && next.exclusive_start_shard_id.is_none());

        let body = r#"{"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/orders",
            "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": 1700000000.5},
            "StreamCreationTimestamp": 1690000000}"#;
        let filtered: plain::ListShardsInput = request::<ListShardsRequest>(body).into();
        assert_eq!(filtered.stream.arn.as_deref(), Some("arn:aws:kinesis:us-east-1:000000000000:stream/orders"));
        let filter = filtered.shard_filter.expect("a filter");
        assert_eq!(filter.kind, "AT_TIMESTAMP");
        assert_eq!(filter.timestamp_ms, Some(1_700_000_000_500));
        assert_eq!(filter.shard_id, None);
        assert_eq!(filtered.stream_creation_timestamp_ms, Some(1_690_000_000_000));
    }

    #[test]
    fn subscribe_to_shard_decodes_its_starting_position() {
        let body = r#"{"ConsumerARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1",
            "ShardId": "shardId-000000000000",
            "StartingPosition": {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "4295032833"}}"#;
        let input: plain::SubscribeToShardInput = request::<SubscribeToShardRequest>(body).into();
        assert_eq!(input.consumer_arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1");
        let position = input.starting_position.expect("a position");
        assert_eq!(position.kind, "AFTER_SEQUENCE_NUMBER");
        assert_eq!(position.sequence_number.as_deref(), Some("4295032833"));
        assert_eq!(position.timestamp_ms, None);
    }

    #[test]
    fn describe_stream_encodes_shards_with_open_and_closed_sequence_ranges() {
        let closed = plain::ShardDescription {
            shard_id: ShardId(0),
            parent_shard_id: None,
            adjacent_parent_shard_id: None,
            hash_key_range: range(0, u128::MAX),
            starting_sequence_number: SequenceNumber::new(ShardId(0), 1),
            ending_sequence_number: Some(SequenceNumber::new(ShardId(0), 9)),
        };
        let open = plain::ShardDescription {
            shard_id: ShardId(1),
            parent_shard_id: Some(ShardId(0)),
            adjacent_parent_shard_id: None,
            hash_key_range: range(0, u128::MAX / 2),
            starting_sequence_number: SequenceNumber::new(ShardId(1), 10),
            ending_sequence_number: None,
        };
        let description = plain::StreamDescription {
            stream_name: StreamName::parse("orders").expect("a name"),
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/orders".into(),
            status: StreamStatus::Updating,
            mode: StreamMode::Provisioned,
            shards: vec![closed, open],
            has_more_shards: false,
            retention_period_hours: 24,
            created_ms: 1_700_000_000_123,
            shard_level_metrics: vec![ShardMetric::IncomingBytes],
            encryption_key_id: None,
        };
        let json = encoded(DescribeStreamResponse::from(description));
        let d = &json["StreamDescription"];
        assert_eq!(d["StreamName"], "orders");
        assert_eq!(d["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/orders");
        assert_eq!(d["StreamStatus"], "UPDATING");
        assert_eq!(d["StreamModeDetails"], json!({ "StreamMode": "PROVISIONED" }));
        assert_eq!(d["HasMoreShards"], false);
        assert_eq!(d["RetentionPeriodHours"], 24);
        assert_eq!(d["StreamCreationTimestamp"].as_f64(), Some(1_700_000_000.123));
        assert_eq!(d["EnhancedMonitoring"], json!([{ "ShardLevelMetrics": ["IncomingBytes"] }]));
        assert_eq!(d["EncryptionType"], "NONE");
        assert!(d.get("KeyId").is_none(), "no KeyId while unencrypted: {d}");
        let shards = d["Shards"].as_array().expect("Shards");
        assert_eq!(
            shards[0],
            json!({
                "ShardId": "shardId-000000000000",
                "HashKeyRange": { "StartingHashKey": "0", "EndingHashKey": u128::MAX.to_string() },
                "SequenceNumberRange": {
                    "StartingSequenceNumber": SequenceNumber::new(ShardId(0), 1).to_string(),
                    "EndingSequenceNumber": SequenceNumber::new(ShardId(0), 9).to_string(),
                },
            })
        );
        assert_eq!(shards[1]["ParentShardId"], "shardId-000000000000");
        assert!(shards[1].get("AdjacentParentShardId").is_none());
        assert_eq!(shards[1]["HashKeyRange"]["EndingHashKey"], (u128::MAX / 2).to_string());
        let open_range = shards[1]["SequenceNumberRange"].as_object().expect("a range");
        assert_eq!(open_range.len(), 1, "an open shard has no EndingSequenceNumber: {open_range:?}");
    }

    #[test]
    fn an_encrypted_stream_summary_names_its_key_and_warm_throughput() {
        let summary = plain::StreamSummary {
            stream_name: StreamName::parse("orders").expect("a name"),
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/orders".into(),
            status: StreamStatus::Active,
            mode: StreamMode::OnDemand,
            retention_period_hours: 8760,
            created_ms: 1_700_000_000_000,
            open_shard_count: 4,
            consumer_count: 2,
            shard_level_metrics: Vec::new(),
            max_record_size_kib: 10240,
            warm_throughput: Some(plain::WarmThroughput { target_mibps: 100, current_mibps: 8 }),
            encryption_key_id: Some("alias/aws/kinesis".into()),
        };
        let json = encoded(DescribeStreamSummaryResponse::from(summary));
        let s = &json["StreamDescriptionSummary"];
        assert_eq!(s["EncryptionType"], "KMS");
        assert_eq!(s["KeyId"], "alias/aws/kinesis");
        assert_eq!(s["StreamModeDetails"]["StreamMode"], "ON_DEMAND");
        assert_eq!(s["OpenShardCount"], 4);
        assert_eq!(s["ConsumerCount"], 2);
        assert_eq!(s["MaxRecordSizeInKiB"], 10240);
        assert_eq!(s["WarmThroughput"], json!({ "TargetMiBps": 100, "CurrentMiBps": 8 }));
        assert_eq!(s["EnhancedMonitoring"], json!([{ "ShardLevelMetrics": [] }]));
    }

    #[test]
    fn get_records_encodes_records_child_shards_and_millis_behind_latest() {
        let record = plain::Record {
            sequence_number: SequenceNumber::new(ShardId(0), 7),
            arrival_ms: 1_700_000_000_123,
            data: vec![0, 1, 2, 0xff],
            partition_key: "pk".into(),
            encrypted: true,
        };
        let end = plain::GetRecordsOutput {
            records: vec![record],
            next_shard_iterator: None,
            millis_behind_latest: 0,
            child_shards: vec![
                plain::ChildShard {
                    shard_id: ShardId(1),
                    parent_shards: vec![ShardId(0)],
                    hash_key_range: range(0, 9),
                },
                plain::ChildShard {
                    shard_id: ShardId(2),
                    parent_shards: vec![ShardId(0)],
                    hash_key_range: range(10, u128::MAX),
                },
            ],
        };
        let json = encoded(GetRecordsResponse::from(end));
        assert_eq!(
            json["Records"],
            json!([{
                "SequenceNumber": SequenceNumber::new(ShardId(0), 7).to_string(),
                "ApproximateArrivalTimestamp": 1_700_000_000.123,
                "Data": "AAEC/w==",
                "PartitionKey": "pk",
                "EncryptionType": "KMS",
            }])
        );
        assert!(json.get("NextShardIterator").is_none(), "the end of a closed shard has no next iterator: {json}");
        assert_eq!(json["MillisBehindLatest"], 0);
        assert_eq!(
            json["ChildShards"][0],
            json!({ "ShardId": "shardId-000000000001", "ParentShards": ["shardId-000000000000"],
                    "HashKeyRange": { "StartingHashKey": "0", "EndingHashKey": "9" } })
        );
        assert_eq!(json["ChildShards"][1]["HashKeyRange"]["StartingHashKey"], "10");

        let polling = plain::GetRecordsOutput {
            records: Vec::new(),
            next_shard_iterator: Some("iterator".into()),
            millis_behind_latest: 86_400_000,
            child_shards: Vec::new(),
        };
        let json = encoded(GetRecordsResponse::from(polling));
        assert_eq!(
            json,
            json!({ "Records": [], "NextShardIterator": "iterator", "MillisBehindLatest": 86_400_000 }),
            "no ChildShards before a shard's end"
        );
    }

    #[test]
    fn put_records_encodes_a_failed_entry_with_its_error_code_and_message() {
        let out = plain::PutRecordsOutput {
            failed_record_count: 1,
            records: vec![
                plain::PutRecordsResult::Ok {
                    shard_id: ShardId(3),
                    sequence_number: SequenceNumber::new(ShardId(3), 5),
                },
                plain::PutRecordsResult::Failed {
                    error_code: "ProvisionedThroughputExceededException",
                    error_message: "Rate exceeded for shard shardId-000000000003".into(),
                },
            ],
            encrypted: false,
        };
        let json = encoded(PutRecordsResponse::from(out));
        assert_eq!(json["FailedRecordCount"], 1);
        assert_eq!(json["EncryptionType"], "NONE");
        assert_eq!(
            json["Records"],
            json!([
                { "SequenceNumber": SequenceNumber::new(ShardId(3), 5).to_string(), "ShardId": "shardId-000000000003" },
                { "ErrorCode": "ProvisionedThroughputExceededException",
                  "ErrorMessage": "Rate exceeded for shard shardId-000000000003" },
            ])
        );
    }

    #[test]
    fn account_settings_omit_the_times_they_do_not_have() {
        let out = plain::CommitmentOutput {
            status: "ENABLED",
            started_ms: Some(1_700_000_000_000),
            ended_ms: None,
            earliest_allowed_end_ms: Some(1_731_536_000_000),
        };
        let json = encoded(AccountSettingsResponse::from(out));
        assert_eq!(
            json,
            json!({ "MinimumThroughputBillingCommitment": {
                "Status": "ENABLED", "StartedAt": 1_700_000_000.0, "EarliestAllowedEndAt": 1_731_536_000.0 } })
        );
    }

    #[test]
    fn the_largest_data_blobs_round_trip_through_base64() {
        for len in [1024 * 1024, RECORD_DATA_BYTES_MAX] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let text = serde_json::to_string(&Blob(data.clone())).expect("a blob encodes");
            assert_eq!(text.len(), len.div_ceil(3) * 4 + 2, "base64 in quotes");
            let body = format!(r#"{{"StreamName": "s", "PartitionKey": "k", "Data": {text}}}"#);
            let input: plain::PutRecordInput = request::<PutRecordRequest>(&body).into();
            assert!(input.data == data, "{len} bytes come back as sent");
        }
    }

    #[test]
    fn a_blob_that_is_not_base64_is_refused() {
        for bad in [r#""not base64!""#, r#""aGVsbG8""#, "[104, 105]", "1"] {
            assert!(serde_json::from_str::<Blob>(bad).is_err(), "{bad}");
        }
    }

    // ---- CBOR: requests built by hand as the AWS SDK for Java v1 writes them (maps keyed by
    // member name, Data a byte string, timestamps tag 1 around epoch milliseconds), and
    // responses read back as plain CBOR values, independent of these shapes.

    fn cbor_bytes(value: &Cbor) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).expect("a value encodes");
        out
    }

    fn cbor_request<T: serde::de::DeserializeOwned>(value: &Cbor) -> T {
        let bytes = cbor_bytes(value);
        ciborium::de::from_reader(&bytes[..]).unwrap_or_else(|e| panic!("{value:?}: {e}"))
    }

    fn cbor_encoded<T: Serialize>(response: T) -> Cbor {
        let mut out = Vec::new();
        ciborium::ser::into_writer(&response, &mut out).expect("a response encodes");
        ciborium::de::from_reader(&out[..]).expect("the response is CBOR")
    }

    fn cbor_map(members: Vec<(&str, Cbor)>) -> Cbor {
        Cbor::Map(members.into_iter().map(|(k, v)| (Cbor::Text(k.into()), v)).collect())
    }

    fn text(s: &str) -> Cbor {
        Cbor::Text(s.into())
    }

    fn millis(ms: i64) -> Cbor {
        Cbor::Tag(1, Box::new(Cbor::Integer(ms.into())))
    }

    /// A map's member by name; panics if absent.
    fn member<'a>(map: &'a Cbor, name: &str) -> &'a Cbor {
        let Cbor::Map(entries) = map else { panic!("not a map: {map:?}") };
        entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name} in {map:?}"))
    }

    fn names(map: &Cbor) -> Vec<&str> {
        let Cbor::Map(entries) = map else { panic!("not a map: {map:?}") };
        entries.iter().map(|(k, _)| k.as_text().expect("text keys")).collect()
    }

    #[test]
    fn cbor_requests_carry_data_as_bytes_and_timestamps_as_tagged_milliseconds() {
        let put = cbor_map(vec![
            ("StreamName", text("orders")),
            (
                "Records",
                Cbor::Array(vec![
                    cbor_map(vec![("Data", Cbor::Bytes(vec![0, 1, 2, 0xff])), ("PartitionKey", text("pk-1"))]),
                    cbor_map(vec![
                        ("Data", Cbor::Bytes(Vec::new())),
                        ("PartitionKey", text("pk-2")),
                        ("ExplicitHashKey", text("42")),
                    ]),
                ]),
            ),
        ]);
        let input: plain::PutRecordsInput = cbor_request::<PutRecordsRequest>(&put).into();
        assert_eq!(input.stream, plain::StreamRef { name: Some("orders".into()), arn: None });
        assert_eq!(input.records[0].data, [0, 1, 2, 0xff], "the bytes as sent, not base64");
        assert_eq!(input.records[0].partition_key, "pk-1");
        assert!(input.records[1].data.is_empty());
        assert_eq!(input.records[1].explicit_hash_key.as_deref(), Some("42"));

        let at = cbor_map(vec![
            ("StreamName", text("orders")),
            ("ShardId", text("shardId-000000000001")),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            ("Timestamp", millis(1_700_000_000_123)),
        ]);
        let input: plain::GetShardIteratorInput = cbor_request::<GetShardIteratorRequest>(&at).into();
        assert_eq!(input.shard_iterator_type, "AT_TIMESTAMP");
        assert_eq!(input.timestamp_ms, Some(1_700_000_000_123), "milliseconds, as the Java SDK writes them");

        let filtered = cbor_map(vec![
            ("StreamName", text("orders")),
            ("ShardFilter", cbor_map(vec![("Type", text("AT_TIMESTAMP")), ("Timestamp", millis(1_700_000_000_500))])),
            ("MaxResults", Cbor::Integer(1000.into())),
        ]);
        let input: plain::ListShardsInput = cbor_request::<ListShardsRequest>(&filtered).into();
        assert_eq!(input.shard_filter.expect("a filter").timestamp_ms, Some(1_700_000_000_500));
        assert_eq!(input.max_results, Some(1000));

        let created = cbor_map(vec![("StreamName", text("orders")), ("ShardCount", Cbor::Integer(2.into()))]);
        let input: plain::CreateStreamInput = cbor_request::<CreateStreamRequest>(&created).into();
        assert_eq!((input.stream_name.as_str(), input.shard_count), ("orders", Some(2)));
    }

    #[test]
    fn a_cbor_timestamp_is_read_tagged_or_not_integer_or_float() {
        for (value, ms) in [
            (millis(1_700_000_000_123), 1_700_000_000_123),
            (Cbor::Integer(1_700_000_000_123i64.into()), 1_700_000_000_123),
            (Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_000_123.0))), 1_700_000_000_123),
            (Cbor::Float(1_700_000_000_123.9), 1_700_000_000_123),
            (millis(-1500), -1500),
            (millis(0), 0),
        ] {
            assert_eq!(cbor_request::<Timestamp>(&value), Timestamp(ms), "{value:?}");
        }
        for bad in [
            text("1700000000123"),
            Cbor::Tag(0, Box::new(text("2023-11-14T22:13:20Z"))),
            Cbor::Integer(u64::MAX.into()),
            Cbor::Float(f64::INFINITY),
            Cbor::Float(1e300),
            Cbor::Null,
        ] {
            let bytes = cbor_bytes(&bad);
            assert!(ciborium::de::from_reader::<Timestamp, _>(&bytes[..]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cbor_responses_name_members_as_aws_does_with_bytes_and_tagged_milliseconds() {
        let record = plain::Record {
            sequence_number: SequenceNumber::new(ShardId(0), 7),
            arrival_ms: 1_700_000_000_123,
            data: vec![0, 1, 2, 0xff],
            partition_key: "pk".into(),
            encrypted: false,
        };
        let out = plain::GetRecordsOutput {
            records: vec![record],
            next_shard_iterator: Some("iterator".into()),
            millis_behind_latest: 5,
            child_shards: Vec::new(),
        };
        let cbor = cbor_encoded(GetRecordsResponse::from(out));
        assert_eq!(names(&cbor), ["Records", "NextShardIterator", "MillisBehindLatest"]);
        let Cbor::Array(records) = member(&cbor, "Records") else { panic!("Records: {cbor:?}") };
        let r = &records[0];
        assert_eq!(member(r, "SequenceNumber"), &text(&SequenceNumber::new(ShardId(0), 7).to_string()));
        assert_eq!(member(r, "Data"), &Cbor::Bytes(vec![0, 1, 2, 0xff]), "a byte string, not base64");
        assert_eq!(member(r, "ApproximateArrivalTimestamp"), &millis(1_700_000_000_123), "tag 1, milliseconds");
        assert_eq!(member(r, "PartitionKey"), &text("pk"));
        assert_eq!(member(&cbor, "MillisBehindLatest"), &Cbor::Integer(5.into()));

        let summary = plain::StreamSummary {
            stream_name: StreamName::parse("orders").expect("a name"),
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/orders".into(),
            status: StreamStatus::Active,
            mode: StreamMode::Provisioned,
            retention_period_hours: 24,
            created_ms: 1_690_000_000_001,
            open_shard_count: 1,
            consumer_count: 0,
            shard_level_metrics: Vec::new(),
            max_record_size_kib: 1024,
            warm_throughput: None,
            encryption_key_id: None,
        };
        let cbor = cbor_encoded(DescribeStreamSummaryResponse::from(summary));
        let s = member(&cbor, "StreamDescriptionSummary");
        assert_eq!(member(s, "StreamCreationTimestamp"), &millis(1_690_000_000_001));
        assert_eq!(member(s, "StreamStatus"), &text("ACTIVE"));
        assert_eq!(member(member(s, "StreamModeDetails"), "StreamMode"), &text("PROVISIONED"));
        // The same shapes still write JSON as before: epoch seconds, base64.
        assert_eq!(serde_json::to_value(Timestamp(1_690_000_000_001)).expect("JSON"), json!(1_690_000_000.001));
    }

    #[test]
    fn the_largest_data_blobs_round_trip_through_cbor_as_raw_bytes() {
        for len in [1024 * 1024, RECORD_DATA_BYTES_MAX] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let body = cbor_bytes(&cbor_map(vec![
                ("StreamName", text("s")),
                ("PartitionKey", text("k")),
                ("Data", Cbor::Bytes(data.clone())),
            ]));
            let input: plain::PutRecordInput =
                ciborium::de::from_reader::<PutRecordRequest, _>(&body[..]).expect("a request").into();
            assert!(input.data == data, "{len} bytes come back as sent");
            let mut out = Vec::new();
            ciborium::ser::into_writer(&Blob(data.clone()), &mut out).expect("a blob encodes");
            assert_eq!(out.len(), 1 + 4 + len, "a byte string header with a 4-byte length, then the bytes");
            assert!(ciborium::de::from_reader::<Blob, _>(&out[..]).expect("a blob decodes").0 == data);
        }
    }

    #[test]
    fn a_cbor_blob_is_a_byte_string() {
        let data = vec![0u8, 1, 2, 0xff, b'='];
        let bytes = cbor_bytes(&Cbor::Bytes(data.clone()));
        assert_eq!(bytes, [&[0x45u8][..], &data].concat(), "major type 2, length 5, then the bytes");
        assert_eq!(ciborium::de::from_reader::<Blob, _>(&bytes[..]).expect("a blob decodes"), Blob(data));
        let base64 = cbor_bytes(&text("aGVsbG8="));
        assert!(ciborium::de::from_reader::<Blob, _>(&base64[..]).is_err(), "text is not a blob in CBOR");
    }
}
