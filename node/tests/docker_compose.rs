//! The packaged cluster: `deploy/docker-compose.yml` on the image `build-image.sh` builds,
//! three containers that find each other by their service names. Skipped, saying so, when
//! no Docker engine answers.

mod common;
mod compose;

use base64::Engine as _;
use common::{admin_at, create_active, eventually, kinesis_at, shard_ids};
use compose::{ComposeCluster, Docker};
use runnel_proto::v1::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STREAM: &str = "smoke";
/// Hang detectors, not performance bounds: a debug build in a container starts in seconds.
const SERVING_TIMEOUT: Duration = Duration::from_secs(120);
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// Attempts of a call that may meet a leader change: 60 s at `RETRY_EVERY`.
const ATTEMPTS_MAX: usize = 120;

/// Acknowledged records: shard -> sequence number -> data.
type Acked = BTreeMap<String, BTreeMap<u128, Vec<u8>>>;

fn data_of(n: u32) -> Vec<u8> {
    format!("record-{n}").into_bytes()
}

/// Puts records `numbers` through node `i`'s published port, again and again for the ones
/// refused (a leader may have just died), until every one is acknowledged.
async fn put(cluster: &ComposeCluster, i: usize, numbers: std::ops::Range<u32>, acked: &mut Acked) {
    let mut kinesis = kinesis_at(&cluster.endpoint(i));
    let mut pending: Vec<u32> = numbers.collect();
    for _ in 0..ATTEMPTS_MAX {
        let records = pending
            .iter()
            .map(|n| PutRecordsRequestEntry {
                partition_key: format!("key-{n}"),
                data: data_of(*n),
                ..Default::default()
            })
            .collect();
        let request = PutRecordsRequest { stream_name: STREAM.into(), records, ..Default::default() };
        match kinesis.put_records(request).await {
            Ok(reply) => {
                let entries = reply.into_inner().records;
                assert_eq!(entries.len(), pending.len(), "PutRecords answers every record");
                let mut refused = Vec::new();
                for (n, entry) in pending.iter().zip(entries) {
                    let (Some(shard), Some(sequence), None) = (entry.shard_id, entry.sequence_number, entry.error_code)
                    else {
                        refused.push(*n);
                        continue;
                    };
                    let sequence: u128 = sequence.parse().expect("a sequence number");
                    acked.entry(shard).or_default().insert(sequence, data_of(*n));
                }
                pending = refused;
            }
            Err(status) => eprintln!("put through node {} failed, trying again: {status}", i + 1),
        }
        if pending.is_empty() {
            return;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
    panic!("records {pending:?} never acknowledged through node {}", i + 1);
}

/// One call to node `i`'s published AWS port (Kinesis's JSON protocol over HTTP/1.1, the
/// way the AWS CLI sends it): the status code and the JSON reply, or `None` if the node
/// did not answer (the caller tries again).
async fn try_aws_call(cluster: &ComposeCluster, i: usize, action: &str, body: &Value) -> Option<(u16, Value)> {
    let addr = cluster.aws_addr(i);
    let body = body.to_string();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: Kinesis_20131202.{action}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let call = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.ok()?;
        stream.write_all(head.as_bytes()).await.ok()?;
        stream.write_all(body.as_bytes()).await.ok()?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.ok()?;
        let reply = String::from_utf8(reply).ok()?;
        let (head, body) = reply.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, serde_json::from_str(body).ok()?))
    };
    tokio::time::timeout(Duration::from_secs(10), call).await.ok()?
}

/// Puts record `n` through node `i`'s AWS port until it is acknowledged.
async fn put_through_aws(cluster: &ComposeCluster, i: usize, n: u32, acked: &mut Acked) {
    let data = base64::engine::general_purpose::STANDARD.encode(data_of(n));
    let body = json!({ "StreamName": STREAM, "PartitionKey": format!("key-{n}"), "Data": data });
    let what = format!("PutRecord through node {}'s AWS port", i + 1);
    let reply = eventually(&what, SERVING_TIMEOUT, RETRY_EVERY, || async {
        match try_aws_call(cluster, i, "PutRecord", &body).await {
            Some((200, reply)) => Some(reply),
            other => {
                eprintln!("{what}: {other:?}, trying again");
                None
            }
        }
    })
    .await;
    let shard = reply["ShardId"].as_str().expect("a ShardId").to_string();
    let sequence = reply["SequenceNumber"].as_str().expect("a SequenceNumber").parse().expect("a sequence number");
    acked.entry(shard).or_default().insert(sequence, data_of(n));
}

/// Every record of `shard` from TRIM_HORIZON through node `i`, or `None` if a call failed
/// (the caller tries again).
async fn try_read_shard(cluster: &ComposeCluster, i: usize, shard: &str) -> Option<Vec<Record>> {
    let mut kinesis = kinesis_at(&cluster.endpoint(i));
    let request = common::iterator_req(STREAM, shard, "TRIM_HORIZON");
    let mut iterator = kinesis.get_shard_iterator(request).await.ok()?.into_inner().shard_iterator;
    let mut records = Vec::new();
    for _ in 0..1_000 {
        let request =
            GetRecordsRequest { shard_iterator: iterator.clone(), limit: Some(1000), stream_arn: String::new() };
        let page = kinesis.get_records(request).await.ok()?.into_inner();
        let empty = page.records.is_empty();
        records.extend(page.records);
        iterator = page.next_shard_iterator?;
        if empty && page.millis_behind_latest == 0 {
            return Some(records);
        }
    }
    panic!("shard {shard} never reached its tip");
}

/// Reads the stream back through node `i` and checks it against what was acknowledged:
/// every acknowledged record at its sequence number with its data, and per shard strictly
/// increasing sequence numbers (a refused put that was in fact stored may appear twice,
/// with two numbers: Kinesis writes are at-least-once).
async fn assert_read_back(cluster: &ComposeCluster, i: usize, acked: &Acked) {
    let shards = shard_ids(&mut kinesis_at(&cluster.endpoint(i)), STREAM).await;
    assert_eq!(shards.len(), 2, "{shards:?}");
    let mut found = 0;
    for shard in &shards {
        let what = format!("shard {shard} read through node {}", i + 1);
        let records = eventually(&what, SERVING_TIMEOUT, RETRY_EVERY, || try_read_shard(cluster, i, shard)).await;
        let read: Vec<(u128, Vec<u8>)> =
            records.into_iter().map(|r| (r.sequence_number.parse().expect("a sequence number"), r.data)).collect();
        assert!(read.windows(2).all(|w| w[0].0 < w[1].0), "{shard}: sequence numbers out of order");
        let read: BTreeMap<u128, Vec<u8>> = read.into_iter().collect();
        for (sequence, data) in acked.get(shard).into_iter().flatten() {
            assert_eq!(
                read.get(sequence),
                Some(data),
                "{shard}: acknowledged record {sequence} read through node {}",
                i + 1
            );
            found += 1;
        }
    }
    assert_eq!(found, acked.values().map(BTreeMap::len).sum::<usize>(), "records acknowledged in no listed shard");
}

/// The cluster forms from service names, advertises the host's published ports, serves
/// writes through one node and reads through another, and a node killed with -9 comes
/// back with its volume at a new address, which its peers find again by name. The AWS
/// protocol ports are published beside the client ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_cluster_serves_and_a_killed_node_rejoins_at_a_new_address() {
    let docker = match Docker::detect() {
        Ok(docker) => docker,
        Err(why) => {
            eprintln!("SKIPPED docker compose smoke test: {why}");
            return;
        }
    };
    let cluster = ComposeCluster::start(&docker);
    cluster.wait_serving(SERVING_TIMEOUT).await;

    // Clients are sent to the address a node advertises: here, its port on this host.
    let described = admin_at(&cluster.endpoint(2)).describe_cluster(DescribeClusterRequest {}).await.expect("describe");
    let advertised: Vec<(u64, String)> =
        described.into_inner().nodes.into_iter().map(|n| (n.node_id, n.address)).collect();
    let expected: Vec<(u64, String)> = (0..3).map(|i| (i as u64 + 1, cluster.endpoint(i))).collect();
    assert_eq!(advertised, expected);

    create_active(&mut kinesis_at(&cluster.endpoint(0)), STREAM, 2).await;
    let mut acked = Acked::new();
    put(&cluster, 0, 0..100, &mut acked).await;
    assert_read_back(&cluster, 2, &acked).await;

    // Node 2 dies; the other two keep a quorum of every shard and take more writes.
    let old_address = cluster.ip(1);
    cluster.kill(1);
    put(&cluster, 0, 100..200, &mut acked).await;
    // Another container takes node 2's address, so node 2 comes back at a new one: its
    // peers reach it only if they resolve its name again.
    let held = cluster.hold_address();
    assert_eq!(held, old_address, "the holder took another address than node 2's");
    cluster.start_node(1);
    let new_address = cluster.ip(1);
    assert_ne!(new_address, old_address, "node 2 came back at its old address");
    eprintln!("node 2 was at {old_address}, now at {new_address}");

    // Node 1 and node 3 report node 2 healthy (they reached its peer port by name) and its
    // replicas caught up; everything acknowledged is there, read through node 2.
    cluster.wait_serving(SERVING_TIMEOUT).await;
    cluster.wait_caught_up(0, SERVING_TIMEOUT).await;
    put(&cluster, 1, 200..250, &mut acked).await;

    // The AWS protocol port is published too: a record written through node 3's is read
    // back with the others through the gRPC API, and the stream is described there.
    put_through_aws(&cluster, 2, 250, &mut acked).await;
    let (status, summary) = try_aws_call(&cluster, 0, "DescribeStreamSummary", &json!({ "StreamName": STREAM }))
        .await
        .expect("node 1's AWS port answers");
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["StreamDescriptionSummary"]["OpenShardCount"], 2, "{summary}");
    assert_read_back(&cluster, 1, &acked).await;
}
