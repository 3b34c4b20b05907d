//! Ctrl-C (SIGINT) and SIGTERM stop a node cleanly under load, again and again: `runnel-node
//! dev` (three nodes in one process), and each node of a cluster of `runnel-node run`
//! processes in turn, exit with status 0, not an abort (134, seen before as `pthread lock:
//! Invalid argument` when RocksDB closed under running work) nor a signal, log no panic,
//! and after a restart on the same data every record acknowledged before the stop is there.

mod common;

use common::{admin_at, eventually, free_ports, kinesis_at, read_shard, send_signal, wait_exit, Cluster};
use runnel_proto::v1::*;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STREAM: &str = "stops";
const SHARDS: usize = 2;
const ROUNDS: usize = 10;
/// A hang detector: a clean stop takes a few seconds at most.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Data -> sequence number of every acknowledged record.
type Acks = Arc<Mutex<BTreeMap<String, String>>>;

struct Dev {
    dir: tempfile::TempDir,
    base: u16,
    peer_base: u16,
}

impl Dev {
    fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.base as usize + i)
    }

    fn log(&self, round: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("round-{round}.log"))
    }

    fn spawn(&self, round: usize) -> Child {
        let log = std::fs::File::create(self.log(round)).expect("log file");
        Command::new(env!("CARGO_BIN_EXE_runnel-node"))
            .arg("dev")
            .args(["--dir", self.dir.path().join("data").to_str().expect("utf-8 path")])
            .args(["--base-port", &self.base.to_string()])
            .args(["--peer-base-port", &self.peer_base.to_string()])
            .env("RUNNEL_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn runnel-node dev")
    }

    /// Waits until every node is up, the metadata group and `shards` shard groups have
    /// leaders, and every replica has applied what its group committed.
    async fn wait_ready(&self, shards: usize) {
        eventually("the dev cluster to be ready", Duration::from_secs(60), Duration::from_millis(100), || async {
            let reply = admin_at(&self.endpoint(0)).describe_cluster(DescribeClusterRequest {}).await.ok()?;
            let reply = reply.into_inner();
            let ready = reply.nodes.iter().all(|n| n.healthy)
                && reply.groups.len() == 1 + shards
                && reply.groups.iter().all(|g| {
                    g.leader.is_some()
                        && g.replica_states.len() == g.replicas.len()
                        && g.replica_states
                            .iter()
                            .all(|r| r.applied_index.is_some() && r.applied_index >= g.commit_index)
                });
            ready.then_some(())
        })
        .await
    }
}

/// Puts batches through the node at `dev_endpoint` until `stop`, recording what is
/// acknowledged.
async fn produce(dev_endpoint: String, round: usize, task: usize, acks: Acks, stop: Arc<AtomicBool>) {
    let mut k = kinesis_at(&dev_endpoint);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let data: Vec<String> = (0..10).map(|j| format!("r{round}-t{task}-n{}", n + j)).collect();
        n += data.len();
        let records = data
            .iter()
            .map(|d| PutRecordsRequestEntry {
                data: d.clone().into_bytes(),
                explicit_hash_key: None,
                partition_key: d.clone(),
            })
            .collect();
        match k.put_records(PutRecordsRequest { records, stream_name: STREAM.into(), stream_arn: String::new() }).await
        {
            Ok(reply) => {
                let mut acks = acks.lock().unwrap();
                for (d, r) in data.into_iter().zip(reply.into_inner().records) {
                    if let Some(seq) = r.sequence_number {
                        acks.insert(d, seq);
                    }
                }
            }
            // The node is stopping, or gone: nothing acknowledged.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Follows every shard with GetRecords until `stop`.
async fn consume(dev_endpoint: String, stop: Arc<AtomicBool>) {
    let mut k = kinesis_at(&dev_endpoint);
    let mut iterators: Vec<Option<String>> = vec![None; SHARDS];
    while !stop.load(Ordering::Relaxed) {
        for (shard, it) in iterators.iter_mut().enumerate() {
            if it.is_none() {
                let req = common::iterator_req(STREAM, &format!("shardId-{shard:012}"), "TRIM_HORIZON");
                *it = k.get_shard_iterator(req).await.ok().map(|r| r.into_inner().shard_iterator);
            }
            if let Some(current) = it.clone() {
                let req = GetRecordsRequest { shard_iterator: current, limit: Some(100), stream_arn: String::new() };
                *it = k.get_records(req).await.ok().and_then(|r| r.into_inner().next_shard_iterator);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every acknowledged record is in the stream under its sequence number.
async fn verify(dev: &Dev, acks: &BTreeMap<String, String>) {
    verify_at(&dev.endpoint(1), acks).await
}

async fn verify_at(endpoint: &str, acks: &BTreeMap<String, String>) {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut k = kinesis_at(endpoint);
    for shard in 0..SHARDS {
        for r in read_shard(&mut k, STREAM, &format!("shardId-{shard:012}")).await {
            found.entry(String::from_utf8(r.data).unwrap()).or_default().push(r.sequence_number);
        }
    }
    for (data, seq) in acks {
        let seqs =
            found.get(data).unwrap_or_else(|| panic!("{data} was acknowledged as {seq} before a stop, then lost"));
        assert!(seqs.contains(seq), "{data} acknowledged as {seq}, found as {seqs:?}");
    }
}

/// Signals the process and checks it stopped cleanly.
fn stop(dev: &Dev, child: &mut Child, round: usize) -> Duration {
    let signal = ["INT", "TERM"][round % 2];
    let started = Instant::now();
    send_signal(child.id(), signal);
    let status = wait_exit(child, EXIT_TIMEOUT);
    let took = started.elapsed();
    let log = std::fs::read_to_string(dev.log(round)).unwrap_or_default();
    let tail = common::tail(&dev.log(round), 60);
    let status =
        status.unwrap_or_else(|| panic!("round {round}: no exit within {EXIT_TIMEOUT:?} of SIG{signal}:\n{tail}"));
    assert!(
        status.code() == Some(0),
        "round {round}: SIG{signal} gave {status:?} (signal {:?}), not a clean exit:\n{tail}",
        status.signal()
    );
    for bad in ["panicked", "fail-stop", "pthread"] {
        assert!(!log.contains(bad), "round {round}: {bad:?} in the log:\n{log}");
    }
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_stop_the_node_cleanly_under_load() {
    let dev = Dev { dir: tempfile::tempdir().expect("temp dir"), base: free_ports(3), peer_base: free_ports(3) };
    let acks: Acks = Arc::default();
    let mut stops = Vec::new();
    for round in 0..ROUNDS {
        let mut child = dev.spawn(round);
        if round == 0 {
            dev.wait_ready(0).await;
            let mut k = kinesis_at(&dev.endpoint(0));
            common::create_active(&mut k, STREAM, SHARDS as i32).await;
            dev.wait_ready(SHARDS).await;
        } else {
            dev.wait_ready(SHARDS).await;
            // What was acknowledged before the last stop survived it.
            let before = acks.lock().unwrap().clone();
            verify(&dev, &before).await;
        }

        // Load on every node, then the signal while it runs.
        let stop_load = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..3 {
            tasks.push(tokio::spawn(produce(dev.endpoint(t), round, t, acks.clone(), stop_load.clone())));
        }
        for t in 0..2 {
            tasks.push(tokio::spawn(consume(dev.endpoint(t + 1), stop_load.clone())));
        }
        // Stop at a different point each round: after 20 to 100 acknowledged records.
        let prefix = format!("r{round}-");
        let wanted = 20 * (1 + round % 5);
        eventually("records acknowledged under load", Duration::from_secs(60), Duration::from_millis(10), || {
            let n = acks.lock().unwrap().keys().filter(|k| k.starts_with(&prefix)).count();
            std::future::ready((n >= wanted).then_some(()))
        })
        .await;
        let took = tokio::task::block_in_place(|| stop(&dev, &mut child, round));
        stops.push(took);
        stop_load.store(true, Ordering::Relaxed);
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task).await.expect("load task hung").expect("load task");
        }
    }

    // One last start: everything acknowledged in every round is there.
    let mut child = dev.spawn(ROUNDS);
    dev.wait_ready(SHARDS).await;
    let all = acks.lock().unwrap().clone();
    verify(&dev, &all).await;
    stop(&dev, &mut child, ROUNDS);
    eprintln!("{} records acknowledged over {ROUNDS} rounds; stops took {stops:?}", all.len());
}

/// The same for one node of a cluster of separate processes: the others keep serving, so
/// its writes under way commit while it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_of_a_cluster_stops_cleanly_under_load() {
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    common::create_active(&mut k, STREAM, SHARDS as i32).await;
    let acks: Acks = Arc::default();
    for round in 0..3 {
        let victim = round % 3;
        let survivor = (victim + 1) % 3;
        let stop_load = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..3 {
            tasks.push(tokio::spawn(produce(cluster.endpoint(t), round, t, acks.clone(), stop_load.clone())));
        }
        tasks.push(tokio::spawn(consume(cluster.endpoint(victim), stop_load.clone())));
        let prefix = format!("r{round}-");
        eventually("records acknowledged under load", Duration::from_secs(60), Duration::from_millis(10), || {
            let n = acks.lock().unwrap().keys().filter(|k| k.starts_with(&prefix)).count();
            std::future::ready((n >= 50).then_some(()))
        })
        .await;
        let signal = ["INT", "TERM"][round % 2];
        let status = tokio::task::block_in_place(|| cluster.stop_with(victim, signal, EXIT_TIMEOUT));
        let log = cluster.log_of(victim);
        assert!(status.code() == Some(0), "node {}: SIG{signal} gave {status:?}:\n{}", victim + 1, cluster.logs(60));
        for bad in ["panicked", "fail-stop", "pthread"] {
            assert!(!log.contains(bad), "node {}: {bad:?} in the log:\n{log}", victim + 1);
        }
        stop_load.store(true, Ordering::Relaxed);
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task).await.expect("load task hung").expect("load task");
        }
        // The others still hold everything; the stopped node comes back with it.
        let before = acks.lock().unwrap().clone();
        verify_at(&cluster.endpoint(survivor), &before).await;
        cluster.start_node(victim);
        cluster.wait_caught_up(Duration::from_secs(60)).await;
        verify_at(&cluster.endpoint(victim), &before).await;
    }
}
