use crate::limits::SHARD_NUMBER_MAX;
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

impl ShardId {
    /// Reads a ShardId member as Kinesis does: the decimal number after the last `-` (or
    /// the whole member when it has none), leading zeros allowed, at most
    /// `SHARD_NUMBER_MAX`. So `shardId-0`, `shard-0`, `0` and `shardId-000000000000` all
    /// name the first shard. `None` when no shard number can be read (Kinesis then answers
    /// that it could not find the shard).
    pub fn resolve(member: &str) -> Option<ShardId> {
        let digits = member.rsplit('-').next().unwrap_or(member);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Leading zeros never overflow: only the significant digits are parsed.
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Some(ShardId(0));
        }
        match significant.parse::<u64>() {
            Ok(n) if n <= u64::from(SHARD_NUMBER_MAX) => u32::try_from(n).ok().map(ShardId),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_shard_ids_name_the_number_after_the_last_dash() {
        for (member, id) in [
            ("shardId-000000000000", 0),
            ("shardId-0", 0),
            ("0", 0),
            ("shard-7", 7),
            ("a-b-00002147483647", 2_147_483_647),
            ("-5", 5),
            ("000", 0),
            ("shardId-0000000000000000000000000000042", 42),
        ] {
            assert_eq!(ShardId::resolve(member), Some(ShardId(id)), "{member}");
        }
        for member in [
            "",
            "shardId-",
            "ABKLFD8",
            "2.14E4",
            "2147483648",
            "shardId-002147483648",
            "1-x",
            "99999999999999999999999",
        ] {
            assert_eq!(ShardId::resolve(member), None, "{member}");
        }
    }

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
