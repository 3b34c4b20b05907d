//! The Kinesis actions over the AWS protocol: decode an action's request shape with the
//! request's codec (JSON or CBOR, `codec.rs`), call the service, encode its response shape
//! with the same codec; and `AwsError`, the one mapping of `KinesisError` to the error
//! Kinesis sends (`__type`, message, HTTP status).
//!
//! SubscribeToShard is not served by `call`: its response is an event stream, which the
//! listener writes (`is_event_stream`, `subscribe`).

use super::codec::Codec;
use super::shapes::*;
use crate::kinesis::types::RetentionChange;
use crate::kinesis::{KinesisError, KinesisService, SubscriptionEvents};

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
/// reply, as Kinesis sends one before the stream starts. The request is read with its codec;
/// the events' payloads are JSON whatever the codec (the AWS SDK for Java v1, the one CBOR
/// client, has no SubscribeToShard).
pub async fn subscribe(service: &KinesisService, codec: Codec, body: &[u8]) -> Result<SubscriptionEvents, AwsError> {
    let req = codec.decode::<SubscribeToShardRequest>(body)?;
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

/// Serves one action: `body` is its request in `codec`, the result its response in `codec`.
pub async fn call(service: &KinesisService, codec: Codec, action: &str, body: &[u8]) -> Result<Vec<u8>, AwsError> {
    match action {
        "CreateStream" => {
            service.create_stream(codec.decode::<CreateStreamRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "DeleteStream" => {
            service.delete_stream(codec.decode::<DeleteStreamRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "DescribeStream" => {
            let out = service.describe_stream(codec.decode::<DescribeStreamRequest>(body)?.into()).await?;
            codec.encode(&DescribeStreamResponse::from(out))
        }
        "DescribeStreamSummary" => {
            let out =
                service.describe_stream_summary(codec.decode::<DescribeStreamSummaryRequest>(body)?.into()).await?;
            codec.encode(&DescribeStreamSummaryResponse::from(out))
        }
        "ListStreams" => {
            let out = service.list_streams(codec.decode::<ListStreamsRequest>(body)?.into()).await?;
            codec.encode(&ListStreamsResponse::from(out))
        }
        "ListShards" => {
            let out = service.list_shards(codec.decode::<ListShardsRequest>(body)?.into()).await?;
            codec.encode(&ListShardsResponse::from(out))
        }
        "PutRecord" => {
            let req = codec.decode::<PutRecordRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            codec.encode(&PutRecordResponse::from(service.put_record(req.into()).await?))
        }
        "PutRecords" => {
            let req = codec.decode::<PutRecordsRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            codec.encode(&PutRecordsResponse::from(service.put_records(req.into()).await?))
        }
        "GetShardIterator" => {
            let req = codec.decode::<GetShardIteratorRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            codec.encode(&GetShardIteratorResponse { shard_iterator: service.get_shard_iterator(req.into()).await? })
        }
        "GetRecords" => {
            let req = codec.decode::<GetRecordsRequest>(body)?;
            refuse_dry_run(action, req.dry_run)?;
            codec.encode(&GetRecordsResponse::from(service.get_records(req.into()).await?))
        }
        "SplitShard" => {
            service.split_shard(codec.decode::<SplitShardRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "MergeShards" => {
            service.merge_shards(codec.decode::<MergeShardsRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "UpdateShardCount" => {
            let out = service.update_shard_count(codec.decode::<UpdateShardCountRequest>(body)?.into()).await?;
            codec.encode(&UpdateShardCountResponse::from(out))
        }
        "IncreaseStreamRetentionPeriod" => {
            let input = codec.decode::<RetentionPeriodRequest>(body)?.into();
            service.set_retention_period(input, RetentionChange::Increase).await?;
            codec.encode(&Empty {})
        }
        "DecreaseStreamRetentionPeriod" => {
            let input = codec.decode::<RetentionPeriodRequest>(body)?.into();
            service.set_retention_period(input, RetentionChange::Decrease).await?;
            codec.encode(&Empty {})
        }
        "AddTagsToStream" => {
            service.add_tags_to_stream(codec.decode::<AddTagsToStreamRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "RemoveTagsFromStream" => {
            service.remove_tags_from_stream(codec.decode::<RemoveTagsFromStreamRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "ListTagsForStream" => {
            let out = service.list_tags_for_stream(codec.decode::<ListTagsForStreamRequest>(body)?.into()).await?;
            codec.encode(&ListTagsForStreamResponse::from(out))
        }
        "TagResource" => {
            service.tag_resource(codec.decode::<TagResourceRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "UntagResource" => {
            service.untag_resource(codec.decode::<UntagResourceRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "ListTagsForResource" => {
            let req = codec.decode::<ResourceRequest>(body)?;
            codec.encode(&ListTagsForResourceResponse::from(service.list_tags_for_resource(&req.resource_arn).await?))
        }
        "DescribeLimits" => {
            codec.decode::<Empty>(body)?;
            codec.encode(&DescribeLimitsResponse::from(service.describe_limits().await?))
        }
        "DescribeAccountSettings" => {
            codec.decode::<Empty>(body)?;
            codec.encode(&AccountSettingsResponse::from(service.describe_account_settings().await?))
        }
        "UpdateAccountSettings" => {
            let out =
                service.update_account_settings(codec.decode::<UpdateAccountSettingsRequest>(body)?.into()).await?;
            codec.encode(&AccountSettingsResponse::from(out))
        }
        "PutResourcePolicy" => {
            service.put_resource_policy(codec.decode::<PutResourcePolicyRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "GetResourcePolicy" => {
            let req = codec.decode::<ResourceRequest>(body)?;
            codec.encode(&GetResourcePolicyResponse { policy: service.get_resource_policy(&req.resource_arn).await? })
        }
        "DeleteResourcePolicy" => {
            let req = codec.decode::<ResourceRequest>(body)?;
            service.delete_resource_policy(&req.resource_arn).await?;
            codec.encode(&Empty {})
        }
        "EnableEnhancedMonitoring" => {
            let out =
                service.enable_enhanced_monitoring(codec.decode::<EnhancedMonitoringRequest>(body)?.into()).await?;
            codec.encode(&EnhancedMonitoringResponse::from(out))
        }
        "DisableEnhancedMonitoring" => {
            let out =
                service.disable_enhanced_monitoring(codec.decode::<EnhancedMonitoringRequest>(body)?.into()).await?;
            codec.encode(&EnhancedMonitoringResponse::from(out))
        }
        "UpdateStreamMode" => {
            service.update_stream_mode(codec.decode::<UpdateStreamModeRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "UpdateMaxRecordSize" => {
            service.update_max_record_size(codec.decode::<UpdateMaxRecordSizeRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "UpdateStreamWarmThroughput" => {
            let input = codec.decode::<UpdateStreamWarmThroughputRequest>(body)?.into();
            codec.encode(&UpdateStreamWarmThroughputResponse::from(service.update_stream_warm_throughput(input).await?))
        }
        "StartStreamEncryption" => {
            service.start_stream_encryption(codec.decode::<StreamEncryptionRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "StopStreamEncryption" => {
            service.stop_stream_encryption(codec.decode::<StreamEncryptionRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "RegisterStreamConsumer" => {
            let out =
                service.register_stream_consumer(codec.decode::<RegisterStreamConsumerRequest>(body)?.into()).await?;
            codec.encode(&RegisterStreamConsumerResponse::from(out))
        }
        "DeregisterStreamConsumer" => {
            service.deregister_stream_consumer(codec.decode::<StreamConsumerRequest>(body)?.into()).await?;
            codec.encode(&Empty {})
        }
        "DescribeStreamConsumer" => {
            let out = service.describe_stream_consumer(codec.decode::<StreamConsumerRequest>(body)?.into()).await?;
            codec.encode(&DescribeStreamConsumerResponse::from(out))
        }
        "ListStreamConsumers" => {
            let out = service.list_stream_consumers(codec.decode::<ListStreamConsumersRequest>(body)?.into()).await?;
            codec.encode(&ListStreamConsumersResponse::from(out))
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
        let out = call(service, Codec::Json, action, body.as_bytes()).await?;
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
        let input: crate::kinesis::types::CreateStreamInput = Codec::Json
            .decode::<CreateStreamRequest>(largest.as_bytes())
            .expect("i32::MAX is a valid integer member")
            .into();
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

    fn cbor(members: Vec<(&str, ciborium::value::Value)>) -> Vec<u8> {
        use ciborium::value::Value;
        let map = Value::Map(members.into_iter().map(|(k, v)| (Value::Text(k.into()), v)).collect());
        let mut out = Vec::new();
        ciborium::ser::into_writer(&map, &mut out).expect("a value encodes");
        out
    }

    #[tokio::test]
    async fn cbor_requests_are_decoded_with_cbor_and_refused_as_kinesis_refuses_json() {
        use ciborium::value::Value;
        let node = single_node(Arc::new(MemoryEngine::default())).await;
        let service = KinesisService::new(node.clone());

        let whole = cbor(vec![("Limit", Value::Integer(10.into()))]);
        let cases: [(&str, Vec<u8>); 6] = [
            ("ListStreams", whole[..whole.len() - 1].to_vec()),
            ("ListStreams", [&whole[..], &[0x00]].concat()),
            ("ListStreams", br#"{"Limit": 10}"#.to_vec()),
            ("ListStreams", cbor(vec![("Limit", Value::Text("ten".into()))])),
            ("PutRecord", cbor(vec![("StreamName", Value::Text("s".into())), ("Data", Value::Text("aGk=".into()))])),
            ("GetShardIterator", cbor(vec![("Timestamp", Value::Text("now".into()))])),
        ];
        for (action, body) in cases {
            let err = call(&service, Codec::Cbor, action, &body).await.expect_err("malformed");
            assert_eq!((err.type_name, err.status), ("SerializationException", 400), "{action} {body:02x?}: {err:?}");
        }
        let unknown = call(&service, Codec::Cbor, "DescribeEverything", &whole).await.expect_err("no such action");
        assert_eq!((unknown.type_name, unknown.status), ("UnknownOperationException", 400));

        // Decoded and handed to the service, which judges the members as it does for JSON.
        let bad_name =
            cbor(vec![("StreamName", Value::Text("bad name!".into())), ("ShardCount", Value::Integer(1.into()))]);
        let invalid = call(&service, Codec::Cbor, "CreateStream", &bad_name).await.expect_err("an invalid name");
        assert_eq!((invalid.type_name, invalid.status), ("ValidationException", 400), "{invalid:?}");
        assert!(invalid.message.contains("'bad name!'"), "{invalid:?}");
        let missing = call(&service, Codec::Cbor, "CreateStream", b"").await.expect_err("no name");
        assert!(missing.message.contains("Value null at 'streamName'"), "an empty body is an empty map: {missing:?}");
        let dry = cbor(vec![("ConsumerARN", Value::Text("arn".into())), ("DryRun", Value::Bool(true))]);
        let Err(dry) = subscribe(&service, Codec::Cbor, &dry).await else { panic!("SubscribeToShard reads CBOR too") };
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
        let req: ListStreamsRequest = Codec::Json.decode(b"").expect("an empty body is {}");
        assert!(req.limit.is_none() && req.next_token.is_none());
        Codec::Json.decode::<Empty>(b"").expect("DescribeLimits without a body");
        Codec::Json.decode::<Empty>(br#"{"Unknown": 1}"#).expect("unknown members are ignored");
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
