//! The gRPC Kinesis service: protobuf messages to the service's plain types and back.
//! No logic lives here; proto3 strings have no presence, so empty means absent.

use super::status::to_status;
use crate::kinesis::types::*;
use crate::kinesis::KinesisService;
use runnel_proto::v1 as pb;
use runnel_proto::v1::kinesis_server::Kinesis;
use tonic::{Request, Response, Status};

const ENCRYPTION_NONE: &str = "NONE";

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

fn no_metrics() -> Vec<pb::EnhancedMetrics> {
    vec![pb::EnhancedMetrics { shard_level_metrics: vec![] }]
}

#[tonic::async_trait]
impl Kinesis for KinesisGrpc {
    async fn create_stream(&self, req: Request<pb::CreateStreamRequest>) -> Reply<pb::CreateStreamResponse> {
        let req = req.into_inner();
        let input = CreateStreamInput {
            stream_name: req.stream_name,
            shard_count: req.shard_count,
            stream_mode: req.stream_mode_details.map(|m| m.stream_mode),
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
                enhanced_monitoring: no_metrics(),
                encryption_type: ENCRYPTION_NONE.into(),
                key_id: String::new(),
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
        Ok(Response::new(pb::DescribeStreamSummaryResponse {
            stream_description_summary: Some(pb::StreamDescriptionSummary {
                stream_name: s.stream_name.to_string(),
                stream_arn: s.stream_arn,
                stream_status: s.status.as_kinesis().to_string(),
                stream_mode_details: mode_details(s.mode),
                retention_period_hours: s.retention_period_hours as i32,
                stream_creation_timestamp: s.created_ms,
                enhanced_monitoring: no_metrics(),
                encryption_type: ENCRYPTION_NONE.into(),
                key_id: String::new(),
                open_shard_count: s.open_shard_count as i32,
                consumer_count: s.consumer_count as i32,
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
            encryption_type: ENCRYPTION_NONE.into(),
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
            encryption_type: ENCRYPTION_NONE.into(),
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
            records: out
                .records
                .into_iter()
                .map(|r| pb::Record {
                    sequence_number: r.sequence_number.to_string(),
                    approximate_arrival_timestamp: r.arrival_ms,
                    data: r.data,
                    partition_key: r.partition_key,
                    encryption_type: ENCRYPTION_NONE.into(),
                })
                .collect(),
            next_shard_iterator: out.next_shard_iterator,
            millis_behind_latest: out.millis_behind_latest,
            child_shards: out
                .child_shards
                .into_iter()
                .map(|c| pb::ChildShard {
                    shard_id: c.shard_id.to_string(),
                    parent_shards: c.parent_shards.iter().map(|p| p.to_string()).collect(),
                    hash_key_range: range_to_pb(c.hash_key_range),
                })
                .collect(),
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
}
