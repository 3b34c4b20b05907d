//! DescribeLimits, DescribeAccountSettings, UpdateAccountSettings: the account-wide view of
//! the cluster (its shard limit and the streams' shards; the billing commitment setting).

use super::types::*;
use super::{KinesisError, KinesisService};
use crate::control::{AccountSettings, MetaCommand, MetaResult, StreamMode, StreamStatus};
use crate::limits::ON_DEMAND_STREAMS_MAX;

impl KinesisService {
    pub async fn describe_limits(&self) -> Result<DescribeLimitsOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let meta = self.node.meta.current();
        let live = || meta.state.streams.values().filter(|s| s.status != StreamStatus::Deleting);
        Ok(DescribeLimitsOutput {
            shard_limit: self.node.config.shard_limit,
            open_shard_count: live().map(|s| s.open_shards().count() as u32).sum(),
            on_demand_stream_count: live().filter(|s| s.mode == StreamMode::OnDemand).count() as u32,
            on_demand_stream_count_limit: ON_DEMAND_STREAMS_MAX,
        })
    }

    fn commitment(&self, settings: &AccountSettings) -> CommitmentOutput {
        let c = settings.commitment;
        CommitmentOutput {
            status: settings.status(self.now_ms()).as_kinesis(),
            started_ms: c.map(|c| c.started_ms),
            ended_ms: c.and_then(|c| c.ended_ms),
            earliest_allowed_end_ms: c.map(|c| c.earliest_end_ms),
        }
    }

    pub async fn describe_account_settings(&self) -> Result<CommitmentOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        Ok(self.commitment(&self.node.meta.current().state.account))
    }

    pub async fn update_account_settings(
        &self,
        req: UpdateAccountSettingsInput,
    ) -> Result<CommitmentOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let enable = match req.commitment_status.as_deref() {
            None => return Err(KinesisError::Validation("MinimumThroughputBillingCommitment is required".into())),
            Some("ENABLED") => true,
            Some("DISABLED") => false,
            Some(other) => {
                return Err(KinesisError::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'minimumThroughputBillingCommitment.status' \
                     failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"
                )))
            }
        };
        let command = MetaCommand::UpdateAccountSettings { enable_commitment: enable, now_ms: self.now_ms() };
        match self.meta_write(command).await? {
            MetaResult::Account(settings) => Ok(self.commitment(&settings)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }
}
