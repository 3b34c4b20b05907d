//! What a failed write tells its caller, on a real cluster with raw stubs (no client
//! retries to hide the status):
//! - ServiceUnavailable (gRPC UNAVAILABLE): the write certainly did not happen. A node
//!   that finds no leader for the shard gives up after its deadline and says so.
//! - InternalFailure (gRPC INTERNAL): the outcome is unknown. A leader that appended the
//!   write but cannot commit it (both followers dead) says so.

mod common;

use common::{create_active, error_name, read_shard, Cluster};
use runnel_proto::v1::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const STREAM: &str = "outcomes";
/// A hang detector for one put: the node gives up finding a leader after 8 s, and waits
/// 10 s for a commit; a put that takes several times that is hung.
const PUT_TIMEOUT: Duration = Duration::from_secs(60);

fn put(data: &str) -> PutRecordRequest {
    PutRecordRequest {
        stream_name: STREAM.into(),
        partition_key: "k".into(),
        data: data.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// Puts through node `i`, returning the status it fails with (it must fail).
async fn failing_put(cluster: &Cluster, i: usize, data: &str) -> (tonic::Status, Duration) {
    let mut k = cluster.kinesis(i).await;
    let started = Instant::now();
    let reply = tokio::time::timeout(PUT_TIMEOUT, k.put_record(put(data))).await.expect("the put hung");
    let status = reply.expect_err("a put without a quorum cannot succeed");
    (status, started.elapsed())
}

/// What the test was told: acknowledged data -> sequence number, and data whose put had
/// an unknown outcome at least once (it may be there, at most once per such attempt).
#[derive(Default)]
struct Told {
    acked: BTreeMap<String, String>,
    unknown: BTreeSet<String>,
}

/// Puts through node `i` until acknowledged (the cluster is healthy or healing).
async fn good_put(cluster: &Cluster, i: usize, data: &str, told: &mut Told) {
    let mut k = cluster.kinesis(i).await;
    let deadline = Instant::now() + PUT_TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "{data} never acknowledged");
        match k.put_record(put(data)).await {
            Ok(reply) => {
                told.acked.insert(data.to_string(), reply.into_inner().sequence_number);
                return;
            }
            Err(status) if error_name(&status) == "ServiceUnavailable" => {}
            Err(status) => {
                assert_eq!(error_name(&status), "InternalFailure", "{status:?}");
                told.unknown.insert(data.to_string());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads the shard through node `i`: every acknowledged record is there under its number;
/// a record whose outcome was unknown may be there; nothing else is, and nothing twice
/// unless a put of unknown outcome was retried.
async fn verify(cluster: &Cluster, i: usize, told: &Told) {
    let mut k = cluster.kinesis(i).await;
    let records = read_shard(&mut k, STREAM, "shardId-000000000000").await;
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        found.entry(String::from_utf8(r.data).unwrap()).or_default().push(r.sequence_number);
    }
    for (data, seq) in &told.acked {
        let seqs = found.get(data).unwrap_or_else(|| panic!("acknowledged {data} is lost"));
        assert!(seqs.contains(seq), "{data} acknowledged as {seq}, found as {seqs:?}");
    }
    for (data, seqs) in &found {
        assert!(told.acked.contains_key(data) || told.unknown.contains(data), "phantom record {data}");
        assert!(seqs.len() == 1 || told.acked.contains_key(data) && told.unknown.contains(data), "{data}: {seqs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_say_whether_they_happened() {
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, STREAM, 1).await;
    let group = cluster.group_of(STREAM, "shardId-000000000000").await.group_id;
    let mut told = Told::default();
    for i in 0..10 {
        good_put(&cluster, i % 3, &format!("before-{i}"), &mut told).await;
    }

    // (a) The shard's leader and one follower die: the survivor finds no leader, gives up,
    // and says nothing was written.
    let leader = cluster.wait_for_leader(group, Duration::from_secs(30)).await;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let (dead_follower, survivor) = (followers[0], followers[1]);
    cluster.kill(leader);
    cluster.kill(dead_follower);
    let (status, took) = failing_put(&cluster, survivor, "no-leader").await;
    assert_eq!(error_name(&status), "ServiceUnavailable", "no leader: nothing written ({took:?}): {status:?}");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    eprintln!("(a) ServiceUnavailable after {took:?}");
    // And again, now that the survivor has surely noticed the leader is gone.
    let (status, took) = failing_put(&cluster, survivor, "no-leader-2").await;
    assert_eq!(error_name(&status), "ServiceUnavailable", "no leader ({took:?}): {status:?}");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    eprintln!("(a) again: ServiceUnavailable after {took:?}");

    // They come back; the shard heals and nothing acknowledged is lost. The two refused
    // puts are not there: ServiceUnavailable promised it.
    cluster.start_node(leader);
    cluster.start_node(dead_follower);
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    good_put(&cluster, survivor, "healed", &mut told).await;
    verify(&cluster, survivor, &told).await;

    // (b) Both followers of the (new) leader die: the leader appends the put but cannot
    // commit it; the outcome is unknown.
    let leader = cluster.wait_for_leader(group, Duration::from_secs(30)).await;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for f in &followers {
        cluster.kill(*f);
    }
    let (status, took) = failing_put(&cluster, leader, "unknown").await;
    assert_eq!(error_name(&status), "InternalFailure", "appended, not committed ({took:?}): {status:?}");
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    eprintln!("(b) InternalFailure after {took:?}");
    told.unknown.insert("unknown".into());

    // The followers come back: reads work, nothing acknowledged is lost, and the put of
    // unknown outcome is there at most once.
    for f in &followers {
        cluster.start_node(*f);
    }
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    good_put(&cluster, followers[0], "after", &mut told).await;
    for i in 0..3 {
        verify(&cluster, i, &told).await;
    }
}
