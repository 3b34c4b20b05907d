//! The client against in-process mock nodes: leader routing, retries of ServiceUnavailable,
//! InternalFailure, overload and transport failures, the retry deadline, seeded jitter,
//! custom connectors, immediate Kinesis errors and pagination, resharding calls and the
//! shard map's refresh after a reshard, without a real cluster. The `runnel` binary runs
//! against the mock too: `get` and `tail` reading parents before children.
//!
//! Tests of retry timing run on tokio's paused clock: virtual time only moves when every
//! task waits on a timer, so they assert exact-ish durations without wall-clock margins.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runnel_client::hash_key::{HashKey, HashKeyRange};
use runnel_client::proto::admin_server::{Admin, AdminServer};
use runnel_client::proto::kinesis_server::{Kinesis, KinesisServer};
use runnel_client::proto::*;
use runnel_client::{
    is_closed, shard_hash_range, split_midpoint, Client, ClientConfig, ClientError, Connector, ErrorCode, RetryPolicy,
    ShardMap,
};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;
use tonic::{Code, Request, Response, Status};

const STREAM: &str = "s";
const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

/// What every mock node shares: the cluster's shape and a log of who served what.
#[derive(Default)]
struct World {
    cluster: DescribeClusterResponse,
    /// What ListShards returns, in this order; reshards change it.
    shards: Mutex<Vec<Shard>>,
    /// Each shard's records, read in pages of `PAGE` by GetRecords.
    records: HashMap<String, Vec<Record>>,
    /// The shards GetRecords reports ended (no next iterator) once read to the end, with
    /// the children it names there. A shard may be listed open and still end: it closed
    /// after the listing.
    ends: HashMap<String, Vec<ChildShard>>,
    /// Reshard calls to apply and then answer with InternalFailure, as if the answer was lost.
    lose_reshard_answers: Mutex<u32>,
    /// Closed shards retention expires just after the first complete listing: listed once,
    /// then gone (ResourceNotFoundException, and absent from later listings).
    expire_after_listing: Vec<String>,
    /// Complete listings served.
    listings: Mutex<u32>,
    /// (node id, action, virtual time) per request served.
    log: Mutex<Vec<(u64, &'static str, Instant)>>,
    /// Registered consumers of `s`, listed one per page.
    consumers: Mutex<Vec<Consumer>>,
}

/// Records per GetRecords page: small, so reads take several pages.
const PAGE: usize = 2;

impl World {
    fn new(cluster: DescribeClusterResponse, shards: Vec<Shard>) -> World {
        World { cluster, shards: Mutex::new(shards), ..World::default() }
    }

    fn shards(&self) -> Vec<Shard> {
        self.shards.lock().expect("shards lock").clone()
    }

    /// The open shard that stores a record with this key now, as the server decides.
    fn owner(&self, partition_key: &str, explicit_hash_key: Option<&str>) -> String {
        let map = ShardMap::from_shards(&self.shards()).expect("well-formed mock shards");
        map.shard_for_record(partition_key, explicit_hash_key).map_or("no-shard".into(), |s| s.to_string())
    }

    /// SplitShard: closes `parent` and appends two children.
    fn split(&self, parent: &str, at: &str) -> Result<(), Status> {
        let at: HashKey = at.parse().map_err(|_| invalid_argument())?;
        let mut shards = self.shards.lock().expect("shards lock");
        let index = shards.iter().position(|s| s.shard_id == parent).ok_or_else(invalid_argument)?;
        let range = shard_hash_range(&shards[index]).map_err(|_| invalid_argument())?;
        if is_closed(&shards[index]) || !(range.start < at && at <= range.end) {
            return Err(invalid_argument());
        }
        close(&mut shards[index]);
        let low = HashKeyRange { start: range.start, end: HashKey(at.0 - 1) };
        let high = HashKeyRange { start: at, end: range.end };
        for child in [low, high] {
            let id = format!("shardId-{:012}", shards.len());
            shards.push(Shard { parent_shard_id: Some(parent.to_string()), ..open_shard(&id, child) });
        }
        Ok(())
    }

    /// MergeShards: closes two adjacent shards and appends one child over both.
    fn merge(&self, shard: &str, adjacent: &str) -> Result<(), Status> {
        let mut shards = self.shards.lock().expect("shards lock");
        let find =
            |id: &str| shards.iter().position(|s| s.shard_id == id && !is_closed(s)).ok_or_else(invalid_argument);
        let (a, b) = (find(shard)?, find(adjacent)?);
        let ra = shard_hash_range(&shards[a]).map_err(|_| invalid_argument())?;
        let rb = shard_hash_range(&shards[b]).map_err(|_| invalid_argument())?;
        let union = match (ra.end.0.checked_add(1), rb.end.0.checked_add(1)) {
            (Some(next), _) if next == rb.start.0 => HashKeyRange { start: ra.start, end: rb.end },
            (_, Some(next)) if next == ra.start.0 => HashKeyRange { start: rb.start, end: ra.end },
            _ => return Err(invalid_argument()),
        };
        close(&mut shards[a]);
        close(&mut shards[b]);
        let id = format!("shardId-{:012}", shards.len());
        shards.push(Shard {
            parent_shard_id: Some(shard.to_string()),
            adjacent_parent_shard_id: Some(adjacent.to_string()),
            ..open_shard(&id, union)
        });
        Ok(())
    }

    /// The consumer a Describe/DeregisterStreamConsumer names: by ARN, or by stream ARN and name.
    fn consumer(&self, key: &DeregisterStreamConsumerRequest) -> Result<Consumer, Status> {
        let consumers = self.consumers.lock().expect("consumers lock");
        let found = consumers.iter().find(|c| {
            c.consumer_arn == key.consumer_arn
                || (key.consumer_arn.is_empty() && key.stream_arn == STREAM_ARN && c.consumer_name == key.consumer_name)
        });
        found.cloned().ok_or_else(|| kinesis_error(Code::NotFound, "ResourceNotFoundException"))
    }

    /// Whether this reshard's answer is to be lost (it took effect all the same).
    fn lose_answer(&self) -> bool {
        let mut lose = self.lose_reshard_answers.lock().expect("lose lock");
        let lost = *lose > 0;
        *lose = lose.saturating_sub(1);
        lost
    }
}

fn invalid_argument() -> Status {
    kinesis_error(Code::InvalidArgument, "InvalidArgumentException")
}

fn open_shard(id: &str, range: HashKeyRange) -> Shard {
    Shard {
        shard_id: id.to_string(),
        hash_key_range: Some(runnel_client::proto::HashKeyRange {
            starting_hash_key: range.start.to_string(),
            ending_hash_key: range.end.to_string(),
        }),
        sequence_number_range: Some(SequenceNumberRange {
            starting_sequence_number: "0".into(),
            ending_sequence_number: None,
        }),
        ..Default::default()
    }
}

fn close(shard: &mut Shard) {
    if let Some(range) = shard.sequence_number_range.as_mut() {
        range.ending_sequence_number = Some("99".into());
    }
}

/// How one node answers PutRecord: the scripted refusals first, one per request, then
/// `steady` (`None` accepts).
#[derive(Clone, Default)]
struct PutScript {
    first: Arc<Mutex<VecDeque<Status>>>,
    steady: Option<Status>,
}

impl PutScript {
    fn accept() -> PutScript {
        PutScript::default()
    }

    fn always(status: Status) -> PutScript {
        PutScript { steady: Some(status), ..PutScript::default() }
    }

    fn refuse_first(statuses: Vec<Status>) -> PutScript {
        PutScript { first: Arc::new(Mutex::new(statuses.into())), steady: None }
    }

    fn next(&self) -> Option<Status> {
        let scripted = self.first.lock().expect("script lock").pop_front();
        scripted.or_else(|| self.steady.clone())
    }
}

#[derive(Clone)]
struct MockNode {
    id: u64,
    put: PutScript,
    world: Arc<World>,
}

impl MockNode {
    fn served(&self, action: &'static str) {
        self.world.log.lock().expect("log lock").push((self.id, action, Instant::now()));
    }
}

fn kinesis_error(code: Code, name: &'static str) -> Status {
    let mut status = Status::new(code, format!("{name}: mock says no"));
    status.metadata_mut().insert(runnel_proto::ERROR_METADATA_KEY, MetadataValue::from_static(name));
    status
}

/// The mock's one stream, by ARN; any other is not found.
fn the_stream(stream_arn: &str) -> Result<(), Status> {
    if stream_arn == STREAM_ARN {
        Ok(())
    } else {
        Err(kinesis_error(Code::NotFound, "ResourceNotFoundException"))
    }
}

fn service_unavailable() -> Status {
    kinesis_error(Code::Unavailable, "ServiceUnavailable")
}

fn internal_failure() -> Status {
    kinesis_error(Code::Internal, "InternalFailure")
}

/// A quota refusal: final.
fn quota_exceeded() -> Status {
    kinesis_error(Code::ResourceExhausted, "LimitExceededException")
}

/// An overloaded node: retry after `millis`.
fn overloaded(millis: u64) -> Status {
    let mut status = quota_exceeded();
    let value = MetadataValue::try_from(millis.to_string()).expect("ascii digits");
    status.metadata_mut().insert(runnel_proto::RETRY_AFTER_METADATA_KEY, value);
    status
}

#[tonic::async_trait]
impl Kinesis for MockNode {
    type SubscribeToShardStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<SubscribeToShardEvent, Status>> + Send>>;

    async fn subscribe_to_shard(
        &self,
        _: Request<SubscribeToShardRequest>,
    ) -> Result<Response<Self::SubscribeToShardStream>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn create_stream(&self, _: Request<CreateStreamRequest>) -> Result<Response<CreateStreamResponse>, Status> {
        self.served("CreateStream");
        Ok(Response::new(CreateStreamResponse {}))
    }
    async fn delete_stream(&self, _: Request<DeleteStreamRequest>) -> Result<Response<DeleteStreamResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn describe_stream(
        &self,
        request: Request<DescribeStreamRequest>,
    ) -> Result<Response<DescribeStreamResponse>, Status> {
        self.served("DescribeStream");
        // Pages of one shard each, to exercise pagination.
        let start = request.get_ref().exclusive_start_shard_id.clone();
        let all = self.world.shards();
        let index = match start.as_str() {
            "" => 0,
            id => all.iter().position(|s| s.shard_id == id).map_or(usize::MAX, |i| i + 1),
        };
        let shards: Vec<Shard> = all.get(index).cloned().into_iter().collect();
        Ok(Response::new(DescribeStreamResponse {
            stream_description: Some(StreamDescription {
                stream_name: STREAM.into(),
                stream_status: "ACTIVE".into(),
                has_more_shards: index + 1 < all.len(),
                shards,
                ..Default::default()
            }),
        }))
    }
    async fn describe_stream_summary(
        &self,
        _: Request<DescribeStreamSummaryRequest>,
    ) -> Result<Response<DescribeStreamSummaryResponse>, Status> {
        self.served("DescribeStreamSummary");
        Ok(Response::new(DescribeStreamSummaryResponse {
            stream_description_summary: Some(StreamDescriptionSummary {
                stream_name: STREAM.into(),
                stream_arn: STREAM_ARN.into(),
                stream_status: "ACTIVE".into(),
                ..Default::default()
            }),
        }))
    }
    async fn list_streams(
        &self,
        request: Request<ListStreamsRequest>,
    ) -> Result<Response<ListStreamsResponse>, Status> {
        self.served("ListStreams");
        // Two pages: "a" then "b", linked by a token.
        let first = request.get_ref().next_token.is_empty();
        Ok(Response::new(ListStreamsResponse {
            stream_names: vec![if first { "a" } else { "b" }.into()],
            has_more_streams: first,
            next_token: first.then(|| "page-2".to_string()),
            stream_summaries: vec![],
        }))
    }
    async fn list_shards(&self, request: Request<ListShardsRequest>) -> Result<Response<ListShardsResponse>, Status> {
        self.served("ListShards");
        let request = request.get_ref();
        if !request.next_token.is_empty() && !request.stream_name.is_empty() {
            return Err(kinesis_error(Code::InvalidArgument, "InvalidArgumentException"));
        }
        // First page: the first shard; the token leads to the rest.
        let mut all = self.world.shards();
        if *self.world.listings.lock().expect("listings lock") > 0 {
            all.retain(|s| !self.world.expire_after_listing.contains(&s.shard_id));
        }
        if !request.next_token.is_empty() {
            *self.world.listings.lock().expect("listings lock") += 1;
        }
        let (shards, next_token) = if request.next_token.is_empty() {
            (all[..1].to_vec(), Some("rest".to_string()))
        } else {
            (all[1..].to_vec(), None)
        };
        Ok(Response::new(ListShardsResponse { shards, next_token }))
    }
    async fn put_record(&self, request: Request<PutRecordRequest>) -> Result<Response<PutRecordResponse>, Status> {
        self.served("PutRecord");
        let request = request.get_ref();
        match self.put.next() {
            // The sequence number tells the tests which node stored the record.
            None => Ok(Response::new(PutRecordResponse {
                shard_id: self.world.owner(&request.partition_key, request.explicit_hash_key.as_deref()),
                sequence_number: format!("served-by-{}", self.id),
                encryption_type: "NONE".into(),
            })),
            Some(status) => Err(status),
        }
    }
    async fn put_records(&self, request: Request<PutRecordsRequest>) -> Result<Response<PutRecordsResponse>, Status> {
        self.served("PutRecords");
        if let Some(status) = self.put.next() {
            return Err(status);
        }
        let records = request
            .get_ref()
            .records
            .iter()
            .map(|entry| PutRecordsResultEntry {
                sequence_number: Some(format!("served-by-{}", self.id)),
                shard_id: Some(self.world.owner(&entry.partition_key, entry.explicit_hash_key.as_deref())),
                ..Default::default()
            })
            .collect();
        Ok(Response::new(PutRecordsResponse { failed_record_count: 0, records, encryption_type: "NONE".into() }))
    }
    /// Iterators are `<shard>/<index of the next record>`.
    async fn get_shard_iterator(
        &self,
        request: Request<GetShardIteratorRequest>,
    ) -> Result<Response<GetShardIteratorResponse>, Status> {
        self.served("GetShardIterator");
        let request = request.get_ref();
        if self.world.expire_after_listing.contains(&request.shard_id) {
            return Err(kinesis_error(Code::NotFound, "ResourceNotFoundException"));
        }
        let records = self.world.records.get(&request.shard_id).map_or(&[][..], Vec::as_slice);
        let index = match request.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => 0,
            "LATEST" => records.len(),
            _ => return Err(invalid_argument()),
        };
        Ok(Response::new(GetShardIteratorResponse { shard_iterator: format!("{}/{index}", request.shard_id) }))
    }
    async fn get_records(&self, request: Request<GetRecordsRequest>) -> Result<Response<GetRecordsResponse>, Status> {
        self.served("GetRecords");
        let parsed = request.get_ref().shard_iterator.split_once('/').and_then(|(shard, index)| {
            let index: usize = index.parse().ok()?;
            Some((shard.to_string(), index))
        });
        // Iterators not made by this mock get an empty page that goes on.
        let Some((shard, index)) = parsed else {
            return Ok(Response::new(GetRecordsResponse {
                next_shard_iterator: Some("next".into()),
                ..Default::default()
            }));
        };
        let records = self.world.records.get(&shard).map_or(&[][..], Vec::as_slice);
        let next = (index + PAGE).min(records.len());
        let page = records.get(index..next).unwrap_or_default().to_vec();
        let at_end = next == records.len();
        let response = match self.world.ends.get(&shard) {
            Some(children) if at_end => GetRecordsResponse {
                records: page,
                next_shard_iterator: None,
                millis_behind_latest: 0,
                child_shards: children.clone(),
            },
            _ => GetRecordsResponse {
                records: page,
                next_shard_iterator: Some(format!("{shard}/{next}")),
                millis_behind_latest: if at_end { 0 } else { 1_000 },
                child_shards: vec![],
            },
        };
        Ok(Response::new(response))
    }
    async fn split_shard(&self, request: Request<SplitShardRequest>) -> Result<Response<SplitShardResponse>, Status> {
        self.served("SplitShard");
        let request = request.get_ref();
        self.world.split(&request.shard_to_split, &request.new_starting_hash_key)?;
        if self.world.lose_answer() {
            return Err(internal_failure());
        }
        Ok(Response::new(SplitShardResponse {}))
    }
    async fn merge_shards(
        &self,
        request: Request<MergeShardsRequest>,
    ) -> Result<Response<MergeShardsResponse>, Status> {
        self.served("MergeShards");
        let request = request.get_ref();
        self.world.merge(&request.shard_to_merge, &request.adjacent_shard_to_merge)?;
        Ok(Response::new(MergeShardsResponse {}))
    }
    async fn update_shard_count(
        &self,
        request: Request<UpdateShardCountRequest>,
    ) -> Result<Response<UpdateShardCountResponse>, Status> {
        self.served("UpdateShardCount");
        let request = request.get_ref();
        if request.scaling_type != "UNIFORM_SCALING" {
            return Err(invalid_argument());
        }
        let open = self.world.shards().iter().filter(|s| !is_closed(s)).count();
        Ok(Response::new(UpdateShardCountResponse {
            stream_name: request.stream_name.clone(),
            current_shard_count: i32::try_from(open).expect("few shards"),
            target_shard_count: request.target_shard_count,
            stream_arn: String::new(),
        }))
    }

    async fn increase_stream_retention_period(
        &self,
        _: Request<IncreaseStreamRetentionPeriodRequest>,
    ) -> Result<Response<IncreaseStreamRetentionPeriodResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn decrease_stream_retention_period(
        &self,
        _: Request<DecreaseStreamRetentionPeriodRequest>,
    ) -> Result<Response<DecreaseStreamRetentionPeriodResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }

    async fn add_tags_to_stream(
        &self,
        _: Request<AddTagsToStreamRequest>,
    ) -> Result<Response<AddTagsToStreamResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn remove_tags_from_stream(
        &self,
        _: Request<RemoveTagsFromStreamRequest>,
    ) -> Result<Response<RemoveTagsFromStreamResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn list_tags_for_stream(
        &self,
        _: Request<ListTagsForStreamRequest>,
    ) -> Result<Response<ListTagsForStreamResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn tag_resource(&self, _: Request<TagResourceRequest>) -> Result<Response<TagResourceResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn untag_resource(
        &self,
        _: Request<UntagResourceRequest>,
    ) -> Result<Response<UntagResourceResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn list_tags_for_resource(
        &self,
        _: Request<ListTagsForResourceRequest>,
    ) -> Result<Response<ListTagsForResourceResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn describe_limits(
        &self,
        _: Request<DescribeLimitsRequest>,
    ) -> Result<Response<DescribeLimitsResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn describe_account_settings(
        &self,
        _: Request<DescribeAccountSettingsRequest>,
    ) -> Result<Response<DescribeAccountSettingsResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn update_account_settings(
        &self,
        _: Request<UpdateAccountSettingsRequest>,
    ) -> Result<Response<UpdateAccountSettingsResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn put_resource_policy(
        &self,
        _: Request<PutResourcePolicyRequest>,
    ) -> Result<Response<PutResourcePolicyResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn get_resource_policy(
        &self,
        _: Request<GetResourcePolicyRequest>,
    ) -> Result<Response<GetResourcePolicyResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn delete_resource_policy(
        &self,
        _: Request<DeleteResourcePolicyRequest>,
    ) -> Result<Response<DeleteResourcePolicyResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn enable_enhanced_monitoring(
        &self,
        _: Request<EnableEnhancedMonitoringRequest>,
    ) -> Result<Response<EnhancedMonitoringOutput>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn disable_enhanced_monitoring(
        &self,
        _: Request<DisableEnhancedMonitoringRequest>,
    ) -> Result<Response<EnhancedMonitoringOutput>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn update_stream_mode(
        &self,
        _: Request<UpdateStreamModeRequest>,
    ) -> Result<Response<UpdateStreamModeResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn update_max_record_size(
        &self,
        _: Request<UpdateMaxRecordSizeRequest>,
    ) -> Result<Response<UpdateMaxRecordSizeResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn update_stream_warm_throughput(
        &self,
        _: Request<UpdateStreamWarmThroughputRequest>,
    ) -> Result<Response<UpdateStreamWarmThroughputResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn start_stream_encryption(
        &self,
        _: Request<StartStreamEncryptionRequest>,
    ) -> Result<Response<StartStreamEncryptionResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn stop_stream_encryption(
        &self,
        _: Request<StopStreamEncryptionRequest>,
    ) -> Result<Response<StopStreamEncryptionResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn register_stream_consumer(
        &self,
        request: Request<RegisterStreamConsumerRequest>,
    ) -> Result<Response<RegisterStreamConsumerResponse>, Status> {
        self.served("RegisterStreamConsumer");
        let request = request.into_inner();
        the_stream(&request.stream_arn)?;
        let mut consumers = self.world.consumers.lock().expect("consumers lock");
        if consumers.iter().any(|c| c.consumer_name == request.consumer_name) {
            return Err(kinesis_error(Code::AlreadyExists, "ResourceInUseException"));
        }
        let consumer = Consumer {
            consumer_arn: format!("{STREAM_ARN}/consumer/{}:1700000000", request.consumer_name),
            consumer_name: request.consumer_name,
            consumer_status: "CREATING".into(),
            consumer_creation_timestamp: 1_700_000_000_000,
        };
        consumers.push(Consumer { consumer_status: "ACTIVE".into(), ..consumer.clone() });
        consumers.sort_by(|a, b| a.consumer_name.cmp(&b.consumer_name));
        Ok(Response::new(RegisterStreamConsumerResponse { consumer: Some(consumer) }))
    }
    async fn deregister_stream_consumer(
        &self,
        request: Request<DeregisterStreamConsumerRequest>,
    ) -> Result<Response<DeregisterStreamConsumerResponse>, Status> {
        self.served("DeregisterStreamConsumer");
        let found = self.world.consumer(request.get_ref())?;
        self.world.consumers.lock().expect("consumers lock").retain(|c| c.consumer_arn != found.consumer_arn);
        Ok(Response::new(DeregisterStreamConsumerResponse {}))
    }
    async fn describe_stream_consumer(
        &self,
        request: Request<DescribeStreamConsumerRequest>,
    ) -> Result<Response<DescribeStreamConsumerResponse>, Status> {
        self.served("DescribeStreamConsumer");
        let r = request.into_inner();
        let key = DeregisterStreamConsumerRequest {
            stream_arn: r.stream_arn,
            consumer_name: r.consumer_name,
            consumer_arn: r.consumer_arn,
        };
        let c = self.world.consumer(&key)?;
        Ok(Response::new(DescribeStreamConsumerResponse {
            consumer_description: Some(ConsumerDescription {
                consumer_name: c.consumer_name,
                consumer_arn: c.consumer_arn,
                consumer_status: c.consumer_status,
                consumer_creation_timestamp: c.consumer_creation_timestamp,
                stream_arn: STREAM_ARN.into(),
            }),
        }))
    }
    async fn list_stream_consumers(
        &self,
        request: Request<ListStreamConsumersRequest>,
    ) -> Result<Response<ListStreamConsumersResponse>, Status> {
        self.served("ListStreamConsumers");
        let request = request.get_ref();
        the_stream(&request.stream_arn)?;
        // One consumer per page; the token is the index of the next one.
        let consumers = self.world.consumers.lock().expect("consumers lock");
        let index: usize = if request.next_token.is_empty() {
            0
        } else {
            request.next_token.parse().map_err(|_| kinesis_error(Code::InvalidArgument, "InvalidArgumentException"))?
        };
        Ok(Response::new(ListStreamConsumersResponse {
            consumers: consumers.get(index).cloned().into_iter().collect(),
            next_token: (index + 1 < consumers.len()).then(|| (index + 1).to_string()),
        }))
    }
}

#[tonic::async_trait]
impl Admin for MockNode {
    async fn describe_cluster(
        &self,
        _: Request<DescribeClusterRequest>,
    ) -> Result<Response<DescribeClusterResponse>, Status> {
        self.served("DescribeCluster");
        Ok(Response::new(DescribeClusterResponse { answered_by: self.id, ..self.world.cluster.clone() }))
    }
}

fn two_shards() -> Vec<Shard> {
    HashKeyRange::split_evenly(2)
        .into_iter()
        .enumerate()
        .map(|(i, r)| open_shard(&format!("shardId-{i:012}"), r))
        .collect()
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    (listener, address)
}

fn serve(listener: TcpListener, node: MockNode) {
    let server = tonic::transport::Server::builder()
        // Room for the largest PutRecords the tests send whole (tonic's default is 4 MiB).
        .add_service(KinesisServer::new(node.clone()).max_decoding_message_size(16 * 1024 * 1024))
        .add_service(AdminServer::new(node))
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
}

/// An address nothing listens on.
async fn dead_address() -> String {
    let (listener, address) = listener().await;
    drop(listener);
    address
}

fn quick_config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_attempts: 4,
            max_elapsed: Duration::from_secs(5),
        },
        jitter_seed: None,
        split_put_records: false,
    }
}

/// A policy bounded by time alone, for paused-clock tests.
fn patient(max_delay: Duration, max_elapsed: Duration) -> ClientConfig {
    let retry = RetryPolicy { initial_delay: Duration::from_millis(5), max_delay, max_attempts: 1_000, max_elapsed };
    ClientConfig { retry, ..ClientConfig::default() }
}

/// The cluster view of nodes at `addresses` (ids from 1), `leader` leading both shards of `s`.
fn cluster(addresses: &[&str], leader: u64) -> DescribeClusterResponse {
    DescribeClusterResponse {
        answered_by: 0,
        nodes: (1..)
            .zip(addresses)
            .map(|(node_id, a)| NodeState { node_id, address: a.to_string(), healthy: true, ..Default::default() })
            .collect(),
        groups: (0..2)
            .map(|i| GroupState {
                group_id: i + 1,
                stream_name: STREAM.into(),
                shard_id: format!("shardId-{i:012}"),
                leader: Some(leader),
                ..Default::default()
            })
            .collect(),
    }
}

/// Two nodes; node 2 leads both shards of stream `s`. Returns the world and addresses.
async fn two_nodes(put_on_1: PutScript, put_on_2: PutScript) -> (Arc<World>, String, String) {
    let (l1, a1) = listener().await;
    let (l2, a2) = listener().await;
    let world = Arc::new(World::new(cluster(&[&a1, &a2], 2), two_shards()));
    serve(l1, MockNode { id: 1, put: put_on_1, world: world.clone() });
    serve(l2, MockNode { id: 2, put: put_on_2, world: world.clone() });
    (world, a1, a2)
}

/// Two nodes; node 1 leads shard 0 of stream `s`, node 2 shard 1.
async fn two_leaders(put_on_1: PutScript, put_on_2: PutScript) -> (Arc<World>, String) {
    let (l1, a1) = listener().await;
    let (l2, a2) = listener().await;
    let mut view = cluster(&[&a1, &a2], 1);
    view.groups[1].leader = Some(2);
    let world = Arc::new(World::new(view, two_shards()));
    serve(l1, MockNode { id: 1, put: put_on_1, world: world.clone() });
    serve(l2, MockNode { id: 2, put: put_on_2, world: world.clone() });
    (world, a1)
}

/// One node, leading both shards of stream `s`.
async fn one_node(put: PutScript) -> (Arc<World>, String) {
    let (l1, a1) = listener().await;
    let world = Arc::new(World::new(cluster(&[&a1], 1), two_shards()));
    serve(l1, MockNode { id: 1, put, world: world.clone() });
    (world, a1)
}

fn served(world: &World, action: &str) -> Vec<u64> {
    world.log.lock().expect("log lock").iter().filter(|(_, a, _)| *a == action).map(|(n, _, _)| *n).collect()
}

/// The virtual time between consecutive requests for `action`.
fn gaps(world: &World, action: &str) -> Vec<Duration> {
    let log = world.log.lock().expect("log lock");
    let times: Vec<Instant> = log.iter().filter(|(_, a, _)| *a == action).map(|(_, _, at)| *at).collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn record(key: &str) -> PutRecordRequest {
    PutRecordRequest {
        stream_name: STREAM.into(),
        partition_key: key.into(),
        data: b"x".to_vec(),
        ..Default::default()
    }
}

#[tokio::test]
async fn puts_go_straight_to_the_shard_leader() {
    let (world, a1, _a2) = two_nodes(PutScript::accept(), PutScript::accept()).await;
    let client = Client::with_config(vec![a1], quick_config()).await.expect("client");
    for key in ["a", "b", "c"] {
        let response = client.put_record(record(key)).await.expect("put");
        assert_eq!(response.sequence_number, "served-by-2");
    }
    let batch = PutRecordsRequest {
        stream_name: STREAM.into(),
        records: ["a", "b"]
            .into_iter()
            .map(|k| PutRecordsRequestEntry { partition_key: k.into(), data: b"x".to_vec(), ..Default::default() })
            .collect(),
        ..Default::default()
    };
    let response = client.put_records(batch).await.expect("put records");
    assert_eq!(response.records[0].sequence_number.as_deref(), Some("served-by-2"));
    assert_eq!(served(&world, "PutRecord"), [2, 2, 2]);
    assert_eq!(served(&world, "PutRecords"), [2]);
    // The routing cache was filled once, not per record.
    assert_eq!(served(&world, "ListShards").len(), 2, "two pages, once");
    assert_eq!(served(&world, "DescribeCluster").len(), 1);
}

fn splitting() -> ClientConfig {
    ClientConfig { split_put_records: true, ..quick_config() }
}

fn batch_of(keys: &[String], data_bytes: usize) -> PutRecordsRequest {
    PutRecordsRequest {
        stream_name: STREAM.into(),
        records: keys
            .iter()
            .map(|k| PutRecordsRequestEntry {
                partition_key: k.clone(),
                data: vec![7; data_bytes],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// `count` keys, the shard each hashes to alternating between the two shards' halves.
fn keys_over_both_shards(world: &World, count: usize) -> Vec<String> {
    let (mut low, mut high): (Vec<String>, Vec<String>) =
        (0..4 * count).map(|i| format!("key-{i}")).partition(|k| world.owner(k, None) == "shardId-000000000000");
    assert!(low.len() >= count / 2 && high.len() >= count / 2, "md5 spreads keys over both halves");
    (0..count).map(|i| if i % 2 == 0 { low.remove(0) } else { high.remove(0) }).collect()
}

#[tokio::test]
async fn a_put_records_over_two_leaders_goes_to_each_leader_and_is_answered_in_request_order() {
    let (world, a1) = two_leaders(PutScript::accept(), PutScript::accept()).await;
    let client = Client::with_config(vec![a1], splitting()).await.expect("client");
    let keys = keys_over_both_shards(&world, 500);
    let response = client.put_records(batch_of(&keys, 10)).await.expect("put records");
    assert_eq!(response.failed_record_count, 0);
    assert_eq!(response.records.len(), keys.len());
    for (key, result) in keys.iter().zip(&response.records) {
        let shard = world.owner(key, None);
        let leader = if shard == "shardId-000000000000" { 1 } else { 2 };
        assert_eq!(result.shard_id.as_deref(), Some(shard.as_str()), "{key}");
        assert_eq!(result.sequence_number, Some(format!("served-by-{leader}")), "{key}");
    }
    let mut calls = served(&world, "PutRecords");
    calls.sort();
    assert_eq!(calls, [1, 2], "one call to each leader, none forwarded");

    // Off (the default), the same request goes whole to one node, which forwards.
    let whole = Client::with_config(vec![client.endpoints()[0].clone()], quick_config()).await.expect("client");
    whole.put_records(batch_of(&keys, 10)).await.expect("put records");
    assert_eq!(served(&world, "PutRecords").len(), 3);
}

#[tokio::test]
async fn a_put_records_kinesis_refuses_whole_is_sent_whole() {
    let (world, a1) = two_leaders(PutScript::accept(), PutScript::accept()).await;
    let client = Client::with_config(vec![a1], splitting()).await.expect("client");
    let keys = keys_over_both_shards(&world, 501);
    let too_many = batch_of(&keys, 1);
    let mut key_too_long = batch_of(&keys[..4], 1);
    key_too_long.records[3].partition_key = "k".repeat(257);
    let mut empty_key = batch_of(&keys[..4], 1);
    empty_key.records[0].partition_key.clear();
    // Records at the smallest record limit a stream may have (data and key together)...
    let sized = || {
        let mut batch = batch_of(&keys[..2], 0);
        for r in &mut batch.records {
            r.data = vec![7; 1024 * 1024 - r.partition_key.len()];
        }
        batch
    };
    let at_limit = sized();
    // ... and one a byte over it.
    let mut over_limit = sized();
    over_limit.records[1].data.push(7);
    // Over 5 MiB in all, of records each within the limit.
    let too_big = batch_of(&keys[..6], 1024 * 1024 - 16);
    let mut bad_hash_key = batch_of(&keys[..4], 1);
    bad_hash_key.records[2].explicit_hash_key = Some("not-a-number".into());
    for (name, request, calls) in [
        ("501 records", too_many, 1),
        ("a key of 257 characters", key_too_long, 1),
        ("an empty key", empty_key, 1),
        ("a record at the limit", at_limit, 2),
        ("a record over the limit", over_limit, 1),
        ("over 5 MiB", too_big, 1),
        ("a malformed explicit hash key", bad_hash_key, 1),
    ] {
        let before = served(&world, "PutRecords").len();
        client.put_records(request).await.expect("the mock takes anything");
        assert_eq!(served(&world, "PutRecords").len() - before, calls, "{name}");
    }
}

#[tokio::test]
async fn a_part_whose_leader_refuses_it_fails_only_its_own_records() {
    let refuse = || kinesis_error(Code::InvalidArgument, "ValidationException");
    let (world, a1) = two_leaders(PutScript::accept(), PutScript::always(refuse())).await;
    let client = Client::with_config(vec![a1], splitting()).await.expect("client");
    let keys = keys_over_both_shards(&world, 10);
    let response = client.put_records(batch_of(&keys, 10)).await.expect("put records");
    assert_eq!(response.failed_record_count, 5);
    for (i, result) in response.records.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(result.sequence_number.as_deref(), Some("served-by-1"));
            assert_eq!(result.error_code, None);
        } else {
            assert_eq!(result.error_code.as_deref(), Some("InternalFailure"));
            assert!(result.error_message.as_deref().is_some_and(|m| m.starts_with("Not written")), "{result:?}");
            assert_eq!((result.shard_id.as_deref(), result.sequence_number.as_deref()), (None, None));
        }
    }

    // When every part is refused, so is the call, with the first part's error.
    let (world, a1) = two_leaders(PutScript::always(refuse()), PutScript::always(refuse())).await;
    let client = Client::with_config(vec![a1], splitting()).await.expect("client");
    let err = client.put_records(batch_of(&keys_over_both_shards(&world, 10), 10)).await.expect_err("refused");
    assert_eq!(err.code(), Some(&ErrorCode::ValidationException));
}

#[tokio::test(start_paused = true)]
async fn a_failing_leader_is_passed_over_for_another_node() {
    let (world, a1, _a2) = two_nodes(PutScript::accept(), PutScript::refuse_first(vec![service_unavailable()])).await;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(1), Duration::from_secs(30))).await.expect("client");
    let response = client.put_record(record("k")).await.expect("put");
    assert_eq!(response.sequence_number, "served-by-1");
    assert_eq!(served(&world, "PutRecord"), [2, 1]);
    // The failure refreshed the cluster view.
    assert_eq!(served(&world, "DescribeCluster").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn service_unavailable_and_internal_failure_are_retried_until_the_node_answers() {
    let script = PutScript::refuse_first(vec![service_unavailable(), internal_failure(), service_unavailable()]);
    let (world, a1) = one_node(script).await;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(1), Duration::from_secs(30))).await.expect("client");
    let response = client.put_record(record("k")).await.expect("put");
    assert_eq!(response.sequence_number, "served-by-1");
    assert_eq!(served(&world, "PutRecord"), [1, 1, 1, 1]);
    // One view to route by, then one refresh per failure.
    assert_eq!(served(&world, "DescribeCluster").len(), 1 + 3);
}

#[tokio::test(start_paused = true)]
async fn an_overloaded_node_is_retried_after_the_wait_it_asks_for() {
    let (world, a1) = one_node(PutScript::refuse_first(vec![overloaded(700), overloaded(700)])).await;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(2), Duration::from_secs(30))).await.expect("client");
    let response = client.put_record(record("k")).await.expect("put");
    assert_eq!(response.sequence_number, "served-by-1");
    let gaps = gaps(&world, "PutRecord");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for gap in gaps {
        // The backoff alone would have waited 5-10 ms.
        assert!(gap >= Duration::from_millis(700) && gap < Duration::from_millis(750), "{gap:?}");
    }
    // An overloaded node says nothing about the cluster: no refresh.
    assert_eq!(served(&world, "DescribeCluster").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_overload_wait_is_capped_by_max_delay() {
    let (world, a1) = one_node(PutScript::refuse_first(vec![overloaded(60_000)])).await;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(1), Duration::from_secs(30))).await.expect("client");
    client.put_record(record("k")).await.expect("put");
    let gaps = gaps(&world, "PutRecord");
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0] >= Duration::from_secs(1) && gaps[0] < Duration::from_millis(1_050), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn an_overload_wait_never_runs_past_the_deadline() {
    let (world, a1) = one_node(PutScript::always(overloaded(1_000))).await;
    let config = patient(Duration::from_secs(1), Duration::from_millis(2_500));
    let client = Client::with_config(vec![a1], config).await.expect("client");
    let started = Instant::now();
    let err = client.put_record(record("k")).await.expect_err("always overloaded");
    // Attempts at 0 s, 1 s and 2 s; the next would start at 3 s, past the deadline.
    match err {
        ClientError::Unavailable { attempts, last, .. } => {
            assert_eq!(attempts, 3);
            assert!(last.contains("LimitExceededException"), "{last}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(started.elapsed() < config.retry.max_elapsed, "{:?}", started.elapsed());
    assert_eq!(served(&world, "PutRecord").len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_quota_refusal_returns_at_once() {
    let (world, a1) = one_node(PutScript::always(quota_exceeded())).await;
    let client = Client::with_config(vec![a1], ClientConfig::default()).await.expect("client");
    let started = Instant::now();
    let err = client.put_record(record("k")).await.expect_err("over quota");
    assert_eq!(err.code(), Some(&ErrorCode::LimitExceededException));
    assert_eq!(served(&world, "PutRecord"), [1], "no retry");
    assert_eq!(started.elapsed(), Duration::ZERO, "no backoff");
}

#[tokio::test]
async fn kinesis_errors_return_at_once() {
    let (world, _a1, _a2) = two_nodes(PutScript::accept(), PutScript::accept()).await;
    let (l3, a3) = listener().await;
    let not_found = PutScript::always(kinesis_error(Code::NotFound, "ResourceNotFoundException"));
    serve(l3, MockNode { id: 3, put: not_found, world: world.clone() });
    let client = Client::with_config(vec![a3], quick_config()).await.expect("client");
    // Stream "other" has no cached leader, so the put goes to the seed, which refuses.
    let err = client
        .put_record(PutRecordRequest { stream_name: "other".into(), ..record("k") })
        .await
        .expect_err("not found");
    assert_eq!(err.code(), Some(&ErrorCode::ResourceNotFoundException));
    assert_eq!(served(&world, "PutRecord"), [3], "no retry");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_ends_retries() {
    let (world, a1) = one_node(PutScript::always(Status::unavailable("mock is down"))).await;
    let config = ClientConfig::default();
    let client = Client::with_config(vec![a1], config).await.expect("client");
    let started = Instant::now();
    let err = client.put_record(record("k")).await.expect_err("never answers");
    let took = started.elapsed();
    let budget = config.retry.max_elapsed;
    assert!(took < budget && took + config.retry.max_delay >= budget, "gave up after {took:?}");
    match err {
        ClientError::Unavailable { attempts, elapsed, last } => {
            // Far more than the old bound of 10 attempts, far fewer than the safety bound.
            assert!(attempts > 20 && attempts < config.retry.max_attempts, "{attempts} attempts");
            assert_eq!(served(&world, "PutRecord").len(), attempts as usize);
            assert!(elapsed <= took, "{elapsed:?}");
            assert!(last.contains("mock is down"), "{last}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// The virtual times between the attempts of a call that never succeeds, with this seed.
async fn retry_gaps(jitter_seed: Option<u64>) -> Vec<Duration> {
    let (world, a1) = one_node(PutScript::always(service_unavailable())).await;
    let retry = RetryPolicy {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(500),
        max_attempts: 12,
        max_elapsed: Duration::from_secs(60),
    };
    let config = ClientConfig { retry, jitter_seed, ..ClientConfig::default() };
    let client = Client::with_config(vec![a1], config).await.expect("client");
    let err = client.put_record(record("k")).await.expect_err("never answers");
    assert!(matches!(err, ClientError::Unavailable { attempts: 12, .. }), "{err:?}");
    gaps(&world, "PutRecord")
}

#[tokio::test(start_paused = true)]
async fn the_same_jitter_seed_gives_the_same_delays() {
    let first = retry_gaps(Some(42)).await;
    assert_eq!(first.len(), 11);
    assert_eq!(first, retry_gaps(Some(42)).await);
    assert_ne!(first, retry_gaps(Some(43)).await);
    assert_ne!(first, retry_gaps(None).await);
}

#[tokio::test]
async fn a_custom_connector_makes_every_channel() {
    let (world, a1, a2) = two_nodes(PutScript::accept(), PutScript::accept()).await;
    let made: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = made.clone();
    let connector: Connector = Arc::new(move |address: &str| {
        log.lock().expect("connector log").push(address.to_string());
        let endpoint = Endpoint::from_shared(address.to_string()).map_err(|e| e.to_string())?;
        Ok(endpoint.connect_lazy())
    });
    let client = Client::with_connector(vec![a1.clone()], quick_config(), connector).await.expect("client");
    assert_eq!(*made.lock().expect("connector log"), std::slice::from_ref(&a1), "the seed's channel");
    // The put goes to node 2, which only the cluster view names.
    for key in ["a", "b"] {
        assert_eq!(client.put_record(record(key)).await.expect("put").sequence_number, "served-by-2");
    }
    client.kinesis_at(&a2).expect("stub");
    assert_eq!(served(&world, "PutRecord"), [2, 2]);
    assert_eq!(*made.lock().expect("connector log"), [a1, a2], "one channel per node");
}

#[tokio::test]
async fn a_connector_refusing_a_seed_fails_the_client() {
    let connector: Connector = Arc::new(|_: &str| Err("unreachable in this simulation".to_string()));
    let err = Client::with_connector(vec!["http://10.0.0.1:50051".into()], ClientConfig::default(), connector)
        .await
        .expect_err("refused");
    match err {
        ClientError::InvalidEndpoint { endpoint, reason } => {
            assert_eq!(endpoint, "http://10.0.0.1:50051");
            assert_eq!(reason, "unreachable in this simulation");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn transport_failures_move_on_to_another_node() {
    let (world, a1, _a2) = two_nodes(PutScript::accept(), PutScript::accept()).await;
    let client = Client::with_config(vec![dead_address().await, a1], quick_config()).await.expect("client");
    for _ in 0..4 {
        client
            .get_records(GetRecordsRequest { shard_iterator: "it".into(), ..Default::default() })
            .await
            .expect("get records");
    }
    assert_eq!(served(&world, "GetRecords").len(), 4);
}

#[tokio::test]
async fn retries_stop_at_the_attempt_bound() {
    let mut config = quick_config();
    // Only the attempt bound can end this call in time.
    config.retry.max_elapsed = Duration::from_secs(3_600);
    let client = Client::with_config(vec![dead_address().await, dead_address().await], config).await.expect("client");
    let err = client.describe_stream_summary(STREAM).await.expect_err("nobody home");
    match err {
        ClientError::Unavailable { attempts, .. } => assert_eq!(attempts, 4),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn listings_follow_every_page() {
    let (_world, a1, _a2) = two_nodes(PutScript::accept(), PutScript::accept()).await;
    let client = Client::with_config(vec![a1], quick_config()).await.expect("client");
    let streams = client.list_streams().await.expect("list streams");
    assert_eq!(streams.stream_names, ["a", "b"]);
    assert!(!streams.has_more_streams);
    let shards = client.list_shards(STREAM).await.expect("list shards");
    assert_eq!(shards.len(), 2);
    let description = client.describe_stream(STREAM).await.expect("describe");
    assert_eq!(description.shards.len(), 2);
    assert!(!description.has_more_shards);
    let summary = client.wait_for_active(STREAM, Duration::from_secs(2)).await.expect("active");
    assert_eq!(summary.stream_status, "ACTIVE");
    let cluster = client.describe_cluster().await.expect("cluster");
    assert_eq!(cluster.nodes.len(), 2);
}

#[tokio::test]
async fn resharding_calls_reach_the_server_and_a_closed_shard_is_refused_at_once() {
    let (world, a1) = one_node(PutScript::accept()).await;
    let client = Client::with_config(vec![a1], quick_config()).await.expect("client");
    let parent = "shardId-000000000000";
    let at = split_midpoint(shard_hash_range(&world.shards()[0]).expect("range")).expect("splittable");
    client.split_shard(STREAM, parent, &at.to_string()).await.expect("split");
    let shards = client.list_shards(STREAM).await.expect("list shards");
    assert_eq!(shards.len(), 4);
    assert!(is_closed(&shards[0]));
    for child in &shards[2..] {
        assert_eq!(child.parent_shard_id.as_deref(), Some(parent));
    }
    assert_eq!(shard_hash_range(&shards[3]).expect("range").start, at);

    let err = client.split_shard(STREAM, parent, &at.to_string()).await.expect_err("already split");
    assert_eq!(err.code(), Some(&ErrorCode::InvalidArgumentException));
    assert_eq!(served(&world, "SplitShard"), [1, 1], "no retry of a refusal");

    client.merge_shards(STREAM, "shardId-000000000002", "shardId-000000000003").await.expect("merge");
    let shards = client.list_shards(STREAM).await.expect("list shards");
    let merged = &shards[4];
    assert_eq!(merged.parent_shard_id.as_deref(), Some("shardId-000000000002"));
    assert_eq!(merged.adjacent_parent_shard_id.as_deref(), Some("shardId-000000000003"));
    assert_eq!(shard_hash_range(merged).ok(), shard_hash_range(&shards[0]).ok(), "the children's union");

    assert_eq!(client.update_shard_count(STREAM, 4).await.expect("scale"), (2, 4));
}

#[tokio::test(start_paused = true)]
async fn a_split_whose_answer_was_lost_is_retried_and_then_reports_the_shard_already_split() {
    let (world, a1) = one_node(PutScript::accept()).await;
    *world.lose_reshard_answers.lock().expect("lose lock") = 1;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(1), Duration::from_secs(30))).await.expect("client");
    let at = split_midpoint(shard_hash_range(&world.shards()[0]).expect("range")).expect("splittable");
    let err = client.split_shard(STREAM, "shardId-000000000000", &at.to_string()).await.expect_err("second attempt");
    // What the client documents: the retry is refused although the split happened, once.
    assert_eq!(err.code(), Some(&ErrorCode::InvalidArgumentException));
    assert_eq!(served(&world, "SplitShard").len(), 2);
    assert_eq!(world.shards().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_write_stored_in_an_unexpected_shard_refreshes_the_shard_map() {
    let (world, a1) = one_node(PutScript::accept()).await;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(1), Duration::from_secs(30))).await.expect("client");
    let parent = "shardId-000000000000";
    // md5("a") lies in the lower half of the key space.
    assert_eq!(client.put_record(record("a")).await.expect("put").shard_id, parent);
    assert_eq!(served(&world, "ListShards").len(), 2, "one listing, two pages");
    let views = served(&world, "DescribeCluster").len();

    // Another client splits the shard: the server now stores "a" in a child.
    let at = split_midpoint(shard_hash_range(&world.shards()[0]).expect("range")).expect("splittable");
    world.split(parent, &at.to_string()).expect("split");
    let child = world.owner("a", None);
    assert!(child == "shardId-000000000002" || child == "shardId-000000000003", "{child}");

    // A map just fetched is kept: during a reshard the listing can lag the writes.
    for _ in 0..2 {
        assert_eq!(client.put_record(record("a")).await.expect("put").shard_id, child);
    }
    assert_eq!(served(&world, "ListShards").len(), 2);

    // Older, it is dropped on the first answer that names another shard, here a batch's ...
    tokio::time::sleep(Duration::from_secs(2)).await;
    let batch = PutRecordsRequest {
        stream_name: STREAM.into(),
        records: ["b", "a"]
            .into_iter()
            .map(|k| PutRecordsRequestEntry { partition_key: k.into(), data: b"x".to_vec(), ..Default::default() })
            .collect(),
        ..Default::default()
    };
    let response = client.put_records(batch).await.expect("put records");
    assert_eq!(response.records[1].shard_id.as_deref(), Some(child.as_str()));
    assert_eq!(served(&world, "ListShards").len(), 2, "dropped, not refetched yet");

    // ... and the next write fetches the children, and a cluster view naming their leaders.
    client.put_record(record("a")).await.expect("put");
    assert_eq!(served(&world, "ListShards").len(), 4);
    assert_eq!(served(&world, "DescribeCluster").len(), views + 1);

    // The new map predicts the child: no more refetches, however old it gets.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..3 {
        assert_eq!(client.put_record(record("a")).await.expect("put").shard_id, child);
    }
    assert_eq!(served(&world, "ListShards").len(), 4);
}

/// Each shard of `lineage_world` by number, with the data of its records.
const LINEAGE_RECORDS: [(u32, &[&str]); 7] = [
    (0, &["0-a", "0-b", "0-c"]),
    (1, &["1-a"]),
    (2, &["2-a", "2-b"]),
    (3, &["3-a"]),
    (4, &["4-a", "4-b"]),
    (5, &["5-a"]),
    (6, &["6-a"]),
];

/// (parent, child) in `lineage_world`.
const LINEAGE_EDGES: [(u32, u32); 6] = [(0, 2), (0, 3), (2, 5), (2, 6), (3, 4), (1, 4)];

/// Ids sort newest first (unlike the server's), so that neither they nor the listing's
/// order is a guide to the reading order.
fn shard_name(n: u32) -> String {
    format!("shardId-{:012}", 100 - n)
}

/// One node serving a stream that has been resharded: 0 split into 2 and 3; 3 merged with
/// 1 into 4; and, after the listing, 2 split into 5 and 6 (listed open, 2 ends when read,
/// naming children the listing lacks). Listed newest first.
async fn lineage_world() -> String {
    lineage_world_expiring(&[]).await
}

/// `lineage_world`, with the shards `expiring` expired just after the first listing.
async fn lineage_world_expiring(expiring: &[u32]) -> String {
    let (listener, address) = listener().await;
    let q = HashKeyRange::split_evenly(4);
    let span = |a: usize, b: usize| HashKeyRange { start: q[a].start, end: q[b].end };
    let shard = |n: u32, range: HashKeyRange, parents: &[u32], closed: bool| {
        let mut shard = Shard {
            parent_shard_id: parents.first().map(|p| shard_name(*p)),
            adjacent_parent_shard_id: parents.get(1).map(|p| shard_name(*p)),
            ..open_shard(&shard_name(n), range)
        };
        if closed {
            close(&mut shard);
        }
        shard
    };
    let listing = vec![
        shard(4, span(1, 3), &[3, 1], false),
        shard(3, span(1, 1), &[0], true),
        shard(2, span(0, 0), &[0], false),
        shard(1, span(2, 3), &[], true),
        shard(0, span(0, 1), &[], true),
    ];
    let records = LINEAGE_RECORDS
        .iter()
        .map(|(n, data)| {
            let records = (0u32..)
                .zip(data.iter())
                .map(|(i, d)| Record {
                    sequence_number: (n * 100 + i + 1).to_string(),
                    data: d.as_bytes().to_vec(),
                    partition_key: "k".into(),
                    ..Default::default()
                })
                .collect();
            (shard_name(*n), records)
        })
        .collect();
    let child = |n: u32, parents: &[u32]| ChildShard {
        shard_id: shard_name(n),
        parent_shards: parents.iter().map(|p| shard_name(*p)).collect(),
        hash_key_range: None,
    };
    let ends = HashMap::from([
        (shard_name(0), vec![child(2, &[0]), child(3, &[0])]),
        (shard_name(1), vec![child(4, &[3, 1])]),
        (shard_name(2), vec![child(5, &[2]), child(6, &[2])]),
        (shard_name(3), vec![child(4, &[3, 1])]),
    ]);
    let expire_after_listing = expiring.iter().map(|n| shard_name(*n)).collect();
    let world = Arc::new(World { records, ends, expire_after_listing, ..World::new(cluster(&[&address], 1), listing) });
    serve(listener, MockNode { id: 1, put: PutScript::accept(), world });
    address
}

/// What a run of the `runnel` binary printed.
struct Run {
    stdout: Vec<String>,
    stderr: String,
    success: bool,
}

/// Runs the `runnel` binary against `endpoint` until it exits, or until it has printed
/// `stop_after` lines (then stops it: `tail` runs until Ctrl-C).
async fn runnel(endpoint: &str, args: &[&str], stop_after: Option<usize>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runnel"));
    command.arg("--endpoint").arg(endpoint).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The mock serves on this runtime: wait for the process on a blocking thread.
    let run = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("spawn runnel");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            lines.push(line);
            if stop_after.is_some_and(|n| lines.len() >= n) {
                child.kill().expect("stop runnel");
                break;
            }
        }
        let status = child.wait().expect("wait for runnel");
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
        }
        Run { stdout: lines, stderr, success: status.success() }
    });
    // A run that never prints what is awaited fails here; the process then gives up on
    // its own once the mock is gone.
    tokio::time::timeout(Duration::from_secs(30), run).await.expect("runnel finished in time").expect("runner")
}

/// (shard, data) of each record line `get` and `tail` print (tab-separated text).
fn records_read(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "not a record line: {line:?}");
            (fields[0].to_string(), fields[3].to_string())
        })
        .collect()
}

/// Checks `read` against `lineage_world`: each shard's records come from that shard, in
/// order, without gaps; a child's records come only after all of each parent's.
fn assert_read_in_lineage_order(read: &[(String, String)]) {
    let of = |n: u32| -> Vec<usize> {
        read.iter().enumerate().filter(|(_, (shard, _))| *shard == shard_name(n)).map(|(i, _)| i).collect()
    };
    for (n, data) in LINEAGE_RECORDS {
        let got: Vec<&str> = of(n).into_iter().map(|i| read[i].1.as_str()).collect();
        assert_eq!(got, data[..got.len()], "shard {n}'s records, in order: {read:?}");
    }
    for (parent, child) in LINEAGE_EDGES {
        let Some(first_of_child) = of(child).first().copied() else { continue };
        let expected = LINEAGE_RECORDS[parent as usize].1.len();
        let of_parent = of(parent);
        assert_eq!(of_parent.len(), expected, "shard {child} read before its parent {parent} was finished: {read:?}");
        assert!(
            of_parent.iter().all(|&i| i < first_of_child),
            "shard {child} read before its parent {parent}: {read:?}"
        );
    }
}

fn all_records() -> Vec<String> {
    let mut all: Vec<String> =
        LINEAGE_RECORDS.iter().flat_map(|(_, data)| data.iter().map(|d| d.to_string())).collect();
    all.sort();
    all
}

fn sorted_data(read: &[(String, String)]) -> Vec<String> {
    let mut data: Vec<String> = read.iter().map(|(_, d)| d.clone()).collect();
    data.sort();
    data
}

#[tokio::test]
async fn get_reads_every_parent_to_its_end_before_its_children() {
    let endpoint = lineage_world().await;
    let run = runnel(&endpoint, &["get", STREAM], None).await;
    assert!(run.success, "{}", run.stderr);
    let read = records_read(&run.stdout);
    assert_read_in_lineage_order(&read);
    // Including 5 and 6, which the listing lacks.
    assert_eq!(sorted_data(&read), all_records());

    let run = runnel(&endpoint, &["get", STREAM, "--limit", "5"], None).await;
    assert!(run.success, "{}", run.stderr);
    let read = records_read(&run.stdout);
    assert_eq!(read.len(), 5);
    assert_read_in_lineage_order(&read);
}

#[tokio::test]
async fn tail_from_the_start_prints_parents_before_children() {
    let endpoint = lineage_world().await;
    let expected = all_records().len();
    let run = runnel(&endpoint, &["tail", STREAM, "--from-start", "--poll-ms", "50"], Some(expected)).await;
    let read = records_read(&run.stdout);
    assert_read_in_lineage_order(&read);
    assert_eq!(sorted_data(&read), all_records(), "{}", run.stderr);
}

/// Shard 0 (closed, a parent of 2 and 3) expires between the listing and its read: `get`
/// and `tail` go on with its children instead of failing or waiting for it forever.
#[tokio::test]
async fn a_parent_that_expired_after_the_listing_is_passed_over_for_its_children() {
    let endpoint = lineage_world_expiring(&[0]).await;
    let mut expected: Vec<String> = all_records().into_iter().filter(|d| !d.starts_with("0-")).collect();
    expected.sort();
    let run = runnel(&endpoint, &["get", STREAM], None).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(sorted_data(&records_read(&run.stdout)), expected, "{}", run.stderr);

    let endpoint = lineage_world_expiring(&[0]).await;
    let run = runnel(&endpoint, &["tail", STREAM, "--from-start", "--poll-ms", "50"], Some(expected.len())).await;
    assert_eq!(sorted_data(&records_read(&run.stdout)), expected, "{}", run.stderr);
}

#[tokio::test]
async fn tail_from_latest_follows_the_children_of_open_shards_from_their_start() {
    let endpoint = lineage_world().await;
    // Open in the listing: 2 and 4, both read from LATEST (nothing). 2 ends; its children
    // 5 and 6 came after the tail began and are read whole.
    let run = runnel(&endpoint, &["tail", STREAM, "--poll-ms", "50"], Some(2)).await;
    let read = records_read(&run.stdout);
    assert_eq!(sorted_data(&read), ["5-a", "6-a"], "{}", run.stderr);
}

#[tokio::test]
async fn the_cli_splits_at_the_midpoint_merges_scales_and_describes_the_lineage() {
    let (world, endpoint) = one_node(PutScript::accept()).await;
    let at = split_midpoint(shard_hash_range(&world.shards()[0]).expect("range")).expect("splittable");

    let run = runnel(&endpoint, &["--json", "stream", "split", STREAM, "shardId-000000000000"], None).await;
    assert!(run.success, "{}", run.stderr);
    let split: serde_json::Value = serde_json::from_str(&run.stdout.join("\n")).expect("one JSON document");
    assert_eq!(split["new_starting_hash_key"], at.to_string());
    assert_eq!(split["stream_status"], "ACTIVE");
    let children: Vec<&str> =
        split["child_shards"].as_array().expect("children").iter().filter_map(|c| c["shard_id"].as_str()).collect();
    assert_eq!(children, ["shardId-000000000002", "shardId-000000000003"]);

    let run = runnel(&endpoint, &["stream", "describe", STREAM], None).await;
    assert!(run.success, "{}", run.stderr);
    let line = |id: &str| run.stdout.iter().find(|l| l.contains(id)).cloned().unwrap_or_default();
    assert!(line("shardId-000000000000").contains("CLOSED"), "{:?}", run.stdout);
    assert!(line("shardId-000000000000").contains("..=99"), "the ending sequence number: {:?}", run.stdout);
    assert!(line("shardId-000000000001").contains("OPEN"), "{:?}", run.stdout);
    assert!(line("shardId-000000000003").contains("parents shardId-000000000000"), "{:?}", run.stdout);

    let run = runnel(
        &endpoint,
        &["stream", "merge", STREAM, "shardId-000000000002", "shardId-000000000003", "--no-wait"],
        None,
    )
    .await;
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.join("\n").contains("the stream is UPDATING"), "{:?}", run.stdout);
    assert_eq!(world.shards().len(), 5);

    let run = runnel(&endpoint, &["--json", "stream", "scale", STREAM, "4"], None).await;
    assert!(run.success, "{}", run.stderr);
    let scale: serde_json::Value = serde_json::from_str(&run.stdout.join("\n")).expect("one JSON document");
    assert_eq!((scale["current_shard_count"].as_u64(), scale["target_shard_count"].as_u64()), (Some(2), Some(4)));

    // A closed shard has no default split point.
    let run = runnel(&endpoint, &["stream", "split", STREAM, "shardId-000000000000"], None).await;
    assert!(!run.success);
    assert!(run.stderr.contains("closed"), "{}", run.stderr);
}

#[tokio::test]
async fn the_cli_registers_lists_describes_and_deregisters_consumers_by_stream_name() {
    let (world, endpoint) = one_node(PutScript::accept()).await;
    for name in ["b-app", "a-app"] {
        let run = runnel(&endpoint, &["consumer", "register", STREAM, name], None).await;
        assert!(run.success, "{}", run.stderr);
        assert!(run.stdout.join("\n").contains(&format!("consumer {name} of stream s is ACTIVE")), "{:?}", run.stdout);
    }
    let run = runnel(&endpoint, &["consumer", "register", STREAM, "a-app", "--no-wait"], None).await;
    assert!(!run.success);
    assert!(run.stderr.contains("ResourceInUseException"), "{}", run.stderr);

    // Two pages of one consumer each, merged.
    let run = runnel(&endpoint, &["--json", "consumer", "list", STREAM], None).await;
    assert!(run.success, "{}", run.stderr);
    let listing: serde_json::Value = serde_json::from_str(&run.stdout.join("\n")).expect("one JSON document");
    let names: Vec<&str> = listing["consumers"]
        .as_array()
        .expect("consumers")
        .iter()
        .filter_map(|c| c["consumer_name"].as_str())
        .collect();
    assert_eq!(names, ["a-app", "b-app"]);
    assert_eq!(served(&world, "ListStreamConsumers").len(), 2);

    let run = runnel(&endpoint, &["consumer", "describe", STREAM, "a-app"], None).await;
    assert!(run.success, "{}", run.stderr);
    let text = run.stdout.join("\n");
    assert!(text.contains(&format!("ARN:         {STREAM_ARN}/consumer/a-app:1700000000")), "{text}");
    assert!(text.contains("Status:      ACTIVE"), "{text}");

    let run = runnel(&endpoint, &["consumer", "deregister", STREAM, "a-app"], None).await;
    assert!(run.success, "{}", run.stderr);
    let run = runnel(&endpoint, &["consumer", "describe", STREAM, "a-app"], None).await;
    assert!(!run.success);
    assert!(run.stderr.contains("ResourceNotFoundException"), "{}", run.stderr);
    let run = runnel(&endpoint, &["consumer", "list", STREAM], None).await;
    assert_eq!(run.stdout, [format!("b-app\tACTIVE\t{STREAM_ARN}/consumer/b-app:1700000000")], "{}", run.stderr);
}
