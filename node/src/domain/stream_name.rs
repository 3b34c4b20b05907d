use crate::limits::STREAM_NAME_CHARS_MAX;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A validated stream name: 1 to 128 characters of `[a-zA-Z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream name must be 1 to {STREAM_NAME_CHARS_MAX} characters of [a-zA-Z0-9_.-]: {0:?}")]
pub struct InvalidStreamName(pub String);

impl StreamName {
    pub fn parse(s: &str) -> Result<StreamName, InvalidStreamName> {
        let valid = !s.is_empty()
            && s.len() <= STREAM_NAME_CHARS_MAX
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
        if valid {
            Ok(StreamName(s.to_string()))
        } else {
            Err(InvalidStreamName(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kinesis_pattern() {
        assert!(StreamName::parse("orders_v2.prod-1").is_ok());
        assert!(StreamName::parse(&"a".repeat(128)).is_ok());
        for bad in ["", "has space", "slash/", "ünï", &"a".repeat(129)] {
            assert!(StreamName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
