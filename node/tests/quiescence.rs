//! Quiescent groups on real nodes: idle shard groups stop ticking (no heartbeats), a quiet
//! group takes a write at once (its leader renews its lapsed lease first), and when the
//! node leading quiet groups is killed with kill -9 their writes resume on the others
//! (found through node-level liveness, not per-group timers).

mod common;

use common::*;
use runnel_proto::v1::*;
use std::time::{Duration, Instant};

const STREAM: &str = "quiet";
const SHARDS: usize = 4;

fn scrape(cluster: &Cluster, i: usize) -> String {
    let (status, body) = http_get(&cluster.metrics_addr(i), "/metrics").expect("scrape /metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// Shard replicas not ticking, over the running nodes.
fn quiet(cluster: &Cluster) -> f64 {
    (0..cluster.size())
        .filter(|i| cluster.is_running(*i))
        .filter_map(|i| sum(&scrape(cluster, i), "runnel_raft_quiet_groups", &[]))
        .sum()
}

async fn wait_all_quiet(cluster: &Cluster, replicas: f64) {
    eventually("every shard replica quiet", Duration::from_secs(30), Duration::from_millis(200), || async {
        (quiet(cluster) == replicas).then_some(())
    })
    .await;
}

/// Writes one record to the shard whose range starts at `hash_key` through node `node`.
async fn put(cluster: &Cluster, node: usize, hash_key: &str) -> Result<PutRecordResponse, tonic::Status> {
    let req = PutRecordRequest {
        stream_name: STREAM.into(),
        data: b"quiet".to_vec(),
        partition_key: "k".into(),
        explicit_hash_key: Some(hash_key.into()),
        ..Default::default()
    };
    cluster.kinesis(node).await.put_record(req).await.map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_groups_take_writes_at_once_and_fail_over_after_a_kill() {
    let mut cluster = Cluster::prepare(3, None).with_metrics();
    for i in 0..3 {
        cluster.start_node(i);
    }
    cluster.wait_for_meta_leader(Duration::from_secs(60)).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, STREAM, SHARDS as i32).await;
    let shards = k
        .list_shards(ListShardsRequest { stream_name: STREAM.into(), ..Default::default() })
        .await
        .expect("list shards")
        .into_inner()
        .shards;
    assert_eq!(shards.len(), SHARDS);
    let replicas = (SHARDS * 3) as f64;
    wait_all_quiet(&cluster, replicas).await;

    // A quiet leader's lease has lapsed: without a renewal first, openraft refused these
    // writes (LeaseExpired) and every one ended in ServiceUnavailable after seconds.
    for shard in &shards {
        let start = &shard.hash_key_range.as_ref().expect("a range").starting_hash_key;
        let took = Instant::now();
        let reply = put(&cluster, 0, start).await.unwrap_or_else(|e| panic!("{}: {e}", shard.shard_id));
        assert_eq!(reply.shard_id, shard.shard_id);
        assert!(
            took.elapsed() < Duration::from_secs(2),
            "a write to quiet {} took {:?}",
            shard.shard_id,
            took.elapsed()
        );
    }
    wait_all_quiet(&cluster, replicas).await;

    // Kill the node leading the first shard while every group is quiet: the survivors find
    // out through liveness and elect, and writes to that shard resume through them.
    let group = cluster.group_of(STREAM, &shards[0].shard_id).await;
    let victim = cluster.wait_for_leader(group.group_id, Duration::from_secs(30)).await;
    let survivor = (victim + 1) % 3;
    let start = shards[0].hash_key_range.as_ref().expect("a range").starting_hash_key.clone();
    cluster.kill(victim);
    let killed = Instant::now();
    eventually("writes to the first shard resume", Duration::from_secs(30), Duration::from_millis(100), || async {
        put(&cluster, survivor, &start).await.ok()
    })
    .await;
    let new_leader = cluster.wait_for_leader(group.group_id, Duration::from_secs(30)).await;
    assert_ne!(new_leader, victim);
    eprintln!("writes resumed {:?} after the kill", killed.elapsed());
    // Every group the victim led has a leader elsewhere (those leaders keep ticking while a
    // replica is down: they are not caught up).
    for shard in &shards {
        let g = cluster.group_of(STREAM, &shard.shard_id).await;
        let leader = cluster.wait_for_leader(g.group_id, Duration::from_secs(30)).await;
        assert_ne!(leader, victim);
    }
    // Back again, it catches up and every replica goes quiet once more.
    cluster.start_node(victim);
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    wait_all_quiet(&cluster, replicas).await;
}
