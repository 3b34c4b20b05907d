//! Every Kinesis quota Runnel enforces, in one place. Units come last in the names.
//!
//! Values are those of Amazon Kinesis Data Streams (API 2013-12-02); see
//! ../shared/design/kinesis-semantics.md for the sources.

/// Largest data blob of one record (PutRecord, or one entry of PutRecords) a Data member
/// may hold: the largest record any stream takes (UpdateMaxRecordSize). A stream's own
/// limit (1 MiB unless raised) then bounds its data and partition key together.
pub const RECORD_DATA_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Partition keys (1 to 256 characters), PutRecords' 1 to 500 records and 5 MiB, and a
/// stream's record size limits (1,024 to 10,240 KiB): shared with the client, which checks
/// a request against them before it splits it over the shards' leaders.
pub use runnel_proto::limits::{
    MAX_RECORD_SIZE_KIB_MAX, MAX_RECORD_SIZE_KIB_MIN, PARTITION_KEY_CHARS_MAX, PARTITION_KEY_CHARS_MIN,
    PUT_RECORDS_BYTES_MAX, PUT_RECORDS_COUNT_MAX, PUT_RECORDS_COUNT_MIN,
};

/// Stream names: 1 to 128 characters of `[a-zA-Z0-9_.-]`.
pub const STREAM_NAME_CHARS_MIN: usize = 1;
pub const STREAM_NAME_CHARS_MAX: usize = 128;
/// A StreamARN member is 1 to 2,048 characters (`arn:aws.*:kinesis:.*:\d{12}:stream/\S+`).
pub const STREAM_ARN_CHARS_MIN: usize = 1;
pub const STREAM_ARN_CHARS_MAX: usize = 2_048;
/// A ShardId member (ShardId, ShardToSplit, ExclusiveStartShardId...) is 1 to 128
/// characters of `[a-zA-Z0-9_.-]`; only the number after its last `-` names the shard.
pub const SHARD_ID_CHARS_MIN: usize = 1;
pub const SHARD_ID_CHARS_MAX: usize = 128;
/// The largest shard number a ShardId can name (Kinesis reads it as a Java int).
pub const SHARD_NUMBER_MAX: u32 = i32::MAX as u32;
/// A hash key member (ExplicitHashKey, NewStartingHashKey) is a decimal of at most 39
/// digits (`0|([1-9]\d{0,38})`); its value must also be at most 2^128-1.
pub const HASH_KEY_DIGITS_MAX: usize = 39;
/// A ShardIterator member is 1 to 512 characters.
pub const SHARD_ITERATOR_CHARS_MIN: usize = 1;
pub const SHARD_ITERATOR_CHARS_MAX: usize = 512;
/// A NextToken member is 1 to 1,048,576 characters.
pub const NEXT_TOKEN_CHARS_MIN: usize = 1;
pub const NEXT_TOKEN_CHARS_MAX: usize = 1_048_576;
/// ShardCount and TargetShardCount members: 1 to 100,000 in the API model (the shard
/// quota, `SHARDS_PER_STREAM_MAX`, is checked after).
pub const SHARD_COUNT_MEMBER_MIN: i64 = 1;
pub const SHARD_COUNT_MEMBER_MAX: i64 = 100_000;
/// Open shards one stream may have (one CreateStream, UpdateShardCount's target, splits);
/// the cluster's `shard_limit` bounds all streams' open shards together.
pub const SHARDS_PER_STREAM_MAX: u32 = 500;
/// Shards a stream keeps, open and closed (closed ones stay readable until retention
/// expires them); reshards beyond it are refused.
pub const STREAM_SHARDS_KEPT_MAX: usize = 4_000;
/// UpdateShardCount calls per stream within `SCALING_WINDOW_MS`, by default (Kinesis: 10
/// per rolling 24 hours); a node setting.
pub const SCALINGS_PER_WINDOW_DEFAULT: u32 = 10;
pub const SCALING_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// A shard's throughput quotas, enforced in the `kinesis_limits` mode (a node setting; off
/// by default): writes of 1 MiB and 1,000 records per second, reads of 2 MiB and 5
/// GetRecords calls per second.
pub const SHARD_WRITE_BYTES_PER_S: u64 = 1024 * 1024;
pub const SHARD_WRITE_RECORDS_PER_S: u64 = 1_000;
pub const SHARD_READ_BYTES_PER_S: u64 = 2 * 1024 * 1024;
pub const SHARD_READ_CALLS_PER_S: u64 = 5;
/// On-demand streams start with this many shards (4 MiB/s of writes)...
pub const ON_DEMAND_SHARDS_INITIAL: u32 = 4;
/// ...and a shard of one is split when its write rate stayed above half its capacity
/// over this window, by default (a node setting, `on_demand_window_ms`, shortens it).
pub const ON_DEMAND_WINDOW_MS_DEFAULT: u64 = 60_000;
/// UpdateStreamMode may change a stream's mode this many times per `SCALING_WINDOW_MS`.
pub const STREAM_MODE_CHANGES_PER_WINDOW: usize = 2;
/// UpdateStreamWarmThroughput and CreateStream's WarmThroughputMiBps: at most 10 GiB/s.
pub const WARM_THROUGHPUT_MIBPS_MAX: i64 = 10 * 1024;
/// A stream's largest record until UpdateMaxRecordSize changes it.
pub const MAX_RECORD_SIZE_KIB_DEFAULT: u32 = 1_024;
/// Enhanced fan-out consumers one stream may have registered (DELETING ones included).
pub const CONSUMERS_PER_STREAM_MAX: usize = 20;
/// A consumer name is 1 to 128 characters of `[a-zA-Z0-9_.-]`; a ConsumerARN 1 to 2,048.
pub const CONSUMER_NAME_CHARS_MIN: usize = 1;
pub const CONSUMER_NAME_CHARS_MAX: usize = 128;
pub const CONSUMER_ARN_CHARS_MIN: usize = 1;
pub const CONSUMER_ARN_CHARS_MAX: usize = 2_048;
/// ListStreamConsumers' MaxResults: 1 to 10,000; 100 when absent.
pub const LIST_CONSUMERS_RESULTS_MIN: u32 = 1;
pub const LIST_CONSUMERS_RESULTS_MAX: u32 = 10_000;
pub const LIST_CONSUMERS_RESULTS_DEFAULT: u32 = 100;
/// A SubscribeToShard lasts this long by default (a node setting shortens it in tests)...
pub const SUBSCRIPTION_MS_DEFAULT: u64 = 5 * 60 * 1000;
/// ...and a second one for the same consumer and shard within this long of the first is
/// refused (ResourceInUseException); later it takes over.
pub const SUBSCRIPTION_TAKEOVER_MS: i64 = 5_000;
/// An idle subscription still sends an event (no records, its continuation number) this
/// often.
pub const SUBSCRIPTION_HEARTBEAT_MS: u64 = 5_000;
/// Subscriptions one node serves at once; past it, LimitExceededException with a wait.
pub const SUBSCRIPTIONS_PER_NODE_MAX: usize = 1_000;
/// One subscription event carries at most this many records and (one record excepted)
/// bytes.
pub const SUBSCRIPTION_EVENT_RECORDS_MAX: u32 = 10_000;
pub const SUBSCRIPTION_EVENT_BYTES_MAX: usize = 1024 * 1024;
/// A deregistered consumer is forgotten this long after (its subscriptions ended first).
pub const CONSUMER_DELETE_GRACE_MS: i64 = 10_000;
/// Streams one cluster holds.
pub const STREAMS_MAX: usize = 10_000;

/// GetRecords returns at most this many records; also the default Limit.
pub const GET_RECORDS_LIMIT_MAX: u32 = 10_000;
/// GetRecords returns at most this many bytes of record data per call.
pub const GET_RECORDS_BYTES_MAX: usize = 10 * 1024 * 1024;
/// A shard iterator expires this long after it was issued.
pub const SHARD_ITERATOR_TTL_MS: i64 = 5 * 60 * 1000;
/// A NextToken of ListShards or ListStreams expires this long after it was issued.
pub const NEXT_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;

/// GetRecords' Limit member: 1 to 10,000.
pub const GET_RECORDS_LIMIT_MIN: u32 = 1;
/// ListShards pages hold 1 to 1,000 shards; 1,000 when MaxResults is absent. The
/// MaxResults member itself may be 1 to 10,000 (more than 1,000 lists 1,000).
pub const LIST_SHARDS_RESULTS_MAX: u32 = 1_000;
pub const LIST_SHARDS_MAX_RESULTS_MEMBER_MIN: u32 = 1;
pub const LIST_SHARDS_MAX_RESULTS_MEMBER_MAX: u32 = 10_000;
/// ListStreams pages hold 1 to 10,000 names; 100 when Limit is absent.
pub const LIST_STREAMS_LIMIT_MIN: u32 = 1;
pub const LIST_STREAMS_LIMIT_MAX: u32 = 10_000;
pub const LIST_STREAMS_LIMIT_DEFAULT: u32 = 100;
/// DescribeStream pages hold 1 to 100 shards; 100 when Limit is absent. The Limit member
/// itself may be 1 to 10,000 (more than 100 lists 100).
pub const DESCRIBE_STREAM_LIMIT_MAX: u32 = 100;
pub const DESCRIBE_STREAM_LIMIT_MEMBER_MIN: u32 = 1;
pub const DESCRIBE_STREAM_LIMIT_MEMBER_MAX: u32 = 10_000;

/// Records are kept this long unless the stream's retention is raised...
pub const RETENTION_HOURS_DEFAULT: u32 = 24;
/// ...to at most this (365 days); never below the default.
pub const RETENTION_HOURS_MIN: u32 = 24;
pub const RETENTION_HOURS_MAX: u32 = 8_760;
/// An hour, as retention counts it. Tests shorten it (`NodeConfig::retention_hour_ms`).
pub const RETENTION_HOUR_MS_DEFAULT: u64 = 60 * 60 * 1000;

/// A sequence number is a decimal string of at most 129 digits (`0|([1-9]\d{0,128})`).
pub const SEQUENCE_NUMBER_DIGITS_MAX: usize = 129;

/// Tags: a stream carries at most 50; one AddTagsToStream adds at most 10; a tag map in a
/// request (CreateStream, TagResource) holds at most 200 entries and a key list
/// (RemoveTagsFromStream, UntagResource) 1 to 50 (the API model's bounds).
pub const STREAM_TAGS_MAX: usize = 50;
pub const ADD_TAGS_PER_CALL_MAX: usize = 10;
pub const TAG_MAP_ENTRIES_MAX: usize = 200;
pub const TAG_KEYS_PER_CALL_MAX: usize = 50;
/// A tag key is 1 to 128 Unicode characters, a value 0 to 256.
pub const TAG_KEY_CHARS_MIN: usize = 1;
pub const TAG_KEY_CHARS_MAX: usize = 128;
pub const TAG_VALUE_CHARS_MAX: usize = 256;
/// ListTagsForStream pages hold 1 to 50 tags; all of a stream's tags when Limit is absent.
pub const LIST_TAGS_LIMIT_MAX: u32 = 50;
/// A resource policy is a JSON document of at most 20 KiB.
pub const RESOURCE_POLICY_BYTES_MAX: usize = 20 * 1024;
/// An ARN (StreamARN, ResourceARN) is 1 to 2,048 characters.
pub const ARN_CHARS_MAX: usize = 2_048;
/// Open shards one cluster holds, by default (a Kinesis account's default shard quota); a
/// node setting (`shard_limit`).
pub const SHARD_LIMIT_DEFAULT: u32 = 500;
/// On-demand streams an account may hold (DescribeLimits' OnDemandStreamCountLimit).
pub const ON_DEMAND_STREAMS_MAX: u32 = 50;
/// A minimum throughput billing commitment, once enabled, lasts at least this long.
pub const THROUGHPUT_COMMITMENT_MS_MIN: i64 = 24 * 60 * 60 * 1000;
/// A KeyId member (StartStreamEncryption, StopStreamEncryption) is 1 to 2,048 characters.
pub const KEY_ID_CHARS_MIN: usize = 1;
pub const KEY_ID_CHARS_MAX: usize = 2_048;

// The relations the code relies on.
const _: () = assert!(RECORD_DATA_BYTES_MAX == MAX_RECORD_SIZE_KIB_MAX as usize * 1024);
const _: () = assert!(RECORD_DATA_BYTES_MAX <= GET_RECORDS_BYTES_MAX);
const _: () = assert!(PUT_RECORDS_BYTES_MAX <= GET_RECORDS_BYTES_MAX);
const _: () = assert!(PARTITION_KEY_CHARS_MIN <= PARTITION_KEY_CHARS_MAX);
const _: () = assert!(LIST_STREAMS_LIMIT_DEFAULT <= LIST_STREAMS_LIMIT_MAX);
const _: () = assert!(RETENTION_HOURS_MIN <= RETENTION_HOURS_DEFAULT && RETENTION_HOURS_DEFAULT <= RETENTION_HOURS_MAX);
const _: () = assert!(LIST_SHARDS_RESULTS_MAX <= LIST_SHARDS_MAX_RESULTS_MEMBER_MAX);
const _: () = assert!(DESCRIBE_STREAM_LIMIT_MAX <= DESCRIBE_STREAM_LIMIT_MEMBER_MAX);
const _: () = assert!(SHARDS_PER_STREAM_MAX as i64 <= SHARD_COUNT_MEMBER_MAX);
const _: () = assert!(STREAM_NAME_CHARS_MAX < STREAM_ARN_CHARS_MAX);
const _: () = assert!(ADD_TAGS_PER_CALL_MAX <= STREAM_TAGS_MAX && STREAM_TAGS_MAX <= TAG_MAP_ENTRIES_MAX);
const _: () = assert!(LIST_TAGS_LIMIT_MAX as usize == STREAM_TAGS_MAX);
const _: () = assert!(SHARDS_PER_STREAM_MAX <= SHARD_LIMIT_DEFAULT);
const _: () = assert!(KEY_ID_CHARS_MIN <= KEY_ID_CHARS_MAX);

// Runnel's own bounds (not Kinesis quotas).

/// Token signing keys kept; the newest signs, every kept one verifies.
pub const TOKEN_KEYS_KEPT: usize = 3;
/// A new token signing key is made this often. Tokens live at most
/// `SHARD_ITERATOR_TTL_MS`, so with `TOKEN_KEYS_KEPT` keys a live token's key is always kept.
pub const TOKEN_KEY_ROTATION_MS: i64 = 60 * 60 * 1000;
const _: () = assert!(TOKEN_KEY_ROTATION_MS >= SHARD_ITERATOR_TTL_MS && TOKEN_KEY_ROTATION_MS >= NEXT_TOKEN_TTL_MS);
const _: () = assert!(TOKEN_KEYS_KEPT >= 2);

/// Retention trims a shard when its cutoff has moved on by this share of the retention
/// period (15 minutes at 24 hours), so an idle shard is not trimmed on every pass.
pub const RETENTION_TRIM_STEPS: i64 = 96;
/// A ValidationException message quotes at most this many characters of a bad value, so
/// that the message (sent as a gRPC header) stays small whatever the client sent.
pub const ERROR_VALUE_CHARS_MAX: usize = 256;

/// A shard leader coalesces concurrent appends into one Raft entry of at most this many
/// records (what one entry may hold when applied: `shard::append` refuses more)...
pub const COALESCED_RECORDS_MAX: usize = PUT_RECORDS_COUNT_MAX;
/// ...and this many bytes of encoded records (an append larger alone is an entry alone).
pub const COALESCED_BYTES_MAX: usize = 1024 * 1024;
/// Appends waiting for a shard's next entry; callers beyond it wait to queue.
pub const COALESCE_QUEUE_MAX: usize = 4_096;
const _: () = assert!(COALESCE_QUEUE_MAX >= COALESCED_RECORDS_MAX);
