//! The client against in-process mock nodes: leader routing, leader hints, transport
//! retries, immediate Kinesis errors and pagination, without a real cluster.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use runnel_client::hash_key::HashKeyRange;
use runnel_client::proto::admin_server::{Admin, AdminServer};
use runnel_client::proto::kinesis_server::{Kinesis, KinesisServer};
use runnel_client::proto::*;
use runnel_client::{Client, ClientConfig, ClientError, ErrorCode, RetryPolicy};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

const STREAM: &str = "s";

/// What every mock node shares: the cluster's shape and a log of who served what.
#[derive(Default)]
struct World {
    cluster: DescribeClusterResponse,
    shards: Vec<Shard>,
    /// (node id, action) per request served.
    log: Mutex<Vec<(u64, &'static str)>>,
}

/// How one node behaves on PutRecord.
#[derive(Clone, Default)]
enum PutBehaviour {
    #[default]
    Accept,
    /// Refuse with Unavailable and a leader hint.
    Redirect(String),
    /// Refuse with this Kinesis error.
    Fail(&'static str),
}

#[derive(Clone)]
struct MockNode {
    id: u64,
    put: PutBehaviour,
    world: Arc<World>,
}

impl MockNode {
    fn served(&self, action: &'static str) {
        self.world.log.lock().expect("log lock").push((self.id, action));
    }
}

fn kinesis_error(name: &'static str) -> Status {
    let mut status = Status::invalid_argument(format!("{name}: mock says no"));
    status.metadata_mut().insert(runnel_proto::ERROR_METADATA_KEY, MetadataValue::from_static(name));
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
            return Err(kinesis_error("InvalidArgumentException"));
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
        match &self.put {
            PutBehaviour::Accept => Ok(Response::new(PutRecordResponse {
                shard_id: format!("served-by-{}", self.id),
                sequence_number: request.get_ref().partition_key.clone(),
                encryption_type: "NONE".into(),
            })),
            PutBehaviour::Redirect(leader) => {
                let mut status = Status::unavailable("not the leader");
                let hint = MetadataValue::try_from(leader.as_str()).expect("ascii address");
                status.metadata_mut().insert(runnel_proto::LEADER_HINT_METADATA_KEY, hint);
                Err(status)
            }
            PutBehaviour::Fail(name) => Err(kinesis_error(name)),
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
    }
}

/// Two nodes; node 2 leads both shards of stream `s`. Returns the world and addresses.
async fn two_nodes(put_on_1: PutBehaviour) -> (Arc<World>, String, String) {
    let (l1, a1) = listener().await;
    let (l2, a2) = listener().await;
    let cluster = DescribeClusterResponse {
        answered_by: 0,
        nodes: vec![
            NodeState { node_id: 1, address: a1.clone(), healthy: true, ..Default::default() },
            NodeState { node_id: 2, address: a2.clone(), healthy: true, ..Default::default() },
        ],
        groups: (0..2)
            .map(|i| GroupState {
                group_id: i + 1,
                stream_name: STREAM.into(),
                shard_id: format!("shardId-{i:012}"),
                leader: Some(2),
                ..Default::default()
            })
            .collect(),
    };
    let world = Arc::new(World { cluster, shards: two_shards(), log: Mutex::default() });
    serve(l1, MockNode { id: 1, put: put_on_1, world: world.clone() });
    serve(l2, MockNode { id: 2, put: PutBehaviour::Accept, world: world.clone() });
    (world, a1, a2)
}

fn served(world: &World, action: &str) -> Vec<u64> {
    world.log.lock().expect("log lock").iter().filter(|(_, a)| *a == action).map(|(n, _)| *n).collect()
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
    let (world, a1, _a2) = two_nodes(PutBehaviour::Accept).await;
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

#[tokio::test]
async fn a_leader_hint_redirects_the_retry() {
    let (l1, a1) = listener().await;
    let (l2, a2) = listener().await;
    // No cluster view or shard map: the client must rely on the hint alone.
    let world = Arc::new(World { shards: two_shards(), ..Default::default() });
    serve(l1, MockNode { id: 1, put: PutBehaviour::Redirect(a2.clone()), world: world.clone() });
    serve(l2, MockNode { id: 2, put: PutBehaviour::Accept, world: world.clone() });
    let client = Client::with_config(vec![a1], quick_config()).await.expect("client");
    let response = client.put_record(record("k")).await.expect("put");
    assert_eq!(response.shard_id, "served-by-2");
    assert_eq!(served(&world, "PutRecord"), [1, 2]);
}

#[tokio::test]
async fn kinesis_errors_return_at_once() {
    let (world, _a1, _a2) = two_nodes(PutBehaviour::Accept).await;
    let (l3, a3) = listener().await;
    serve(l3, MockNode { id: 3, put: PutBehaviour::Fail("ResourceNotFoundException"), world: world.clone() });
    let client = Client::with_config(vec![a3], quick_config()).await.expect("client");
    // Stream "other" has no cached leader, so the put goes to the seed, which refuses.
    let err = client
        .put_record(PutRecordRequest { stream_name: "other".into(), ..record("k") })
        .await
        .expect_err("not found");
    assert_eq!(err.code(), Some(&ErrorCode::ResourceNotFoundException));
    assert_eq!(served(&world, "PutRecord"), [3], "no retry");
}

#[tokio::test]
async fn transport_failures_move_on_to_another_node() {
    let (world, a1, _a2) = two_nodes(PutBehaviour::Accept).await;
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
    let client =
        Client::with_config(vec![dead_address().await, dead_address().await], quick_config()).await.expect("client");
    let err = client.describe_stream_summary(STREAM).await.expect_err("nobody home");
    match err {
        ClientError::Unavailable { attempts, .. } => assert_eq!(attempts, 4),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn listings_follow_every_page() {
    let (_world, a1, _a2) = two_nodes(PutBehaviour::Accept).await;
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
