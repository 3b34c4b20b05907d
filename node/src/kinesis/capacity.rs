//! UpdateStreamMode, UpdateMaxRecordSize and UpdateStreamWarmThroughput.

use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::control::{MetaCommand, MetaResult, StreamMeta, StreamMode};
use crate::domain::StreamName;

impl KinesisService {
    pub async fn update_stream_mode(&self, req: UpdateStreamModeInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::update_stream_mode(&req)?;
        let name = self.stream_name(&StreamRef { name: None, arn: req.stream_arn.clone() })?;
        let mode = match req.stream_mode.as_deref() {
            Some("ON_DEMAND") => StreamMode::OnDemand,
            _ => StreamMode::Provisioned,
        };
        let warm_mibps = req.warm_throughput_mibps.map(|w| w as u32);
        if warm_mibps.is_some() && mode == StreamMode::Provisioned {
            return Err(KinesisError::InvalidArgument("WarmThroughputMiBps applies to ON_DEMAND streams only.".into()));
        }
        let command = MetaCommand::SetStreamMode { name: name.clone(), mode, warm_mibps, now_ms: self.now_ms() };
        self.capacity_result(&name, self.meta_write(command).await?)
    }

    pub async fn update_max_record_size(&self, req: UpdateMaxRecordSizeInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::update_max_record_size(&req)?;
        let name = self.stream_name(&StreamRef { name: None, arn: req.stream_arn.clone() })?;
        let kib = req.max_record_size_kib.unwrap_or_default() as u32;
        let command = MetaCommand::SetMaxRecordSize { name: name.clone(), kib };
        self.capacity_result(&name, self.meta_write(command).await?)
    }

    pub async fn update_stream_warm_throughput(
        &self,
        req: UpdateStreamWarmThroughputInput,
    ) -> Result<UpdateStreamWarmThroughputOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::update_stream_warm_throughput(&req)?;
        let name = self.stream_name(&req.stream)?;
        let mibps = req.warm_throughput_mibps.unwrap_or_default() as u32;
        let command = MetaCommand::SetWarmThroughput { name: name.clone(), mibps, now_ms: self.now_ms() };
        self.capacity_result(&name, self.meta_write(command).await?)?;
        let stream = self.stream(&name)?;
        Ok(UpdateStreamWarmThroughputOutput {
            stream_arn: self.stream_arn(&name),
            stream_name: name,
            warm_throughput: WarmThroughput { target_mibps: mibps, current_mibps: stream.write_capacity_mibps() },
        })
    }

    fn capacity_result(&self, name: &StreamName, result: MetaResult) -> Result<(), KinesisError> {
        match result {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(name)),
            MetaResult::NotActive(status) => Err(KinesisError::ResourceInUse(format!(
                "Stream {name} under account {} not ACTIVE, instead in state {}",
                self.account().id,
                status.as_kinesis()
            ))),
            MetaResult::LimitExceeded(why) => Err(KinesisError::LimitExceeded(why)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    /// A record's size (data and partition key) against the stream's largest; Kinesis
    /// answers InvalidArgumentException.
    pub(super) fn check_record_size(
        &self,
        stream: &StreamMeta,
        partition_key: &str,
        data: &[u8],
    ) -> Result<(), KinesisError> {
        let size = partition_key.len() + data.len();
        if size > stream.max_record_bytes() {
            return Err(KinesisError::InvalidArgument(format!(
                "Record size {size} bytes (data and partition key) exceeds the maximum record size of {} KiB of stream {} under account {}.",
                stream.max_record_size_kib,
                stream.name,
                self.account().id
            )));
        }
        Ok(())
    }
}
