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
    /// CreateStream does: range `i` starts at `floor(i * 2^128 / count)`, the boundaries
    /// Kinesis gives (2 shards: the first ends at 2^127 - 1). Counts that divide one another
    /// share their boundaries, so scaling 2 -> 4 is two splits.
    pub fn split_evenly(count: u32) -> Vec<HashKeyRange> {
        assert!(count > 0, "a stream has at least one shard");
        if count == 1 {
            return vec![HashKeyRange { start: HashKey::MIN, end: HashKey::MAX }];
        }
        let n = u128::from(count);
        // 2^128 = quotient * n + remainder, from u128::MAX = 2^128 - 1.
        let (mut quotient, mut remainder) = (u128::MAX / n, u128::MAX % n + 1);
        if remainder == n {
            quotient += 1;
            remainder = 0;
        }
        // floor(i * 2^128 / n) = i * quotient + floor(i * remainder / n); i * remainder < n^2.
        let start = |i: u128| i * quotient + i * remainder / n;
        let mut ranges = Vec::with_capacity(count as usize);
        for i in 0..n {
            let end = if i + 1 == n { u128::MAX } else { start(i + 1) - 1 };
            ranges.push(HashKeyRange { start: HashKey(start(i)), end: HashKey(end) });
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
    fn even_splits_have_the_kinesis_boundaries_and_nest() {
        // What Kinesis gives for 2 and 3 shards.
        assert_eq!(HashKeyRange::split_evenly(2)[0].end.0, 170141183460469231731687303715884105727);
        assert_eq!(HashKeyRange::split_evenly(3)[0].end.0, 113427455640312821154458202477256070484);
        assert_eq!(HashKeyRange::split_evenly(1)[0].end, HashKey::MAX);
        // Every boundary of n shards is one of 2n's and 4n's.
        for n in [1u32, 3, 5, 7, 125] {
            let starts = |c: u32| HashKeyRange::split_evenly(c).iter().map(|r| r.start.0).collect::<Vec<_>>();
            let (a, b, c) = (starts(n), starts(2 * n), starts(4 * n));
            assert!(a.iter().all(|s| b.contains(s) && c.contains(s)), "{n}");
        }
    }

    #[test]
    fn even_split_covers_the_space_without_gap_or_overlap() {
        for count in [1u32, 2, 3, 4, 7, 10, 500, 100_000] {
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
