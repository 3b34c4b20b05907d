//! What operators and tools see: health checks, reflection, the Admin view of the cluster
//! (replicas, leaders spread over nodes, commit indexes), and the Rust client riding out
//! a leader's death with its bounded retries.

mod common;

use common::{create_active, Cluster};
use runnel_client::proto::{GetRecordsRequest, GetShardIteratorRequest, PutRecordRequest};
use runnel_client::Client;
use runnel_proto::v1::DescribeClusterRequest;
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

    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "spread", 6).await;
    let mut admin = cluster.admin(2).await;
    let state = admin.describe_cluster(DescribeClusterRequest {}).await.unwrap().into_inner();
    assert_eq!(state.answered_by, 3);
    assert_eq!(state.nodes.len(), 3);
    assert!(state.nodes.iter().all(|n| n.healthy), "{:?}", state.nodes);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_library_rides_out_a_leader_kill() {
    let mut cluster = Cluster::start(3).await;
    let client = Client::connect(cluster.endpoints()).await.unwrap();
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
    let victim = cluster.leader_of(group).await.expect("a leader");
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
}
