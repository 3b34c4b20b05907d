//! Retention with real node processes, an hour shortened by configuration
//! (`retention_hour_ms`) so that 24 hours pass in seconds:
//!
//! - the API: IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod and their
//!   Kinesis errors; closed shards disappear once their records expired;
//! - expired records stop being returned once retention is decreased (TRIM_HORIZON moves on; an iterator at an expired
//!   sequence number reads on from the oldest record kept; raising retention brings
//!   nothing back) and their disk space comes back on every replica;
//! - a replica that was down while the others purged catches up from a snapshot and then,
//!   as leader, serves exactly the unexpired records.

mod common;

use common::{create_active, error_name, eventually, iterator_req, read_shard, wait_active, Cluster};
use rand::RngCore;
use runnel_node::domain::GroupId;
use runnel_node::shard::ShardApplied;
use runnel_node::storage::keys::{self, KeyKind};
use runnel_node::storage::rocks::RocksEngine;
use runnel_node::storage::{Cf, Engine};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const SHARD0: &str = "shardId-000000000000";
/// 5 records of 1,000,000 bytes fill a PutRecords call (5 MiB with the keys).
const RECORDS_PER_CALL: usize = 5;
const RECORD_BYTES: usize = 1_000_000;

fn config(hour_ms: u64) -> String {
    format!("retention_hour_ms = {hour_ms}\n")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Bytes under `dir`, recursively.
fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// `calls` PutRecords of incompressible 1 MB records (RocksDB compresses), each tagged
/// with `tag` in its partition key; returns the sequence numbers in order.
async fn put_big(k: &mut KinesisClient<Channel>, stream: &str, tag: &str, calls: usize) -> Vec<String> {
    let mut rng = rand::rng();
    let mut seqs = Vec::new();
    for _ in 0..calls {
        let records = (0..RECORDS_PER_CALL)
            .map(|_| {
                let mut data = vec![0u8; RECORD_BYTES];
                rng.fill_bytes(&mut data);
                PutRecordsRequestEntry { data, explicit_hash_key: None, partition_key: tag.into() }
            })
            .collect();
        let req = PutRecordsRequest { records, stream_name: stream.into(), stream_arn: String::new() };
        let reply = k.put_records(req).await.expect("PutRecords").into_inner();
        assert_eq!(reply.failed_record_count, 0, "{reply:?}");
        seqs.extend(reply.records.into_iter().filter_map(|r| r.sequence_number));
    }
    seqs
}

async fn put_small(k: &mut KinesisClient<Channel>, stream: &str, key: &str) -> String {
    let req = PutRecordRequest {
        stream_name: stream.into(),
        partition_key: key.into(),
        data: key.as_bytes().to_vec(),
        ..Default::default()
    };
    k.put_record(req).await.expect("PutRecord").into_inner().sequence_number
}

async fn set_retention(
    k: &mut KinesisClient<Channel>,
    stream: &str,
    hours: Option<i32>,
    increase: bool,
) -> Result<(), tonic::Status> {
    if increase {
        let req = IncreaseStreamRetentionPeriodRequest {
            stream_name: stream.into(),
            retention_period_hours: hours,
            stream_arn: String::new(),
        };
        k.increase_stream_retention_period(req).await.map(|_| ())
    } else {
        let req = DecreaseStreamRetentionPeriodRequest {
            stream_name: stream.into(),
            retention_period_hours: hours,
            stream_arn: String::new(),
        };
        k.decrease_stream_retention_period(req).await.map(|_| ())
    }
}

async fn retention_hours(k: &mut KinesisClient<Channel>, stream: &str) -> i32 {
    let req = DescribeStreamSummaryRequest { stream_name: stream.into(), stream_arn: String::new() };
    let d = k.describe_stream_summary(req).await.expect("describe").into_inner();
    d.stream_description_summary.expect("a summary").retention_period_hours
}

/// The first page from an iterator of `kind` (at `seq` when given).
async fn first_page(k: &mut KinesisClient<Channel>, stream: &str, kind: &str, seq: Option<&str>) -> GetRecordsResponse {
    let mut req = iterator_req(stream, SHARD0, kind);
    req.starting_sequence_number = seq.map(str::to_string);
    let iterator = k.get_shard_iterator(req).await.expect("iterator").into_inner().shard_iterator;
    let req = GetRecordsRequest { shard_iterator: iterator, limit: Some(10), stream_arn: String::new() };
    k.get_records(req).await.expect("GetRecords").into_inner()
}

/// The replica states of `group` as node `via` reports them: (node id, applied, purged).
async fn replicas(cluster: &Cluster, via: usize, group: u64) -> Vec<(u64, Option<u64>, Option<u64>)> {
    let Some(reply) = cluster.describe(via).await else { return Vec::new() };
    let Some(g) = reply.groups.into_iter().find(|g| g.group_id == group) else { return Vec::new() };
    g.replica_states.iter().map(|r| (r.node_id, r.applied_index, r.purged_index)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_periods_and_closed_shards_behave_as_in_kinesis() {
    // An hour of 100 ms: 24 hours pass in 2.4 s.
    let cluster = Cluster::start_with_config(3, Some(&config(100))).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "r", 1).await;
    assert_eq!(retention_hours(&mut k, "r").await, 24);

    // Member and range checks, with Kinesis's error names and messages.
    let err = set_retention(&mut k, "r", None, true).await.unwrap_err();
    assert_eq!(error_name(&err), "ValidationException", "{err:?}");
    let err = set_retention(&mut k, "r", Some(0), true).await.unwrap_err();
    assert_eq!(error_name(&err), "ValidationException", "{err:?}");
    let err = set_retention(&mut k, "r", Some(23), true).await.unwrap_err();
    assert_eq!(error_name(&err), "InvalidArgumentException", "{err:?}");
    assert!(err.message().contains("Minimum allowed retention period is 24 hours."), "{err:?}");
    let err = set_retention(&mut k, "r", Some(8761), false).await.unwrap_err();
    assert_eq!(error_name(&err), "InvalidArgumentException", "{err:?}");
    assert!(err.message().contains("Maximum allowed retention period is 8760 hours."), "{err:?}");
    let err = set_retention(&mut k, "nope", Some(48), true).await.unwrap_err();
    assert_eq!(error_name(&err), "ResourceNotFoundException", "{err:?}");

    set_retention(&mut k, "r", Some(8760), true).await.expect("the longest retention");
    assert_eq!(retention_hours(&mut k, "r").await, 8760);
    let err = set_retention(&mut k, "r", Some(48), true).await.unwrap_err();
    assert_eq!(error_name(&err), "InvalidArgumentException", "{err:?}");
    assert!(err.message().contains("can not be shorter than existing retention period (8760 hours)"), "{err:?}");
    set_retention(&mut k, "r", Some(48), false).await.expect("decrease");
    let err = set_retention(&mut k, "r", Some(100), false).await.unwrap_err();
    assert!(err.message().contains("Use IncreaseRetentionPeriod API."), "{err:?}");
    set_retention(&mut k, "r", Some(24), false).await.expect("decrease to the minimum");
    // Every node soon answers with the new period (each applies the metadata in turn).
    for i in 0..3 {
        let k = cluster.kinesis(i).await;
        eventually("the new period everywhere", Duration::from_secs(10), Duration::from_millis(50), || {
            let mut k = k.clone();
            async move { (retention_hours(&mut k, "r").await == 24).then_some(()) }
        })
        .await;
    }

    // A split closes shard 0; 2.4 s after it closed, its records have all expired and it
    // is gone from ListShards and GetShardIterator, while its children stay with their
    // lineage.
    put_small(&mut k, "r", "before-the-split").await;
    let split = SplitShardRequest {
        stream_name: "r".into(),
        shard_to_split: SHARD0.into(),
        new_starting_hash_key: (1u128 << 127).to_string(),
        stream_arn: String::new(),
    };
    let split_at = Instant::now();
    k.split_shard(split).await.expect("split");
    // Retention changes wait for the reshard, as Kinesis's do.
    match set_retention(&mut k, "r", Some(30), true).await {
        Err(err) => assert_eq!(error_name(&err), "ResourceInUseException", "{err:?}"),
        Ok(()) => set_retention(&mut k, "r", Some(24), false).await.expect("back to 24"),
    }
    wait_active(&mut k, "r").await;
    let listed = |k: KinesisClient<Channel>| async move {
        let mut k = k;
        let req = ListShardsRequest { stream_name: "r".into(), ..Default::default() };
        k.list_shards(req).await.expect("list").into_inner().shards
    };
    let shards = listed(k.clone()).await;
    assert_eq!(shards.len(), 3, "the parent stays listed while its records live: {shards:?}");
    eventually("the closed parent to expire", Duration::from_secs(30), Duration::from_millis(200), || {
        let k = k.clone();
        async move { (listed(k).await.len() == 2).then_some(()) }
    })
    .await;
    // It closed after the split call began, and lives 2.4 s from then.
    assert!(split_at.elapsed() >= Duration::from_millis(2_300), "expired before its retention passed");
    let shards = listed(k.clone()).await;
    assert!(shards.iter().all(|s| s.parent_shard_id.as_deref() == Some(SHARD0)), "{shards:?}");
    let err = k.get_shard_iterator(iterator_req("r", SHARD0, "TRIM_HORIZON")).await.unwrap_err();
    assert_eq!(error_name(&err), "ResourceNotFoundException", "{err:?}");
    // Its group is gone from every node.
    eventually("the parent's group dropped", Duration::from_secs(30), Duration::from_millis(200), || async {
        let reply = cluster.describe_any().await?;
        (!reply.groups.iter().any(|g| g.stream_name == "r" && g.shard_id == SHARD0)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_records_stop_being_returned_and_their_disk_space_comes_back() {
    // An hour of 100 ms: 24 hours are 2.4 s, 8,760 hours almost 15 minutes.
    let hour_ms = 100;
    let retention = Duration::from_millis(24 * hour_ms);
    let cluster = Cluster::start_with_config(3, Some(&config(hour_ms))).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "big", 1).await;
    set_retention(&mut k, "big", Some(8760), true).await.expect("increase");
    let group = cluster.group_of("big", SHARD0).await.group_id;
    let empty: Vec<u64> = (0..3).map(|i| disk_bytes(&cluster.data_dir(i))).collect();

    // About 250 MB, kept while retention is long.
    let started = Instant::now();
    let old = put_big(&mut k, "big", "old", 50).await;
    let wrote = started.elapsed();
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    let peak: Vec<u64> = (0..3).map(|i| disk_bytes(&cluster.data_dir(i))).collect();
    assert!(peak.iter().all(|b| *b > 200_000_000), "250 MB on every replica: {peak:?}");

    // Retention back to 24 hours: the old records expire at once; records written from
    // now on, every 100 ms, must each live 2.4 s.
    set_retention(&mut k, "big", Some(24), false).await.expect("decrease");
    let decreased = Instant::now();
    let mut young = Vec::new();
    while decreased.elapsed() < retention + Duration::from_secs(1) {
        young.push((Instant::now(), put_small(&mut k, "big", &format!("young-{}", young.len())).await));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Expired: TRIM_HORIZON starts after every old record, and so does an iterator at the
    // first old record's number.
    let last_old: u128 = old.last().expect("old records").parse().expect("a number");
    let horizon = eventually("the old records trimmed", Duration::from_secs(30), Duration::from_millis(250), || {
        let mut k = k.clone();
        async move {
            let page = first_page(&mut k, "big", "TRIM_HORIZON", None).await;
            let first: u128 = page.records.first()?.sequence_number.parse().ok()?;
            (first > last_old).then_some(first)
        }
    })
    .await;
    let trimmed_at = decreased.elapsed();
    let page = first_page(&mut k, "big", "AT_SEQUENCE_NUMBER", Some(&old[0])).await;
    let first: u128 = page.records.first().expect("records after the expired one").sequence_number.parse().unwrap();
    assert!(first > last_old, "an expired position reads on from the oldest record kept");
    // Nothing written less than a retention period ago was trimmed.
    let now = Instant::now();
    for (at, seq) in &young {
        let seq: u128 = seq.parse().unwrap();
        if now.duration_since(*at) + Duration::from_millis(500) < retention {
            assert!(seq >= horizon, "record {seq}, written {:?} ago, was trimmed", now.duration_since(*at));
        }
    }
    // Raising retention brings nothing back.
    set_retention(&mut k, "big", Some(8760), true).await.expect("increase again");
    let page = first_page(&mut k, "big", "TRIM_HORIZON", None).await;
    let first: u128 = page.records.first().expect("young records").sequence_number.parse().unwrap();
    assert!(first >= horizon, "raising retention brought back {first} (horizon {horizon})");

    // The space comes back on every replica: the log prefix is purged and compacted.
    let reclaimed = eventually("disk space reclaimed", Duration::from_secs(60), Duration::from_millis(500), || async {
        let purged = replicas(&cluster, 0, group).await;
        let now: Vec<u64> = (0..3).map(|i| disk_bytes(&cluster.data_dir(i))).collect();
        let all_purged = purged.len() == 3 && purged.iter().all(|(_, _, p)| p.is_some());
        (all_purged && now.iter().zip(&peak).all(|(n, p)| *n * 4 < *p)).then_some(now)
    })
    .await;
    println!(
        "retention figures: wrote {} MB in {:.1} s; bytes on disk per replica empty {:?}, after the writes {:?}, \
         after the purge {:?}; trimmed {:.1} s after retention was decreased to {:.1} s; reclaimed {:.1} s after",
        old.len() * RECORD_BYTES / 1_000_000,
        wrote.as_secs_f64(),
        empty,
        peak,
        reclaimed,
        trimmed_at.as_secs_f64(),
        retention.as_secs_f64(),
        decreased.elapsed().as_secs_f64(),
    );
    // And the records kept are all there.
    let records = read_shard(&mut k, "big", SHARD0).await;
    let kept: Vec<&str> = records.iter().map(|r| r.sequence_number.as_str()).collect();
    for (_, seq) in young.iter().filter(|(_, s)| s.parse::<u128>().unwrap() >= horizon) {
        assert!(kept.contains(&seq.as_str()), "{seq} lost");
    }
    assert!(records.iter().all(|r| r.partition_key != "old"));
    let oldest = records.first().map(|r| r.approximate_arrival_timestamp).expect("an arrival time");
    assert!(oldest >= now_ms() - 600_000, "nothing older than the test was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_away_during_a_purge_catches_up_from_a_snapshot_and_serves_only_what_is_kept() {
    // An hour of 250 ms: records live 6 s until retention is raised below.
    let mut cluster = Cluster::start_with_config(3, Some(&config(250))).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "away", 1).await;
    let group = cluster.group_of("away", SHARD0).await.group_id;
    let leader = cluster.wait_for_leader(group, Duration::from_secs(30)).await;
    let away = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let mut k = cluster.kinesis(leader).await;

    // Every replica has the first of these; then one goes away, the others take the rest,
    // and then trim and purge them all: the log no longer holds what it missed.
    put_big(&mut k, "away", "old", 2).await;
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    cluster.kill(away);
    let old = put_big(&mut k, "away", "old", 2).await;
    let last_old: u128 = old.last().unwrap().parse().unwrap();
    // The log index of the last old record, at most.
    let (_, written_to, _) = replicas(&cluster, leader, group)
        .await
        .into_iter()
        .find(|(n, ..)| *n == leader as u64 + 1)
        .expect("the leader's state");
    let written_to = written_to.expect("an applied index");
    eventually("the old records purged", Duration::from_secs(60), Duration::from_millis(250), || async {
        let states = replicas(&cluster, leader, group).await;
        let purged = states.iter().filter(|(n, _, p)| *n != away as u64 + 1 && p.is_some_and(|p| p >= written_to));
        let page = first_page(&mut k.clone(), "away", "TRIM_HORIZON", None).await;
        (purged.count() == 2 && page.records.is_empty()).then_some(())
    })
    .await;
    // From now on nothing expires during the test.
    set_retention(&mut k, "away", Some(8760), true).await.expect("increase");
    let mut kept = Vec::new();
    for i in 0..20 {
        kept.push(put_small(&mut k, "away", &format!("kept-{i}")).await);
    }

    // Back: the leader's log no longer reaches back to where it stopped, so it needs a
    // snapshot, and must drop its own copies of the first old records.
    cluster.restart(away);
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    // Make it the leader (as in catch_up.rs): with `other` down it is in every quorum;
    // then the leader goes and `other` comes back behind it.
    cluster.kill(other);
    let mut k = cluster.kinesis(leader).await;
    kept.push(put_small(&mut k, "away", "kept-last").await);
    cluster.kill(leader);
    cluster.restart(other);
    let new_leader = cluster.wait_for_leader(group, Duration::from_secs(60)).await;
    assert_eq!(new_leader, away, "only the replica that was away has the last record");
    let mut k = cluster.kinesis(away).await;
    let records = read_shard(&mut k, "away", SHARD0).await;
    let got: Vec<String> = records.iter().map(|r| r.sequence_number.clone()).collect();
    assert_eq!(got, kept, "exactly the kept records, none of the expired ones");
    assert!(records.iter().all(|r| r.sequence_number.parse::<u128>().unwrap() > last_old));

    // Its disk: it installed a snapshot (kept records came inline), and its own copies of
    // the expired records are gone, not merely hidden below the trim horizon.
    cluster.stop_with(away, "TERM", Duration::from_secs(30));
    let engine = RocksEngine::open(&cluster.data_dir(away).join("db")).expect("open the replica's database");
    let applied = ShardApplied::load(&engine, GroupId(group)).expect("applied state");
    assert!(applied.inline_through > 0, "caught up from a snapshot: {applied:?}");
    let trim = applied.trim.expect("the trim came with the snapshot");
    assert!(u128::from(trim.first_counter) << 32 > last_old, "{trim:?}");
    let rows = engine
        .scan(
            Cf::Index,
            &keys::key(GroupId(group), KeyKind::Record),
            &keys::kind_end(GroupId(group), KeyKind::Record),
            1,
        )
        .expect("scan the index");
    let first = rows.first().and_then(|(key, _)| keys::number_of(key, GroupId(group), KeyKind::Record));
    assert!(first.is_some_and(|c| c >= trim.first_counter), "index rows below the trim horizon: {first:?}");
}
