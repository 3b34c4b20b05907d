//! What operators and tools see: health checks, reflection, the Admin view of the cluster
//! (replicas, leaders spread over nodes, commit indexes), the peer service kept off the
//! client port, and the Rust client riding out a leader's death within its retry deadline.

mod common;

use common::{create_active, Cluster};
use runnel_client::proto::{GetRecordsRequest, GetShardIteratorRequest, PutRecordRequest};
use runnel_client::{Client, ClientConfig, RetryPolicy};
use runnel_proto::v1::peer::{Proposal, RaftMessage, ReadRequest, SnapshotChunkMessage, StatusRequest};
use runnel_proto::v1::{DescribeClusterRequest, ListStreamsRequest};
use std::collections::BTreeMap;
use std::time::Duration;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reflection_and_cluster_state() {
    let cluster = Cluster::start(3).await;
    let channel = Channel::from_shared(cluster.endpoint(1)).unwrap().connect_lazy();

    let mut health = HealthClient::new(channel.clone());
    for service in ["", "runnel.v1.Kinesis", "runnel.v1.Admin"] {
        let reply = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(reply.status, ServingStatus::Serving as i32, "health of {service:?}");
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["runnel.v1.Kinesis", "runnel.v1.Admin", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("peer")), "the client port does not serve the peer service: {names:?}");

    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "spread", 6).await;
    let mut admin = cluster.admin(2).await;
    let state = admin.describe_cluster(DescribeClusterRequest {}).await.unwrap().into_inner();
    assert_eq!(state.answered_by, 3);
    assert_eq!(state.nodes.len(), 3);
    assert!(state.nodes.iter().all(|n| n.healthy), "{:?}", state.nodes);
    // Nodes report their client address, not their peer address.
    let addresses: Vec<String> = state.nodes.iter().map(|n| n.address.clone()).collect();
    assert_eq!(addresses, cluster.endpoints());
    let shards: Vec<_> = state.groups.iter().filter(|g| g.stream_name == "spread").collect();
    assert_eq!(shards.len(), 6);
    let mut leads: BTreeMap<u64, usize> = BTreeMap::new();
    for g in &shards {
        assert_eq!(g.replicas.len(), 3, "replication factor 3");
        let leader = g.leader.expect("every ACTIVE shard has a leader");
        assert!(g.replicas.contains(&leader));
        assert!(g.commit_index.is_some());
        *leads.entry(leader).or_default() += 1;
    }
    // Placement makes each node the first (preferred) leader of two of the six shards.
    assert_eq!(leads.len(), 3, "every node leads some shards: {leads:?}");
}

/// The client port serves no `Peer` RPC: a client cannot send Raft messages, proposals or
/// reads past the Kinesis checks. The peer port answers them (here with an error for a
/// bogus payload), and serves nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_service_is_only_on_the_peer_port() {
    let cluster = Cluster::start(3).await;
    let raft = || RaftMessage { group_id: 0, kind: "append".into(), payload: vec![0xff, 1, 2, 3] };
    let propose = || Proposal { group_id: 0, payload: vec![0xff, 1, 2, 3] };
    for i in 0..3 {
        // The generated client, pointed at the client port.
        let mut wrong = runnel_proto::v1::peer::peer_client::PeerClient::new(common::channel(&cluster.endpoint(i)));
        let calls = [
            ("Raft", wrong.raft(raft()).await.map(|_| ())),
            ("Propose", wrong.propose(propose()).await.map(|_| ())),
            ("Read", wrong.read(ReadRequest { payload: vec![1] }).await.map(|_| ())),
            (
                "SnapshotChunk",
                wrong.snapshot_chunk(SnapshotChunkMessage { group_id: 0, payload: vec![1] }).await.map(|_| ()),
            ),
            ("Status", wrong.status(StatusRequest {}).await.map(|_| ())),
        ];
        for (name, result) in calls {
            let status = result.expect_err(&format!("{name} must not be served on the client port"));
            assert_eq!(status.code(), tonic::Code::Unimplemented, "{name} on node {} client port: {status:?}", i + 1);
        }

        // The same calls on the peer port are answered: refused for the bogus payload, but
        // by the Peer service itself.
        let mut right = cluster.peer(i);
        for (name, result) in
            [("Raft", right.raft(raft()).await.map(|_| ())), ("Propose", right.propose(propose()).await.map(|_| ()))]
        {
            let status = result.expect_err(&format!("{name} with a bogus payload is refused"));
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{name} on node {} peer port: {status:?}", i + 1);
        }
        let reply = right.status(StatusRequest {}).await.expect("Status is served on the peer port").into_inner();
        assert!(!reply.payload.is_empty());

        // And the peer port serves no Kinesis.
        let mut kinesis =
            runnel_proto::v1::kinesis_client::KinesisClient::new(common::channel(&cluster.peer_endpoint(i)));
        let status =
            kinesis.list_streams(ListStreamsRequest::default()).await.expect_err("no Kinesis on the peer port");
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    }
    // The bogus messages changed nothing: the cluster still works.
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "after", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_library_rides_out_a_leader_kill() {
    let mut cluster = Cluster::start(3).await;
    // A generous deadline: failover takes seconds, so the test fails only on a real hang,
    // not on a slow election on a busy machine.
    let retry = RetryPolicy { max_elapsed: Duration::from_secs(60), ..RetryPolicy::default() };
    let client =
        Client::with_config(cluster.endpoints(), ClientConfig { retry, ..ClientConfig::default() }).await.unwrap();
    client.create_stream("rides", 1).await.unwrap();
    client.wait_for_active("rides", Duration::from_secs(30)).await.unwrap();
    let put = |i: usize| PutRecordRequest {
        stream_name: "rides".into(),
        partition_key: "k".into(),
        data: format!("r{i}").into_bytes(),
        ..Default::default()
    };
    let mut seqs = Vec::new();
    for i in 0..50 {
        seqs.push(client.put_record(put(i)).await.unwrap().sequence_number);
    }
    let group = {
        let state = client.describe_cluster().await.unwrap();
        state.groups.iter().find(|g| g.stream_name == "rides").unwrap().group_id
    };
    let victim = cluster.wait_for_leader(group, Duration::from_secs(30)).await;
    cluster.kill(victim);
    // The client's cached leader is dead: its retries must find the new one.
    for i in 50..100 {
        seqs.push(
            client.put_record(put(i)).await.expect("the client retries until a new leader takes over").sequence_number,
        );
    }
    let numbers: Vec<u128> = seqs.iter().map(|s| s.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "one producer, one key: increasing sequence numbers");

    let it = client
        .get_shard_iterator(GetShardIteratorRequest {
            stream_name: "rides".into(),
            shard_id: "shardId-000000000000".into(),
            shard_iterator_type: "TRIM_HORIZON".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .shard_iterator;
    let page = client
        .get_records(GetRecordsRequest { shard_iterator: it, limit: None, stream_arn: String::new() })
        .await
        .unwrap();
    let data: Vec<String> = page.records.iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect();
    for i in 0..100 {
        assert!(data.contains(&format!("r{i}")), "r{i} acknowledged but not read back");
    }
    // Each put's sequence number is where the read found it (a retried put may appear twice,
    // but never under another acknowledged number).
    let read: std::collections::BTreeMap<String, String> = page
        .records
        .iter()
        .map(|r| (r.sequence_number.clone(), String::from_utf8_lossy(&r.data).into_owned()))
        .collect();
    for (i, seq) in seqs.iter().enumerate() {
        assert_eq!(read.get(seq), Some(&format!("r{i}")), "r{i} acknowledged as {seq}");
    }
}
