//! A node whose volume comes back empty (cluster/join.rs), with real processes:
//!
//! 1. records are written; node 1 (the lowest id, which used to initialize the metadata
//!    group on any start with an empty database) stops and its data directory is wiped;
//! 2. started again, it refuses: it exits non-zero, saying what happened and the flag that
//!    confirms it;
//! 3. started with `--rebuild-empty`, it rejoins and catches up from its peers;
//! 4. its copy holds every record: with one peer killed, writes need it; with the other
//!    peer killed and the first restarted (behind), only node 1 can lead each shard, and
//!    every acknowledged record reads back from it.

mod common;

use common::{create_active, read_shard, shard_ids, Cluster};
use runnel_proto::v1::*;
use std::collections::BTreeMap;
use std::time::Duration;

const STREAM: &str = "rebuilt";
const SHARDS: i32 = 2;
const VICTIM: usize = 0;

/// Puts `count` records numbered from `first` through node `node`, retrying each until it
/// is acknowledged; returns data -> sequence number.
async fn put(cluster: &Cluster, node: usize, first: usize, count: usize) -> BTreeMap<String, String> {
    let mut acked = BTreeMap::new();
    let k = cluster.kinesis(node).await;
    for i in first..first + count {
        let data = format!("rec-{i}");
        let req = PutRecordRequest {
            stream_name: STREAM.into(),
            data: data.clone().into_bytes(),
            partition_key: format!("key-{i}"),
            ..Default::default()
        };
        let reply = common::eventually(
            &format!("{data} acknowledged"),
            Duration::from_secs(60),
            Duration::from_millis(200),
            || {
                let (mut k, req) = (k.clone(), req.clone());
                async move { k.put_record(req).await.ok() }
            },
        )
        .await;
        acked.insert(data, reply.into_inner().sequence_number);
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_wiped_volume_is_refused_then_rebuilt_from_its_peers() {
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(1).await;
    create_active(&mut k, STREAM, SHARDS).await;
    let mut acked = put(&cluster, 1, 0, 60).await;
    cluster.wait_caught_up(Duration::from_secs(60)).await;

    // 1. The volume is lost.
    let status = tokio::task::block_in_place(|| cluster.stop_with(VICTIM, "TERM", Duration::from_secs(30)));
    assert_eq!(status.code(), Some(0));
    std::fs::remove_dir_all(cluster.data_dir(VICTIM)).expect("wipe the data directory");
    acked.extend(put(&cluster, 1, 60, 20).await);

    // 2. Refused, with the reason and the flag. (Its log file goes on from the first run.)
    let first_run = cluster.log_of(VICTIM).len();
    cluster.start_node(VICTIM);
    let status =
        common::eventually("the wiped node to exit", Duration::from_secs(60), Duration::from_millis(100), || {
            std::future::ready(cluster.exited(VICTIM))
        })
        .await;
    cluster.kill(VICTIM);
    let log = cluster.log_of(VICTIM)[first_run..].to_string();
    assert!(!status.success(), "a wiped node must not start: {status:?}\n{log}");
    for words in ["refuses to start", "empty", "may lose records", "--rebuild-empty", "RUNNEL_REBUILD_EMPTY=1"] {
        assert!(log.contains(words), "the refusal must say {words:?}:\n{log}");
    }
    assert!(!log.contains("initialized the metadata group"), "it initialized a group:\n{log}");

    // 3. Confirmed: it rebuilds from its peers, and says when it has caught up.
    cluster.start_node_with(VICTIM, &["--rebuild-empty"]);
    common::eventually("the rebuild to finish", Duration::from_secs(120), Duration::from_millis(200), || {
        std::future::ready(cluster.log_of(VICTIM).contains("rebuilt: every group here has caught up").then_some(()))
    })
    .await;
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    assert!(!cluster.log_of(VICTIM)[first_run..].contains("initialized the metadata group"));
    acked.extend(put(&cluster, VICTIM, 80, 20).await);

    // 4. With node 2 down, every write needs node 1's copy.
    cluster.kill(1);
    acked.extend(put(&cluster, 2, 100, 20).await);
    // With node 3 down too and node 2 back (behind), only node 1 can lead each shard.
    cluster.kill(2);
    cluster.start_node(1);
    let groups: Vec<u64> = {
        let reply = cluster.describe(VICTIM).await.expect("node 1 answers");
        reply.groups.iter().filter(|g| g.stream_name == STREAM).map(|g| g.group_id).collect()
    };
    assert_eq!(groups.len(), SHARDS as usize);
    for group in groups {
        let leader = cluster.wait_for_leader(group, Duration::from_secs(60)).await;
        assert_eq!(leader, VICTIM, "only the rebuilt node holds every record of group {group}");
    }
    let mut k = cluster.kinesis(VICTIM).await;
    let mut found = BTreeMap::new();
    for shard in shard_ids(&mut k, STREAM).await {
        let records = read_shard(&mut k, STREAM, &shard).await;
        let seqs: Vec<u128> = records.iter().map(|r| r.sequence_number.parse().expect("decimal")).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "per-shard order in {shard}");
        for r in records {
            found.insert(String::from_utf8(r.data).expect("utf-8"), r.sequence_number);
        }
    }
    for (data, seq) in &acked {
        assert_eq!(found.get(data), Some(seq), "{data}, acknowledged as {seq}, read back from the rebuilt node");
    }
    eprintln!("{} acknowledged records read back from the rebuilt node as leader", acked.len());
}
