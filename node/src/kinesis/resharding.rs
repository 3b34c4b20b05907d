//! SplitShard, MergeShards, UpdateShardCount.
//!
//! Each records the change in the metadata group and returns, as Kinesis does: the stream
//! is UPDATING until the metadata leader has sealed the parents and opened the children
//! (cluster/reshard.rs), then ACTIVE again.

use super::arn::Account;
use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::control::{MetaCommand, MetaResult, StreamMode};
use crate::domain::{ShardId, StreamName};
use crate::limits::SHARDS_PER_STREAM_MAX;

/// The shard a ShardId member names, read as Kinesis does (the number after the last `-`).
fn shard_id(account: &str, name: &StreamName, member: &str) -> Result<ShardId, KinesisError> {
    ShardId::resolve(member).ok_or_else(|| {
        KinesisError::ResourceNotFound(format!(
            "Could not find shard {member} in stream {name} under account {account}."
        ))
    })
}

/// The errors a reshard command can get back, as Kinesis names them.
fn reshard_result(account: Account, name: &StreamName, result: MetaResult) -> Result<MetaResult, KinesisError> {
    match result {
        MetaResult::StreamNotFound(_) => Err(account.not_found(name.as_str())),
        MetaResult::NotActive(status) => Err(account.not_active(name, status)),
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
        validate::split_shard(&req)?;
        let name = self.stream_name(&req.stream)?;
        let shard = shard_id(self.account().id, &name, &req.shard_to_split)?;
        let at = validate::hash_key_value("NewStartingHashKey", &req.new_starting_hash_key)?;
        self.stream(&name)?;
        let command = MetaCommand::SplitShard { name: name.clone(), shard, new_starting_hash: at.0 };
        self.begin_reshard(&name, self.shard_limited(command)).await
    }

    pub async fn merge_shards(&self, req: MergeShardsInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::merge_shards(&req)?;
        let name = self.stream_name(&req.stream)?;
        let shard = shard_id(self.account().id, &name, &req.shard_to_merge)?;
        let adjacent = shard_id(self.account().id, &name, &req.adjacent_shard_to_merge)?;
        self.stream(&name)?;
        let command = MetaCommand::MergeShards { name: name.clone(), shard, adjacent };
        self.begin_reshard(&name, command).await
    }

    pub async fn update_shard_count(&self, req: UpdateShardCountInput) -> Result<UpdateShardCountOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::update_shard_count(&req)?;
        let name = self.stream_name(&req.stream)?;
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
