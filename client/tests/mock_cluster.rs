//! The client against in-process mock nodes: leader routing, retries of ServiceUnavailable,
//! InternalFailure, overload and transport failures, the retry deadline, seeded jitter,
//! custom connectors, immediate Kinesis errors and pagination, without a real cluster.
//!
//! Tests of retry timing run on tokio's paused clock: virtual time only moves when every
//! task waits on a timer, so they assert exact-ish durations without wall-clock margins.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runnel_client::hash_key::HashKeyRange;
use runnel_client::proto::admin_server::{Admin, AdminServer};
use runnel_client::proto::kinesis_server::{Kinesis, KinesisServer};
use runnel_client::proto::*;
use runnel_client::{Client, ClientConfig, ClientError, Connector, ErrorCode, RetryPolicy};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;
use tonic::{Code, Request, Response, Status};

const STREAM: &str = "s";

/// What every mock node shares: the cluster's shape and a log of who served what.
#[derive(Default)]
struct World {
    cluster: DescribeClusterResponse,
    shards: Vec<Shard>,
    /// (node id, action, virtual time) per request served.
    log: Mutex<Vec<(u64, &'static str, Instant)>>,
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
        let index = match start.as_str() {
            "" => 0,
            id => self.world.shards.iter().position(|s| s.shard_id == id).map_or(usize::MAX, |i| i + 1),
        };
        let shards: Vec<Shard> = self.world.shards.get(index).cloned().into_iter().collect();
        Ok(Response::new(DescribeStreamResponse {
            stream_description: Some(StreamDescription {
                stream_name: STREAM.into(),
                stream_status: "ACTIVE".into(),
                has_more_shards: index + 1 < self.world.shards.len(),
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
        let (shards, next_token) = if request.next_token.is_empty() {
            (self.world.shards[..1].to_vec(), Some("rest".to_string()))
        } else {
            (self.world.shards[1..].to_vec(), None)
        };
        Ok(Response::new(ListShardsResponse { shards, next_token }))
    }
    async fn put_record(&self, request: Request<PutRecordRequest>) -> Result<Response<PutRecordResponse>, Status> {
        self.served("PutRecord");
        match self.put.next() {
            None => Ok(Response::new(PutRecordResponse {
                shard_id: format!("served-by-{}", self.id),
                sequence_number: request.get_ref().partition_key.clone(),
                encryption_type: "NONE".into(),
            })),
            Some(status) => Err(status),
        }
    }
    async fn put_records(&self, request: Request<PutRecordsRequest>) -> Result<Response<PutRecordsResponse>, Status> {
        self.served("PutRecords");
        let records = request
            .get_ref()
            .records
            .iter()
            .map(|_| PutRecordsResultEntry {
                sequence_number: Some("1".into()),
                shard_id: Some(format!("served-by-{}", self.id)),
                ..Default::default()
            })
            .collect();
        Ok(Response::new(PutRecordsResponse { failed_record_count: 0, records, encryption_type: "NONE".into() }))
    }
    async fn get_shard_iterator(
        &self,
        _: Request<GetShardIteratorRequest>,
    ) -> Result<Response<GetShardIteratorResponse>, Status> {
        Err(Status::unimplemented("mock"))
    }
    async fn get_records(&self, _: Request<GetRecordsRequest>) -> Result<Response<GetRecordsResponse>, Status> {
        self.served("GetRecords");
        Ok(Response::new(GetRecordsResponse { next_shard_iterator: Some("next".into()), ..Default::default() }))
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
        .map(|(i, r)| Shard {
            shard_id: format!("shardId-{i:012}"),
            hash_key_range: Some(runnel_client::proto::HashKeyRange {
                starting_hash_key: r.start.to_string(),
                ending_hash_key: r.end.to_string(),
            }),
            sequence_number_range: Some(SequenceNumberRange {
                starting_sequence_number: "0".into(),
                ending_sequence_number: None,
            }),
            ..Default::default()
        })
        .collect()
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    (listener, address)
}

fn serve(listener: TcpListener, node: MockNode) {
    let server = tonic::transport::Server::builder()
        .add_service(KinesisServer::new(node.clone()))
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
    let world = Arc::new(World { cluster: cluster(&[&a1, &a2], 2), shards: two_shards(), log: Mutex::default() });
    serve(l1, MockNode { id: 1, put: put_on_1, world: world.clone() });
    serve(l2, MockNode { id: 2, put: put_on_2, world: world.clone() });
    (world, a1, a2)
}

/// One node, leading both shards of stream `s`.
async fn one_node(put: PutScript) -> (Arc<World>, String) {
    let (l1, a1) = listener().await;
    let world = Arc::new(World { cluster: cluster(&[&a1], 1), shards: two_shards(), log: Mutex::default() });
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
        assert_eq!(response.shard_id, "served-by-2");
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
    assert_eq!(response.records[0].shard_id.as_deref(), Some("served-by-2"));
    assert_eq!(served(&world, "PutRecord"), [2, 2, 2]);
    assert_eq!(served(&world, "PutRecords"), [2]);
    // The routing cache was filled once, not per record.
    assert_eq!(served(&world, "ListShards").len(), 2, "two pages, once");
    assert_eq!(served(&world, "DescribeCluster").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failing_leader_is_passed_over_for_another_node() {
    let (world, a1, _a2) = two_nodes(PutScript::accept(), PutScript::refuse_first(vec![service_unavailable()])).await;
    let client =
        Client::with_config(vec![a1], patient(Duration::from_secs(1), Duration::from_secs(30))).await.expect("client");
    let response = client.put_record(record("k")).await.expect("put");
    assert_eq!(response.shard_id, "served-by-1");
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
    assert_eq!(response.shard_id, "served-by-1");
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
    assert_eq!(response.shard_id, "served-by-1");
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
        assert_eq!(client.put_record(record(key)).await.expect("put").shard_id, "served-by-2");
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
