//! A rolling restart under load loses no write: each node of a 3-node cluster in turn is
//! stopped with SIGTERM and started again while writers put records through the Rust
//! client (with its retries). A stopping node first hands every leadership it holds to an
//! up-to-date voter (cluster/handoff.rs), so no write fails beyond the client's retries and
//! every acknowledged record reads back, in per-shard order.
//!
//! Prints how long each stop took and the longest write (the stall a client saw).

mod common;

use common::{create_active, read_shard, shard_ids, Cluster};
use runnel_client::proto::PutRecordRequest;
use runnel_client::Client;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STREAM: &str = "rolling";
const SHARDS: i32 = 4;
const WRITERS: usize = 2;
/// A hang detector: a stop hands over within a few seconds, then stops.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// One acknowledged write.
#[derive(Debug, Clone)]
struct Ack {
    data: String,
    shard: String,
    sequence: u128,
}

#[derive(Default)]
struct Log {
    /// Per writer, its acknowledged writes in the order they were acknowledged.
    acks: Vec<Vec<Ack>>,
    failures: Vec<String>,
    longest: Duration,
}

async fn write(client: Client, writer: usize, log: Arc<Mutex<Log>>, stop: Arc<AtomicBool>) {
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let data = format!("w{writer}-{n}");
        let req = PutRecordRequest {
            stream_name: STREAM.into(),
            data: data.clone().into_bytes(),
            partition_key: format!("key-{}", n % 97),
            ..Default::default()
        };
        let started = Instant::now();
        let reply = client.put_record(req).await;
        let took = started.elapsed();
        let mut log = log.lock().unwrap();
        log.longest = log.longest.max(took);
        match reply {
            Ok(r) => {
                let sequence = r.sequence_number.parse().expect("a decimal sequence number");
                log.acks[writer].push(Ack { data, shard: r.shard_id, sequence });
            }
            Err(e) => log.failures.push(format!("{data}: {e}")),
        }
        n += 1;
    }
}

/// The last handoff node `i` logged: (groups it led, groups it still led at the end).
fn last_handoff(cluster: &Cluster, i: usize) -> Option<(usize, String)> {
    let log = cluster.log_of(i);
    let line = log.lines().rev().find(|l| l.contains("handed leaderships over"))?;
    let field = |name: &str| {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        let rest = &line[start..];
        let end = if rest.starts_with('[') { rest.find(']')? + 1 } else { rest.find(' ').unwrap_or(rest.len()) };
        Some(rest[..end].to_string())
    };
    Some((field("led")?.parse().ok()?, field("kept")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_with_sigterm_fails_no_write() {
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, STREAM, SHARDS).await;
    cluster.wait_caught_up(Duration::from_secs(60)).await;

    let client = Client::connect(cluster.endpoints()).await.expect("client");
    let log = Arc::new(Mutex::new(Log { acks: vec![Vec::new(); WRITERS], ..Log::default() }));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> =
        (0..WRITERS).map(|w| tokio::spawn(write(client.clone(), w, log.clone(), stop.clone()))).collect();
    let acked = |log: &Arc<Mutex<Log>>| log.lock().unwrap().acks.iter().map(Vec::len).sum::<usize>();

    let mut stops = Vec::new();
    let mut handed = Vec::new();
    for victim in 0..3 {
        // Some writes before each stop.
        let before = acked(&log);
        common::eventually("writes under way", Duration::from_secs(60), Duration::from_millis(20), || {
            std::future::ready((acked(&log) >= before + 100).then_some(()))
        })
        .await;
        let started = Instant::now();
        let status = tokio::task::block_in_place(|| cluster.stop_with(victim, "TERM", EXIT_TIMEOUT));
        let took = started.elapsed();
        assert_eq!(status.code(), Some(0), "node {}: SIGTERM gave {status:?}:\n{}", victim + 1, cluster.logs(60));
        let (led, kept) = last_handoff(&cluster, victim)
            .unwrap_or_else(|| panic!("node {} logged no handoff:\n{}", victim + 1, cluster.logs(40)));
        assert_eq!(kept, "[]", "node {} still led groups when it stopped", victim + 1);
        stops.push(took);
        handed.push(led);
        // Writes go on without it; then it comes back and serves again.
        let before = acked(&log);
        common::eventually(
            "writes without the stopped node",
            Duration::from_secs(60),
            Duration::from_millis(20),
            || std::future::ready((acked(&log) >= before + 50).then_some(())),
        )
        .await;
        cluster.start_node(victim);
        cluster.wait_caught_up(Duration::from_secs(60)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(60), w).await.expect("writer hung").expect("writer");
    }

    let log = Arc::try_unwrap(log).ok().expect("writers ended").into_inner().unwrap();
    assert!(log.failures.is_empty(), "writes failed beyond the client's retries: {:?}", log.failures);
    assert!(handed.iter().sum::<usize>() > 0, "no stopped node led anything: the test proves nothing");

    // Every acknowledged record is there under its sequence number, and each writer's
    // records of one shard are in the order they were acknowledged.
    let mut found: BTreeMap<String, Vec<u128>> = BTreeMap::new();
    for shard in shard_ids(&mut k, STREAM).await {
        for r in read_shard(&mut k, STREAM, &shard).await {
            let data = String::from_utf8(r.data).expect("utf-8");
            found.entry(data).or_default().push(r.sequence_number.parse().expect("decimal"));
        }
    }
    let total: usize = log.acks.iter().map(Vec::len).sum();
    for acks in &log.acks {
        let mut last: BTreeMap<&str, u128> = BTreeMap::new();
        for ack in acks {
            let copies = found.get(&ack.data).unwrap_or_else(|| panic!("acknowledged {} was lost", ack.data));
            assert!(
                copies.contains(&ack.sequence),
                "{} acknowledged as {}, found as {copies:?}",
                ack.data,
                ack.sequence
            );
            let previous = last.insert(&ack.shard, ack.sequence);
            assert!(previous.is_none_or(|p| p < ack.sequence), "{} out of order in {}", ack.data, ack.shard);
        }
    }
    eprintln!(
        "rolling restart: {total} writes acknowledged, none failed; stops took {stops:?}, leaderships handed over \
         {handed:?}; longest write {:?}",
        log.longest
    );
}
