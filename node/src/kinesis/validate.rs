//! Request checks, in the two kinds Kinesis has:
//!
//! - Member constraints of the API model (required, length, range, pattern, enum). Every
//!   violation in a request is collected by `Members` and reported at once, before anything
//!   else is looked at, as one `ValidationException` in Kinesis's words: `2 validation
//!   errors detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must
//!   satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'limit' ...`. One
//!   function per action lists its members (`get_shard_iterator`, ...) in the model's
//!   order (alphabetical), which is the order Kinesis reports them in.
//! - Semantic problems of well-formed members (a hash key above 2^128-1, a sequence number
//!   the stream never issued, an iterator type without its position): the actions check
//!   those afterwards and answer `InvalidArgumentException` (or another Kinesis error).

use super::error::KinesisError;
use super::types::*;
use crate::domain::{HashKey, SequenceNumber, StreamName};
use crate::limits::*;

/// How many violations one message lists; Kinesis stops at ten.
const VIOLATIONS_MAX: usize = 10;

/// A regular expression of the API model and the hand-written matcher for it.
#[derive(Clone, Copy)]
pub struct Pattern {
    pub regex: &'static str,
    pub matches: fn(&str) -> bool,
}

/// The constraints of a string member: a pattern (if any) and a length in characters.
#[derive(Clone, Copy)]
pub struct Text {
    pub pattern: Option<Pattern>,
    pub chars_min: usize,
    pub chars_max: usize,
}

fn names_chars(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `0|([1-9]\d{0,N-1})`: a decimal without leading zeros, of at most `digits_max` digits.
fn decimal(s: &str, digits_max: usize) -> bool {
    !s.is_empty() && s.len() <= digits_max && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn hash_key_digits(s: &str) -> bool {
    decimal(s, HASH_KEY_DIGITS_MAX)
}

fn sequence_number_digits(s: &str) -> bool {
    decimal(s, SEQUENCE_NUMBER_DIGITS_MAX)
}

/// `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`, matched as a whole.
fn stream_arn_form(s: &str) -> bool {
    const KINESIS: &str = ":kinesis:";
    const STREAM: &str = ":stream/";
    if !s.starts_with("arn:aws") {
        return false;
    }
    // The earliest `:kinesis:` leaves the most room for the `.*` after it.
    let Some(kinesis_end) = s["arn:aws".len()..].find(KINESIS).map(|i| "arn:aws".len() + i + KINESIS.len()) else {
        return false;
    };
    s.match_indices(STREAM).any(|(at, _)| {
        let name = &s[at + STREAM.len()..];
        // `:` and 12 digits just before `:stream/`, that `:` after the whole `:kinesis:`.
        let account_start = at.saturating_sub(12);
        at >= 13
            && account_start > kinesis_end
            && s.as_bytes()[account_start - 1] == b':'
            && s.as_bytes()[account_start..at].iter().all(u8::is_ascii_digit)
            && !name.is_empty()
            && !name.chars().any(char::is_whitespace)
    })
}

/// `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`,
/// matched as a whole.
fn consumer_arn_form(s: &str) -> bool {
    // The tail is fixed from the end: names hold neither `/` nor `:`.
    let Some((head, epoch)) = s.rsplit_once(':') else { return false };
    let Some((head, consumer)) = head.rsplit_once("/consumer/") else { return false };
    let Some((prefix, stream)) = head.rsplit_once("stream/") else { return false };
    if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) || !names_chars(consumer) || !names_chars(stream)
    {
        return false;
    }
    // `arn:aws.*:kinesis:.*:\d{12}:.*` before `stream/`; the earliest `:kinesis:` leaves the
    // most room for the account after it.
    const KINESIS: &str = ":kinesis:";
    if !prefix.starts_with("arn:aws") {
        return false;
    }
    let Some(kinesis_end) = prefix["arn:aws".len()..].find(KINESIS).map(|i| "arn:aws".len() + i + KINESIS.len()) else {
        return false;
    };
    let bytes = prefix.as_bytes();
    (kinesis_end..prefix.len().saturating_sub(13))
        .any(|at| bytes[at] == b':' && bytes[at + 13] == b':' && bytes[at + 1..at + 13].iter().all(u8::is_ascii_digit))
}

pub const STREAM_NAME: Text = Text {
    pattern: Some(Pattern { regex: "[a-zA-Z0-9_.-]+", matches: names_chars }),
    chars_min: STREAM_NAME_CHARS_MIN,
    chars_max: STREAM_NAME_CHARS_MAX,
};
pub const STREAM_ARN: Text = Text {
    pattern: Some(Pattern { regex: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", matches: stream_arn_form }),
    chars_min: STREAM_ARN_CHARS_MIN,
    chars_max: STREAM_ARN_CHARS_MAX,
};
pub const CONSUMER_NAME: Text = Text {
    pattern: Some(Pattern { regex: "[a-zA-Z0-9_.-]+", matches: names_chars }),
    chars_min: CONSUMER_NAME_CHARS_MIN,
    chars_max: CONSUMER_NAME_CHARS_MAX,
};
pub const CONSUMER_ARN: Text = Text {
    pattern: Some(Pattern {
        regex: "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+",
        matches: consumer_arn_form,
    }),
    chars_min: CONSUMER_ARN_CHARS_MIN,
    chars_max: CONSUMER_ARN_CHARS_MAX,
};
pub const SHARD_ID: Text = Text {
    pattern: Some(Pattern { regex: "[a-zA-Z0-9_.-]+", matches: names_chars }),
    chars_min: SHARD_ID_CHARS_MIN,
    chars_max: SHARD_ID_CHARS_MAX,
};
pub const HASH_KEY: Text = Text {
    pattern: Some(Pattern { regex: "0|([1-9]\\d{0,38})", matches: hash_key_digits }),
    chars_min: 0,
    chars_max: usize::MAX,
};
pub const SEQUENCE_NUMBER: Text = Text {
    pattern: Some(Pattern { regex: "0|([1-9]\\d{0,128})", matches: sequence_number_digits }),
    chars_min: 0,
    chars_max: usize::MAX,
};
pub const PARTITION_KEY: Text =
    Text { pattern: None, chars_min: PARTITION_KEY_CHARS_MIN, chars_max: PARTITION_KEY_CHARS_MAX };
pub const SHARD_ITERATOR: Text =
    Text { pattern: None, chars_min: SHARD_ITERATOR_CHARS_MIN, chars_max: SHARD_ITERATOR_CHARS_MAX };
pub const NEXT_TOKEN: Text = Text { pattern: None, chars_min: NEXT_TOKEN_CHARS_MIN, chars_max: NEXT_TOKEN_CHARS_MAX };
pub const KEY_ID: Text = Text { pattern: None, chars_min: KEY_ID_CHARS_MIN, chars_max: KEY_ID_CHARS_MAX };

pub const SHARD_ITERATOR_TYPES: &[&str] =
    &["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"];
pub const SHARD_FILTER_TYPES: &[&str] =
    &["AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"];
pub const STREAM_MODES: &[&str] = &["PROVISIONED", "ON_DEMAND"];
pub const SCALING_TYPES: &[&str] = &["UNIFORM_SCALING"];
/// The model's EncryptionType; only KMS is accepted where a stream's encryption is set.
pub const ENCRYPTION_TYPES: &[&str] = &["NONE", "KMS"];

/// The member constraint violations of one request, in Kinesis's words.
#[derive(Debug, Default)]
pub struct Members {
    violations: Vec<String>,
}

/// A value as a message quotes it: whole when short, else its start.
fn quoted(value: &str) -> String {
    match value.char_indices().nth(ERROR_VALUE_CHARS_MAX) {
        Some((cut, _)) => format!("'{}...'", &value[..cut]),
        None => format!("'{value}'"),
    }
}

impl Members {
    pub fn new() -> Members {
        Members::default()
    }

    fn violation(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        if self.violations.len() < VIOLATIONS_MAX {
            let value = value.map_or_else(|| "null".to_string(), quoted);
            self.violations.push(format!("Value {value} at '{member}' failed to satisfy constraint: {constraint}"));
        }
    }

    /// A required member; `false` when it is absent.
    pub fn required(&mut self, member: &str, present: bool) -> bool {
        if !present {
            self.violation(None, member, "Member must not be null");
        }
        present
    }

    /// A string member, when present.
    pub fn text(&mut self, member: &str, value: Option<&str>, rule: Text) {
        let Some(value) = value else { return };
        if let Some(pattern) = rule.pattern {
            if !(pattern.matches)(value) {
                let constraint = format!("Member must satisfy regular expression pattern: {}", pattern.regex);
                self.violation(Some(value), member, &constraint);
            }
        }
        let chars = value.chars().count();
        if chars < rule.chars_min {
            let constraint = format!("Member must have length greater than or equal to {}", rule.chars_min);
            self.violation(Some(value), member, &constraint);
        }
        if chars > rule.chars_max {
            let constraint = format!("Member must have length less than or equal to {}", rule.chars_max);
            self.violation(Some(value), member, &constraint);
        }
    }

    /// A required string member: absent, or present and checked against `rule`.
    pub fn required_text(&mut self, member: &str, value: Option<&str>, rule: Text) {
        if self.required(member, value.is_some()) {
            self.text(member, value, rule);
        }
    }

    /// A required string member as the wire gives it, where empty means absent (proto3
    /// strings have no presence).
    pub fn required_str(&mut self, member: &str, value: &str, rule: Text) {
        self.required_text(member, Some(value).filter(|v| !v.is_empty()), rule);
    }

    /// A required enum member as the wire gives it (empty means absent).
    pub fn required_one_of(&mut self, member: &str, value: &str, allowed: &[&str]) {
        if self.required(member, !value.is_empty()) {
            self.one_of(member, Some(value), allowed);
        }
    }

    /// A numeric member within `[min, max]`, when present.
    pub fn number(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(value) = value else { return };
        let shown = value.to_string();
        if value < min {
            let constraint = format!("Member must have value greater than or equal to {min}");
            self.violation(Some(&shown), member, &constraint);
        }
        if value > max {
            let constraint = format!("Member must have value less than or equal to {max}");
            self.violation(Some(&shown), member, &constraint);
        }
    }

    /// An enum member, when present.
    pub fn one_of(&mut self, member: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(value) = value.filter(|v| !allowed.contains(v)) {
            let constraint = format!("Member must satisfy enum value set: [{}]", allowed.join(", "));
            self.violation(Some(value), member, &constraint);
        }
    }

    /// A blob member of `len` bytes (Kinesis shows blobs as the Java buffer holding them).
    pub fn blob(&mut self, member: &str, len: usize, max: usize) {
        if len > max {
            let shown = format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]");
            let constraint = format!("Member must have length less than or equal to {max}");
            self.violation(Some(&shown), member, &constraint);
        }
    }

    /// A list member of `len` entries.
    pub fn list(&mut self, member: &str, len: usize, min: usize, max: usize) {
        let shown = if len == 0 { "[]".to_string() } else { format!("[{len} entries]") };
        if len < min {
            self.violation(Some(&shown), member, &format!("Member must have length greater than or equal to {min}"));
        }
        if len > max {
            self.violation(Some(&shown), member, &format!("Member must have length less than or equal to {max}"));
        }
    }

    /// The stream a request names by StreamName or StreamARN; one of them is required.
    pub fn stream(&mut self, stream: &StreamRef) {
        self.optional_stream(stream);
        if stream.name.is_none() && stream.arn.is_none() {
            self.required("streamName", false);
        }
    }

    /// StreamARN and StreamName, both optional (ListShards may name the stream by token).
    pub fn optional_stream(&mut self, stream: &StreamRef) {
        self.text("streamARN", stream.arn.as_deref(), STREAM_ARN);
        self.text("streamName", stream.name.as_deref(), STREAM_NAME);
    }

    pub fn finish(self) -> Result<(), KinesisError> {
        match self.violations.len() {
            0 => Ok(()),
            n => Err(KinesisError::Validation(format!(
                "{n} validation error{} detected: {}",
                if n == 1 { "" } else { "s" },
                self.violations.join("; ")
            ))),
        }
    }
}

fn limit(value: Option<i32>) -> Option<i64> {
    value.map(i64::from)
}

pub fn create_stream(req: &CreateStreamInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.number("maxRecordSizeInKiB", limit(req.max_record_size_kib), MAX_RECORD_SIZE_KIB_MIN, MAX_RECORD_SIZE_KIB_MAX);
    m.number("shardCount", limit(req.shard_count), SHARD_COUNT_MEMBER_MIN, SHARD_COUNT_MEMBER_MAX);
    if let Some(mode) = &req.stream_mode {
        m.required_one_of("streamModeDetails.streamMode", mode, STREAM_MODES);
    }
    m.required_str("streamName", &req.stream_name, STREAM_NAME);
    m.number("warmThroughputMiBps", limit(req.warm_throughput_mibps), 0, WARM_THROUGHPUT_MIBPS_MAX);
    m.finish()
}

pub fn subscribe_to_shard(req: &SubscribeToShardInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_str("consumerARN", &req.consumer_arn, CONSUMER_ARN);
    m.required_str("shardId", &req.shard_id, SHARD_ID);
    if m.required("startingPosition", req.starting_position.is_some()) {
        if let Some(position) = &req.starting_position {
            m.text("startingPosition.sequenceNumber", position.sequence_number.as_deref(), SEQUENCE_NUMBER);
            m.required_one_of("startingPosition.type", &position.kind, SHARD_ITERATOR_TYPES);
        }
    }
    m.finish()
}

pub fn update_stream_mode(req: &UpdateStreamModeInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_text("streamARN", req.stream_arn.as_deref(), STREAM_ARN);
    if m.required("streamModeDetails", req.stream_mode.is_some()) {
        m.required_one_of("streamModeDetails.streamMode", req.stream_mode.as_deref().unwrap_or(""), STREAM_MODES);
    }
    m.number("warmThroughputMiBps", limit(req.warm_throughput_mibps), 0, WARM_THROUGHPUT_MIBPS_MAX);
    m.finish()
}

pub fn update_max_record_size(req: &UpdateMaxRecordSizeInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    let kib = limit(req.max_record_size_kib);
    if m.required("maxRecordSizeInKiB", kib.is_some()) {
        m.number("maxRecordSizeInKiB", kib, MAX_RECORD_SIZE_KIB_MIN, MAX_RECORD_SIZE_KIB_MAX);
    }
    m.required_text("streamARN", req.stream_arn.as_deref(), STREAM_ARN);
    m.finish()
}

pub fn update_stream_warm_throughput(req: &UpdateStreamWarmThroughputInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.stream(&req.stream);
    let mibps = limit(req.warm_throughput_mibps);
    if m.required("warmThroughputMiBps", mibps.is_some()) {
        m.number("warmThroughputMiBps", mibps, 0, WARM_THROUGHPUT_MIBPS_MAX);
    }
    m.finish()
}

/// DeleteStream, DescribeStreamSummary and the other actions that take only a stream.
pub fn stream_only(stream: &StreamRef) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.stream(stream);
    m.finish()
}

pub fn describe_stream(req: &DescribeStreamInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.text("exclusiveStartShardId", req.exclusive_start_shard_id.as_deref(), SHARD_ID);
    let (min, max) = (DESCRIBE_STREAM_LIMIT_MEMBER_MIN, DESCRIBE_STREAM_LIMIT_MEMBER_MAX);
    m.number("limit", limit(req.limit), min.into(), max.into());
    m.stream(&req.stream);
    m.finish()
}

pub fn list_streams(req: &ListStreamsInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.text("exclusiveStartStreamName", req.exclusive_start_stream_name.as_deref(), STREAM_NAME);
    m.number("limit", limit(req.limit), LIST_STREAMS_LIMIT_MIN.into(), LIST_STREAMS_LIMIT_MAX.into());
    m.text("nextToken", req.next_token.as_deref(), NEXT_TOKEN);
    m.finish()
}

pub fn list_shards(req: &ListShardsInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.text("exclusiveStartShardId", req.exclusive_start_shard_id.as_deref(), SHARD_ID);
    let (min, max) = (LIST_SHARDS_MAX_RESULTS_MEMBER_MIN, LIST_SHARDS_MAX_RESULTS_MEMBER_MAX);
    m.number("maxResults", limit(req.max_results), min.into(), max.into());
    m.text("nextToken", req.next_token.as_deref(), NEXT_TOKEN);
    if let Some(filter) = &req.shard_filter {
        m.text("shardFilter.shardId", filter.shard_id.as_deref(), SHARD_ID);
        m.required_one_of("shardFilter.type", &filter.kind, SHARD_FILTER_TYPES);
    }
    m.optional_stream(&req.stream);
    m.finish()
}

pub fn put_record(req: &PutRecordInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.blob("data", req.data.len(), RECORD_DATA_BYTES_MAX);
    m.text("explicitHashKey", req.explicit_hash_key.as_deref(), HASH_KEY);
    m.required_str("partitionKey", &req.partition_key, PARTITION_KEY);
    m.text("sequenceNumberForOrdering", req.sequence_number_for_ordering.as_deref(), SEQUENCE_NUMBER);
    m.stream(&req.stream);
    m.finish()
}

pub fn put_records(req: &PutRecordsInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.list("records", req.records.len(), PUT_RECORDS_COUNT_MIN, PUT_RECORDS_COUNT_MAX);
    for (i, entry) in req.records.iter().enumerate() {
        // Kinesis numbers list entries from 1.
        let member = |name: &str| format!("records.{}.member.{name}", i + 1);
        m.blob(&member("data"), entry.data.len(), RECORD_DATA_BYTES_MAX);
        m.text(&member("explicitHashKey"), entry.explicit_hash_key.as_deref(), HASH_KEY);
        m.required_str(&member("partitionKey"), &entry.partition_key, PARTITION_KEY);
    }
    m.stream(&req.stream);
    m.finish()
}

pub fn get_shard_iterator(req: &GetShardIteratorInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_str("shardId", &req.shard_id, SHARD_ID);
    m.required_one_of("shardIteratorType", &req.shard_iterator_type, SHARD_ITERATOR_TYPES);
    m.text("startingSequenceNumber", req.starting_sequence_number.as_deref(), SEQUENCE_NUMBER);
    m.stream(&req.stream);
    m.finish()
}

pub fn get_records(req: &GetRecordsInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.number("limit", limit(req.limit), GET_RECORDS_LIMIT_MIN.into(), GET_RECORDS_LIMIT_MAX.into());
    m.required_str("shardIterator", &req.shard_iterator, SHARD_ITERATOR);
    m.text("streamARN", req.stream_arn.as_deref(), STREAM_ARN);
    m.finish()
}

pub fn split_shard(req: &SplitShardInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_str("newStartingHashKey", &req.new_starting_hash_key, HASH_KEY);
    m.required_str("shardToSplit", &req.shard_to_split, SHARD_ID);
    m.stream(&req.stream);
    m.finish()
}

pub fn merge_shards(req: &MergeShardsInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_str("adjacentShardToMerge", &req.adjacent_shard_to_merge, SHARD_ID);
    m.required_str("shardToMerge", &req.shard_to_merge, SHARD_ID);
    m.stream(&req.stream);
    m.finish()
}

pub fn update_shard_count(req: &UpdateShardCountInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_one_of("scalingType", &req.scaling_type, SCALING_TYPES);
    m.stream(&req.stream);
    let target = Some(i64::from(req.target_shard_count));
    m.number("targetShardCount", target, SHARD_COUNT_MEMBER_MIN, SHARD_COUNT_MEMBER_MAX);
    m.finish()
}

/// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod (the model's bound is
/// 1; Kinesis's 24 to 8,760 hours are semantic, InvalidArgumentException).
pub fn retention_period(req: &RetentionPeriodInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    let hours = req.retention_period_hours.map(i64::from);
    if m.required("retentionPeriodHours", hours.is_some()) {
        m.number("retentionPeriodHours", hours, 1, i32::MAX.into());
    }
    m.stream(&req.stream);
    m.finish()
}

/// StartStreamEncryption and StopStreamEncryption (NONE passes here: it is in the model's
/// enum; the actions refuse it after, as InvalidArgumentException).
pub fn stream_encryption(req: &StreamEncryptionInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_one_of("encryptionType", &req.encryption_type, ENCRYPTION_TYPES);
    m.required_str("keyId", &req.key_id, KEY_ID);
    m.stream(&req.stream);
    m.finish()
}

pub fn register_stream_consumer(req: &RegisterStreamConsumerInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.required_text("consumerName", req.consumer_name.as_deref(), CONSUMER_NAME);
    m.required_text("streamARN", req.stream_arn.as_deref(), STREAM_ARN);
    m.finish()
}

/// DescribeStreamConsumer and DeregisterStreamConsumer. Every member is optional in the
/// model; which ones name the consumer is checked after (InvalidArgumentException).
pub fn stream_consumer(req: &StreamConsumerInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    m.text("consumerARN", req.consumer_arn.as_deref(), CONSUMER_ARN);
    m.text("consumerName", req.consumer_name.as_deref(), CONSUMER_NAME);
    m.text("streamARN", req.stream_arn.as_deref(), STREAM_ARN);
    m.finish()
}

pub fn list_stream_consumers(req: &ListStreamConsumersInput) -> Result<(), KinesisError> {
    let mut m = Members::new();
    let (min, max) = (LIST_CONSUMERS_RESULTS_MIN, LIST_CONSUMERS_RESULTS_MAX);
    m.number("maxResults", limit(req.max_results), min.into(), max.into());
    m.text("nextToken", req.next_token.as_deref(), NEXT_TOKEN);
    m.required_text("streamARN", req.stream_arn.as_deref(), STREAM_ARN);
    m.finish()
}

/// The stream a request names, by StreamName or by StreamARN (`...:stream/NAME`), once its
/// members passed their constraints.
pub fn stream_name(stream: &StreamRef) -> Result<StreamName, KinesisError> {
    let from_arn = match stream.arn.as_deref() {
        Some(arn) => Some(arn_stream_name(arn)?),
        None => None,
    };
    match (stream.name.as_deref(), from_arn) {
        (Some(name), Some(from_arn)) if from_arn.as_str() != name => Err(KinesisError::InvalidArgument(format!(
            "StreamName {name} and StreamARN {} name different streams.",
            stream.arn.as_deref().unwrap_or_default()
        ))),
        (Some(name), _) => StreamName::parse(name).map_err(|e| KinesisError::Validation(e.to_string())),
        (None, Some(from_arn)) => Ok(from_arn),
        // `Members::stream` refuses this first; kept for callers that did not check.
        (None, None) => Err(KinesisError::Validation(
            "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"
                .into(),
        )),
    }
}

/// The stream name inside a well-formed StreamARN.
fn arn_stream_name(arn: &str) -> Result<StreamName, KinesisError> {
    let name = arn.rsplit_once(":stream/").map_or("", |(_, name)| name);
    StreamName::parse(name)
        .map_err(|_| KinesisError::InvalidArgument(format!("StreamARN {arn} does not name a valid stream.")))
}

/// An ExplicitHashKey or NewStartingHashKey that passed its pattern: a value above 2^128-1
/// is a semantic error, as in Kinesis.
pub fn hash_key_value(member: &str, s: &str) -> Result<HashKey, KinesisError> {
    s.parse::<HashKey>().map_err(|_| {
        KinesisError::InvalidArgument(format!(
            "Invalid {member}. {member} must be in the range: [0, 2^128-1]. Specified value was {s}"
        ))
    })
}

/// The hash key a record routes by: its ExplicitHashKey, else the MD5 of its partition key.
pub fn hash_key(partition_key: &str, explicit: Option<&str>) -> Result<HashKey, KinesisError> {
    match explicit {
        Some(s) => hash_key_value("ExplicitHashKey", s),
        None => Ok(HashKey::of_partition_key(partition_key)),
    }
}

/// A sequence number member that passed its pattern, when Runnel may have issued it (at
/// most 2^128-1, with a counter of at most 64 bits); `None` otherwise.
pub fn issued_sequence_number(s: &str) -> Option<SequenceNumber> {
    match SequenceNumber::parse(s) {
        Ok(Some(seq)) if seq.counter_checked().is_some() => Some(seq),
        _ => None,
    }
}

/// An optional numeric request member already within its model range, else `default`;
/// pages never exceed `page_max`.
pub fn page_size(value: Option<i32>, default: u32, page_max: u32) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or(default).min(page_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), KinesisError>) -> String {
        match result {
            Err(KinesisError::Validation(m)) => m,
            other => panic!("expected a ValidationException, got {other:?}"),
        }
    }

    fn stream(name: &str) -> StreamRef {
        StreamRef { name: Some(name.into()), arn: None }
    }

    #[test]
    fn stream_names_come_from_name_or_arn() {
        assert_eq!(stream_name(&stream("s1")).unwrap().as_str(), "s1");
        let arn = StreamRef { name: None, arn: Some("arn:aws:kinesis:us-east-1:000000000000:stream/s2".into()) };
        assert_eq!(stream_name(&arn).unwrap().as_str(), "s2");
        let both = StreamRef { name: Some("s2".into()), ..arn.clone() };
        assert_eq!(stream_name(&both).unwrap().as_str(), "s2");
        let different = StreamRef { name: Some("s3".into()), ..arn };
        assert!(matches!(stream_name(&different), Err(KinesisError::InvalidArgument(_))));
        let bad_name = StreamRef { name: None, arn: Some("arn:aws:kinesis:x:000000000000:stream/a/b".into()) };
        assert!(matches!(stream_name(&bad_name), Err(KinesisError::InvalidArgument(_))));
        assert!(matches!(stream_name(&StreamRef::default()), Err(KinesisError::Validation(_))));
    }

    #[test]
    fn stream_arns_follow_the_model_pattern() {
        for good in [
            "arn:aws:kinesis:us-east-1:123456789012:stream/s",
            "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b-c_d",
            "arn:aws:kinesis:local:000000000000:stream/x",
            "arn:aws:kinesis::123456789012:stream/x",
        ] {
            assert!(stream_arn_form(good), "{good}");
        }
        for bad in [
            "",
            "arn:aws:sqs:us-east-1:123456789012:queue/q",
            "arn:aws:kinesis:us-east-1:12345678901:stream/s",
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
            "arn:aws:kinesis:us-east-1:123456789012:stream/has space",
            "arn:aws:kinesis:123456789012:stream/s",
            "xarn:aws:kinesis:us-east-1:123456789012:stream/s",
        ] {
            assert!(!stream_arn_form(bad), "{bad}");
        }
    }

    #[test]
    fn consumer_arns_follow_the_model_pattern() {
        for good in [
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1",
            "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b-c_d/consumer/x.y-z_0:1700000000",
            "arn:aws:kinesis::123456789012:stream/s/consumer/c:0",
            "arn:aws:kinesis:r:123456789012:extra/stream/s/consumer/c:12",
        ] {
            assert!(consumer_arn_form(good), "{good}");
        }
        for bad in [
            "",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1x",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c d:1",
            "arn:aws:kinesis:us-east-1:123456789012:stream//consumer/c:1",
            "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/:1",
            "arn:aws:kinesis:us-east-1:12345678901:stream/s/consumer/c:1",
            "arn:aws:kinesis:123456789012:stream/s/consumer/c:1",
            "arn:aws:sqs:us-east-1:123456789012:stream/s/consumer/c:1",
            "xarn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1",
        ] {
            assert!(!consumer_arn_form(bad), "{bad}");
        }
    }

    #[test]
    fn consumer_actions_name_their_members() {
        let m = message(register_stream_consumer(&RegisterStreamConsumerInput::default()));
        assert_eq!(
            m,
            "2 validation errors detected: \
             Value null at 'consumerName' failed to satisfy constraint: Member must not be null; \
             Value null at 'streamARN' failed to satisfy constraint: Member must not be null"
        );
        let long = RegisterStreamConsumerInput {
            consumer_name: Some("c".repeat(129)),
            stream_arn: Some("s".into()),
            tags: Vec::new(),
        };
        let m = message(register_stream_consumer(&long));
        assert!(m.starts_with("2 validation errors detected: "), "{m}");
        assert!(
            m.contains(
                "at 'consumerName' failed to satisfy constraint: Member must have length less than or equal to 128"
            ),
            "{m}"
        );
        assert!(m.contains("Value 's' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+"), "{m}");
        let bad = StreamConsumerInput {
            consumer_arn: Some("arn:aws:kinesis:r:123456789012:stream/s".into()),
            consumer_name: Some("a b".into()),
            stream_arn: None,
        };
        let m = message(stream_consumer(&bad));
        assert!(m.contains("Value 'arn:aws:kinesis:r:123456789012:stream/s' at 'consumerARN' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+"), "{m}");
        assert!(m.contains("Value 'a b' at 'consumerName'"), "{m}");
        assert!(stream_consumer(&StreamConsumerInput::default()).is_ok(), "which members name it is semantic");
        let list = ListStreamConsumersInput { max_results: Some(0), ..Default::default() };
        let m = message(list_stream_consumers(&list));
        assert_eq!(
            m,
            "2 validation errors detected: \
             Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; \
             Value null at 'streamARN' failed to satisfy constraint: Member must not be null"
        );
        let list = ListStreamConsumersInput {
            max_results: Some(10_001),
            stream_arn: Some("arn:aws:kinesis:r:123456789012:stream/s".into()),
            ..Default::default()
        };
        assert!(message(list_stream_consumers(&list)).ends_with("Member must have value less than or equal to 10000"));
    }

    #[test]
    fn decimals_follow_the_model_patterns() {
        assert!(hash_key_digits("0") && hash_key_digits(&"9".repeat(39)));
        for bad in ["", "01", "-1", "12a", "1 ", &"9".repeat(40)] {
            assert!(!hash_key_digits(bad), "{bad:?}");
        }
        assert!(sequence_number_digits(&"9".repeat(129)) && !sequence_number_digits(&"9".repeat(130)));
        assert!(!sequence_number_digits("abc"));
    }

    #[test]
    fn violations_are_reported_together_in_kinesis_words() {
        let req = GetShardIteratorInput {
            stream: stream("bad name"),
            shard_id: "x".repeat(129),
            shard_iterator_type: "SOMEWHERE".into(),
            starting_sequence_number: Some("01".into()),
            timestamp_ms: None,
        };
        assert_eq!(
            message(get_shard_iterator(&req)),
            format!(
                "4 validation errors detected: \
                 Value '{}' at 'shardId' failed to satisfy constraint: Member must have length less than or equal to 128; \
                 Value 'SOMEWHERE' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]; \
                 Value '01' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,128}}); \
                 Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
                "x".repeat(129)
            )
        );
        let missing = GetShardIteratorInput::default();
        assert_eq!(
            message(get_shard_iterator(&missing)),
            "3 validation errors detected: \
             Value null at 'shardId' failed to satisfy constraint: Member must not be null; \
             Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null; \
             Value null at 'streamName' failed to satisfy constraint: Member must not be null"
        );
        let fine = GetShardIteratorInput {
            stream: stream("s"),
            shard_id: "0".into(),
            shard_iterator_type: "LATEST".into(),
            ..Default::default()
        };
        assert!(get_shard_iterator(&fine).is_ok());
    }

    #[test]
    fn numbers_blobs_and_lists_name_their_bound() {
        let get = |shard_iterator: &str, limit: Option<i32>| GetRecordsInput {
            shard_iterator: shard_iterator.into(),
            limit,
            stream_arn: None,
        };
        assert_eq!(
            message(get_records(&get("it", Some(0)))),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert!(message(get_records(&get("it", Some(10_001))))
            .ends_with("Member must have value less than or equal to 10000"));
        assert!(message(get_records(&get(&"a".repeat(513), None))).ends_with(
            "at 'shardIterator' failed to satisfy constraint: Member must have length less than or equal to 512"
        ));
        assert!(get_records(&get(&"a".repeat(512), Some(10_000))).is_ok());

        let put = PutRecordInput {
            stream: stream("s"),
            partition_key: "k".into(),
            data: vec![0; RECORD_DATA_BYTES_MAX + 1],
            explicit_hash_key: Some(u128::MAX.to_string() + "0"),
            sequence_number_for_ordering: None,
        };
        let m = message(put_record(&put));
        assert!(m.starts_with("2 validation errors detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]' at 'data'"), "{m}");
        assert!(m.contains("at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"), "{m}");

        let records = PutRecordsInput {
            stream: stream("s"),
            records: vec![
                PutRecordsEntry { partition_key: "k".into(), ..Default::default() },
                PutRecordsEntry { partition_key: "p".repeat(257), ..Default::default() },
            ],
        };
        assert!(message(put_records(&records)).contains("at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256"));
        let empty = PutRecordsInput { stream: stream("s"), records: vec![] };
        assert!(message(put_records(&empty)).contains(
            "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ));
    }

    #[test]
    fn long_values_are_quoted_short_and_ten_violations_at_most() {
        let req =
            ListStreamsInput { next_token: None, exclusive_start_stream_name: Some("é".repeat(5_000)), limit: None };
        let m = message(list_streams(&req));
        // Two violations (pattern and length), each quoting the value's first characters.
        assert_eq!(m.matches('é').count(), 2 * ERROR_VALUE_CHARS_MAX, "{m}");
        assert!(m.contains("...' at 'exclusiveStartStreamName'"), "{m}");
        let records =
            PutRecordsInput { stream: stream("s"), records: (0..20).map(|_| PutRecordsEntry::default()).collect() };
        let m = message(put_records(&records));
        assert!(m.starts_with("10 validation errors detected: "), "{m}");
        assert_eq!(m.matches("Member must not be null").count(), 10);
    }

    #[test]
    fn partition_keys_count_characters_not_bytes() {
        let put = |key: String| PutRecordInput { stream: stream("s"), partition_key: key, ..Default::default() };
        assert!(put_record(&put("é".repeat(256))).is_ok());
        assert!(put_record(&put("é".repeat(257))).is_err());
        assert!(put_record(&put(String::new())).is_err());
    }

    #[test]
    fn semantic_values_are_invalid_arguments() {
        assert_eq!(hash_key_value("ExplicitHashKey", &u128::MAX.to_string()), Ok(HashKey(u128::MAX)));
        let over = "340282366920938463463374607431768211456";
        assert_eq!(
            hash_key_value("ExplicitHashKey", over),
            Err(KinesisError::InvalidArgument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {over}"
            )))
        );
        assert!(issued_sequence_number("4294967296").is_some());
        assert_eq!(issued_sequence_number(&u128::MAX.to_string()), None, "a counter beyond 64 bits");
        assert_eq!(issued_sequence_number(&"9".repeat(60)), None, "beyond 2^128-1");
    }

    #[test]
    fn encryption_members_are_a_known_type_and_a_key_id_of_1_to_2048_characters() {
        let req = |encryption_type: &str, key_id: String| StreamEncryptionInput {
            stream: stream("s"),
            encryption_type: encryption_type.into(),
            key_id,
        };
        assert!(stream_encryption(&req("KMS", "alias/aws/kinesis".into())).is_ok());
        assert!(stream_encryption(&req("NONE", "k".repeat(KEY_ID_CHARS_MAX))).is_ok(), "NONE is refused later");
        assert_eq!(
            message(stream_encryption(&StreamEncryptionInput::default())),
            "3 validation errors detected: \
             Value null at 'encryptionType' failed to satisfy constraint: Member must not be null; \
             Value null at 'keyId' failed to satisfy constraint: Member must not be null; \
             Value null at 'streamName' failed to satisfy constraint: Member must not be null"
        );
        let m = message(stream_encryption(&req("AES", "k".repeat(KEY_ID_CHARS_MAX + 1))));
        assert!(m.starts_with("2 validation errors detected: Value 'AES' at 'encryptionType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, KMS]; "), "{m}");
        assert!(
            m.ends_with("at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"),
            "{m}"
        );
    }

    #[test]
    fn enums_and_nested_members() {
        let create = CreateStreamInput {
            stream_name: "s".into(),
            shard_count: Some(100_001),
            stream_mode: Some("TURBO".into()),
            tags: Vec::new(),
            max_record_size_kib: Some(10_241),
            warm_throughput_mibps: Some(-1),
        };
        let m = message(create_stream(&create));
        assert!(m.contains("Value '100001' at 'shardCount' failed to satisfy constraint: Member must have value less than or equal to 100000"), "{m}");
        assert!(m.contains("Value 'TURBO' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]"), "{m}");
        assert!(m.contains("Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240"), "{m}");
        assert!(m.contains("Value '-1' at 'warmThroughputMiBps' failed to satisfy constraint: Member must have value greater than or equal to 0"), "{m}");
        let list = ListShardsInput {
            shard_filter: Some(ShardFilterInput {
                kind: String::new(),
                shard_id: Some("a b".into()),
                timestamp_ms: None,
            }),
            ..Default::default()
        };
        let m = message(list_shards(&list));
        assert!(
            m.contains("Value null at 'shardFilter.type'") && m.contains("Value 'a b' at 'shardFilter.shardId'"),
            "{m}"
        );
        assert_eq!(page_size(Some(5_000), 1_000, 1_000), 1_000);
        assert_eq!(page_size(None, 100, 1_000), 100);
    }
}
