use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A node of the cluster, as configured (`--id`).
pub type NodeId = u64;

/// A Raft group. Group 0 is the metadata group; shard groups are numbered from 1 and a
/// number is never reused, so a group's data can always be told apart from a newer one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId(pub u64);

/// The metadata group: streams, shards, hash ranges and placement.
pub const META_GROUP: GroupId = GroupId(0);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "g{}", self.0)
    }
}

/// A shard of a stream: `shardId-` followed by 12 digits, numbered from 0 in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShardId(pub u32);

const SHARD_ID_PREFIX: &str = "shardId-";
const SHARD_ID_DIGITS: usize = 12;

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHARD_ID_PREFIX}{:0width$}", self.0, width = SHARD_ID_DIGITS)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a shard id (shardId- followed by 12 digits): {0:?}")]
pub struct ParseShardIdError(pub String);

impl FromStr for ShardId {
    type Err = ParseShardIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseShardIdError(s.to_string());
        let digits = s.strip_prefix(SHARD_ID_PREFIX).ok_or_else(err)?;
        if digits.len() != SHARD_ID_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        digits.parse::<u32>().map(ShardId).map_err(|_| err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_round_trip_in_kinesis_form() {
        assert_eq!(ShardId(0).to_string(), "shardId-000000000000");
        assert_eq!(ShardId(42).to_string(), "shardId-000000000042");
        assert_eq!("shardId-000000000042".parse(), Ok(ShardId(42)));
        for bad in ["shardId-42", "shard-000000000042", "shardId-00000000004x", "shardId-9999999999999"] {
            assert!(bad.parse::<ShardId>().is_err(), "{bad}");
        }
    }
}
