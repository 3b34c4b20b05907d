//! EnableEnhancedMonitoring and DisableEnhancedMonitoring: which shard-level metrics a
//! stream publishes (recorded now; the metrics themselves come later). The stream must be
//! ACTIVE.

use super::types::*;
use super::{KinesisError, KinesisService};
use crate::control::{MetaCommand, MetaResult, ShardMetric, StreamStatus};

/// ShardLevelMetrics holds 1 to 7 names (the API model).
const METRICS_PER_CALL_MAX: usize = 7;

fn metrics(names: &[String]) -> Result<Vec<ShardMetric>, KinesisError> {
    if names.is_empty() || names.len() > METRICS_PER_CALL_MAX {
        return Err(KinesisError::Validation(format!(
            "ShardLevelMetrics must have 1 to {METRICS_PER_CALL_MAX} members, got {}",
            names.len()
        )));
    }
    let mut out = Vec::new();
    for name in names {
        let parsed = ShardMetric::parse(name).ok_or_else(|| {
            let valid: Vec<&str> = ShardMetric::ALL.iter().map(|m| m.as_kinesis()).chain(["ALL"]).collect();
            KinesisError::Validation(format!(
                "1 validation error detected: Value '[{name}]' at 'shardLevelMetrics' failed to satisfy constraint: \
                 Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                valid.join(", ")
            ))
        })?;
        out.extend(parsed);
    }
    Ok(out)
}

impl KinesisService {
    async fn set_monitoring(
        &self,
        req: EnhancedMonitoringInput,
        enable: bool,
    ) -> Result<EnhancedMonitoringOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let metrics = metrics(&req.shard_level_metrics)?;
        let stream = self.stream(&name)?;
        if stream.status != StreamStatus::Active {
            return Err(self.account().not_active(&name, stream.status));
        }
        match self.meta_write(MetaCommand::SetMonitoring { name: name.clone(), metrics, enable }).await? {
            MetaResult::Monitoring { current, desired } => Ok(EnhancedMonitoringOutput {
                stream_arn: self.stream_arn(&name),
                stream_name: name,
                current_shard_level_metrics: current,
                desired_shard_level_metrics: desired,
            }),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::NotActive(status) => Err(self.account().not_active(&name, status)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    pub async fn enable_enhanced_monitoring(
        &self,
        req: EnhancedMonitoringInput,
    ) -> Result<EnhancedMonitoringOutput, KinesisError> {
        self.set_monitoring(req, true).await
    }

    pub async fn disable_enhanced_monitoring(
        &self,
        req: EnhancedMonitoringInput,
    ) -> Result<EnhancedMonitoringOutput, KinesisError> {
        self.set_monitoring(req, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lists_are_one_to_seven_known_names() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(metrics(&names(&["ALL"])).unwrap().len(), 7);
        assert_eq!(metrics(&names(&["IncomingBytes"])).unwrap(), vec![ShardMetric::IncomingBytes]);
        assert!(matches!(metrics(&[]), Err(KinesisError::Validation(_))));
        assert!(matches!(metrics(&names(&["ALL"; 8])), Err(KinesisError::Validation(_))));
        assert!(matches!(metrics(&names(&["Bytes"])), Err(KinesisError::Validation(_))));
    }
}
