//! Resharding: SplitShard, MergeShards and UpdateShardCount, and the default split point.
//!
//! These calls are retried like `create_stream`: on transport failures and InternalFailure.
//! A call whose first attempt took effect but whose answer was lost then fails on the
//! retry (InvalidArgumentException: the shard "has already been merged or split", or
//! ResourceInUseException: the stream is UPDATING) although the change happened; compare
//! `list_shards` with what was asked before trying again.

use runnel_proto::hash_key::{HashKey, HashKeyRange};
use runnel_proto::v1::{MergeShardsRequest, SplitShardRequest, UpdateShardCountRequest};

use super::call::Route;
use super::{kinesis_stub, Client};
use crate::error::ClientError;

/// The only scaling type Kinesis offers.
const UNIFORM_SCALING: &str = "UNIFORM_SCALING";

impl Client {
    /// SplitShard: closes `shard_id` and opens two children, the second starting at
    /// `new_starting_hash_key` (decimal, strictly inside the shard's range; see
    /// `split_midpoint`). The stream is UPDATING until the children take writes; see
    /// `wait_for_active`.
    pub async fn split_shard(
        &self,
        stream: &str,
        shard_id: &str,
        new_starting_hash_key: &str,
    ) -> Result<(), ClientError> {
        let request = SplitShardRequest {
            stream_name: stream.to_string(),
            shard_to_split: shard_id.to_string(),
            new_starting_hash_key: new_starting_hash_key.to_string(),
            stream_arn: String::new(),
        };
        let result = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).split_shard(request).await }
            })
            .await;
        // Whatever the answer, the shard may be closed now.
        self.routing_mut().forget_stream(stream);
        result.map(|_| ())
    }

    /// MergeShards: closes `shard_id` and `adjacent_shard_id` (hash key ranges that touch)
    /// and opens one child over both. The stream is UPDATING until the child takes writes.
    pub async fn merge_shards(&self, stream: &str, shard_id: &str, adjacent_shard_id: &str) -> Result<(), ClientError> {
        let request = MergeShardsRequest {
            stream_name: stream.to_string(),
            shard_to_merge: shard_id.to_string(),
            adjacent_shard_to_merge: adjacent_shard_id.to_string(),
            stream_arn: String::new(),
        };
        let result = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).merge_shards(request).await }
            })
            .await;
        self.routing_mut().forget_stream(stream);
        result.map(|_| ())
    }

    /// UpdateShardCount with UNIFORM_SCALING: the server splits and merges until the
    /// stream has `target` open shards of (nearly) equal ranges. Returns the open shard
    /// count before the change and the target, as the server reports them. The stream is
    /// UPDATING until every step is done.
    pub async fn update_shard_count(&self, stream: &str, target: u32) -> Result<(u32, u32), ClientError> {
        let request = UpdateShardCountRequest {
            stream_name: stream.to_string(),
            // Out-of-range counts go to the server as is, so it reports the Kinesis error.
            target_shard_count: i32::try_from(target).unwrap_or(i32::MAX),
            scaling_type: UNIFORM_SCALING.to_string(),
            stream_arn: String::new(),
        };
        let result = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).update_shard_count(request).await }
            })
            .await;
        self.routing_mut().forget_stream(stream);
        let response = result?;
        let count = |value: i32, field: &str| {
            u32::try_from(value)
                .map_err(|_| ClientError::MalformedResponse(format!("UpdateShardCount returned {field} {value}")))
        };
        Ok((
            count(response.current_shard_count, "current_shard_count")?,
            count(response.target_shard_count, "target_shard_count")?,
        ))
    }
}

/// Where to split a shard with `range` into two halves of equal size (the lower one a key
/// larger when the range has an odd number of keys): the second child's first key.
/// `None` when the range holds a single key and cannot be split.
pub fn split_midpoint(range: HashKeyRange) -> Option<HashKey> {
    // `end - start` does not overflow, unlike the key count (2^128 for the whole space).
    let span = range.end.0.checked_sub(range.start.0)?;
    if span == 0 {
        return None;
    }
    Some(HashKey(range.start.0 + span / 2 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u128, end: u128) -> HashKeyRange {
        HashKeyRange { start: HashKey(start), end: HashKey(end) }
    }

    #[test]
    fn the_midpoint_halves_the_whole_key_space() {
        let at = split_midpoint(range(0, u128::MAX)).expect("splittable");
        assert_eq!(at, HashKey(1 << 127));
        // Both halves hold 2^127 keys.
        assert_eq!(at.0 - 1, u128::MAX - at.0);
    }

    #[test]
    fn the_midpoint_lies_strictly_inside_the_range() {
        for (start, end) in [(0, 1), (5, 6), (5, 7), (10, 20), (10, 21), (u128::MAX - 1, u128::MAX)] {
            let at = split_midpoint(range(start, end)).expect("splittable").0;
            // The server wants start < at <= end: both children non-empty.
            assert!(start < at && at <= end, "{start}..={end} split at {at}");
            let (low, high) = (at - start, end - at + 1);
            assert!(low == high || low == high + 1, "{start}..={end}: halves {low} and {high}");
        }
    }

    #[test]
    fn a_single_key_or_inverted_range_cannot_be_split() {
        assert_eq!(split_midpoint(range(7, 7)), None);
        assert_eq!(split_midpoint(range(u128::MAX, u128::MAX)), None);
        assert_eq!(split_midpoint(range(8, 7)), None);
    }

    #[test]
    fn the_midpoint_of_an_even_split_is_the_halfway_key() {
        // Splitting one of two even shards gives the ranges of four even shards, give or take one key.
        let halves = HashKeyRange::split_evenly(2);
        let quarters = HashKeyRange::split_evenly(4);
        let at = split_midpoint(halves[0]).expect("splittable");
        assert!(at.0.abs_diff(quarters[1].start.0) <= 1, "{at} vs {}", quarters[1].start);
    }
}
