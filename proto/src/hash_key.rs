//! Partition-key hashing, shared by the node (routing) and the client (leader caching).
//!
//! Kinesis maps a partition key to a 128-bit hash key: the MD5 digest of the key's UTF-8
//! bytes read as a big-endian unsigned integer. An explicit hash key, a decimal string of
//! at most 2^128-1, overrides it.

use md5::{Digest, Md5};
use std::fmt;
use std::str::FromStr;

/// A point of the 128-bit hash key space `0..=2^128-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashKey(pub u128);

impl HashKey {
    pub const MIN: HashKey = HashKey(0);
    pub const MAX: HashKey = HashKey(u128::MAX);

    /// The hash key Kinesis derives from a partition key.
    pub fn of_partition_key(partition_key: &str) -> HashKey {
        let digest = Md5::digest(partition_key.as_bytes());
        HashKey(u128::from_be_bytes(digest.into()))
    }
}

impl fmt::Display for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a string is not a hash key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hash key must be a decimal integer between 0 and 2^128-1 without leading zeros: {0:?}")]
pub struct ParseHashKeyError(pub String);

impl FromStr for HashKey {
    type Err = ParseHashKeyError;

    /// Accepts exactly the Kinesis pattern `0|([1-9]\d{0,38})` with a value below 2^128.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseHashKeyError(s.to_string());
        let well_formed = !s.is_empty()
            && s.len() <= 39
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if !well_formed {
            return Err(err());
        }
        s.parse::<u128>().map(HashKey).map_err(|_| err())
    }
}

/// An inclusive range of hash keys owned by one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKeyRange {
    pub start: HashKey,
    pub end: HashKey,
}

impl HashKeyRange {
    pub fn contains(&self, key: HashKey) -> bool {
        self.start <= key && key <= self.end
    }

    /// Splits the whole key space into `count` contiguous ranges of (nearly) equal size, as
    /// CreateStream does. The last range absorbs the remainder.
    pub fn split_evenly(count: u32) -> Vec<HashKeyRange> {
        assert!(count > 0, "a stream has at least one shard");
        let width = u128::MAX / u128::from(count);
        let mut ranges = Vec::with_capacity(count as usize);
        for i in 0..u128::from(count) {
            let start = i * width;
            let end = if i + 1 == u128::from(count) { u128::MAX } else { (i + 1) * width - 1 };
            ranges.push(HashKeyRange { start: HashKey(start), end: HashKey(end) });
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_partition_key_matches_known_digests() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(HashKey::of_partition_key(""), HashKey(0xd41d8cd98f00b204e9800998ecf8427e));
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(HashKey::of_partition_key("a"), HashKey(0x0cc175b9c0f1b6a831c399e269772661));
    }

    #[test]
    fn parse_accepts_the_kinesis_pattern_only() {
        assert_eq!("0".parse::<HashKey>(), Ok(HashKey(0)));
        assert_eq!(u128::MAX.to_string().parse::<HashKey>(), Ok(HashKey::MAX));
        for bad in ["", "00", "01", "-1", "1.5", " 1", "340282366920938463463374607431768211456", "abc"] {
            assert!(bad.parse::<HashKey>().is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn even_split_covers_the_space_without_gap_or_overlap() {
        for count in [1u32, 2, 3, 4, 7, 10, 500] {
            let ranges = HashKeyRange::split_evenly(count);
            assert_eq!(ranges.len(), count as usize);
            assert_eq!(ranges[0].start, HashKey::MIN);
            assert_eq!(ranges[ranges.len() - 1].end, HashKey::MAX);
            for pair in ranges.windows(2) {
                assert!(pair[0].start <= pair[0].end);
                assert_eq!(pair[0].end.0 + 1, pair[1].start.0, "ranges must be adjacent");
            }
        }
    }
}
