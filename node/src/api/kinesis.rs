//! The public Kinesis service: validates each request, consults the metadata, and turns it
//! into proposals and reads on the right groups.

use super::error::KinesisError;
use super::tokens::{self, NextToken, ShardIterator};
use super::validate;
use crate::cluster::propose::propose;
use crate::cluster::read::{read, ReadFrom, ShardRead};
use crate::cluster::Node;
use crate::control::metadata::{MetaCommand, MetaResult, ShardMeta, StreamMeta, StreamMode, StreamStatus};
use crate::domain::{ShardId, StreamName, META_GROUP};
use crate::limits::*;
use crate::raft::types::{AppendBatch, NewRecord};
use crate::raft::{Request, Response};
use runnel_proto::v1 as pb;
use runnel_proto::v1::kinesis_server::Kinesis;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

/// The account and region in ARNs; Runnel has one of each.
const ACCOUNT_ID: &str = "000000000000";
const REGION: &str = "local";
/// How long a metadata write waits to be visible on the node that answers.
const META_VISIBLE_TIMEOUT: Duration = Duration::from_secs(5);
const ENCRYPTION_NONE: &str = "NONE";

pub struct KinesisService {
    node: Arc<Node>,
}

type Reply<T> = Result<GrpcResponse<T>, Status>;

fn stream_arn(name: &StreamName) -> String {
    format!("arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{name}")
}

fn not_found(name: &StreamName) -> KinesisError {
    KinesisError::ResourceNotFound(format!("Stream {name} under account {ACCOUNT_ID} not found."))
}

fn shard_to_pb(shard: &ShardMeta) -> pb::Shard {
    pb::Shard {
        shard_id: shard.id.to_string(),
        parent_shard_id: None,
        adjacent_parent_shard_id: None,
        hash_key_range: Some(pb::HashKeyRange {
            starting_hash_key: shard.start_hash.to_string(),
            ending_hash_key: shard.end_hash.to_string(),
        }),
        sequence_number_range: Some(pb::SequenceNumberRange {
            starting_sequence_number: crate::domain::SequenceNumber::new(shard.id, shard.starting_counter).to_string(),
            ending_sequence_number: None,
        }),
    }
}

fn mode_details(mode: StreamMode) -> Option<pb::StreamModeDetails> {
    Some(pb::StreamModeDetails { stream_mode: mode.as_kinesis().to_string() })
}

impl KinesisService {
    pub fn new(node: Arc<Node>) -> KinesisService {
        KinesisService { node }
    }

    fn now_ms(&self) -> i64 {
        self.node.clock.now_ms()
    }

    fn stream(&self, name: &StreamName) -> Result<StreamMeta, KinesisError> {
        self.node.meta.current().state.streams.get(name).cloned().ok_or_else(|| not_found(name))
    }

    /// A stream that accepts reads and writes.
    fn live_stream(&self, name: &StreamName) -> Result<StreamMeta, KinesisError> {
        let stream = self.stream(name)?;
        match stream.status {
            StreamStatus::Active => Ok(stream),
            status => Err(KinesisError::ResourceNotFound(format!(
                "Stream {name} under account {ACCOUNT_ID} is {}, not ACTIVE.",
                status.as_kinesis()
            ))),
        }
    }

    /// Proposes a metadata change and waits until this node has applied it, so that the
    /// caller's next request here sees it.
    async fn meta_write(&self, command: MetaCommand) -> Result<MetaResult, KinesisError> {
        let replicas: Vec<_> = self.node.config.peers.keys().copied().collect();
        let proposed = propose(&self.node, META_GROUP, &replicas, Request::Meta(command)).await?;
        let waited = self
            .node
            .meta_raft
            .wait(Some(META_VISIBLE_TIMEOUT))
            .applied_index_at_least(Some(proposed.log_index), "metadata write visible")
            .await;
        if let Err(e) = waited {
            tracing::debug!("metadata write applied elsewhere, not yet here: {e}");
        }
        match proposed.response {
            Response::Meta(result) => Ok(result),
            other => Err(KinesisError::InternalFailure(format!("unexpected metadata reply {other:?}"))),
        }
    }

    /// Appends records to one shard; returns their sequence numbers.
    async fn append(
        &self,
        shard: &ShardMeta,
        records: Vec<NewRecord>,
    ) -> Result<Vec<crate::domain::SequenceNumber>, KinesisError> {
        let count = records.len();
        let batch = AppendBatch { arrival_ms: self.now_ms(), records };
        let proposed = propose(&self.node, shard.group, &shard.replicas, Request::Append(batch)).await?;
        match proposed.response {
            Response::Appended(seqs) if seqs.len() == count => Ok(seqs),
            other => Err(KinesisError::InternalFailure(format!("unexpected append reply {other:?}"))),
        }
    }

    fn check_next_token(&self, token: &str) -> Result<NextToken, KinesisError> {
        let parsed: NextToken =
            tokens::open(token).ok_or_else(|| KinesisError::InvalidArgument("NextToken is not valid".into()))?;
        if self.now_ms() - parsed.issued_ms > NEXT_TOKEN_TTL_MS {
            return Err(KinesisError::ExpiredNextToken(format!("NextToken expired after {} ms", NEXT_TOKEN_TTL_MS)));
        }
        Ok(parsed)
    }
}

#[tonic::async_trait]
impl Kinesis for KinesisService {
    async fn create_stream(&self, req: GrpcRequest<pb::CreateStreamRequest>) -> Reply<pb::CreateStreamResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, "")?;
        let mode = match req.stream_mode_details.as_ref().map(|m| m.stream_mode.as_str()) {
            None | Some("PROVISIONED") => StreamMode::Provisioned,
            Some("ON_DEMAND") => StreamMode::OnDemand,
            Some(other) => {
                return Err(KinesisError::Validation(format!(
                    "StreamMode must be PROVISIONED or ON_DEMAND, got {other:?}"
                ))
                .into())
            }
        };
        let shard_count = match (mode, req.shard_count) {
            // On-demand streams start with 4 shards, as in Kinesis.
            (StreamMode::OnDemand, None) => 4,
            (StreamMode::Provisioned, None) => {
                return Err(
                    KinesisError::InvalidArgument("ShardCount is required for a PROVISIONED stream".into()).into()
                )
            }
            (_, Some(n)) if n < 1 => {
                return Err(KinesisError::Validation(format!("ShardCount must be at least 1, got {n}")).into())
            }
            (_, Some(n)) if n as u32 > SHARDS_PER_STREAM_MAX => {
                return Err(KinesisError::LimitExceeded(format!(
                    "This request would exceed the shard limit of {SHARDS_PER_STREAM_MAX} for the account {ACCOUNT_ID}."
                ))
                .into())
            }
            (_, Some(n)) => n as u32,
        };
        let command = MetaCommand::CreateStream {
            name: name.clone(),
            shard_count,
            mode,
            created_ms: self.now_ms(),
            replication_factor: self.node.config.replication_factor,
            retention_hours: RETENTION_HOURS_DEFAULT,
        };
        match self.meta_write(command).await? {
            MetaResult::Ok => Ok(GrpcResponse::new(pb::CreateStreamResponse {})),
            MetaResult::StreamInUse(_) => {
                Err(KinesisError::ResourceInUse(format!("Stream {name} under account {ACCOUNT_ID} already exists."))
                    .into())
            }
            MetaResult::TooManyStreams => {
                Err(KinesisError::LimitExceeded(format!("A cluster holds at most {STREAMS_MAX} streams.")).into())
            }
            MetaResult::StreamNotFound(_) => Err(not_found(&name).into()),
        }
    }

    async fn delete_stream(&self, req: GrpcRequest<pb::DeleteStreamRequest>) -> Reply<pb::DeleteStreamResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
        match self.meta_write(MetaCommand::DeleteStream { name: name.clone() }).await? {
            MetaResult::Ok => Ok(GrpcResponse::new(pb::DeleteStreamResponse {})),
            MetaResult::StreamNotFound(_) => Err(not_found(&name).into()),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}")).into()),
        }
    }

    async fn describe_stream(&self, req: GrpcRequest<pb::DescribeStreamRequest>) -> Reply<pb::DescribeStreamResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
        // Limit may be 1 to 10,000; pages hold at most 100 shards.
        let limit =
            validate::bounded(req.limit, 1, 10_000, DESCRIBE_STREAM_LIMIT_MAX, "Limit")?.min(DESCRIBE_STREAM_LIMIT_MAX);
        let stream = self.stream(&name)?;
        let after = validate::optional_shard_id(&req.exclusive_start_shard_id, "ExclusiveStartShardId")?;
        let remaining: Vec<_> = stream.shards.iter().filter(|s| after.is_none_or(|a| s.id > a)).collect();
        let page: Vec<_> = remaining.iter().take(limit as usize).map(|s| shard_to_pb(s)).collect();
        Ok(GrpcResponse::new(pb::DescribeStreamResponse {
            stream_description: Some(pb::StreamDescription {
                stream_name: name.to_string(),
                stream_arn: stream_arn(&name),
                stream_status: stream.status.as_kinesis().to_string(),
                stream_mode_details: mode_details(stream.mode),
                has_more_shards: remaining.len() > page.len(),
                shards: page,
                retention_period_hours: stream.retention_hours as i32,
                stream_creation_timestamp: stream.created_ms,
                enhanced_monitoring: vec![pb::EnhancedMetrics { shard_level_metrics: vec![] }],
                encryption_type: ENCRYPTION_NONE.into(),
                key_id: String::new(),
            }),
        }))
    }

    async fn describe_stream_summary(
        &self,
        req: GrpcRequest<pb::DescribeStreamSummaryRequest>,
    ) -> Reply<pb::DescribeStreamSummaryResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
        let stream = self.stream(&name)?;
        Ok(GrpcResponse::new(pb::DescribeStreamSummaryResponse {
            stream_description_summary: Some(pb::StreamDescriptionSummary {
                stream_name: name.to_string(),
                stream_arn: stream_arn(&name),
                stream_status: stream.status.as_kinesis().to_string(),
                stream_mode_details: mode_details(stream.mode),
                retention_period_hours: stream.retention_hours as i32,
                stream_creation_timestamp: stream.created_ms,
                enhanced_monitoring: vec![pb::EnhancedMetrics { shard_level_metrics: vec![] }],
                encryption_type: ENCRYPTION_NONE.into(),
                key_id: String::new(),
                open_shard_count: stream.shards.len() as i32,
                consumer_count: 0,
            }),
        }))
    }

    async fn list_streams(&self, req: GrpcRequest<pb::ListStreamsRequest>) -> Reply<pb::ListStreamsResponse> {
        let req = req.into_inner();
        let (after, limit) = if req.next_token.is_empty() {
            let limit = validate::bounded(req.limit, 1, LIST_STREAMS_LIMIT_MAX, LIST_STREAMS_LIMIT_DEFAULT, "Limit")?;
            let after =
                (!req.exclusive_start_stream_name.is_empty()).then_some(req.exclusive_start_stream_name.clone());
            (after, limit)
        } else {
            let token = self.check_next_token(&req.next_token)?;
            let limit = validate::bounded(req.limit, 1, LIST_STREAMS_LIMIT_MAX, token.page_size, "Limit")?;
            (Some(token.after), limit)
        };
        let meta = self.node.meta.current();
        let remaining: Vec<&StreamMeta> =
            meta.state.streams.values().filter(|s| after.as_deref().is_none_or(|a| s.name.as_str() > a)).collect();
        let page: Vec<&StreamMeta> = remaining.iter().take(limit as usize).copied().collect();
        let has_more = remaining.len() > page.len();
        let next_token = match page.last() {
            Some(last) if has_more => Some(tokens::seal(&NextToken {
                stream: None,
                incarnation: 0,
                after: last.name.to_string(),
                page_size: limit,
                issued_ms: self.now_ms(),
            })),
            _ => None,
        };
        Ok(GrpcResponse::new(pb::ListStreamsResponse {
            stream_names: page.iter().map(|s| s.name.to_string()).collect(),
            has_more_streams: has_more,
            next_token,
            stream_summaries: page
                .iter()
                .map(|s| pb::StreamSummary {
                    stream_name: s.name.to_string(),
                    stream_arn: stream_arn(&s.name),
                    stream_status: s.status.as_kinesis().to_string(),
                    stream_mode_details: mode_details(s.mode),
                    stream_creation_timestamp: s.created_ms,
                })
                .collect(),
        }))
    }

    async fn list_shards(&self, req: GrpcRequest<pb::ListShardsRequest>) -> Reply<pb::ListShardsResponse> {
        let req = req.into_inner();
        let (stream, after, page_size) = if !req.next_token.is_empty() {
            if !req.stream_name.is_empty() || !req.stream_arn.is_empty() {
                return Err(KinesisError::InvalidArgument(
                    "NextToken and StreamName cannot be provided together.".into(),
                )
                .into());
            }
            let token = self.check_next_token(&req.next_token)?;
            let name = token
                .stream
                .ok_or_else(|| KinesisError::InvalidArgument("NextToken is not a ListShards token".into()))?;
            let stream = self.stream(&name)?;
            if stream.incarnation != token.incarnation {
                return Err(KinesisError::ExpiredNextToken("the stream of this NextToken was deleted".into()).into());
            }
            let after = token.after.parse::<u32>().ok().map(ShardId);
            let size = validate::bounded(req.max_results, 1, 10_000, token.page_size, "MaxResults")?;
            (stream, after, size)
        } else {
            let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
            let stream = self.stream(&name)?;
            let size = validate::bounded(req.max_results, 1, 10_000, LIST_SHARDS_RESULTS_MAX, "MaxResults")?;
            let mut after = validate::optional_shard_id(&req.exclusive_start_shard_id, "ExclusiveStartShardId")?;
            if let Some(filter) = &req.shard_filter {
                match filter.r#type.as_str() {
                    "AFTER_SHARD_ID" => {
                        let id = filter.shard_id.parse::<ShardId>().map_err(|_| {
                            KinesisError::InvalidArgument("ShardFilter AFTER_SHARD_ID needs a valid ShardId".into())
                        })?;
                        after = Some(after.map_or(id, |a| a.max(id)));
                    }
                    // Every shard is open and within retention until resharding exists.
                    "AT_TRIM_HORIZON" | "FROM_TRIM_HORIZON" | "AT_LATEST" => {}
                    "AT_TIMESTAMP" | "FROM_TIMESTAMP" => {
                        if filter.timestamp.is_none() {
                            return Err(KinesisError::InvalidArgument(format!(
                                "ShardFilter {} needs a Timestamp",
                                filter.r#type
                            ))
                            .into());
                        }
                    }
                    other => {
                        return Err(KinesisError::Validation(format!("ShardFilter type {other:?} is not valid")).into())
                    }
                }
            }
            (stream, after, size)
        };
        let remaining: Vec<&ShardMeta> = stream.shards.iter().filter(|s| after.is_none_or(|a| s.id > a)).collect();
        let page: Vec<&ShardMeta> = remaining.iter().take(page_size as usize).copied().collect();
        let next_token = match page.last() {
            Some(last) if remaining.len() > page.len() => Some(tokens::seal(&NextToken {
                stream: Some(stream.name.clone()),
                incarnation: stream.incarnation,
                after: last.id.0.to_string(),
                page_size,
                issued_ms: self.now_ms(),
            })),
            _ => None,
        };
        Ok(GrpcResponse::new(pb::ListShardsResponse {
            shards: page.into_iter().map(shard_to_pb).collect(),
            next_token,
        }))
    }

    async fn put_record(&self, req: GrpcRequest<pb::PutRecordRequest>) -> Reply<pb::PutRecordResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
        validate::partition_key(&req.partition_key)?;
        validate::data(&req.data)?;
        let key = validate::hash_key(&req.partition_key, req.explicit_hash_key.as_deref())?;
        let after = match req.sequence_number_for_ordering.as_deref() {
            Some(s) => Some(validate::sequence_number(s, "SequenceNumberForOrdering")?),
            None => None,
        };
        let stream = self.live_stream(&name)?;
        let shard = stream
            .shard_for(key)
            .ok_or_else(|| KinesisError::InternalFailure(format!("no shard of {name} covers hash key {key}")))?;
        let record = NewRecord { partition_key: req.partition_key, data: req.data, after };
        let seqs = self.append(shard, vec![record]).await?;
        Ok(GrpcResponse::new(pb::PutRecordResponse {
            shard_id: shard.id.to_string(),
            sequence_number: seqs[0].to_string(),
            encryption_type: ENCRYPTION_NONE.into(),
        }))
    }

    async fn put_records(&self, req: GrpcRequest<pb::PutRecordsRequest>) -> Reply<pb::PutRecordsResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
        if req.records.is_empty() || req.records.len() > PUT_RECORDS_COUNT_MAX {
            return Err(KinesisError::Validation(format!(
                "Records must hold 1 to {PUT_RECORDS_COUNT_MAX} entries, got {}",
                req.records.len()
            ))
            .into());
        }
        let mut total = 0usize;
        let mut keys = Vec::with_capacity(req.records.len());
        for entry in &req.records {
            validate::partition_key(&entry.partition_key)?;
            validate::data(&entry.data)?;
            keys.push(validate::hash_key(&entry.partition_key, entry.explicit_hash_key.as_deref())?);
            total += entry.data.len() + entry.partition_key.len();
        }
        if total > PUT_RECORDS_BYTES_MAX {
            return Err(KinesisError::InvalidArgument(format!(
                "Records size exceeds {PUT_RECORDS_BYTES_MAX} bytes (got {total})"
            ))
            .into());
        }
        let stream = self.live_stream(&name)?;
        // Group entries by shard, keeping request order within each shard.
        let mut by_shard: BTreeMap<ShardId, Vec<usize>> = BTreeMap::new();
        for (i, key) in keys.iter().enumerate() {
            let shard = stream
                .shard_for(*key)
                .ok_or_else(|| KinesisError::InternalFailure(format!("no shard of {name} covers hash key {key}")))?;
            by_shard.entry(shard.id).or_default().push(i);
        }
        let mut entries: Vec<Option<pb::PutRecordsRequestEntry>> = req.records.into_iter().map(Some).collect();
        let appends = by_shard.iter().map(|(shard_id, indexes)| {
            let records: Vec<NewRecord> = indexes
                .iter()
                .filter_map(|i| entries[*i].take())
                .map(|e| NewRecord { partition_key: e.partition_key, data: e.data, after: None })
                .collect();
            let shard = stream.shard(*shard_id).cloned();
            async move {
                match shard {
                    Some(shard) => self.append(&shard, records).await,
                    None => Err(KinesisError::InternalFailure("shard vanished".into())),
                }
            }
        });
        let outcomes = futures::future::join_all(appends).await;
        let mut results = vec![pb::PutRecordsResultEntry::default(); keys.len()];
        let mut failed = 0;
        for ((shard_id, indexes), outcome) in by_shard.iter().zip(outcomes) {
            match outcome {
                Ok(seqs) => {
                    for (i, seq) in indexes.iter().zip(seqs) {
                        results[*i].sequence_number = Some(seq.to_string());
                        results[*i].shard_id = Some(shard_id.to_string());
                    }
                }
                Err(e) => {
                    for i in indexes {
                        failed += 1;
                        results[*i].error_code = Some("InternalFailure".into());
                        results[*i].error_message = Some(e.to_string());
                    }
                }
            }
        }
        Ok(GrpcResponse::new(pb::PutRecordsResponse {
            failed_record_count: failed,
            records: results,
            encryption_type: ENCRYPTION_NONE.into(),
        }))
    }

    async fn get_shard_iterator(
        &self,
        req: GrpcRequest<pb::GetShardIteratorRequest>,
    ) -> Reply<pb::GetShardIteratorResponse> {
        let req = req.into_inner();
        let name = validate::stream_name(&req.stream_name, &req.stream_arn)?;
        let shard_id =
            req.shard_id.parse::<ShardId>().map_err(|e| KinesisError::Validation(format!("ShardId: {e}")))?;
        let stream = self.live_stream(&name)?;
        let shard = stream.shard(shard_id).ok_or_else(|| {
            KinesisError::ResourceNotFound(format!(
                "Shard {shard_id} in stream {name} under account {ACCOUNT_ID} does not exist"
            ))
        })?;
        let at_sequence = |what: &str| -> Result<u64, KinesisError> {
            let s = req
                .starting_sequence_number
                .as_deref()
                .ok_or_else(|| KinesisError::InvalidArgument(format!("{what} needs a StartingSequenceNumber")))?;
            let seq = validate::sequence_number(s, "StartingSequenceNumber")?;
            if seq.shard() != shard_id {
                return Err(KinesisError::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in GetShardIterator on shard {shard_id} in stream {name} under account {ACCOUNT_ID} is invalid because it did not come from this stream."
                )));
            }
            Ok(seq.counter())
        };
        // Where the iterator starts: a counter, or a position only the shard can tell.
        let from = match req.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => Some(0),
            "AT_SEQUENCE_NUMBER" => Some(at_sequence("AT_SEQUENCE_NUMBER")?),
            "AFTER_SEQUENCE_NUMBER" => Some(at_sequence("AFTER_SEQUENCE_NUMBER")?.saturating_add(1)),
            "AT_TIMESTAMP" | "LATEST" => None,
            other => {
                return Err(KinesisError::Validation(format!(
                    "ShardIteratorType must be one of AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST; got {other:?}"
                ))
                .into())
            }
        };
        let next_counter = match from {
            Some(counter) => counter,
            None => {
                let timestamp = match req.shard_iterator_type.as_str() {
                    "AT_TIMESTAMP" => Some(
                        req.timestamp
                            .ok_or_else(|| KinesisError::InvalidArgument("AT_TIMESTAMP needs a Timestamp".into()))?,
                    ),
                    _ => None,
                };
                let probe = ShardRead {
                    group: shard.group,
                    shard: shard.id,
                    from: timestamp.map_or(ReadFrom::Counter(0), ReadFrom::Timestamp),
                    limit: 0,
                    bytes_max: 0,
                };
                let reply = read(&self.node, &shard.replicas, &probe).await.map_err(KinesisError::from)?;
                match timestamp {
                    Some(_) => reply.next_counter,
                    // LATEST: just after the newest record at the time of the call.
                    None => reply.last_counter + 1,
                }
            }
        };
        let iterator = ShardIterator {
            stream: name,
            incarnation: stream.incarnation,
            shard: shard.id,
            group: shard.group,
            next_counter,
            issued_ms: self.now_ms(),
        };
        Ok(GrpcResponse::new(pb::GetShardIteratorResponse { shard_iterator: tokens::seal(&iterator) }))
    }

    async fn get_records(&self, req: GrpcRequest<pb::GetRecordsRequest>) -> Reply<pb::GetRecordsResponse> {
        let req = req.into_inner();
        let limit = validate::bounded(req.limit, 1, GET_RECORDS_LIMIT_MAX, GET_RECORDS_LIMIT_MAX, "Limit")?;
        let iterator: ShardIterator = tokens::open(&req.shard_iterator)
            .ok_or_else(|| KinesisError::InvalidArgument("ShardIterator is not valid".into()))?;
        let now = self.now_ms();
        if now - iterator.issued_ms > SHARD_ITERATOR_TTL_MS {
            return Err(KinesisError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {}, more than {} ms later.",
                iterator.issued_ms, now, SHARD_ITERATOR_TTL_MS
            ))
            .into());
        }
        let stream = self.live_stream(&iterator.stream)?;
        if stream.incarnation != iterator.incarnation {
            return Err(not_found(&iterator.stream).into());
        }
        let shard = stream
            .shard(iterator.shard)
            .ok_or_else(|| KinesisError::ResourceNotFound(format!("Shard {} does not exist", iterator.shard)))?;
        let read_req = ShardRead {
            group: shard.group,
            shard: shard.id,
            from: ReadFrom::Counter(iterator.next_counter),
            limit,
            bytes_max: GET_RECORDS_BYTES_MAX as u64,
        };
        let reply = read(&self.node, &shard.replicas, &read_req).await.map_err(KinesisError::from)?;
        let millis_behind_latest = reply.next_arrival_ms.map_or(0, |t| (now - t).max(0));
        let next = ShardIterator { next_counter: reply.next_counter, issued_ms: now, ..iterator };
        Ok(GrpcResponse::new(pb::GetRecordsResponse {
            records: reply
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
            next_shard_iterator: Some(tokens::seal(&next)),
            millis_behind_latest,
            child_shards: vec![],
        }))
    }
}
