//! The Kinesis actions over the AWS JSON protocol: decode an action's request shape, call
//! the service, encode its response shape; and `AwsError`, the one mapping of
//! `KinesisError` to the error Kinesis sends (`__type`, message, HTTP status).
//!
//! SubscribeToShard is not served by `call`: its response is an event stream, which the
//! listener writes (`is_event_stream`, `subscribe`).

use super::shapes::*;
use crate::kinesis::types::RetentionChange;
use crate::kinesis::{KinesisError, KinesisService, SubscriptionEvents};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An error as Kinesis names it, and the HTTP status it is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The `__type` the AWS SDKs map to an exception (`ResourceNotFoundException`).
    pub type_name: &'static str,
    pub message: String,
    pub status: u16,
}

impl AwsError {
    pub fn new(type_name: &'static str, message: String, status: u16) -> AwsError {
        AwsError { type_name, message, status }
    }
}

impl From<KinesisError> for AwsError {
    fn from(err: KinesisError) -> AwsError {
        // Every variant listed, so a new one is given its status on purpose.
        let status = match &err {
            KinesisError::InternalFailure(_) => 500,
            KinesisError::ServiceUnavailable(_) => 503,
            KinesisError::ResourceNotFound(_)
            | KinesisError::ResourceInUse(_)
            | KinesisError::InvalidArgument(_)
            | KinesisError::Validation(_)
            | KinesisError::LimitExceeded(_)
            | KinesisError::Overloaded { .. }
            | KinesisError::ExpiredIterator(_)
            | KinesisError::ExpiredNextToken(_)
            | KinesisError::AccessDenied(_)
            | KinesisError::ProvisionedThroughputExceeded(_)
            | KinesisError::KmsNotFound(_) => 400,
        };
        AwsError::new(err.name(), err.to_string(), status)
    }
}

/// The actions whose response is an event stream, which `call` does not serve.
pub fn is_event_stream(action: &str) -> bool {
    action == "SubscribeToShard"
}

/// An action's request from its JSON body. An empty body is `{}`: SDKs may send none for
/// an action without members. Invalid JSON or a member of the wrong type is a
/// SerializationException, as Kinesis answers it.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| AwsError::new("SerializationException", e.to_string(), 400))
}

fn encode<T: Serialize>(response: &T) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(response)
        .map_err(|e| AwsError::new("InternalFailure", format!("encoding the response failed: {e}"), 500))
}

/// The service has no dry run: refusing one is safer than carrying out a write the client
/// asked only to check.
fn refuse_dry_run(action: &str, dry_run: bool) -> Result<(), AwsError> {
    if dry_run {
        return Err(KinesisError::InvalidArgument(format!("{action}: DryRun is not supported by Runnel")).into());
    }
    Ok(())
}

/// SubscribeToShard: the request decoded and the subscription opened. The listener writes
/// its events as an event stream (`event_stream.rs`); a refusal here is an ordinary error
/// reply, as Kinesis sends one before the stream starts.
pub async fn subscribe(service: &KinesisService, body: &[u8]) -> Result<SubscriptionEvents, AwsError> {
    let req = decode::<SubscribeToShardRequest>(body)?;
    refuse_dry_run("SubscribeToShard", req.dry_run)?;
    Ok(service.subscribe_to_shard(req.into()).await?)
}

/// The exception a subscription's stream ends with when it fails after it started: the
/// members of Kinesis's SubscribeToShardEventStream, InternalFailureException for the rest.
pub fn stream_exception(err: &KinesisError) -> &'static str {
    match err {
        KinesisError::ResourceNotFound(_) => "ResourceNotFoundException",
        KinesisError::ResourceInUse(_) => "ResourceInUseException",
        _ => "InternalFailureException",
    }
}

/// Serves one action: `body` is its JSON request, the result its JSON response.
pub async fn call(service: &KinesisService, action: &str, body: &[u8]) -> Result<Vec<u8>, AwsError> {
    match action {
        "CreateStream" => {
            service.create_stream(decode::<CreateStreamRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "DeleteStream" => {
            service.delete_stream(decode::<DeleteStreamRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "DescribeStream" => {
            let out = service.describe_stream(decode::<DescribeStreamRequest>(body)?.into()).await?;
            encode(&DescribeStreamResponse::from(out))
        }
        "DescribeStreamSummary" => {
            let out = service.describe_stream_summary(decode::<DescribeStreamSummaryRequest>(body)?.into()).await?;
            encode(&DescribeStreamSummaryResponse::from(out))
        }
        "ListStreams" => {
            let out = service.list_streams(decode::<ListStreamsRequest>(body)?.into()).await?;
            encode(&ListStreamsResponse::from(out))
        }
        "ListShards" => {
            let out = service.list_shards(decode::<ListShardsRequest>(body)?.into()).await?;
            encode(&ListShardsResponse::from(out))
        }
        "PutRecord" => {
            let req = decode::<PutRecordRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            encode(&PutRecordResponse::from(service.put_record(req.into()).await?))
        }
        "PutRecords" => {
            let req = decode::<PutRecordsRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            encode(&PutRecordsResponse::from(service.put_records(req.into()).await?))
        }
        "GetShardIterator" => {
            let req = decode::<GetShardIteratorRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            encode(&GetShardIteratorResponse { shard_iterator: service.get_shard_iterator(req.into()).await? })
        }
        "GetRecords" => {
            let req = decode::<GetRecordsRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            encode(&GetRecordsResponse::from(service.get_records(req.into()).await?))
        }
        "SplitShard" => {
            service.split_shard(decode::<SplitShardRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "MergeShards" => {
            service.merge_shards(decode::<MergeShardsRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "UpdateShardCount" => {
            let out = service.update_shard_count(decode::<UpdateShardCountRequest>(body)?.into()).await?;
            encode(&UpdateShardCountResponse::from(out))
        }
        "IncreaseStreamRetentionPeriod" => {
            let input = decode::<RetentionPeriodRequest>(body)?.into();
            service.set_retention_period(input, RetentionChange::Increase).await?;
            encode(&Empty {})
        }
        "DecreaseStreamRetentionPeriod" => {
            let input = decode::<RetentionPeriodRequest>(body)?.into();
            service.set_retention_period(input, RetentionChange::Decrease).await?;
            encode(&Empty {})
        }
        "AddTagsToStream" => {
            service.add_tags_to_stream(decode::<AddTagsToStreamRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "RemoveTagsFromStream" => {
            service.remove_tags_from_stream(decode::<RemoveTagsFromStreamRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "ListTagsForStream" => {
            let out = service.list_tags_for_stream(decode::<ListTagsForStreamRequest>(body)?.into()).await?;
            encode(&ListTagsForStreamResponse::from(out))
        }
        "TagResource" => {
            service.tag_resource(decode::<TagResourceRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "UntagResource" => {
            service.untag_resource(decode::<UntagResourceRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "ListTagsForResource" => {
            let req = decode::<ResourceRequest>(body)?;
            encode(&ListTagsForResourceResponse::from(service.list_tags_for_resource(&req.resource_arn).await?))
        }
        "DescribeLimits" => {
            decode::<Empty>(body)?;
            encode(&DescribeLimitsResponse::from(service.describe_limits().await?))
        }
        "DescribeAccountSettings" => {
            decode::<Empty>(body)?;
            encode(&AccountSettingsResponse::from(service.describe_account_settings().await?))
        }
        "UpdateAccountSettings" => {
            let out = service.update_account_settings(decode::<UpdateAccountSettingsRequest>(body)?.into()).await?;
            encode(&AccountSettingsResponse::from(out))
        }
        "PutResourcePolicy" => {
            service.put_resource_policy(decode::<PutResourcePolicyRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "GetResourcePolicy" => {
            let req = decode::<ResourceRequest>(body)?;
            encode(&GetResourcePolicyResponse { policy: service.get_resource_policy(&req.resource_arn).await? })
        }
        "DeleteResourcePolicy" => {
            let req = decode::<ResourceRequest>(body)?;
            service.delete_resource_policy(&req.resource_arn).await?;
            encode(&Empty {})
        }
        "EnableEnhancedMonitoring" => {
            let out = service.enable_enhanced_monitoring(decode::<EnhancedMonitoringRequest>(body)?.into()).await?;
            encode(&EnhancedMonitoringResponse::from(out))
        }
        "DisableEnhancedMonitoring" => {
            let out = service.disable_enhanced_monitoring(decode::<EnhancedMonitoringRequest>(body)?.into()).await?;
            encode(&EnhancedMonitoringResponse::from(out))
        }
        "UpdateStreamMode" => {
            service.update_stream_mode(decode::<UpdateStreamModeRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "UpdateMaxRecordSize" => {
            service.update_max_record_size(decode::<UpdateMaxRecordSizeRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "UpdateStreamWarmThroughput" => {
            let input = decode::<UpdateStreamWarmThroughputRequest>(body)?.into();
            encode(&UpdateStreamWarmThroughputResponse::from(service.update_stream_warm_throughput(input).await?))
        }
        "StartStreamEncryption" => {
            service.start_stream_encryption(decode::<StreamEncryptionRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "StopStreamEncryption" => {
            service.stop_stream_encryption(decode::<StreamEncryptionRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "RegisterStreamConsumer" => {
            let out = service.register_stream_consumer(decode::<RegisterStreamConsumerRequest>(body)?.into()).await?;
            encode(&RegisterStreamConsumerResponse::from(out))
        }
        "DeregisterStreamConsumer" => {
            service.deregister_stream_consumer(decode::<StreamConsumerRequest>(body)?.into()).await?;
            encode(&Empty {})
        }
        "DescribeStreamConsumer" => {
            let out = service.describe_stream_consumer(decode::<StreamConsumerRequest>(body)?.into()).await?;
            encode(&DescribeStreamConsumerResponse::from(out))
        }
        "ListStreamConsumers" => {
            let out = service.list_stream_consumers(decode::<ListStreamConsumersRequest>(body)?.into()).await?;
            encode(&ListStreamConsumersResponse::from(out))
        }
        // A real action, served by the listener as an event stream: reaching here is a bug
        // of the caller, not an operation Kinesis lacks.
        _ if is_event_stream(action) => Err(AwsError::new(
            "InternalFailure",
            format!("{action} answers with an event stream, which this endpoint did not route"),
            500,
        )),
        _ => Err(AwsError::new(
            "UnknownOperationException",
            format!("{action} is not a Kinesis operation (Kinesis_20131202.<Action>)"),
            400,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::node::tests::single_node;
    use crate::storage::memory::MemoryEngine;
    use std::sync::Arc;

    async fn call_json(service: &KinesisService, action: &str, body: &str) -> Result<serde_json::Value, AwsError> {
        let out = call(service, action, body.as_bytes()).await?;
        Ok(serde_json::from_slice(&out).expect("a JSON response"))
    }

    #[tokio::test]
    async fn the_wire_errors_come_before_the_service_and_its_errors_come_through() {
        let node = single_node(Arc::new(MemoryEngine::default())).await;
        let service = KinesisService::new(node.clone());

        let unknown = call_json(&service, "DescribeEverything", "{}").await.expect_err("no such action");
        assert_eq!((unknown.type_name, unknown.status), ("UnknownOperationException", 400));
        assert!(unknown.message.contains("DescribeEverything"), "{unknown:?}");

        for (action, body) in [
            ("ListStreams", r#"{"Limit": "ten"}"#),
            ("ListStreams", r#"{"Limit":"#),
            ("ListStreams", r#"{"Limit": 10} trailing"#),
            ("PutRecord", r#"{"StreamName": "s", "PartitionKey": "k", "Data": "not base64!"}"#),
            ("CreateStream", r#"{"StreamName": "s", "ShardCount": 2147483648}"#),
            ("CreateStream", r#"{"StreamName": "s", "StreamModeDetails": "ON_DEMAND"}"#),
            ("GetShardIterator", r#"{"ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": "now"}"#),
        ] {
            let err = call_json(&service, action, body).await.expect_err(body);
            assert_eq!((err.type_name, err.status), ("SerializationException", 400), "{action} {body}: {err:?}");
        }

        // Decoded and handed to the service, which judges the members: a name it refuses, and
        // an absent required member reported as null.
        let invalid = call_json(&service, "CreateStream", r#"{"StreamName": "bad name!", "ShardCount": 1}"#).await;
        let invalid = invalid.expect_err("an invalid name");
        assert_eq!((invalid.type_name, invalid.status), ("ValidationException", 400), "{invalid:?}");
        assert!(invalid.message.contains("'bad name!'"), "{invalid:?}");
        let missing = call_json(&service, "CreateStream", "").await.expect_err("no name");
        assert!(missing.message.contains("Value null at 'streamName'"), "{missing:?}");
        // The largest ShardCount is passed through unchanged for the service to judge.
        let largest = r#"{"StreamName": "s", "ShardCount": 2147483647}"#;
        let input: crate::kinesis::types::CreateStreamInput =
            decode::<CreateStreamRequest>(largest.as_bytes()).expect("i32::MAX is a valid integer member").into();
        assert_eq!(input.shard_count, Some(i32::MAX));
        let refused = call_json(&service, "CreateStream", largest).await.expect_err("over the model's maximum");
        assert_eq!((refused.type_name, refused.status), ("ValidationException", 400), "{refused:?}");
        assert!(refused.message.contains("Value '2147483647' at 'shardCount'"), "{refused:?}");

        let dry =
            call_json(&service, "PutRecord", r#"{"StreamName": "s", "PartitionKey": "k", "Data": "", "DryRun": true}"#);
        let dry = dry.await.expect_err("no dry run");
        assert_eq!((dry.type_name, dry.status), ("InvalidArgumentException", 400), "{dry:?}");
        node.shutdown().await;
    }

    #[tokio::test]
    async fn subscribe_to_shard_is_an_event_stream_that_call_leaves_alone() {
        assert!(is_event_stream("SubscribeToShard"));
        assert!(!is_event_stream("GetRecords") && !is_event_stream("DescribeEverything"));
        let node = single_node(Arc::new(MemoryEngine::default())).await;
        let service = KinesisService::new(node.clone());
        let body = r#"{"ConsumerARN": "arn", "ShardId": "0", "StartingPosition": {"Type": "LATEST"}}"#;
        let err = call_json(&service, "SubscribeToShard", body).await.expect_err("not served by call");
        assert_ne!(err.type_name, "UnknownOperationException", "Kinesis has the operation");
        assert_eq!(err.status, 500);
        node.shutdown().await;
    }

    #[test]
    fn an_empty_body_is_an_empty_request() {
        let req: ListStreamsRequest = decode(b"").expect("an empty body is {}");
        assert!(req.limit.is_none() && req.next_token.is_none());
        decode::<Empty>(b"").expect("DescribeLimits without a body");
        decode::<Empty>(br#"{"Unknown": 1}"#).expect("unknown members are ignored");
    }

    #[test]
    fn kinesis_errors_keep_their_names_and_take_the_status_kinesis_uses() {
        let cases = [
            (KinesisError::ResourceNotFound("Stream s not found".into()), "ResourceNotFoundException", 400),
            (KinesisError::Validation("1 validation error".into()), "ValidationException", 400),
            (KinesisError::ExpiredIterator("expired".into()), "ExpiredIteratorException", 400),
            (KinesisError::ProvisionedThroughputExceeded("rate".into()), "ProvisionedThroughputExceededException", 400),
            (KinesisError::KmsNotFound("no key".into()), "KMSNotFoundException", 400),
            (KinesisError::Overloaded { message: "busy".into(), retry_after_ms: 100 }, "LimitExceededException", 400),
            (KinesisError::InternalFailure("unknown outcome".into()), "InternalFailure", 500),
            (KinesisError::ServiceUnavailable("no leader".into()), "ServiceUnavailable", 503),
        ];
        for (err, type_name, status) in cases {
            let message = err.to_string();
            let aws = AwsError::from(err);
            assert_eq!(aws, AwsError::new(type_name, message, status));
        }
        assert_eq!(
            AwsError::from(KinesisError::Overloaded { message: "busy".into(), retry_after_ms: 1 }).message,
            "busy"
        );
    }
}
