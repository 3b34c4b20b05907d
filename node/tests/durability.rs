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
    /// Payloads whose put failed at least once and was retried (may appear twice).
    retried: BTreeSet<String>,
    written: BTreeSet<String>,
}

async fn put_batch(cluster: &Cluster, node: usize, first: usize, count: usize, acks: &mut Acks) {
    let mut pending: Vec<usize> = (first..first + count).collect();
    for attempt in 0..20 {
        if pending.is_empty() {
            return;
        }
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
                let mut still = Vec::new();
                for (i, result) in pending.iter().zip(reply.records) {
                    match (result.sequence_number, result.shard_id) {
                        (Some(seq), Some(shard)) => {
                            acks.acked.insert(format!("rec-{i}"), (shard, seq));
                        }
                        _ => still.push(*i),
                    }
                }
                pending = still;
            }
            Err(status) => assert_eq!(common::error_name(&status), "InternalFailure", "unexpected error: {status:?}"),
        }
        for i in &pending {
            acks.retried.insert(format!("rec-{i}"));
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
    }
    panic!("records {pending:?} were never acknowledged");
}

async fn put_single(cluster: &Cluster, node: usize, i: usize, acks: &mut Acks) {
    let data = format!("rec-{i}");
    acks.written.insert(data.clone());
    for attempt in 0..20 {
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
                assert_eq!(common::error_name(&status), "InternalFailure", "unexpected error: {status:?}");
                acks.retried.insert(data.clone());
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
        }
    }
    panic!("record {i} was never acknowledged");
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

/// Waits until every replica of every group has applied what the group committed.
async fn wait_caught_up(cluster: &Cluster, node: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        let mut admin = cluster.admin(node).await;
        if let Ok(reply) = admin.describe_cluster(DescribeClusterRequest {}).await {
            let reply = reply.into_inner();
            let lagging: Vec<_> = reply
                .groups
                .iter()
                .filter(|g| {
                    g.leader.is_none()
                        || g.replica_states.len() != g.replicas.len()
                        || g.replica_states
                            .iter()
                            .any(|r| r.applied_index.is_none() || r.applied_index < g.commit_index)
                })
                .collect();
            if lagging.is_empty() && reply.nodes.iter().all(|n| n.healthy) {
                return;
            }
            last = format!("{lagging:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("replicas did not catch up within 60 s: {last}");
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
    wait_caught_up(&cluster, survivors[0]).await;
    verify(&cluster, victim, &acks).await;

    // Phase 4: every node dies at once and restarts.
    for i in 0..3 {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.start_node(i);
    }
    cluster.wait_for_meta_leader(Duration::from_secs(30)).await;
    wait_caught_up(&cluster, 0).await;
    for b in 0..3 {
        put_batch(&cluster, b, 4000 + b * 100, 100, &mut acks).await;
    }
    for node in 0..3 {
        verify(&cluster, node, &acks).await;
    }
    assert_eq!(acks.acked.len(), 2_650, "every distinct payload must end up acknowledged");
}
