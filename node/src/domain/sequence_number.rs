use super::ShardId;
use crate::limits::SEQUENCE_NUMBER_DIGITS_MAX;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A record's sequence number: unique in its stream, strictly increasing in its shard.
///
/// Layout (Runnel's own; clients see an opaque decimal string): the high 96 bits hold a
/// per-shard counter assigned when the record's Raft entry is applied, the low 32 bits the
/// shard number. Ordering by value orders records of one shard by arrival, and two shards
/// can never produce the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SequenceNumber(pub u128);

const SHARD_BITS: u32 = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sequence number must match 0|([1-9]\\d{{0,128}}): {0:?}")]
pub struct ParseSequenceNumberError(pub String);

impl SequenceNumber {
    pub fn new(shard: ShardId, counter: u64) -> SequenceNumber {
        SequenceNumber((u128::from(counter) << SHARD_BITS) | u128::from(shard.0))
    }

    /// The per-shard counter part.
    pub fn counter(self) -> u64 {
        // Counters are u64 by construction; a larger value was not issued by Runnel and is
        // saturated so comparisons stay meaningful.
        u64::try_from(self.0 >> SHARD_BITS).unwrap_or(u64::MAX)
    }

    /// The per-shard counter part, or `None` when it does not fit in 64 bits (so Runnel
    /// never issued this number).
    pub fn counter_checked(self) -> Option<u64> {
        u64::try_from(self.0 >> SHARD_BITS).ok()
    }

    pub fn shard(self) -> ShardId {
        ShardId((self.0 & u128::from(u32::MAX)) as u32)
    }

    /// Parses the Kinesis pattern. Well-formed numbers beyond 2^128-1 cannot have been issued
    /// by Runnel; they parse as `None` so callers can decide what that means.
    pub fn parse(s: &str) -> Result<Option<SequenceNumber>, ParseSequenceNumberError> {
        let well_formed = !s.is_empty()
            && s.len() <= SEQUENCE_NUMBER_DIGITS_MAX
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if !well_formed {
            return Err(ParseSequenceNumberError(s.to_string()));
        }
        Ok(s.parse::<u128>().ok().map(SequenceNumber))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_follows_the_kinesis_pattern() {
        assert_eq!(SequenceNumber::parse("0"), Ok(Some(SequenceNumber(0))));
        assert_eq!(SequenceNumber::parse(&"9".repeat(129)), Ok(None));
        for bad in ["", "01", "-1", "1e5", &"9".repeat(130)] {
            assert!(SequenceNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn counter_and_shard_round_trip(shard in any::<u32>(), counter in any::<u64>()) {
            let seq = SequenceNumber::new(ShardId(shard), counter);
            prop_assert_eq!(seq.shard(), ShardId(shard));
            prop_assert_eq!(seq.counter(), counter);
            prop_assert_eq!(SequenceNumber::parse(&seq.to_string()), Ok(Some(seq)));
        }

        #[test]
        fn order_follows_the_counter_within_a_shard(shard in any::<u32>(), a in any::<u64>(), b in any::<u64>()) {
            let (sa, sb) = (SequenceNumber::new(ShardId(shard), a), SequenceNumber::new(ShardId(shard), b));
            prop_assert_eq!(sa.cmp(&sb), a.cmp(&b));
        }

        #[test]
        fn different_shards_never_collide(s1 in any::<u32>(), s2 in any::<u32>(), c1 in any::<u64>(), c2 in any::<u64>()) {
            prop_assume!(s1 != s2);
            prop_assert_ne!(SequenceNumber::new(ShardId(s1), c1), SequenceNumber::new(ShardId(s2), c2));
        }
    }
}
