//! Acknowledged records survive kill -9 of a leader, a restart that must catch up, and a
//! restart of the whole cluster; reads return them in per-shard order with the sequence
//! numbers the puts returned.

mod common;

use common::{create_active, read_shard, shard_ids, Cluster};
use runnel_proto::v1::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const STREAM: &str = "durable";
const SHARDS: i32 = 4;
const PARTITION_KEYS: usize = 257;

/// What the producers were told: data -> (shard, sequence number).
#[derive(Default)]
struct Acks {
    acked: BTreeMap<String, (String, String)>,
    /// Payloads whose put failed at least once with an unknown outcome and was retried
    /// (they may appear twice; a retry after ServiceUnavailable must not duplicate).
    retried: BTreeSet<String>,
    written: BTreeSet<String>,
}

/// A producer gives up only after this long (a hang detector: failover takes seconds).
const PUT_DEADLINE: Duration = Duration::from_secs(60);

/// Whether a failed put may have been written: only ServiceUnavailable promises it was not.
fn maybe_written(status: &tonic::Status) -> bool {
    let name = common::error_name(status);
    assert!(
        name == "InternalFailure" || name == "ServiceUnavailable",
        "only availability errors are expected here: {status:?}"
    );
    name == "InternalFailure"
}

async fn put_batch(cluster: &Cluster, node: usize, first: usize, count: usize, acks: &mut Acks) {
    let mut pending: Vec<usize> = (first..first + count).collect();
    let deadline = Instant::now() + PUT_DEADLINE;
    let mut attempt = 0;
    while !pending.is_empty() {
        assert!(Instant::now() < deadline, "records {pending:?} were never acknowledged");
        let records: Vec<PutRecordsRequestEntry> = pending
            .iter()
            .map(|i| PutRecordsRequestEntry {
                data: format!("rec-{i}").into_bytes(),
                explicit_hash_key: None,
                partition_key: format!("key-{}", i % PARTITION_KEYS),
            })
            .collect();
        for r in &records {
            acks.written.insert(String::from_utf8_lossy(&r.data).into_owned());
        }
        let mut k = cluster.kinesis(node).await;
        let reply =
            k.put_records(PutRecordsRequest { records, stream_name: STREAM.into(), stream_arn: String::new() }).await;
        match reply {
            Ok(reply) => {
                let reply = reply.into_inner();
                assert_eq!(reply.records.len(), pending.len(), "one result per entry");
                let mut still = Vec::new();
                for (i, result) in pending.iter().zip(reply.records) {
                    match (&result.sequence_number, &result.shard_id) {
                        (Some(seq), Some(shard)) => {
                            acks.acked.insert(format!("rec-{i}"), (shard.clone(), seq.clone()));
                        }
                        _ => {
                            assert_eq!(result.error_code.as_deref(), Some("InternalFailure"), "{result:?}");
                            // The node says whether the entry was certainly not written.
                            let certain = result.error_message.as_deref().is_some_and(|m| m.starts_with("Not written"));
                            if !certain {
                                acks.retried.insert(format!("rec-{i}"));
                            }
                            still.push(*i);
                        }
                    }
                }
                pending = still;
            }
            Err(status) => {
                if maybe_written(&status) {
                    for i in &pending {
                        acks.retried.insert(format!("rec-{i}"));
                    }
                }
            }
        }
        if !pending.is_empty() {
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 * attempt.min(10))).await;
        }
    }
}

async fn put_single(cluster: &Cluster, node: usize, i: usize, acks: &mut Acks) {
    let data = format!("rec-{i}");
    acks.written.insert(data.clone());
    let deadline = Instant::now() + PUT_DEADLINE;
    for attempt in 1.. {
        assert!(Instant::now() < deadline, "record {i} was never acknowledged");
        let mut k = cluster.kinesis(node).await;
        let req = PutRecordRequest {
            stream_name: STREAM.into(),
            data: data.clone().into_bytes(),
            partition_key: format!("key-{}", i % PARTITION_KEYS),
            ..Default::default()
        };
        match k.put_record(req).await {
            Ok(r) => {
                let r = r.into_inner();
                acks.acked.insert(data, (r.shard_id, r.sequence_number));
                return;
            }
            Err(status) => {
                if maybe_written(&status) {
                    acks.retried.insert(data.clone());
                }
                tokio::time::sleep(Duration::from_millis(100 * attempt.min(10))).await;
            }
        }
    }
}

/// Reads every shard through `node` and checks the acks against what is there.
async fn verify(cluster: &Cluster, node: usize, acks: &Acks) {
    let mut k = cluster.kinesis(node).await;
    let mut seen: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for shard in shard_ids(&mut k, STREAM).await {
        let records = read_shard(&mut k, STREAM, &shard).await;
        let seqs: Vec<u128> = records.iter().map(|r| r.sequence_number.parse().expect("decimal")).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers must strictly increase in {shard}");
        for r in records {
            let data = String::from_utf8(r.data).expect("utf-8 payload");
            assert!(acks.written.contains(&data), "phantom record {data:?} in {shard}");
            seen.entry(data).or_default().push((shard.clone(), r.sequence_number));
        }
    }
    for (data, ack) in &acks.acked {
        let copies = seen.get(data).unwrap_or_else(|| panic!("acknowledged record {data} is lost"));
        assert!(copies.contains(ack), "{data} acked as {ack:?} but found as {copies:?}");
    }
    for (data, copies) in &seen {
        assert!(copies.len() == 1 || acks.retried.contains(data), "{data} duplicated without a retry: {copies:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kills_and_restarts() {
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, STREAM, SHARDS).await;
    let mut acks = Acks::default();

    // Phase 1: a healthy cluster, writes through every node.
    for b in 0..12 {
        put_batch(&cluster, b % 3, b * 100, 100, &mut acks).await;
    }
    for i in 1200..1300 {
        put_single(&cluster, i % 3, i, &mut acks).await;
    }

    // Phase 2: kill -9 the leader of the first shard's group, keep writing elsewhere.
    let first_group = {
        let mut admin = cluster.admin(0).await;
        let reply = admin.describe_cluster(DescribeClusterRequest {}).await.expect("describe").into_inner();
        reply.groups.iter().find(|g| g.stream_name == STREAM && g.shard_id.ends_with("000")).expect("shard 0").group_id
    };
    let victim = cluster.leader_of(first_group).await.expect("shard 0 has a leader");
    cluster.kill(victim);
    let survivors: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    for b in 0..10 {
        put_batch(&cluster, survivors[b % 2], 2000 + b * 100, 100, &mut acks).await;
    }
    for i in 3000..3050 {
        put_single(&cluster, survivors[i % 2], i, &mut acks).await;
    }
    verify(&cluster, survivors[0], &acks).await;

    // Phase 3: the victim comes back and catches up; reads through it see everything.
    cluster.start_node(victim);
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    verify(&cluster, victim, &acks).await;

    // Phase 4: every node dies at once and restarts.
    for i in 0..3 {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.start_node(i);
    }
    cluster.wait_for_meta_leader(Duration::from_secs(30)).await;
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    for b in 0..3 {
        put_batch(&cluster, b, 4000 + b * 100, 100, &mut acks).await;
    }
    for node in 0..3 {
        verify(&cluster, node, &acks).await;
    }
    assert_eq!(acks.acked.len(), 2_650, "every distinct payload must end up acknowledged");
}
