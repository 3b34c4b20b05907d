//! Domain values the wire carries as strings, as enums.

use std::fmt;
use std::str::FromStr;

/// The lifecycle state of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamStatus {
    Creating,
    Deleting,
    Active,
    Updating,
    /// A state this client does not know; kept verbatim.
    Other(String),
}

impl StreamStatus {
    pub fn from_name(name: &str) -> StreamStatus {
        match name {
            "CREATING" => StreamStatus::Creating,
            "DELETING" => StreamStatus::Deleting,
            "ACTIVE" => StreamStatus::Active,
            "UPDATING" => StreamStatus::Updating,
            other => StreamStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Deleting => "DELETING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
            StreamStatus::Other(name) => name,
        }
    }
}

impl fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a shard iterator starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardIteratorType {
    TrimHorizon,
    Latest,
    AtSequenceNumber,
    AfterSequenceNumber,
    AtTimestamp,
}

impl ShardIteratorType {
    pub const ALL: [ShardIteratorType; 5] = [
        ShardIteratorType::TrimHorizon,
        ShardIteratorType::Latest,
        ShardIteratorType::AtSequenceNumber,
        ShardIteratorType::AfterSequenceNumber,
        ShardIteratorType::AtTimestamp,
    ];

    /// The wire name, e.g. `TRIM_HORIZON`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShardIteratorType::TrimHorizon => "TRIM_HORIZON",
            ShardIteratorType::Latest => "LATEST",
            ShardIteratorType::AtSequenceNumber => "AT_SEQUENCE_NUMBER",
            ShardIteratorType::AfterSequenceNumber => "AFTER_SEQUENCE_NUMBER",
            ShardIteratorType::AtTimestamp => "AT_TIMESTAMP",
        }
    }
}

impl fmt::Display for ShardIteratorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a shard iterator type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown shard iterator type {0:?}; expected one of TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP")]
pub struct ParseShardIteratorTypeError(pub String);

impl FromStr for ShardIteratorType {
    type Err = ParseShardIteratorTypeError;

    /// Accepts the wire names in any case, with `-` for `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_uppercase().replace('-', "_");
        ShardIteratorType::ALL
            .into_iter()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| ParseShardIteratorTypeError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterator_types_parse_leniently() {
        for t in ShardIteratorType::ALL {
            assert_eq!(t.as_str().parse::<ShardIteratorType>(), Ok(t));
        }
        assert_eq!("trim-horizon".parse::<ShardIteratorType>(), Ok(ShardIteratorType::TrimHorizon));
        assert!("EARLIEST".parse::<ShardIteratorType>().is_err());
    }

    #[test]
    fn stream_status_round_trips() {
        for name in ["CREATING", "DELETING", "ACTIVE", "UPDATING", "FROZEN"] {
            assert_eq!(StreamStatus::from_name(name).as_str(), name);
        }
        assert_eq!(StreamStatus::from_name("ACTIVE"), StreamStatus::Active);
    }
}
