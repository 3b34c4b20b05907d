//! `runnel-bench-scale`: what many shards cost a 3-node cluster. A tool, not a test: it
//! prints figures and asserts nothing about them.
//!
//! ```text
//! runnel-bench-scale --shards 10,100,1000            # a fresh cluster for each count
//! runnel-bench-scale --shards 3000 --skip-writes     # idle cost and failover only
//! ```
//!
//! For each shard count it starts three `runnel-node run` processes on loopback (data under
//! `--dir`, on disk rather than tmpfs; `--shard-limit` raised to the count), creates streams
//! of 50 shards until the count is reached, and reports:
//!
//! - the time from the first CreateStream call until every stream is ACTIVE;
//! - idle CPU of the three processes together (utime + stime over `--idle-seconds`, as a
//!   share of one core) and their RSS, once `--settle-seconds` have passed;
//! - write throughput: PutRecords of 500 records of 100 B with random keys, 8 calls in
//!   flight, for `--write-seconds`, each call to a random stream (so spread over every
//!   shard), against the same load on a stream of 8 shards created afterwards;
//! - idle CPU and RSS again once the writes are over and `--settle-seconds` have passed;
//! - failover: kill -9 of node 3; for every shard it led, the time until a PutRecord to
//!   that shard (through nodes 1 and 2) is acknowledged, p50 / p99 / max over those shards;
//! - idle CPU again once node 3 is back and has caught up.

use anyhow::{bail, Context};
use clap::Parser;
use hdrhistogram::Histogram;
use runnel_client::proto::{PutRecordRequest, PutRecordsRequest, PutRecordsRequestEntry};
use runnel_client::{Client, ClientConfig, RetryPolicy};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shards per stream, as a new user creating many would.
const STREAM_SHARDS_MAX: u32 = 50;
const NODES: u64 = 3;
/// The node killed for the failover figure.
const VICTIM: u64 = 3;
const WRITE_BATCH: usize = 500;
const WRITE_RECORD_BYTES: usize = 100;
const WRITE_IN_FLIGHT: usize = 8;
/// A shard whose writes have not resumed after this long is reported as not resumed.
const FAILOVER_GIVE_UP: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(name = "runnel-bench-scale", about = "Idle cost, time to ACTIVE, failover and throughput of many shards")]
struct Args {
    /// Shard counts to measure, each on a fresh cluster.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    shards: Vec<u32>,
    /// The node binary (default: runnel-node next to this one).
    #[arg(long)]
    node_bin: Option<PathBuf>,
    /// Where the nodes keep their data (emptied first); default ~/.cache/runnel-scale.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Client port of node 1; peers listen 100 above.
    #[arg(long, default_value_t = 52051)]
    base_port: u16,
    #[arg(long, default_value_t = 10)]
    settle_seconds: u64,
    #[arg(long, default_value_t = 20)]
    idle_seconds: u64,
    #[arg(long, default_value_t = 10)]
    write_seconds: u64,
    #[arg(long)]
    skip_writes: bool,
    #[arg(long)]
    skip_failover: bool,
    /// Print one JSON object per shard count instead of text.
    #[arg(long)]
    json: bool,
}

struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    base_port: u16,
    shard_limit: u32,
    nodes: Vec<Option<Child>>,
}

impl Cluster {
    fn client_url(&self, id: u64) -> String {
        format!("http://127.0.0.1:{}", self.base_port as u64 + id - 1)
    }

    fn start_node(&mut self, id: u64) -> anyhow::Result<()> {
        let port = |base: u64| base + id - 1;
        let peers: Vec<String> =
            (1..=NODES).map(|i| format!("{i}=http://127.0.0.1:{}", self.base_port as u64 + 100 + i - 1)).collect();
        let log = std::fs::File::create(self.dir.join(format!("node{id}.log")))?;
        let child = Command::new(&self.bin)
            .arg("run")
            .args(["--id", &id.to_string()])
            .args(["--listen", &format!("127.0.0.1:{}", port(self.base_port as u64))])
            .args(["--advertise", &self.client_url(id)])
            .args(["--peer-listen", &format!("127.0.0.1:{}", port(self.base_port as u64 + 100))])
            .args(["--peer", &peers.join(",")])
            .args(["--data-dir", &self.dir.join(format!("node{id}")).display().to_string()])
            .args(["--shard-limit", &self.shard_limit.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", self.bin.display()))?;
        self.nodes[id as usize - 1] = Some(child);
        Ok(())
    }

    fn pids(&self) -> Vec<u32> {
        self.nodes.iter().flatten().map(Child::id).collect()
    }

    fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.nodes[id as usize - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=NODES {
            self.kill(id);
        }
    }
}

/// CPU ticks (utime + stime) and resident bytes of a process.
fn usage(pid: u32) -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which may hold spaces: state is field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11).context("utime")?.parse::<u64>()? + fields.get(12).context("stime")?.parse::<u64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    Ok((ticks, rss_kib * 1024))
}

/// CPU of `pids` together over `seconds`, as a share of one core, and their RSS after.
async fn idle(pids: &[u32], seconds: u64) -> anyhow::Result<(f64, u64)> {
    // Clock ticks per second: 100 on Linux everywhere this runs.
    const TICKS_PER_S: f64 = 100.0;
    let before: u64 = pids.iter().map(|p| usage(*p).map(|u| u.0)).sum::<anyhow::Result<u64>>()?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let mut ticks = 0;
    let mut rss = 0;
    for p in pids {
        let (t, r) = usage(*p)?;
        ticks += t;
        rss += r;
    }
    Ok(((ticks - before) as f64 / TICKS_PER_S / seconds as f64, rss))
}

async fn wait_for_cluster(client: &Client) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(c) = client.describe_cluster().await {
            if c.nodes.len() as u64 == NODES && c.nodes.iter().all(|n| n.healthy) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the cluster did not come up within 60 s")
}

/// Creates streams of up to 50 shards until `shards` are reached; returns their names and
/// the seconds until every one was ACTIVE.
async fn create(client: &Client, shards: u32) -> anyhow::Result<(Vec<String>, f64)> {
    let started = Instant::now();
    let mut names = Vec::new();
    let mut left = shards;
    while left > 0 {
        let n = left.min(STREAM_SHARDS_MAX);
        let name = format!("scale-{}", names.len());
        client.create_stream(&name, n).await.with_context(|| format!("create {name}"))?;
        names.push(name);
        left -= n;
    }
    for name in &names {
        let budget = Duration::from_secs(600).saturating_sub(started.elapsed());
        client.wait_for_active(name, budget).await.with_context(|| format!("{name} never became ACTIVE"))?;
    }
    Ok((names, started.elapsed().as_secs_f64()))
}

/// Records per second acknowledged by PutRecords calls to random streams of `names`.
async fn write(client: &Client, names: &[String], seconds: u64) -> f64 {
    let names = Arc::new(names.to_vec());
    let acked = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..WRITE_IN_FLIGHT).map(|_| {
        let (client, names, acked) = (client.clone(), names.clone(), acked.clone());
        tokio::spawn(async move {
            while Instant::now() < end {
                let stream = names[rand::random_range(0..names.len())].clone();
                let records = (0..WRITE_BATCH)
                    .map(|_| PutRecordsRequestEntry {
                        data: vec![rand::random::<u8>(); WRITE_RECORD_BYTES],
                        explicit_hash_key: None,
                        partition_key: format!("pk-{}", rand::random::<u64>()),
                    })
                    .collect();
                let req = PutRecordsRequest { records, stream_name: stream, stream_arn: String::new() };
                match client.put_records(req).await {
                    Ok(reply) => {
                        let failed = reply.failed_record_count.max(0) as u64;
                        if let Some(r) = reply.records.iter().find(|r| r.error_code.is_some()) {
                            eprintln!("{failed} records failed: {:?} {:?}", r.error_code, r.error_message);
                        }
                        acked.fetch_add((WRITE_BATCH as u64).saturating_sub(failed), Ordering::Relaxed);
                    }
                    Err(e) => eprintln!("PutRecords failed: {e}"),
                }
            }
        })
    });
    let started = Instant::now();
    for w in workers.collect::<Vec<_>>() {
        let _ = w.await;
    }
    acked.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The shards `victim` leads: (stream, starting hash key).
async fn led_by(client: &Client, names: &[String], victim: u64) -> anyhow::Result<Vec<(String, String)>> {
    let cluster = client.describe_cluster().await?;
    let mut led = Vec::new();
    for name in names {
        let shards = client.list_shards(name).await?;
        for g in cluster.groups.iter().filter(|g| g.stream_name == *name && g.leader == Some(victim)) {
            if let Some(s) = shards.iter().find(|s| s.shard_id == g.shard_id) {
                let start = s.hash_key_range.as_ref().map(|r| r.starting_hash_key.clone()).unwrap_or_default();
                led.push((name.clone(), start));
            }
        }
    }
    Ok(led)
}

/// Kills `VICTIM` and times, per shard it led, how long until a write to it is acknowledged.
async fn failover(
    cluster: &mut Cluster,
    names: &[String],
    survivors: &Client,
) -> anyhow::Result<(Histogram<u64>, usize)> {
    let led = led_by(survivors, names, VICTIM).await?;
    let killed = Instant::now();
    cluster.kill(VICTIM);
    // One probe per shard, all at once: a probe waiting for a turn would count its wait as
    // the shard's failover. Each retries with the client's own backoff.
    let probes = led.into_iter().map(|(stream, hash_key)| {
        let client = survivors.clone();
        tokio::spawn(async move {
            while killed.elapsed() < FAILOVER_GIVE_UP {
                let req = PutRecordRequest {
                    stream_name: stream.clone(),
                    data: b"failover".to_vec(),
                    partition_key: "failover".into(),
                    explicit_hash_key: Some(hash_key.clone()),
                    ..Default::default()
                };
                if client.put_record(req).await.is_ok() {
                    return Some(killed.elapsed());
                }
            }
            None
        })
    });
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000, 3)?;
    let mut lost = 0;
    for p in probes.collect::<Vec<_>>() {
        match p.await.ok().flatten() {
            Some(took) => hist.record(took.as_millis().max(1) as u64)?,
            None => lost += 1,
        }
    }
    Ok((hist, lost))
}

async fn measure(args: &Args, bin: &Path, dir: &Path, shards: u32) -> anyhow::Result<serde_json::Value> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let mut cluster = Cluster {
        bin: bin.to_path_buf(),
        dir: dir.to_path_buf(),
        base_port: args.base_port,
        shard_limit: (shards + 8).max(500),
        nodes: vec![None, None, None],
    };
    for id in 1..=NODES {
        cluster.start_node(id)?;
    }
    let all: Vec<String> = (1..=NODES).map(|i| cluster.client_url(i)).collect();
    let client = Client::connect(all).await?;
    wait_for_cluster(&client).await?;
    let (names, active_s) = create(&client, shards).await?;
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
    let (idle_cores, rss) = idle(&cluster.pids(), args.idle_seconds).await?;
    let mut report = serde_json::json!({
        "shards": shards, "streams": names.len(), "seconds_to_active": active_s,
        "idle_cpu_cores": idle_cores, "rss_bytes": rss,
    });
    if !args.skip_writes {
        eprintln!("writing to every shard for {} s", args.write_seconds);
        let spread = write(&client, &names, args.write_seconds).await;
        let (eight, _) = create_named(&client, "scale-eight", 8).await?;
        eprintln!("writing to 8 shards for {} s", args.write_seconds);
        let narrow = write(&client, &eight, args.write_seconds).await;
        report["write_records_per_s"] = spread.into();
        report["write_records_per_s_8_shards"] = narrow.into();
        // Written once, then left alone: what the writes left behind in the idle cluster,
        // apart from what the failover and the restart add later.
        tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
        let (idle_after, rss_after) = idle(&cluster.pids(), args.idle_seconds).await?;
        report["idle_cpu_cores_after_writes"] = idle_after.into();
        report["rss_bytes_after_writes"] = rss_after.into();
    }
    if !args.skip_failover {
        tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
        let config = ClientConfig {
            request_timeout: Duration::from_secs(1),
            // Short waits between attempts: the probes measure when each shard takes writes
            // again, not how far a writer's backoff had grown by then.
            retry: RetryPolicy {
                initial_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
                max_elapsed: FAILOVER_GIVE_UP,
                ..RetryPolicy::default()
            },
            ..ClientConfig::default()
        };
        let survivors = Client::with_config(vec![cluster.client_url(1), cluster.client_url(2)], config).await?;
        let (hist, lost) = failover(&mut cluster, &names, &survivors).await?;
        report["failover_shards"] = (hist.len() + lost as u64).into();
        report["failover_ms_p50"] = hist.value_at_quantile(0.5).into();
        report["failover_ms_p99"] = hist.value_at_quantile(0.99).into();
        report["failover_ms_max"] = hist.max().into();
        report["failover_not_resumed"] = lost.into();
        cluster.start_node(VICTIM)?;
        wait_for_cluster(&client).await?;
        tokio::time::sleep(Duration::from_secs(args.settle_seconds * 2)).await;
        let (idle_after, rss_after) = idle(&cluster.pids(), args.idle_seconds).await?;
        report["idle_cpu_cores_after_restart"] = idle_after.into();
        report["rss_bytes_after_restart"] = rss_after.into();
    }
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
    Ok(report)
}

async fn create_named(client: &Client, name: &str, shards: u32) -> anyhow::Result<(Vec<String>, f64)> {
    let started = Instant::now();
    client.create_stream(name, shards).await.with_context(|| format!("create {name}"))?;
    client.wait_for_active(name, Duration::from_secs(120)).await?;
    Ok((vec![name.to_string()], started.elapsed().as_secs_f64()))
}

fn print(r: &serde_json::Value) {
    let f = |k: &str| r.get(k).and_then(|v| v.as_f64());
    println!("{} shards ({} streams):", r["shards"], r["streams"]);
    println!("  every stream ACTIVE after {:.1} s", f("seconds_to_active").unwrap_or(0.0));
    println!(
        "  idle: {:.1}% of one core (3 nodes together), RSS {:.0} MiB",
        100.0 * f("idle_cpu_cores").unwrap_or(0.0),
        f("rss_bytes").unwrap_or(0.0) / 1048576.0
    );
    if let (Some(spread), Some(narrow)) = (f("write_records_per_s"), f("write_records_per_s_8_shards")) {
        println!("  writes: {spread:.0} rec/s over every shard, {narrow:.0} over 8 shards ({:.2}x)", spread / narrow);
        println!(
            "  idle after the writes: {:.1}% of one core, RSS {:.0} MiB",
            100.0 * f("idle_cpu_cores_after_writes").unwrap_or(0.0),
            f("rss_bytes_after_writes").unwrap_or(0.0) / 1048576.0
        );
    }
    if let Some(p50) = f("failover_ms_p50") {
        println!(
            "  kill -9 of node {VICTIM}: {} shards it led resumed after p50 {p50:.0} ms, p99 {:.0} ms, max {:.0} ms ({} not within {}s)",
            r["failover_shards"],
            f("failover_ms_p99").unwrap_or(0.0),
            f("failover_ms_max").unwrap_or(0.0),
            r["failover_not_resumed"],
            FAILOVER_GIVE_UP.as_secs()
        );
        println!(
            "  idle after node {VICTIM} came back: {:.1}% of one core, RSS {:.0} MiB",
            100.0 * f("idle_cpu_cores_after_restart").unwrap_or(0.0),
            f("rss_bytes_after_restart").unwrap_or(0.0) / 1048576.0
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match &args.node_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("runnel-node"),
    };
    if !bin.exists() {
        bail!("{} not found: build it (cargo build --release -p runnel-node) or pass --node-bin", bin.display());
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => PathBuf::from(std::env::var("HOME").context("HOME")?).join(".cache/runnel-scale"),
    };
    for &shards in &args.shards {
        let report = measure(&args, &bin, &dir, shards).await.with_context(|| format!("{shards} shards"))?;
        if args.json {
            println!("{report}");
        } else {
            print(&report);
        }
    }
    Ok(())
}
