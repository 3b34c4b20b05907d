//! Request checks shared by the Kinesis handlers. Member constraints of the API model
//! (lengths, ranges, patterns) fail with ValidationException; semantic problems with
//! InvalidArgumentException, as Kinesis does.

use super::error::KinesisError;
use crate::domain::{HashKey, SequenceNumber, ShardId, StreamName};
use crate::limits::{PARTITION_KEY_CHARS_MAX, PARTITION_KEY_CHARS_MIN, RECORD_DATA_BYTES_MAX};

/// The stream a request names, by StreamName or by StreamARN (`...:stream/NAME`).
pub fn stream_name(name: &str, arn: &str) -> Result<StreamName, KinesisError> {
    let name = if name.is_empty() && !arn.is_empty() {
        arn.strip_prefix("arn:aws:kinesis:")
            .and_then(|rest| rest.split_once(":stream/"))
            .map(|(_, n)| n)
            .ok_or_else(|| KinesisError::InvalidArgument(format!("StreamARN {arn:?} is not a Kinesis stream ARN")))?
    } else {
        name
    };
    StreamName::parse(name).map_err(|e| KinesisError::Validation(e.to_string()))
}

pub fn partition_key(key: &str) -> Result<(), KinesisError> {
    let chars = key.chars().count();
    if !(PARTITION_KEY_CHARS_MIN..=PARTITION_KEY_CHARS_MAX).contains(&chars) {
        return Err(KinesisError::Validation(format!(
            "PartitionKey must be {PARTITION_KEY_CHARS_MIN} to {PARTITION_KEY_CHARS_MAX} characters, got {chars}"
        )));
    }
    Ok(())
}

pub fn data(data: &[u8]) -> Result<(), KinesisError> {
    if data.len() > RECORD_DATA_BYTES_MAX {
        return Err(KinesisError::Validation(format!(
            "Data must be at most {RECORD_DATA_BYTES_MAX} bytes, got {}",
            data.len()
        )));
    }
    Ok(())
}

/// The hash key a record routes by: its ExplicitHashKey, else the MD5 of its partition key.
pub fn hash_key(partition_key: &str, explicit: Option<&str>) -> Result<HashKey, KinesisError> {
    match explicit {
        Some(s) => s.parse::<HashKey>().map_err(|e| KinesisError::InvalidArgument(format!("ExplicitHashKey: {e}"))),
        None => Ok(HashKey::of_partition_key(partition_key)),
    }
}

/// A sequence number member. Well-formed numbers Runnel cannot have issued (beyond
/// 2^128-1, or with a counter beyond 64 bits) are refused here, at the edge.
pub fn sequence_number(s: &str, what: &str) -> Result<SequenceNumber, KinesisError> {
    let not_issued = || KinesisError::InvalidArgument(format!("{what} {s} was not issued by this stream"));
    match SequenceNumber::parse(s) {
        Ok(Some(seq)) if seq.counter_checked().is_some() => Ok(seq),
        Ok(_) => Err(not_issued()),
        Err(e) => Err(KinesisError::InvalidArgument(format!("{what}: {e}"))),
    }
}

/// An optional shard id member (empty when absent).
pub fn optional_shard_id(s: &str, member: &str) -> Result<Option<ShardId>, KinesisError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<ShardId>().map(Some).map_err(|e| KinesisError::Validation(format!("{member}: {e}")))
}

/// An optional numeric request member within `[min, max]`, else `default`.
pub fn bounded(value: Option<i32>, min: u32, max: u32, default: u32, member: &str) -> Result<u32, KinesisError> {
    match value {
        None => Ok(default),
        Some(v) if v >= min as i32 && v as i64 <= max as i64 => Ok(v as u32),
        Some(v) => Err(KinesisError::Validation(format!("{member} must be between {min} and {max}, got {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_come_from_name_or_arn() {
        assert_eq!(stream_name("s1", "").unwrap().as_str(), "s1");
        assert_eq!(stream_name("", "arn:aws:kinesis:us-east-1:000000000000:stream/s2").unwrap().as_str(), "s2");
        assert!(matches!(stream_name("", "arn:aws:sqs:x"), Err(KinesisError::InvalidArgument(_))));
        assert!(matches!(stream_name("bad name", ""), Err(KinesisError::Validation(_))));
        assert!(matches!(stream_name("", ""), Err(KinesisError::Validation(_))));
    }

    #[test]
    fn partition_keys_count_characters_not_bytes() {
        assert!(partition_key(&"é".repeat(256)).is_ok());
        assert!(partition_key(&"é".repeat(257)).is_err());
        assert!(partition_key("").is_err());
    }

    #[test]
    fn sequence_numbers_runnel_never_issued_are_refused_at_the_edge() {
        assert!(sequence_number("4294967296", "SequenceNumberForOrdering").is_ok());
        let max = u128::MAX.to_string();
        assert!(matches!(sequence_number(&max, "x"), Err(KinesisError::InvalidArgument(_))));
        let beyond = "9".repeat(60);
        assert!(matches!(sequence_number(&beyond, "x"), Err(KinesisError::InvalidArgument(_))));
        assert!(matches!(sequence_number("01", "x"), Err(KinesisError::InvalidArgument(_))));
    }

    #[test]
    fn bounded_members() {
        assert_eq!(bounded(None, 1, 10, 5, "Limit").unwrap(), 5);
        assert_eq!(bounded(Some(10), 1, 10, 5, "Limit").unwrap(), 10);
        assert!(bounded(Some(0), 1, 10, 5, "Limit").is_err());
        assert!(bounded(Some(11), 1, 10, 5, "Limit").is_err());
    }
}
