//! A follower that was down while more than a GiB was written catches up, and its copy is
//! the leader's: real `runnel-node run` processes, one stream with one shard.
//!
//! 1. kill -9 one follower of the shard; write 1 GiB through the leader (PutRecords of
//!    5 records of 1,000,000 incompressible bytes, about 4.8 MiB per call);
//! 2. restart the follower: it must apply up to the leader's commit index within
//!    `CATCH_UP_TIMEOUT` (before byte-bounded replication it stayed at log index 1 forever:
//!    `append to node 3 timed out`);
//! 3. kill -9 the other follower and write a few more records (the restarted node is now
//!    half of every quorum); kill -9 the leader and restart the other follower, whose log
//!    is now behind: Raft's election rule leaves only the restarted node electable;
//! 4. read the whole shard from it, as leader (reads are served by leaders only), and
//!    compare every record's content and sequence number with what was acknowledged.
//!
//! `RUNNEL_CATCH_UP_MIB` sets the amount written (default 1024).

mod common;

use common::{create_active, error_name, read_shard_with, Cluster};
use rand::RngCore;
use runnel_proto::v1::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const STREAM: &str = "big";
const SHARD: &str = "shardId-000000000000";
const RECORDS_PER_CALL: usize = 5;
/// With a 1-byte partition key, 5 records take 5,000,005 of the 5,242,880 bytes a
/// PutRecords call may carry.
const RECORD_BYTES: usize = 1_000_000;
/// Records are slices of one random pool, each at its own offset, behind its index.
const POOL_BYTES: usize = 8 << 20;
/// Hang detectors, not performance bounds. One PutRecords call takes about 0.4 s in a
/// debug build. Catching up 1 GiB took 53 s in a debug build on 2 cores (about 4 entries
/// of 5 MB a second): the whole catch-up may take `CATCH_UP_TIMEOUT` (over 5 times that),
/// and the applied index may stand still for at most `CATCH_UP_STALL` (the fault this
/// test guards against left it at 1 forever).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(300);
const CATCH_UP_STALL: Duration = Duration::from_secs(60);

struct Data {
    pool: Vec<u8>,
}

impl Data {
    fn new() -> Data {
        let mut pool = vec![0u8; POOL_BYTES];
        rand::rng().fill_bytes(&mut pool);
        Data { pool }
    }

    /// Record `i`: its index, then incompressible bytes.
    fn record(&self, i: u64, len: usize) -> Vec<u8> {
        let body = len - 8;
        let offset = (i as usize).wrapping_mul(2_654_435_761) % (POOL_BYTES - body);
        let mut data = i.to_le_bytes().to_vec();
        data.extend_from_slice(&self.pool[offset..offset + body]);
        data
    }

    fn index_of(data: &[u8]) -> u64 {
        u64::from_le_bytes(data[..8].try_into().expect("an index"))
    }
}

/// What the writer was told.
#[derive(Default)]
struct Written {
    /// Record index -> (length, acknowledged sequence number).
    acked: Vec<(u64, usize, String)>,
    /// Indexes whose put failed with an unknown outcome (they may appear without an ack,
    /// or twice).
    unknown: BTreeSet<u64>,
}

/// PutRecords of `lens.len()` records starting at index `first`, through node `node`,
/// until acknowledged.
async fn put_batch(cluster: &Cluster, node: usize, data: &Data, first: u64, lens: &[usize], written: &mut Written) {
    let mut k = cluster.kinesis(node).await;
    let deadline = Instant::now() + CALL_TIMEOUT;
    let mut pending: Vec<(u64, usize)> = lens.iter().enumerate().map(|(j, len)| (first + j as u64, *len)).collect();
    while !pending.is_empty() {
        assert!(Instant::now() < deadline, "records {pending:?} never acknowledged");
        let records = pending
            .iter()
            .map(|(i, len)| PutRecordsRequestEntry {
                data: data.record(*i, *len),
                explicit_hash_key: None,
                partition_key: "k".into(),
            })
            .collect();
        let req = PutRecordsRequest { records, stream_name: STREAM.into(), stream_arn: String::new() };
        match tokio::time::timeout(CALL_TIMEOUT, k.put_records(req)).await.expect("PutRecords hung") {
            Ok(reply) => {
                let mut still = Vec::new();
                for ((i, len), r) in pending.iter().zip(reply.into_inner().records) {
                    match r.sequence_number {
                        Some(seq) => written.acked.push((*i, *len, seq)),
                        None => {
                            eprintln!("record {i} failed: {:?} {:?}", r.error_code, r.error_message);
                            if !r.error_message.as_deref().is_some_and(|m| m.starts_with("Not written")) {
                                written.unknown.insert(*i);
                            }
                            still.push((*i, *len));
                        }
                    }
                }
                pending = still;
            }
            Err(status) => {
                eprintln!("PutRecords failed: {status:?}");
                let name = error_name(&status);
                assert!(name == "InternalFailure" || name == "ServiceUnavailable", "{status:?}");
                if name == "InternalFailure" {
                    written.unknown.extend(pending.iter().map(|(i, _)| *i));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The replica state of `node` in `group`, as node `via` reports it.
async fn applied(cluster: &Cluster, via: usize, group: u64, node: usize) -> Option<(Option<u64>, Option<u64>)> {
    let reply = cluster.describe(via).await?;
    let g = reply.groups.into_iter().find(|g| g.group_id == group)?;
    let r = g.replica_states.iter().find(|r| r.node_id == node as u64 + 1)?;
    Some((r.applied_index, g.commit_index))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_catches_up_a_gib_and_serves_it_as_leader() {
    let mib: usize = std::env::var("RUNNEL_CATCH_UP_MIB").ok().map_or(1024, |v| v.parse().expect("a number of MiB"));
    let calls = (mib * (1 << 20)).div_ceil(RECORDS_PER_CALL * RECORD_BYTES);
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, STREAM, 1).await;
    let group = cluster.group_of(STREAM, SHARD).await.group_id;
    let leader = cluster.wait_for_leader(group, Duration::from_secs(30)).await;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let (laggard, other) = (followers[0], followers[1]);
    eprintln!("leader node {}, laggard node {}, other node {}", leader + 1, laggard + 1, other + 1);
    let data = Data::new();
    let mut written = Written::default();

    // 1. The laggard is down while the bulk is written.
    cluster.kill(laggard);
    let started = Instant::now();
    for c in 0..calls {
        put_batch(
            &cluster,
            leader,
            &data,
            (c * RECORDS_PER_CALL) as u64,
            &[RECORD_BYTES; RECORDS_PER_CALL],
            &mut written,
        )
        .await;
        if c % 20 == 19 {
            eprintln!("{} of {calls} calls in {:?}", c + 1, started.elapsed());
        }
    }
    let write_time = started.elapsed();
    let bytes = (calls * RECORDS_PER_CALL * RECORD_BYTES) as f64;
    eprintln!(
        "wrote {:.3} GiB in {calls} calls in {write_time:?} ({:.1} MiB/s)",
        bytes / f64::from(1 << 30),
        bytes / f64::from(1 << 20) / write_time.as_secs_f64()
    );

    // 2. It comes back and catches up.
    let (_, target) = applied(&cluster, leader, group, leader).await.expect("the leader reports its group");
    let target = target.expect("a commit index");
    cluster.start_node(laggard);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let (mut progress, mut progress_at) = (None, Instant::now());
    loop {
        let state = applied(&cluster, leader, group, laggard).await;
        let index = state.and_then(|(applied, _)| applied);
        if index.is_some_and(|i| i >= target) {
            break;
        }
        if index > progress {
            (progress, progress_at) = (index, Instant::now());
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("catching up: applied {index:?} of {target} after {:?}", started.elapsed());
            last_report = Instant::now();
        }
        assert!(
            progress_at.elapsed() < CATCH_UP_STALL,
            "node {} stalled at applied index {progress:?} of {target} for {CATCH_UP_STALL:?}",
            laggard + 1
        );
        assert!(
            started.elapsed() < CATCH_UP_TIMEOUT,
            "node {} did not catch up to index {target} within {CATCH_UP_TIMEOUT:?}: applied {index:?}",
            laggard + 1
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let catch_up_time = started.elapsed();
    eprintln!("node {} applied up to index {target} in {catch_up_time:?}", laggard + 1);

    // 3. The laggard carries writes with the leader, then is the only electable node.
    cluster.kill(other);
    let tail_first = (calls * RECORDS_PER_CALL) as u64;
    for t in 0..3 {
        put_batch(&cluster, leader, &data, tail_first + t * 4, &[1000, 20_000, 300, 8], &mut written).await;
    }
    cluster.kill(leader);
    cluster.start_node(other);
    let new_leader = cluster.wait_for_leader(group, Duration::from_secs(60)).await;
    assert_eq!(new_leader, laggard, "only the node with the whole log can be elected");

    // 4. Everything, read from the laggard's own copy, is what was acknowledged.
    let started = Instant::now();
    let mut k = cluster.kinesis(laggard).await;
    let mut next = 0usize;
    let mut duplicates = 0usize;
    let mut last_seq = 0u128;
    let acked = &written.acked;
    let count = read_shard_with(&mut k, STREAM, SHARD, |r| {
        let seq: u128 = r.sequence_number.parse().unwrap();
        assert!(seq > last_seq, "sequence numbers strictly increase");
        last_seq = seq;
        let i = Data::index_of(&r.data);
        match acked.get(next) {
            Some((want, len, want_seq)) if *want == i => {
                assert_eq!(&r.sequence_number, want_seq, "record {i}: acknowledged under another number");
                assert_eq!(r.data.len(), *len, "record {i}: length");
                assert!(r.data == data.record(i, *len), "record {i}: content differs");
                next += 1;
            }
            _ => {
                // Only a put of unknown outcome may leave a record nobody acknowledged here.
                assert!(written.unknown.contains(&i), "record {i} at {seq} was not expected here (next ack #{next})");
                duplicates += 1;
            }
        }
    })
    .await;
    assert_eq!(next, acked.len(), "acknowledged records missing from the restarted node's copy");
    eprintln!(
        "read {count} records ({duplicates} unacknowledged) through node {} in {:?}; catch-up figures: {:.3} GiB written in {write_time:?}, caught up in {catch_up_time:?}",
        laggard + 1,
        started.elapsed(),
        bytes / f64::from(1 << 30)
    );
}
