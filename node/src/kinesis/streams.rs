//! CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary, ListStreams.

use super::tokens::{age_ms, Issued, NextToken, TokenKind};
use super::types::*;
use super::{describe_shard, validate, KinesisError, KinesisService};
use crate::control::{ConsumerRefused, MetaCommand, MetaResult, StreamMeta, StreamMode};
use crate::domain::{ShardId, StreamName};
use crate::limits::*;
use serde::de::DeserializeOwned;

impl KinesisService {
    pub async fn create_stream(&self, req: CreateStreamInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::create_stream(&req)?;
        let name = self.stream_name(&StreamRef { name: Some(req.stream_name.clone()), arn: None })?;
        let mode = match req.stream_mode.as_deref() {
            Some("ON_DEMAND") => StreamMode::OnDemand,
            // The members were checked: absent or PROVISIONED.
            _ => StreamMode::Provisioned,
        };
        let shard_count = match (mode, req.shard_count) {
            // On-demand streams start with 4 shards, as in Kinesis.
            (StreamMode::OnDemand, None) => ON_DEMAND_SHARDS_INITIAL,
            (StreamMode::Provisioned, None) => {
                return Err(KinesisError::InvalidArgument("ShardCount is required for a PROVISIONED stream".into()))
            }
            (_, Some(n)) if n as u32 > SHARDS_PER_STREAM_MAX => {
                return Err(KinesisError::LimitExceeded(format!(
                    "This request would exceed the shard limit of {SHARDS_PER_STREAM_MAX} for the account {}.",
                    self.account().id
                )))
            }
            (_, Some(n)) => n as u32,
        };
        if req.warm_throughput_mibps.is_some() && mode == StreamMode::Provisioned {
            return Err(KinesisError::InvalidArgument("WarmThroughputMiBps applies to ON_DEMAND streams only.".into()));
        }
        let tags = self.new_tags(&name, &req.tags, None)?;
        let command = MetaCommand::CreateStream {
            name: name.clone(),
            shard_count,
            mode,
            created_ms: self.now_ms(),
            replication_factor: self.node.config.replication_factor,
            retention_hours: RETENTION_HOURS_DEFAULT,
            max_record_size_kib: req.max_record_size_kib.map_or(MAX_RECORD_SIZE_KIB_DEFAULT, |k| k as u32),
            warm_mibps: req.warm_throughput_mibps.map(|w| w as u32),
        };
        match self.meta_write(self.shard_limited_with(tags, command)).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::LimitExceeded(why) => Err(KinesisError::LimitExceeded(why)),
            MetaResult::StreamInUse(_) => Err(KinesisError::ResourceInUse(format!(
                "Stream {name} under account {} already exists.",
                self.account().id
            ))),
            MetaResult::TooManyStreams => {
                Err(KinesisError::LimitExceeded(format!("A cluster holds at most {STREAMS_MAX} streams.")))
            }
            MetaResult::StreamNotFound(_) | MetaResult::Refused(_) => Err(self.not_found(&name)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    pub async fn delete_stream(&self, req: DeleteStreamInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::stream_only(&req.stream)?;
        let name = self.stream_name(&req.stream)?;
        // Without EnforceConsumerDeletion, registered consumers keep the stream (checked
        // again when the metadata applies it, so a racing registration cannot slip by).
        let command = if req.enforce_consumer_deletion {
            MetaCommand::DeleteStream { name: name.clone() }
        } else {
            MetaCommand::DeleteStreamWithoutConsumers { name: name.clone() }
        };
        match self.meta_write(command).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::Consumer(ConsumerRefused::InUse(why)) => Err(KinesisError::ResourceInUse(format!(
                "{why} Deregister them, or delete the stream with EnforceConsumerDeletion set to true."
            ))),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    pub async fn describe_stream(&self, req: DescribeStreamInput) -> Result<StreamDescription, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::describe_stream(&req)?;
        let name = self.stream_name(&req.stream)?;
        let limit = validate::page_size(req.limit, DESCRIBE_STREAM_LIMIT_MAX, DESCRIBE_STREAM_LIMIT_MAX);
        let stream = self.stream(&name)?;
        let after = self.exclusive_start_shard(&name, req.exclusive_start_shard_id.as_deref())?;
        let remaining: Vec<_> = stream.shards.iter().filter(|s| after.is_none_or(|a| s.id > a)).collect();
        let shards: Vec<_> = remaining.iter().take(limit as usize).map(|s| describe_shard(s)).collect();
        Ok(StreamDescription {
            stream_arn: self.stream_arn(&name),
            stream_name: name,
            status: stream.status,
            mode: stream.mode,
            has_more_shards: remaining.len() > shards.len(),
            shards,
            retention_period_hours: stream.retention_hours,
            created_ms: stream.created_ms,
            shard_level_metrics: stream.shard_level_metrics.iter().copied().collect(),
            encryption_key_id: stream.encryption,
        })
    }

    pub async fn describe_stream_summary(&self, stream: StreamRef) -> Result<StreamSummary, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::stream_only(&stream)?;
        let name = self.stream_name(&stream)?;
        Ok(self.summary(&self.stream(&name)?))
    }

    pub async fn list_streams(&self, req: ListStreamsInput) -> Result<ListStreamsOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::list_streams(&req)?;
        let (after, limit) = match req.next_token.as_deref() {
            None => {
                let limit = validate::page_size(req.limit, LIST_STREAMS_LIMIT_DEFAULT, LIST_STREAMS_LIMIT_MAX);
                (req.exclusive_start_stream_name, limit)
            }
            Some(token) => {
                let token: NextToken = self.check_next_token(token)?;
                if token.stream.is_some() {
                    return Err(KinesisError::InvalidArgument("NextToken is not a ListStreams token".into()));
                }
                let limit = validate::page_size(req.limit, token.page_size, LIST_STREAMS_LIMIT_MAX);
                (Some(token.after), limit)
            }
        };
        let meta = self.node.meta.current();
        let remaining: Vec<&StreamMeta> =
            meta.state.streams.values().filter(|s| after.as_deref().is_none_or(|a| s.name.as_str() > a)).collect();
        let page: Vec<&StreamMeta> = remaining.iter().take(limit as usize).copied().collect();
        let has_more = remaining.len() > page.len();
        let next_token = match page.last() {
            Some(last) if has_more => Some(self.seal(&NextToken {
                stream: None,
                incarnation: 0,
                after: last.name.to_string(),
                page_size: limit,
                issued_ms: self.now_ms(),
                shards: Default::default(),
            })?),
            _ => None,
        };
        Ok(ListStreamsOutput {
            streams: page.iter().map(|s| self.summary(s)).collect(),
            has_more_streams: has_more,
            next_token,
        })
    }

    /// The shard an ExclusiveStartShardId member names (absent: none). Kinesis reads the
    /// number after its last `-`; a member it cannot read a number from names no shard.
    pub(super) fn exclusive_start_shard(
        &self,
        stream: &StreamName,
        member: Option<&str>,
    ) -> Result<Option<ShardId>, KinesisError> {
        let Some(member) = member else { return Ok(None) };
        let account = self.account().id;
        ShardId::resolve(member).map(Some).ok_or_else(|| {
            KinesisError::ResourceNotFound(format!(
                "Could not find shard {member} in stream {stream} under account {account}."
            ))
        })
    }

    pub(super) fn check_next_token<T: DeserializeOwned + TokenKind + Issued>(
        &self,
        token: &str,
    ) -> Result<T, KinesisError> {
        let parsed: T =
            self.open(token).ok_or_else(|| KinesisError::InvalidArgument("NextToken is not valid".into()))?;
        if age_ms(self.now_ms(), parsed.issued_ms()) > NEXT_TOKEN_TTL_MS {
            return Err(KinesisError::ExpiredNextToken(format!("NextToken expired after {NEXT_TOKEN_TTL_MS} ms")));
        }
        Ok(parsed)
    }

    fn summary(&self, stream: &StreamMeta) -> StreamSummary {
        StreamSummary {
            stream_name: stream.name.clone(),
            stream_arn: self.stream_arn(&stream.name),
            status: stream.status,
            mode: stream.mode,
            retention_period_hours: stream.retention_hours,
            created_ms: stream.created_ms,
            open_shard_count: stream.open_shards().count() as u32,
            consumer_count: stream.registered_consumers() as u32,
            shard_level_metrics: stream.shard_level_metrics.iter().copied().collect(),
            max_record_size_kib: stream.max_record_size_kib,
            warm_throughput: stream
                .warm_throughput_mibps
                .map(|target_mibps| WarmThroughput { target_mibps, current_mibps: stream.write_capacity_mibps() }),
            encryption_key_id: stream.encryption.clone(),
        }
    }
}
