//! Retention in the metadata: changing a stream's retention period, and forgetting the
//! closed shards whose every record has expired (their groups are then dropped on every
//! node). Each shard's own records are trimmed in its own Raft log (shard/trim.rs).

use super::state::{StreamMeta, StreamStatus};
use crate::domain::ShardId;
use crate::limits::{RETENTION_HOURS_MAX, RETENTION_HOURS_MIN};
use serde::{Deserialize, Serialize};

/// Which action asked: Kinesis has one for each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionChange {
    Increase,
    Decrease,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionRefused {
    #[error("stream is {0:?}")]
    NotActive(StreamStatus),
    /// A value out of range or in the wrong direction (Kinesis's messages).
    #[error("{0}")]
    Invalid(String),
}

/// Why `hours` is not a retention period Kinesis accepts, in Kinesis's words.
pub fn out_of_range(hours: u32) -> Option<String> {
    if hours < RETENTION_HOURS_MIN {
        return Some(format!(
            "Minimum allowed retention period is {RETENTION_HOURS_MIN} hours. Requested retention period ({hours} hours) is too short."
        ));
    }
    if hours > RETENTION_HOURS_MAX {
        return Some(format!(
            "Maximum allowed retention period is {RETENTION_HOURS_MAX} hours. Requested retention period ({hours} hours) is too long."
        ));
    }
    None
}

/// Sets the stream's retention period. Raising it never brings expired records back: they
/// are gone from the shards already.
pub fn set_retention(stream: &mut StreamMeta, hours: u32, change: RetentionChange) -> Result<(), RetentionRefused> {
    if let Some(why) = out_of_range(hours) {
        return Err(RetentionRefused::Invalid(why));
    }
    if stream.status != StreamStatus::Active {
        return Err(RetentionRefused::NotActive(stream.status));
    }
    let (name, current) = (&stream.name, stream.retention_hours);
    match change {
        RetentionChange::Increase if hours < current => Err(RetentionRefused::Invalid(format!(
            "Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API."
        ))),
        RetentionChange::Decrease if hours > current => Err(RetentionRefused::Invalid(format!(
            "Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API."
        ))),
        _ => {
            stream.retention_hours = hours;
            Ok(())
        }
    }
}

impl StreamMeta {
    /// How long records are kept, with an hour of `hour_ms`.
    pub fn retention_ms(&self, hour_ms: u64) -> i64 {
        let ms = u64::from(self.retention_hours).saturating_mul(hour_ms);
        i64::try_from(ms).unwrap_or(i64::MAX)
    }

    /// Closed shards whose every record has expired at `now_ms`: they closed more than the
    /// retention period ago. A shard that is a parent of the reshard under way is open, so
    /// never among them.
    pub fn expired_shards(&self, now_ms: i64, hour_ms: u64) -> Vec<ShardId> {
        let retention_ms = self.retention_ms(hour_ms);
        self.shards
            .iter()
            .filter(|s| s.closed.is_some_and(|c| c.closed_ms.saturating_add(retention_ms) <= now_ms))
            .map(|s| s.id)
            .collect()
    }

    /// Forgets the shards expired at `now_ms`; returns how many.
    pub fn forget_expired(&mut self, now_ms: i64, hour_ms: u64) -> usize {
        let expired = self.expired_shards(now_ms, hour_ms);
        self.shards.retain(|s| !expired.contains(&s.id));
        expired.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::state::{Closed, ShardMeta};
    use crate::domain::GroupId;

    fn shard(id: u32, closed_ms: Option<i64>) -> ShardMeta {
        ShardMeta {
            id: ShardId(id),
            group: GroupId(u64::from(id) + 1),
            start_hash: 0,
            end_hash: u128::MAX,
            replicas: vec![1],
            ready: true,
            starting_counter: 1,
            parents: Vec::new(),
            opened_ms: 0,
            closed: closed_ms.map(|closed_ms| Closed { ending_counter: 5, closed_ms }),
        }
    }

    fn stream() -> StreamMeta {
        StreamMeta {
            shards: vec![shard(0, Some(1_000)), shard(1, Some(5_000)), shard(2, None)],
            next_shard: 3,
            ..StreamMeta::bare("s")
        }
    }

    #[test]
    fn retention_moves_only_in_the_direction_asked_and_within_kinesis_bounds() {
        let mut s = stream();
        assert_eq!(set_retention(&mut s, 48, RetentionChange::Increase), Ok(()));
        assert_eq!(s.retention_hours, 48);
        let shorter = set_retention(&mut s, 36, RetentionChange::Increase).unwrap_err();
        assert!(shorter.to_string().contains("can not be shorter than existing retention period (48 hours)"));
        let longer = set_retention(&mut s, 100, RetentionChange::Decrease).unwrap_err();
        assert!(longer.to_string().contains("Use IncreaseRetentionPeriod API."));
        assert_eq!(set_retention(&mut s, 24, RetentionChange::Decrease), Ok(()));
        // The same value either way is accepted, as Kinesis does.
        assert_eq!(set_retention(&mut s, 24, RetentionChange::Increase), Ok(()));
        for hours in [0, 23, RETENTION_HOURS_MAX + 1, u32::MAX] {
            assert!(matches!(
                set_retention(&mut s, hours, RetentionChange::Increase),
                Err(RetentionRefused::Invalid(_))
            ));
        }
        assert_eq!(set_retention(&mut s, RETENTION_HOURS_MAX, RetentionChange::Increase), Ok(()));
        s.status = StreamStatus::Updating;
        assert_eq!(
            set_retention(&mut s, RETENTION_HOURS_MAX, RetentionChange::Increase),
            Err(RetentionRefused::NotActive(StreamStatus::Updating))
        );
    }

    #[test]
    fn closed_shards_are_forgotten_once_retention_has_passed_since_they_closed() {
        let mut s = stream();
        // An hour of 10 ms: retention is 240 ms.
        assert!(s.expired_shards(1_239, 10).is_empty());
        assert_eq!(s.expired_shards(1_240, 10), vec![ShardId(0)]);
        assert_eq!(s.forget_expired(i64::MAX, 10), 2);
        assert_eq!(s.shards.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ShardId(2)]);
        // The longest retention with a real hour does not overflow.
        let mut s = stream();
        s.retention_hours = RETENTION_HOURS_MAX;
        assert!(s.expired_shards(i64::MAX - 1, u64::MAX).is_empty());
    }
}
