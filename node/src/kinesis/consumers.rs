//! RegisterStreamConsumer, DeregisterStreamConsumer, DescribeStreamConsumer,
//! ListStreamConsumers: the enhanced fan-out consumers of a stream, kept in the metadata
//! (control/consumers.rs), which activates and forgets them through the metadata leader.
//!
//! A consumer is named by its ARN (`STREAM_ARN/consumer/NAME:CREATION_EPOCH_SECONDS`), or
//! by its stream's ARN and its name, or by all three when they agree. An ARN keeps naming
//! the consumer it was issued for only: once that one is forgotten, a consumer registered
//! again under the same name has another creation second, and the old ARN names nothing.
//! The consumers of a DELETING stream are reported DELETING.

use super::tokens::ConsumersToken;
use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::control::{ConsumerMeta, ConsumerRef, ConsumerRefused, ConsumerStatus, MetaCommand, MetaResult};
use crate::control::{StreamMeta, StreamStatus};
use crate::domain::StreamName;
use crate::limits::LIST_CONSUMERS_RESULTS_DEFAULT;

impl KinesisService {
    pub async fn register_stream_consumer(
        &self,
        req: RegisterStreamConsumerInput,
    ) -> Result<ConsumerDescription, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::register_stream_consumer(&req)?;
        let stream = self.stream_name(&StreamRef { name: None, arn: req.stream_arn.clone() })?;
        let name = req.consumer_name.unwrap_or_default();
        let tags = self.new_tags(&stream, &req.tags, None)?;
        self.stream(&stream)?;
        let now_ms = self.now_ms();
        let command = MetaCommand::RegisterConsumer { stream: stream.clone(), name: name.clone(), now_ms, tags };
        self.consumer_result(&stream, &name, self.meta_write(command).await?)?;
        Ok(self.description(&stream, &name, now_ms, ConsumerStatus::Creating))
    }

    pub async fn deregister_stream_consumer(&self, req: StreamConsumerInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::stream_consumer(&req)?;
        let (stream, consumer) = self.named_consumer(&req)?;
        let name = consumer.name.clone();
        let consumer =
            ConsumerRef { stream: stream.name.clone(), name: consumer.name, created_ms: consumer.created_ms };
        let command = MetaCommand::DeregisterConsumer { consumer, now_ms: self.now_ms() };
        self.consumer_result(&stream.name, &name, self.meta_write(command).await?)
    }

    pub async fn describe_stream_consumer(
        &self,
        req: StreamConsumerInput,
    ) -> Result<ConsumerDescription, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::stream_consumer(&req)?;
        let (stream, consumer) = self.named_consumer(&req)?;
        Ok(self.describe_consumer(&stream, &consumer))
    }

    pub async fn list_stream_consumers(
        &self,
        req: ListStreamConsumersInput,
    ) -> Result<ListStreamConsumersOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::list_stream_consumers(&req)?;
        let name = self.stream_name(&StreamRef { name: None, arn: req.stream_arn.clone() })?;
        // At most 100 per page, whatever MaxResults asks (as Kinesis documents).
        let page_max = LIST_CONSUMERS_RESULTS_DEFAULT;
        let (stream, after, page_size) = match req.next_token.as_deref() {
            Some(token) => {
                if req.stream_creation_timestamp_ms.is_some() {
                    return Err(KinesisError::InvalidArgument(
                        "NextToken and StreamCreationTimestamp cannot be provided together.".into(),
                    ));
                }
                let token: ConsumersToken = self.check_next_token(token)?;
                if token.stream != name {
                    return Err(KinesisError::InvalidArgument(format!(
                        "NextToken was issued for the consumers of another stream than {name}."
                    )));
                }
                let stream = self.stream(&name)?;
                if stream.incarnation != token.incarnation {
                    return Err(KinesisError::ExpiredNextToken("the stream of this NextToken was deleted".into()));
                }
                (stream, Some(token.after), validate::page_size(req.max_results, token.page_size, page_max))
            }
            None => {
                let stream = self.stream(&name)?;
                // The creation time tells apart streams that had the same name.
                if req.stream_creation_timestamp_ms.is_some_and(|t| t != stream.created_ms) {
                    return Err(self.not_found(&name));
                }
                (stream, None, validate::page_size(req.max_results, LIST_CONSUMERS_RESULTS_DEFAULT, page_max))
            }
        };
        // In name order, so that pages never repeat or skip a consumer that stays.
        let mut remaining: Vec<&ConsumerMeta> =
            stream.consumers.iter().filter(|c| after.as_deref().is_none_or(|a| c.name.as_str() > a)).collect();
        remaining.sort_by(|a, b| a.name.cmp(&b.name));
        let page: Vec<&ConsumerMeta> = remaining.iter().take(page_size as usize).copied().collect();
        let next_token = match page.last() {
            Some(last) if remaining.len() > page.len() => Some(self.seal(&ConsumersToken {
                stream: name,
                incarnation: stream.incarnation,
                after: last.name.clone(),
                page_size,
                issued_ms: self.now_ms(),
            })?),
            _ => None,
        };
        Ok(ListStreamConsumersOutput {
            consumers: page.into_iter().map(|c| self.describe_consumer(&stream, c)).collect(),
            next_token,
        })
    }

    fn describe_consumer(&self, stream: &StreamMeta, consumer: &ConsumerMeta) -> ConsumerDescription {
        let status = if stream.status == StreamStatus::Deleting { ConsumerStatus::Deleting } else { consumer.status };
        self.description(&stream.name, &consumer.name, consumer.created_ms, status)
    }

    fn description(
        &self,
        stream: &StreamName,
        name: &str,
        created_ms: i64,
        status: ConsumerStatus,
    ) -> ConsumerDescription {
        ConsumerDescription {
            consumer_name: name.to_string(),
            // The ARN carries whole seconds (`ConsumerMeta::created_epoch_s`).
            consumer_arn: self.account().consumer_arn(stream, name, created_ms.div_euclid(1000)),
            status,
            created_ms,
            stream_arn: self.stream_arn(stream),
        }
    }

    /// The consumer DescribeStreamConsumer or DeregisterStreamConsumer names: by ConsumerARN,
    /// by StreamARN and ConsumerName, or by all three when they agree.
    fn named_consumer(&self, req: &StreamConsumerInput) -> Result<(StreamMeta, ConsumerMeta), KinesisError> {
        let by_stream = match &req.stream_arn {
            Some(arn) => Some(self.stream_name(&StreamRef { name: None, arn: Some(arn.clone()) })?),
            None => None,
        };
        match (&req.consumer_arn, by_stream, &req.consumer_name) {
            (Some(arn), by_stream, by_name) => {
                let (stream, consumer) = self.consumer(arn, "consumerARN")?;
                let other_stream = by_stream.is_some_and(|s| s != stream.name);
                let other_name = by_name.as_ref().is_some_and(|n| *n != consumer.name);
                if other_stream || other_name {
                    return Err(KinesisError::InvalidArgument(format!(
                        "ConsumerARN {arn} names another consumer than StreamARN and ConsumerName do."
                    )));
                }
                Ok((stream, consumer))
            }
            (None, Some(stream), Some(name)) => {
                let stream = self.stream(&stream)?;
                match stream.consumer(name).cloned() {
                    Some(consumer) => Ok((stream, consumer)),
                    None => Err(self.consumer_not_found(&stream.name, name)),
                }
            }
            _ => Err(KinesisError::InvalidArgument(
                "Either ConsumerARN, or both StreamARN and ConsumerName, must be provided.".into(),
            )),
        }
    }

    fn consumer_not_found(&self, stream: &StreamName, name: &str) -> KinesisError {
        KinesisError::ResourceNotFound(format!("Consumer {name} under stream {} not found.", self.stream_arn(stream)))
    }

    fn consumer_result(&self, stream: &StreamName, name: &str, result: MetaResult) -> Result<(), KinesisError> {
        match result {
            MetaResult::Ok => Ok(()),
            MetaResult::Consumer(ConsumerRefused::StreamNotFound) => Err(self.not_found(stream)),
            MetaResult::Consumer(ConsumerRefused::ConsumerNotFound) => Err(self.consumer_not_found(stream, name)),
            MetaResult::Consumer(ConsumerRefused::InUse(why)) => Err(KinesisError::ResourceInUse(why)),
            MetaResult::Consumer(ConsumerRefused::Limit(why)) | MetaResult::LimitExceeded(why) => {
                Err(KinesisError::LimitExceeded(why))
            }
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }
}
