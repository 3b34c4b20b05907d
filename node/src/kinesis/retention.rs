//! IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod. The new period takes
//! effect at once in the metadata; shard leaders trim by it on their next pass
//! (cluster/retention.rs).

use super::types::*;
use super::{KinesisError, KinesisService};
use crate::control::retention::out_of_range;
use crate::control::{MetaCommand, MetaResult};

impl KinesisService {
    pub async fn set_retention_period(
        &self,
        req: RetentionPeriodInput,
        change: RetentionChange,
    ) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let hours = match req.retention_period_hours {
            None => {
                return Err(KinesisError::Validation(
                    "1 validation error detected: Value null at 'retentionPeriodHours' failed to satisfy constraint: Member must not be null".into(),
                ))
            }
            Some(h) if h < 1 => {
                return Err(KinesisError::Validation(format!(
                    "1 validation error detected: Value '{h}' at 'retentionPeriodHours' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )))
            }
            Some(h) => h as u32,
        };
        if let Some(why) = out_of_range(hours) {
            return Err(KinesisError::InvalidArgument(why));
        }
        self.stream(&name)?;
        match self.meta_write(MetaCommand::SetRetention { name: name.clone(), hours, change }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::NotActive(status) => Err(KinesisError::ResourceInUse(format!(
                "Stream {name} under account {} not ACTIVE, instead in state {}",
                self.account().id,
                status.as_kinesis()
            ))),
            MetaResult::Refused(why) => Err(KinesisError::InvalidArgument(why)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }
}
