//! Enhanced fan-out consumers: RegisterStreamConsumer, DeregisterStreamConsumer,
//! DescribeStreamConsumer, ListStreamConsumers, and waiting for a consumer to be ACTIVE.
//! Consumers are named by stream ARN (see `stream_arn`), as Kinesis names them.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use runnel_proto::v1::{
    Consumer, ConsumerDescription, DeregisterStreamConsumerRequest, DescribeStreamConsumerRequest,
    ListStreamConsumersRequest, RegisterStreamConsumerRequest,
};

use super::call::{too_many_pages, Route};
use super::streams::{poll_until, Poll, MAX_PAGES};
use super::{kinesis_stub, Client};
use crate::error::{ClientError, ErrorCode};

/// Which consumer a call names: its ARN, or its stream's ARN and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerKey {
    Arn(String),
    Named { stream_arn: String, consumer_name: String },
}

impl ConsumerKey {
    pub fn named(stream_arn: &str, consumer_name: &str) -> ConsumerKey {
        ConsumerKey::Named { stream_arn: stream_arn.to_string(), consumer_name: consumer_name.to_string() }
    }

    /// The request members (stream ARN, consumer name, consumer ARN); empty when absent.
    fn members(&self) -> (String, String, String) {
        match self {
            ConsumerKey::Arn(arn) => (String::new(), String::new(), arn.clone()),
            ConsumerKey::Named { stream_arn, consumer_name } => {
                (stream_arn.clone(), consumer_name.clone(), String::new())
            }
        }
    }
}

impl fmt::Display for ConsumerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumerKey::Arn(arn) => f.write_str(arn),
            ConsumerKey::Named { stream_arn, consumer_name } => write!(f, "{consumer_name} of {stream_arn}"),
        }
    }
}

impl Client {
    /// The ARN of a stream, from DescribeStreamSummary: consumers are named under it.
    pub async fn stream_arn(&self, stream: &str) -> Result<String, ClientError> {
        Ok(self.describe_stream_summary(stream).await?.stream_arn)
    }

    /// RegisterStreamConsumer: the consumer starts CREATING; see `wait_for_consumer_active`.
    ///
    /// A registration whose answer was lost to a transport error is retried, and can then
    /// report ResourceInUseException although this client registered the consumer.
    pub async fn register_stream_consumer(
        &self,
        stream_arn: &str,
        consumer_name: &str,
        tags: HashMap<String, String>,
    ) -> Result<Consumer, ClientError> {
        let request = RegisterStreamConsumerRequest {
            stream_arn: stream_arn.to_string(),
            consumer_name: consumer_name.to_string(),
            tags,
        };
        let reply = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).register_stream_consumer(request).await }
            })
            .await?;
        reply.consumer.ok_or_else(|| ClientError::MalformedResponse("RegisterStreamConsumer without a consumer".into()))
    }

    /// DeregisterStreamConsumer: the consumer is DELETING, then gone.
    pub async fn deregister_stream_consumer(&self, consumer: &ConsumerKey) -> Result<(), ClientError> {
        let (stream_arn, consumer_name, consumer_arn) = consumer.members();
        let request = DeregisterStreamConsumerRequest { stream_arn, consumer_name, consumer_arn };
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).deregister_stream_consumer(request).await }
        })
        .await?;
        Ok(())
    }

    /// DescribeStreamConsumer.
    pub async fn describe_stream_consumer(&self, consumer: &ConsumerKey) -> Result<ConsumerDescription, ClientError> {
        let (stream_arn, consumer_name, consumer_arn) = consumer.members();
        let request = DescribeStreamConsumerRequest { stream_arn, consumer_name, consumer_arn };
        let reply = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).describe_stream_consumer(request).await }
            })
            .await?;
        reply
            .consumer_description
            .ok_or_else(|| ClientError::MalformedResponse("DescribeStreamConsumer without a description".into()))
    }

    /// ListStreamConsumers over every page: the stream's consumers, in name order.
    pub async fn list_stream_consumers(&self, stream_arn: &str) -> Result<Vec<Consumer>, ClientError> {
        let mut consumers = Vec::new();
        let mut next_token = String::new();
        for _ in 0..MAX_PAGES {
            let request = ListStreamConsumersRequest {
                stream_arn: stream_arn.to_string(),
                next_token: next_token.clone(),
                ..Default::default()
            };
            let page = self
                .call(Route::Any, |channel| {
                    let request = request.clone();
                    async move { kinesis_stub(channel).list_stream_consumers(request).await }
                })
                .await?;
            consumers.extend(page.consumers);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next_token = token,
                None => return Ok(consumers),
            }
        }
        Err(too_many_pages("ListStreamConsumers"))
    }

    /// Polls DescribeStreamConsumer until the consumer is ACTIVE, for at most `timeout`.
    /// ResourceNotFoundException is waited out too: a just-registered consumer may not yet
    /// be visible on the node that answers.
    pub async fn wait_for_consumer_active(
        &self,
        consumer: &ConsumerKey,
        timeout: Duration,
    ) -> Result<ConsumerDescription, ClientError> {
        poll_until(format!("consumer {consumer} to become ACTIVE"), timeout, || async {
            match self.describe_stream_consumer(consumer).await {
                Ok(description) if description.consumer_status == "ACTIVE" => Ok(Poll::Done(description)),
                Ok(description) => Ok(Poll::Seen(format!("status {}", description.consumer_status))),
                Err(e) if e.code() == Some(&ErrorCode::ResourceNotFoundException) => Ok(Poll::Seen(e.to_string())),
                Err(e) => Err(e),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_is_named_by_arn_or_by_stream_and_name() {
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1";
        assert_eq!(ConsumerKey::Arn(arn.into()).members(), (String::new(), String::new(), arn.to_string()));
        let stream = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
        let named = ConsumerKey::named(stream, "c");
        assert_eq!(named.members(), (stream.to_string(), "c".to_string(), String::new()));
        assert_eq!(named.to_string(), format!("c of {stream}"));
    }
}
