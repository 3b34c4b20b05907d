//! The gRPC Kinesis service: protobuf messages to the service's plain types and back.
//! No logic lives here; proto3 strings have no presence, so empty means absent.

use super::status::to_status;
use crate::control::encryption::encryption_type;
use crate::kinesis::types::*;
use crate::kinesis::KinesisService;
use runnel_proto::v1 as pb;
use runnel_proto::v1::kinesis_server::Kinesis;
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status};

type Reply<T> = Result<Response<T>, Status>;

pub struct KinesisGrpc {
    service: KinesisService,
}

impl KinesisGrpc {
    pub fn new(service: KinesisService) -> KinesisGrpc {
        KinesisGrpc { service }
    }
}

fn some(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn stream_ref(name: String, arn: String) -> StreamRef {
    StreamRef { name: some(name), arn: some(arn) }
}

fn range_to_pb(range: crate::domain::HashKeyRange) -> Option<pb::HashKeyRange> {
    Some(pb::HashKeyRange { starting_hash_key: range.start.to_string(), ending_hash_key: range.end.to_string() })
}

fn shard_to_pb(shard: ShardDescription) -> pb::Shard {
    pb::Shard {
        shard_id: shard.shard_id.to_string(),
        parent_shard_id: shard.parent_shard_id.map(|s| s.to_string()),
        adjacent_parent_shard_id: shard.adjacent_parent_shard_id.map(|s| s.to_string()),
        hash_key_range: range_to_pb(shard.hash_key_range),
        sequence_number_range: Some(pb::SequenceNumberRange {
            starting_sequence_number: shard.starting_sequence_number.to_string(),
            ending_sequence_number: shard.ending_sequence_number.map(|s| s.to_string()),
        }),
    }
}

fn mode_details(mode: crate::control::StreamMode) -> Option<pb::StreamModeDetails> {
    Some(pb::StreamModeDetails { stream_mode: mode.as_kinesis().to_string() })
}

fn warm_to_pb(w: WarmThroughput) -> pb::WarmThroughputObject {
    pb::WarmThroughputObject { target_mi_bps: w.target_mibps as i32, current_mi_bps: w.current_mibps as i32 }
}

fn records_to_pb(records: Vec<Record>) -> Vec<pb::Record> {
    records
        .into_iter()
        .map(|r| pb::Record {
            sequence_number: r.sequence_number.to_string(),
            approximate_arrival_timestamp: r.arrival_ms,
            data: r.data,
            partition_key: r.partition_key,
            encryption_type: encryption_type(r.encrypted).into(),
        })
        .collect()
}

fn children_to_pb(children: Vec<ChildShard>) -> Vec<pb::ChildShard> {
    children
        .into_iter()
        .map(|c| pb::ChildShard {
            shard_id: c.shard_id.to_string(),
            parent_shards: c.parent_shards.iter().map(|p| p.to_string()).collect(),
            hash_key_range: range_to_pb(c.hash_key_range),
        })
        .collect()
}

fn event_to_pb(event: SubscribeToShardEvent) -> pb::SubscribeToShardEvent {
    pb::SubscribeToShardEvent {
        records: records_to_pb(event.records),
        continuation_sequence_number: event.continuation_sequence_number.to_string(),
        millis_behind_latest: event.millis_behind_latest,
        child_shards: children_to_pb(event.child_shards),
    }
}

fn metric_names(metrics: &[crate::control::ShardMetric]) -> Vec<String> {
    metrics.iter().map(|m| m.as_kinesis().to_string()).collect()
}

fn enhanced_monitoring(metrics: &[crate::control::ShardMetric]) -> Vec<pb::EnhancedMetrics> {
    vec![pb::EnhancedMetrics { shard_level_metrics: metric_names(metrics) }]
}

fn tags_to_pb(tags: Vec<Tag>) -> Vec<pb::Tag> {
    tags.into_iter().map(|t| pb::Tag { key: t.key, value: Some(t.value) }).collect()
}

fn commitment_to_pb(c: CommitmentOutput) -> Option<pb::MinimumThroughputBillingCommitmentOutput> {
    Some(pb::MinimumThroughputBillingCommitmentOutput {
        status: c.status.to_string(),
        started_at: c.started_ms,
        ended_at: c.ended_ms,
        earliest_allowed_end_at: c.earliest_allowed_end_ms,
    })
}

/// A stream's EncryptionType and KeyId (empty when NONE).
fn encryption_to_pb(key_id: Option<String>) -> (String, String) {
    (encryption_type(key_id.is_some()).to_string(), key_id.unwrap_or_default())
}

fn encryption_input(name: String, arn: String, encryption_type: String, key_id: String) -> StreamEncryptionInput {
    StreamEncryptionInput { stream: stream_ref(name, arn), encryption_type, key_id }
}

fn monitoring_input(name: String, arn: String, metrics: Vec<String>) -> EnhancedMonitoringInput {
    EnhancedMonitoringInput { stream: stream_ref(name, arn), shard_level_metrics: metrics }
}

fn monitoring_to_pb(out: EnhancedMonitoringOutput) -> pb::EnhancedMonitoringOutput {
    pb::EnhancedMonitoringOutput {
        stream_name: out.stream_name.to_string(),
        current_shard_level_metrics: metric_names(&out.current_shard_level_metrics),
        desired_shard_level_metrics: metric_names(&out.desired_shard_level_metrics),
        stream_arn: out.stream_arn,
    }
}

type EventStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::SubscribeToShardEvent, Status>> + Send>>;
fn consumer_to_pb(c: ConsumerDescription) -> pb::Consumer {
    pb::Consumer {
        consumer_name: c.consumer_name,
        consumer_arn: c.consumer_arn,
        consumer_status: c.status.as_kinesis().to_string(),
        consumer_creation_timestamp: c.created_ms,
    }
}

fn stream_consumer(stream_arn: String, consumer_name: String, consumer_arn: String) -> StreamConsumerInput {
    StreamConsumerInput {
        stream_arn: some(stream_arn),
        consumer_name: some(consumer_name),
        consumer_arn: some(consumer_arn),
    }
}

#[tonic::async_trait]
impl Kinesis for KinesisGrpc {
    type SubscribeToShardStream = EventStream;

    async fn subscribe_to_shard(
        &self,
        req: Request<pb::SubscribeToShardRequest>,
    ) -> Reply<Self::SubscribeToShardStream> {
        let req = req.into_inner();
        let input = SubscribeToShardInput {
            consumer_arn: req.consumer_arn,
            shard_id: req.shard_id,
            starting_position: req.starting_position.map(|p| StartingPositionInput {
                kind: p.r#type,
                sequence_number: p.sequence_number,
                timestamp_ms: p.timestamp,
            }),
        };
        let events = self.service.subscribe_to_shard(input).await.map_err(to_status)?;
        let stream =
            tokio_stream::wrappers::ReceiverStream::new(events).map(|event| event.map(event_to_pb).map_err(to_status));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn create_stream(&self, req: Request<pb::CreateStreamRequest>) -> Reply<pb::CreateStreamResponse> {
        let req = req.into_inner();
        let input = CreateStreamInput {
            stream_name: req.stream_name,
            shard_count: req.shard_count,
            stream_mode: req.stream_mode_details.map(|m| m.stream_mode),
            tags: req.tags.into_iter().collect(),
            max_record_size_kib: req.max_record_size_in_ki_b,
            warm_throughput_mibps: req.warm_throughput_mi_bps,
        };
        self.service.create_stream(input).await.map_err(to_status)?;
        Ok(Response::new(pb::CreateStreamResponse {}))
    }

    async fn delete_stream(&self, req: Request<pb::DeleteStreamRequest>) -> Reply<pb::DeleteStreamResponse> {
        let req = req.into_inner();
        let input = DeleteStreamInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            enforce_consumer_deletion: req.enforce_consumer_deletion,
        };
        self.service.delete_stream(input).await.map_err(to_status)?;
        Ok(Response::new(pb::DeleteStreamResponse {}))
    }

    async fn describe_stream(&self, req: Request<pb::DescribeStreamRequest>) -> Reply<pb::DescribeStreamResponse> {
        let req = req.into_inner();
        let input = DescribeStreamInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            limit: req.limit,
            exclusive_start_shard_id: some(req.exclusive_start_shard_id),
        };
        let d = self.service.describe_stream(input).await.map_err(to_status)?;
        let (encryption_type, key_id) = encryption_to_pb(d.encryption_key_id);
        Ok(Response::new(pb::DescribeStreamResponse {
            stream_description: Some(pb::StreamDescription {
                stream_name: d.stream_name.to_string(),
                stream_arn: d.stream_arn,
                stream_status: d.status.as_kinesis().to_string(),
                stream_mode_details: mode_details(d.mode),
                has_more_shards: d.has_more_shards,
                shards: d.shards.into_iter().map(shard_to_pb).collect(),
                retention_period_hours: d.retention_period_hours as i32,
                stream_creation_timestamp: d.created_ms,
                enhanced_monitoring: enhanced_monitoring(&d.shard_level_metrics),
                encryption_type,
                key_id,
            }),
        }))
    }

    async fn describe_stream_summary(
        &self,
        req: Request<pb::DescribeStreamSummaryRequest>,
    ) -> Reply<pb::DescribeStreamSummaryResponse> {
        let req = req.into_inner();
        let s = self
            .service
            .describe_stream_summary(stream_ref(req.stream_name, req.stream_arn))
            .await
            .map_err(to_status)?;
        let (encryption_type, key_id) = encryption_to_pb(s.encryption_key_id);
        Ok(Response::new(pb::DescribeStreamSummaryResponse {
            stream_description_summary: Some(pb::StreamDescriptionSummary {
                stream_name: s.stream_name.to_string(),
                stream_arn: s.stream_arn,
                stream_status: s.status.as_kinesis().to_string(),
                stream_mode_details: mode_details(s.mode),
                retention_period_hours: s.retention_period_hours as i32,
                stream_creation_timestamp: s.created_ms,
                enhanced_monitoring: enhanced_monitoring(&s.shard_level_metrics),
                encryption_type,
                key_id,
                open_shard_count: s.open_shard_count as i32,
                consumer_count: s.consumer_count as i32,
                max_record_size_in_ki_b: s.max_record_size_kib as i32,
                warm_throughput: s.warm_throughput.map(warm_to_pb),
            }),
        }))
    }

    async fn list_streams(&self, req: Request<pb::ListStreamsRequest>) -> Reply<pb::ListStreamsResponse> {
        let req = req.into_inner();
        let input = ListStreamsInput {
            limit: req.limit,
            exclusive_start_stream_name: some(req.exclusive_start_stream_name),
            next_token: some(req.next_token),
        };
        let out = self.service.list_streams(input).await.map_err(to_status)?;
        Ok(Response::new(pb::ListStreamsResponse {
            stream_names: out.streams.iter().map(|s| s.stream_name.to_string()).collect(),
            has_more_streams: out.has_more_streams,
            next_token: out.next_token,
            stream_summaries: out
                .streams
                .into_iter()
                .map(|s| pb::StreamSummary {
                    stream_name: s.stream_name.to_string(),
                    stream_arn: s.stream_arn,
                    stream_status: s.status.as_kinesis().to_string(),
                    stream_mode_details: mode_details(s.mode),
                    stream_creation_timestamp: s.created_ms,
                })
                .collect(),
        }))
    }

    async fn list_shards(&self, req: Request<pb::ListShardsRequest>) -> Reply<pb::ListShardsResponse> {
        let req = req.into_inner();
        let input = ListShardsInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            next_token: some(req.next_token),
            exclusive_start_shard_id: some(req.exclusive_start_shard_id),
            max_results: req.max_results,
            shard_filter: req.shard_filter.map(|f| ShardFilterInput {
                kind: f.r#type,
                shard_id: some(f.shard_id),
                timestamp_ms: f.timestamp,
            }),
            stream_creation_timestamp_ms: req.stream_creation_timestamp,
        };
        let out = self.service.list_shards(input).await.map_err(to_status)?;
        Ok(Response::new(pb::ListShardsResponse {
            shards: out.shards.into_iter().map(shard_to_pb).collect(),
            next_token: out.next_token,
        }))
    }

    async fn put_record(&self, req: Request<pb::PutRecordRequest>) -> Reply<pb::PutRecordResponse> {
        let req = req.into_inner();
        let input = PutRecordInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            partition_key: req.partition_key,
            data: req.data,
            explicit_hash_key: req.explicit_hash_key,
            sequence_number_for_ordering: req.sequence_number_for_ordering,
        };
        let out = self.service.put_record(input).await.map_err(to_status)?;
        Ok(Response::new(pb::PutRecordResponse {
            shard_id: out.shard_id.to_string(),
            sequence_number: out.sequence_number.to_string(),
            encryption_type: encryption_type(out.encrypted).into(),
        }))
    }

    async fn put_records(&self, req: Request<pb::PutRecordsRequest>) -> Reply<pb::PutRecordsResponse> {
        let req = req.into_inner();
        let input = PutRecordsInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            records: req
                .records
                .into_iter()
                .map(|r| PutRecordsEntry {
                    partition_key: r.partition_key,
                    data: r.data,
                    explicit_hash_key: r.explicit_hash_key,
                })
                .collect(),
        };
        let out = self.service.put_records(input).await.map_err(to_status)?;
        let encrypted = out.encrypted;
        Ok(Response::new(pb::PutRecordsResponse {
            failed_record_count: out.failed_record_count as i32,
            records: out
                .records
                .into_iter()
                .map(|r| match r {
                    PutRecordsResult::Ok { shard_id, sequence_number } => pb::PutRecordsResultEntry {
                        sequence_number: Some(sequence_number.to_string()),
                        shard_id: Some(shard_id.to_string()),
                        error_code: None,
                        error_message: None,
                    },
                    PutRecordsResult::Failed { error_code, error_message } => pb::PutRecordsResultEntry {
                        sequence_number: None,
                        shard_id: None,
                        error_code: Some(error_code.to_string()),
                        error_message: Some(error_message),
                    },
                })
                .collect(),
            encryption_type: encryption_type(encrypted).into(),
        }))
    }

    async fn get_shard_iterator(
        &self,
        req: Request<pb::GetShardIteratorRequest>,
    ) -> Reply<pb::GetShardIteratorResponse> {
        let req = req.into_inner();
        let input = GetShardIteratorInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            shard_id: req.shard_id,
            shard_iterator_type: req.shard_iterator_type,
            starting_sequence_number: req.starting_sequence_number,
            timestamp_ms: req.timestamp,
        };
        let shard_iterator = self.service.get_shard_iterator(input).await.map_err(to_status)?;
        Ok(Response::new(pb::GetShardIteratorResponse { shard_iterator }))
    }

    async fn get_records(&self, req: Request<pb::GetRecordsRequest>) -> Reply<pb::GetRecordsResponse> {
        let req = req.into_inner();
        let input =
            GetRecordsInput { shard_iterator: req.shard_iterator, limit: req.limit, stream_arn: some(req.stream_arn) };
        let out = self.service.get_records(input).await.map_err(to_status)?;
        Ok(Response::new(pb::GetRecordsResponse {
            records: records_to_pb(out.records),
            next_shard_iterator: out.next_shard_iterator,
            millis_behind_latest: out.millis_behind_latest,
            child_shards: children_to_pb(out.child_shards),
        }))
    }

    async fn split_shard(&self, req: Request<pb::SplitShardRequest>) -> Reply<pb::SplitShardResponse> {
        let req = req.into_inner();
        let input = SplitShardInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            shard_to_split: req.shard_to_split,
            new_starting_hash_key: req.new_starting_hash_key,
        };
        self.service.split_shard(input).await.map_err(to_status)?;
        Ok(Response::new(pb::SplitShardResponse {}))
    }

    async fn increase_stream_retention_period(
        &self,
        req: Request<pb::IncreaseStreamRetentionPeriodRequest>,
    ) -> Reply<pb::IncreaseStreamRetentionPeriodResponse> {
        let req = req.into_inner();
        let input = RetentionPeriodInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            retention_period_hours: req.retention_period_hours,
        };
        self.service.set_retention_period(input, RetentionChange::Increase).await.map_err(to_status)?;
        Ok(Response::new(pb::IncreaseStreamRetentionPeriodResponse {}))
    }

    async fn decrease_stream_retention_period(
        &self,
        req: Request<pb::DecreaseStreamRetentionPeriodRequest>,
    ) -> Reply<pb::DecreaseStreamRetentionPeriodResponse> {
        let req = req.into_inner();
        let input = RetentionPeriodInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            retention_period_hours: req.retention_period_hours,
        };
        self.service.set_retention_period(input, RetentionChange::Decrease).await.map_err(to_status)?;
        Ok(Response::new(pb::DecreaseStreamRetentionPeriodResponse {}))
    }

    async fn merge_shards(&self, req: Request<pb::MergeShardsRequest>) -> Reply<pb::MergeShardsResponse> {
        let req = req.into_inner();
        let input = MergeShardsInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            shard_to_merge: req.shard_to_merge,
            adjacent_shard_to_merge: req.adjacent_shard_to_merge,
        };
        self.service.merge_shards(input).await.map_err(to_status)?;
        Ok(Response::new(pb::MergeShardsResponse {}))
    }

    async fn update_shard_count(
        &self,
        req: Request<pb::UpdateShardCountRequest>,
    ) -> Reply<pb::UpdateShardCountResponse> {
        let req = req.into_inner();
        let input = UpdateShardCountInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            target_shard_count: req.target_shard_count,
            scaling_type: req.scaling_type,
        };
        let out = self.service.update_shard_count(input).await.map_err(to_status)?;
        Ok(Response::new(pb::UpdateShardCountResponse {
            stream_name: out.stream_name.to_string(),
            current_shard_count: out.current_shard_count as i32,
            target_shard_count: out.target_shard_count as i32,
            stream_arn: out.stream_arn,
        }))
    }

    async fn add_tags_to_stream(&self, req: Request<pb::AddTagsToStreamRequest>) -> Reply<pb::AddTagsToStreamResponse> {
        let req = req.into_inner();
        let input = AddTagsToStreamInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            tags: req.tags.into_iter().collect(),
        };
        self.service.add_tags_to_stream(input).await.map_err(to_status)?;
        Ok(Response::new(pb::AddTagsToStreamResponse {}))
    }

    async fn remove_tags_from_stream(
        &self,
        req: Request<pb::RemoveTagsFromStreamRequest>,
    ) -> Reply<pb::RemoveTagsFromStreamResponse> {
        let req = req.into_inner();
        let input =
            RemoveTagsFromStreamInput { stream: stream_ref(req.stream_name, req.stream_arn), tag_keys: req.tag_keys };
        self.service.remove_tags_from_stream(input).await.map_err(to_status)?;
        Ok(Response::new(pb::RemoveTagsFromStreamResponse {}))
    }

    async fn list_tags_for_stream(
        &self,
        req: Request<pb::ListTagsForStreamRequest>,
    ) -> Reply<pb::ListTagsForStreamResponse> {
        let req = req.into_inner();
        let input = ListTagsForStreamInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            exclusive_start_tag_key: some(req.exclusive_start_tag_key),
            limit: req.limit,
        };
        let out = self.service.list_tags_for_stream(input).await.map_err(to_status)?;
        Ok(Response::new(pb::ListTagsForStreamResponse {
            tags: tags_to_pb(out.tags),
            has_more_tags: out.has_more_tags,
        }))
    }

    async fn tag_resource(&self, req: Request<pb::TagResourceRequest>) -> Reply<pb::TagResourceResponse> {
        let req = req.into_inner();
        let input = TagResourceInput { resource_arn: req.resource_arn, tags: req.tags.into_iter().collect() };
        self.service.tag_resource(input).await.map_err(to_status)?;
        Ok(Response::new(pb::TagResourceResponse {}))
    }

    async fn untag_resource(&self, req: Request<pb::UntagResourceRequest>) -> Reply<pb::UntagResourceResponse> {
        let req = req.into_inner();
        let input = UntagResourceInput { resource_arn: req.resource_arn, tag_keys: req.tag_keys };
        self.service.untag_resource(input).await.map_err(to_status)?;
        Ok(Response::new(pb::UntagResourceResponse {}))
    }

    async fn list_tags_for_resource(
        &self,
        req: Request<pb::ListTagsForResourceRequest>,
    ) -> Reply<pb::ListTagsForResourceResponse> {
        let req = req.into_inner();
        let tags = self.service.list_tags_for_resource(&req.resource_arn).await.map_err(to_status)?;
        Ok(Response::new(pb::ListTagsForResourceResponse { tags: tags_to_pb(tags) }))
    }

    async fn describe_limits(&self, _req: Request<pb::DescribeLimitsRequest>) -> Reply<pb::DescribeLimitsResponse> {
        let out = self.service.describe_limits().await.map_err(to_status)?;
        Ok(Response::new(pb::DescribeLimitsResponse {
            shard_limit: out.shard_limit as i32,
            open_shard_count: out.open_shard_count as i32,
            on_demand_stream_count: out.on_demand_stream_count as i32,
            on_demand_stream_count_limit: out.on_demand_stream_count_limit as i32,
        }))
    }

    async fn describe_account_settings(
        &self,
        _req: Request<pb::DescribeAccountSettingsRequest>,
    ) -> Reply<pb::DescribeAccountSettingsResponse> {
        let out = self.service.describe_account_settings().await.map_err(to_status)?;
        Ok(Response::new(pb::DescribeAccountSettingsResponse {
            minimum_throughput_billing_commitment: commitment_to_pb(out),
        }))
    }

    async fn update_account_settings(
        &self,
        req: Request<pb::UpdateAccountSettingsRequest>,
    ) -> Reply<pb::UpdateAccountSettingsResponse> {
        let req = req.into_inner();
        let input = UpdateAccountSettingsInput {
            commitment_status: req.minimum_throughput_billing_commitment.map(|c| c.status),
        };
        let out = self.service.update_account_settings(input).await.map_err(to_status)?;
        Ok(Response::new(pb::UpdateAccountSettingsResponse {
            minimum_throughput_billing_commitment: commitment_to_pb(out),
        }))
    }

    async fn put_resource_policy(
        &self,
        req: Request<pb::PutResourcePolicyRequest>,
    ) -> Reply<pb::PutResourcePolicyResponse> {
        let req = req.into_inner();
        let input = PutResourcePolicyInput { resource_arn: req.resource_arn, policy: req.policy };
        self.service.put_resource_policy(input).await.map_err(to_status)?;
        Ok(Response::new(pb::PutResourcePolicyResponse {}))
    }

    async fn get_resource_policy(
        &self,
        req: Request<pb::GetResourcePolicyRequest>,
    ) -> Reply<pb::GetResourcePolicyResponse> {
        let req = req.into_inner();
        let policy = self.service.get_resource_policy(&req.resource_arn).await.map_err(to_status)?;
        Ok(Response::new(pb::GetResourcePolicyResponse { policy }))
    }

    async fn delete_resource_policy(
        &self,
        req: Request<pb::DeleteResourcePolicyRequest>,
    ) -> Reply<pb::DeleteResourcePolicyResponse> {
        let req = req.into_inner();
        self.service.delete_resource_policy(&req.resource_arn).await.map_err(to_status)?;
        Ok(Response::new(pb::DeleteResourcePolicyResponse {}))
    }

    async fn enable_enhanced_monitoring(
        &self,
        req: Request<pb::EnableEnhancedMonitoringRequest>,
    ) -> Reply<pb::EnhancedMonitoringOutput> {
        let req = req.into_inner();
        let input = monitoring_input(req.stream_name, req.stream_arn, req.shard_level_metrics);
        let out = self.service.enable_enhanced_monitoring(input).await.map_err(to_status)?;
        Ok(Response::new(monitoring_to_pb(out)))
    }

    async fn disable_enhanced_monitoring(
        &self,
        req: Request<pb::DisableEnhancedMonitoringRequest>,
    ) -> Reply<pb::EnhancedMonitoringOutput> {
        let req = req.into_inner();
        let input = monitoring_input(req.stream_name, req.stream_arn, req.shard_level_metrics);
        let out = self.service.disable_enhanced_monitoring(input).await.map_err(to_status)?;
        Ok(Response::new(monitoring_to_pb(out)))
    }

    async fn update_stream_mode(
        &self,
        req: Request<pb::UpdateStreamModeRequest>,
    ) -> Reply<pb::UpdateStreamModeResponse> {
        let req = req.into_inner();
        let input = UpdateStreamModeInput {
            stream_arn: some(req.stream_arn),
            stream_mode: req.stream_mode_details.map(|m| m.stream_mode),
            warm_throughput_mibps: req.warm_throughput_mi_bps,
        };
        self.service.update_stream_mode(input).await.map_err(to_status)?;
        Ok(Response::new(pb::UpdateStreamModeResponse {}))
    }

    async fn update_max_record_size(
        &self,
        req: Request<pb::UpdateMaxRecordSizeRequest>,
    ) -> Reply<pb::UpdateMaxRecordSizeResponse> {
        let req = req.into_inner();
        let input = UpdateMaxRecordSizeInput {
            stream_arn: some(req.stream_arn),
            max_record_size_kib: req.max_record_size_in_ki_b,
        };
        self.service.update_max_record_size(input).await.map_err(to_status)?;
        Ok(Response::new(pb::UpdateMaxRecordSizeResponse {}))
    }

    async fn update_stream_warm_throughput(
        &self,
        req: Request<pb::UpdateStreamWarmThroughputRequest>,
    ) -> Reply<pb::UpdateStreamWarmThroughputResponse> {
        let req = req.into_inner();
        let input = UpdateStreamWarmThroughputInput {
            stream: stream_ref(req.stream_name, req.stream_arn),
            warm_throughput_mibps: req.warm_throughput_mi_bps,
        };
        let out = self.service.update_stream_warm_throughput(input).await.map_err(to_status)?;
        Ok(Response::new(pb::UpdateStreamWarmThroughputResponse {
            stream_arn: out.stream_arn,
            stream_name: out.stream_name.to_string(),
            warm_throughput: Some(warm_to_pb(out.warm_throughput)),
        }))
    }

    async fn start_stream_encryption(
        &self,
        req: Request<pb::StartStreamEncryptionRequest>,
    ) -> Reply<pb::StartStreamEncryptionResponse> {
        let req = req.into_inner();
        let input = encryption_input(req.stream_name, req.stream_arn, req.encryption_type, req.key_id);
        self.service.start_stream_encryption(input).await.map_err(to_status)?;
        Ok(Response::new(pb::StartStreamEncryptionResponse {}))
    }

    async fn stop_stream_encryption(
        &self,
        req: Request<pb::StopStreamEncryptionRequest>,
    ) -> Reply<pb::StopStreamEncryptionResponse> {
        let req = req.into_inner();
        let input = encryption_input(req.stream_name, req.stream_arn, req.encryption_type, req.key_id);
        self.service.stop_stream_encryption(input).await.map_err(to_status)?;
        Ok(Response::new(pb::StopStreamEncryptionResponse {}))
    }

    async fn register_stream_consumer(
        &self,
        req: Request<pb::RegisterStreamConsumerRequest>,
    ) -> Reply<pb::RegisterStreamConsumerResponse> {
        let req = req.into_inner();
        let input = RegisterStreamConsumerInput {
            stream_arn: some(req.stream_arn),
            consumer_name: some(req.consumer_name),
            tags: req.tags.into_iter().collect(),
        };
        let out = self.service.register_stream_consumer(input).await.map_err(to_status)?;
        Ok(Response::new(pb::RegisterStreamConsumerResponse { consumer: Some(consumer_to_pb(out)) }))
    }

    async fn deregister_stream_consumer(
        &self,
        req: Request<pb::DeregisterStreamConsumerRequest>,
    ) -> Reply<pb::DeregisterStreamConsumerResponse> {
        let req = req.into_inner();
        let input = stream_consumer(req.stream_arn, req.consumer_name, req.consumer_arn);
        self.service.deregister_stream_consumer(input).await.map_err(to_status)?;
        Ok(Response::new(pb::DeregisterStreamConsumerResponse {}))
    }

    async fn describe_stream_consumer(
        &self,
        req: Request<pb::DescribeStreamConsumerRequest>,
    ) -> Reply<pb::DescribeStreamConsumerResponse> {
        let req = req.into_inner();
        let input = stream_consumer(req.stream_arn, req.consumer_name, req.consumer_arn);
        let c = self.service.describe_stream_consumer(input).await.map_err(to_status)?;
        Ok(Response::new(pb::DescribeStreamConsumerResponse {
            consumer_description: Some(pb::ConsumerDescription {
                consumer_name: c.consumer_name,
                consumer_arn: c.consumer_arn,
                consumer_status: c.status.as_kinesis().to_string(),
                consumer_creation_timestamp: c.created_ms,
                stream_arn: c.stream_arn,
            }),
        }))
    }

    async fn list_stream_consumers(
        &self,
        req: Request<pb::ListStreamConsumersRequest>,
    ) -> Reply<pb::ListStreamConsumersResponse> {
        let req = req.into_inner();
        let input = ListStreamConsumersInput {
            stream_arn: some(req.stream_arn),
            next_token: some(req.next_token),
            max_results: req.max_results,
            stream_creation_timestamp_ms: req.stream_creation_timestamp,
        };
        let out = self.service.list_stream_consumers(input).await.map_err(to_status)?;
        Ok(Response::new(pb::ListStreamConsumersResponse {
            consumers: out.consumers.into_iter().map(consumer_to_pb).collect(),
            next_token: out.next_token,
        }))
    }
}
