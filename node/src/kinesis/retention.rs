//! IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod. The new period takes
//! effect at once in the metadata; shard leaders trim by it on their next pass
//! (cluster/retention.rs).

use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::control::retention::out_of_range;
use crate::control::{MetaCommand, MetaResult};

impl KinesisService {
    pub async fn set_retention_period(
        &self,
        req: RetentionPeriodInput,
        change: RetentionChange,
    ) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::retention_period(&req)?;
        let name = self.stream_name(&req.stream)?;
        // At least 1 by the member check.
        let hours = req.retention_period_hours.map_or(0, |h| h.unsigned_abs());
        if let Some(why) = out_of_range(hours) {
            return Err(KinesisError::InvalidArgument(why));
        }
        self.stream(&name)?;
        match self.meta_write(MetaCommand::SetRetention { name: name.clone(), hours, change }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::NotActive(status) => Err(self.account().not_active(&name, status)),
            MetaResult::Refused(why) => Err(KinesisError::InvalidArgument(why)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }
}
