//! A stream's capacity settings: its mode (UpdateStreamMode), its largest record
//! (UpdateMaxRecordSize) and its warm throughput (UpdateStreamWarmThroughput).

use super::attributes::CommitmentStatus;
use super::command::MetaResult;
use super::state::{MetaState, StreamMeta, StreamMode, StreamStatus};
use crate::domain::StreamName;
use crate::limits::*;

impl StreamMeta {
    /// The largest record the stream takes (data and partition key), in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_size_kib as usize * 1024
    }

    /// Its write capacity: 1 MiB/s per open shard.
    pub fn write_capacity_mibps(&self) -> u32 {
        self.open_shards().count() as u32
    }
}

impl MetaState {
    fn active_stream(&mut self, name: &StreamName) -> Result<&mut StreamMeta, MetaResult> {
        let stream = self.streams.get_mut(name).ok_or_else(|| MetaResult::StreamNotFound(name.clone()))?;
        if stream.status != StreamStatus::Active {
            return Err(MetaResult::NotActive(stream.status));
        }
        Ok(stream)
    }

    /// UpdateStreamMode: at most `STREAM_MODE_CHANGES_PER_WINDOW` changes per rolling 24 h,
    /// and at most `ON_DEMAND_STREAMS_MAX` on-demand streams. Setting the mode a stream
    /// already has changes nothing and counts for nothing.
    pub(super) fn set_stream_mode(
        &mut self,
        name: &StreamName,
        mode: StreamMode,
        warm_mibps: Option<u32>,
        now_ms: i64,
    ) -> MetaResult {
        let on_demand = self.streams.values().filter(|s| s.mode == StreamMode::OnDemand).count();
        let stream = match self.active_stream(name) {
            Ok(s) => s,
            Err(refused) => return refused,
        };
        if stream.mode == mode {
            if mode == StreamMode::OnDemand && warm_mibps.is_some() {
                stream.warm_throughput_mibps = warm_mibps;
            }
            return MetaResult::Ok;
        }
        stream.mode_changes_ms.retain(|t| now_ms.saturating_sub(*t) < SCALING_WINDOW_MS);
        if stream.mode_changes_ms.len() >= STREAM_MODE_CHANGES_PER_WINDOW {
            return MetaResult::LimitExceeded(format!(
                "The capacity mode of stream {name} may change at most {STREAM_MODE_CHANGES_PER_WINDOW} times per rolling 24 hours."
            ));
        }
        if mode == StreamMode::OnDemand && on_demand >= ON_DEMAND_STREAMS_MAX as usize {
            return MetaResult::LimitExceeded(format!(
                "This request would exceed the limit of {ON_DEMAND_STREAMS_MAX} on-demand streams."
            ));
        }
        stream.mode_changes_ms.push(now_ms);
        stream.mode = mode;
        stream.warm_throughput_mibps = if mode == StreamMode::OnDemand { warm_mibps } else { None };
        MetaResult::Ok
    }

    /// UpdateMaxRecordSize.
    pub(super) fn set_max_record_size(&mut self, name: &StreamName, kib: u32) -> MetaResult {
        if !(MAX_RECORD_SIZE_KIB_MIN..=MAX_RECORD_SIZE_KIB_MAX).contains(&i64::from(kib)) {
            return MetaResult::Refused(format!(
                "MaxRecordSizeInKiB must be {MAX_RECORD_SIZE_KIB_MIN} to {MAX_RECORD_SIZE_KIB_MAX}, not {kib}"
            ));
        }
        match self.active_stream(name) {
            Ok(stream) => {
                stream.max_record_size_kib = kib;
                MetaResult::Ok
            }
            Err(refused) => refused,
        }
    }

    /// UpdateStreamWarmThroughput: on-demand streams only, in an account with a minimum
    /// throughput billing commitment (as Kinesis).
    pub(super) fn set_warm_throughput(&mut self, name: &StreamName, mibps: u32, now_ms: i64) -> MetaResult {
        if i64::from(mibps) > WARM_THROUGHPUT_MIBPS_MAX {
            return MetaResult::Refused(format!("WarmThroughputMiBps is at most {WARM_THROUGHPUT_MIBPS_MAX}"));
        }
        let committed = self.account.status(now_ms) != CommitmentStatus::Disabled;
        let stream = match self.active_stream(name) {
            Ok(s) => s,
            Err(refused) => return refused,
        };
        if stream.mode != StreamMode::OnDemand {
            return MetaResult::Refused(format!(
                "Stream {name} is in PROVISIONED mode: warm throughput applies to ON_DEMAND streams only."
            ));
        }
        if !committed {
            return MetaResult::Refused(
                "Warm throughput needs the account's MinimumThroughputBillingCommitment enabled (UpdateAccountSettings)."
                    .into(),
            );
        }
        stream.warm_throughput_mibps = Some(mibps);
        MetaResult::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::MetaCommand;
    use crate::domain::GroupId;

    fn active(mode: StreamMode) -> (MetaState, StreamName) {
        let mut state =
            MetaState { nodes: (1..=3).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() };
        let name = StreamName::parse("s").unwrap();
        let create = MetaCommand::CreateStream {
            name: name.clone(),
            shard_count: 2,
            mode,
            created_ms: 0,
            replication_factor: 3,
            retention_hours: 24,
            max_record_size_kib: MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
        };
        assert_eq!(state.apply(&create), MetaResult::Ok);
        for g in 1..=2 {
            state.apply(&MetaCommand::ShardReady { group: GroupId(g) });
        }
        (state, name)
    }

    #[test]
    fn the_mode_changes_twice_a_day_at_most() {
        let (mut state, name) = active(StreamMode::Provisioned);
        let set = |state: &mut MetaState, mode, now_ms| state.set_stream_mode(&name, mode, None, now_ms);
        assert_eq!(set(&mut state, StreamMode::OnDemand, 1_000), MetaResult::Ok);
        assert_eq!(set(&mut state, StreamMode::OnDemand, 1_001), MetaResult::Ok, "the same mode: no change");
        assert_eq!(set(&mut state, StreamMode::Provisioned, 2_000), MetaResult::Ok);
        assert!(matches!(set(&mut state, StreamMode::OnDemand, 3_000), MetaResult::LimitExceeded(_)));
        assert_eq!(state.streams[&name].mode, StreamMode::Provisioned);
        assert_eq!(set(&mut state, StreamMode::OnDemand, 1_000 + SCALING_WINDOW_MS), MetaResult::Ok, "a day later");
    }

    #[test]
    fn a_split_in_the_middle_halves_the_range() {
        let (state, name) = active(StreamMode::OnDemand);
        let shard = &state.streams[&name].shards[0];
        let middle = shard.middle().unwrap();
        assert_eq!(middle - shard.start_hash, shard.end_hash + 1 - middle);
        let mut one_key = shard.clone();
        one_key.end_hash = one_key.start_hash + 1;
        assert_eq!(one_key.middle(), Some(one_key.end_hash), "two keys split one and one");
        one_key.end_hash = one_key.start_hash;
        assert_eq!(one_key.middle(), None);
    }

    #[test]
    fn max_record_size_stays_in_range_and_needs_an_active_stream() {
        let (mut state, name) = active(StreamMode::Provisioned);
        assert_eq!(state.set_max_record_size(&name, 10_240), MetaResult::Ok);
        assert_eq!(state.streams[&name].max_record_bytes(), 10 * 1024 * 1024);
        assert!(matches!(state.set_max_record_size(&name, 10_241), MetaResult::Refused(_)));
        assert!(matches!(state.set_max_record_size(&name, 1_023), MetaResult::Refused(_)));
        state.streams.get_mut(&name).unwrap().status = StreamStatus::Updating;
        assert_eq!(state.set_max_record_size(&name, 2_048), MetaResult::NotActive(StreamStatus::Updating));
        assert_eq!(state.streams[&name].max_record_size_kib, 10_240);
    }

    #[test]
    fn warm_throughput_needs_on_demand_and_a_commitment() {
        let (mut state, name) = active(StreamMode::Provisioned);
        assert!(matches!(state.set_warm_throughput(&name, 8, 5), MetaResult::Refused(_)), "provisioned");
        assert_eq!(state.set_stream_mode(&name, StreamMode::OnDemand, None, 5), MetaResult::Ok);
        assert!(matches!(state.set_warm_throughput(&name, 8, 5), MetaResult::Refused(_)), "no commitment");
        state.apply(&MetaCommand::UpdateAccountSettings { enable_commitment: true, now_ms: 5 });
        assert_eq!(state.set_warm_throughput(&name, 8, 6), MetaResult::Ok);
        assert_eq!(state.streams[&name].warm_throughput_mibps, Some(8));
        assert_eq!(state.set_stream_mode(&name, StreamMode::Provisioned, None, 7), MetaResult::Ok);
        assert_eq!(state.streams[&name].warm_throughput_mibps, None, "provisioned streams have none");
    }
}
