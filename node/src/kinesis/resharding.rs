//! SplitShard, MergeShards, UpdateShardCount.
//!
//! Each records the change in the metadata group and returns, as Kinesis does: the stream
//! is UPDATING until the metadata leader has sealed the parents and opened the children
//! (cluster/reshard.rs), then ACTIVE again.

use super::arn::Account;
use super::types::*;
use super::{KinesisError, KinesisService};
use crate::control::{MetaCommand, MetaResult, StreamMode};
use crate::domain::{HashKey, ShardId, StreamName};
use crate::limits::SHARDS_PER_STREAM_MAX;

/// The largest TargetShardCount the API's model allows.
const TARGET_SHARD_COUNT_MAX: i32 = 100_000;

fn shard_id(s: &str, member: &str) -> Result<ShardId, KinesisError> {
    if s.is_empty() {
        return Err(KinesisError::Validation(format!("{member} is required")));
    }
    s.parse::<ShardId>().map_err(|e| KinesisError::Validation(format!("{member}: {e}")))
}

/// The errors a reshard command can get back, as Kinesis names them.
fn reshard_result(account: Account, name: &StreamName, result: MetaResult) -> Result<MetaResult, KinesisError> {
    match result {
        MetaResult::StreamNotFound(_) => Err(account.not_found(name.as_str())),
        MetaResult::NotActive(status) => Err(KinesisError::ResourceInUse(format!(
            "Stream {name} under account {} not ACTIVE, instead in state {}",
            account.id,
            status.as_kinesis()
        ))),
        MetaResult::ShardNotFound(id) => Err(KinesisError::ResourceNotFound(format!(
            "Could not find shard {id} in stream {name} under account {}.",
            account.id
        ))),
        MetaResult::LimitExceeded(why) => Err(KinesisError::LimitExceeded(why)),
        other => Ok(other),
    }
}

impl KinesisService {
    /// Records a split or merge; the reply is `Ok` or a Kinesis error.
    async fn begin_reshard(&self, name: &StreamName, command: MetaCommand) -> Result<(), KinesisError> {
        match reshard_result(self.account(), name, self.meta_write(command).await?)? {
            MetaResult::Ok => Ok(()),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    pub async fn split_shard(&self, req: SplitShardInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let shard = shard_id(&req.shard_to_split, "ShardToSplit")?;
        if req.new_starting_hash_key.is_empty() {
            return Err(KinesisError::Validation("NewStartingHashKey is required".into()));
        }
        let at = req
            .new_starting_hash_key
            .parse::<HashKey>()
            .map_err(|e| KinesisError::Validation(format!("NewStartingHashKey: {e}")))?;
        self.stream(&name)?;
        let command = MetaCommand::SplitShard { name: name.clone(), shard, new_starting_hash: at.0 };
        self.begin_reshard(&name, self.shard_limited(command)).await
    }

    pub async fn merge_shards(&self, req: MergeShardsInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let shard = shard_id(&req.shard_to_merge, "ShardToMerge")?;
        let adjacent = shard_id(&req.adjacent_shard_to_merge, "AdjacentShardToMerge")?;
        self.stream(&name)?;
        let command = MetaCommand::MergeShards { name: name.clone(), shard, adjacent };
        self.begin_reshard(&name, command).await
    }

    pub async fn update_shard_count(&self, req: UpdateShardCountInput) -> Result<UpdateShardCountOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        if req.scaling_type != "UNIFORM_SCALING" {
            return Err(KinesisError::Validation(format!(
                "ScalingType must be UNIFORM_SCALING, got {:?}",
                req.scaling_type
            )));
        }
        if !(1..=TARGET_SHARD_COUNT_MAX).contains(&req.target_shard_count) {
            return Err(KinesisError::Validation(format!(
                "TargetShardCount must be between 1 and {TARGET_SHARD_COUNT_MAX}, got {}",
                req.target_shard_count
            )));
        }
        let target = req.target_shard_count as u32;
        if target > SHARDS_PER_STREAM_MAX {
            return Err(KinesisError::LimitExceeded(format!(
                "TargetShardCount {target} exceeds the shard limit of {SHARDS_PER_STREAM_MAX} for the account {}.",
                self.account().id
            )));
        }
        if self.stream(&name)?.mode == StreamMode::OnDemand {
            return Err(KinesisError::Validation(format!(
                "UpdateShardCount is not supported for stream {name}: it is in ON_DEMAND mode."
            )));
        }
        let command = MetaCommand::UpdateShardCount {
            name: name.clone(),
            target,
            now_ms: self.now_ms(),
            scalings_per_window_max: self.node.config.scalings_per_window_max,
        };
        match reshard_result(self.account(), &name, self.meta_write(self.shard_limited(command)).await?)? {
            MetaResult::Scaling { current } => Ok(UpdateShardCountOutput {
                stream_arn: self.stream_arn(&name),
                stream_name: name,
                current_shard_count: current,
                target_shard_count: target,
            }),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }
}
