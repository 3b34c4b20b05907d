//! `runnel-bench`: a load generator for a running cluster. It is a tool, not a test: it
//! prints throughput and latency, and asserts nothing about them.
//!
//! ```text
//! runnel-bench --endpoint http://127.0.0.1:50051 --records 200000 --record-bytes 100
//! ```
//!
//! Workers send PutRecords batches (or single PutRecord calls with `--mode put-record`)
//! with random partition keys until the record budget is spent, recording the latency of
//! every call in an HDR histogram.
//!
//! `--io-pid PID` (repeatable: every node process) also reports write amplification: the
//! bytes the processes caused to be written to disk (`write_bytes` in /proc/PID/io: the
//! RocksDB WAL, flushes and compaction together) per byte of record data, per replica.
//! `--settle-seconds` waits after the writes, so flushes and compactions they caused count.

mod load;
mod stream;

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use load::{LoadArgs, Mode, Totals};
use rand::SeedableRng;
use runnel_client::proto::{PutRecordRequest, PutRecordsRequest, PutRecordsRequestEntry};
use runnel_client::{Client, ClientConfig};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "runnel-bench", about = "PutRecords throughput and latency against a running Runnel cluster")]
struct Args {
    #[arg(long = "endpoint", default_value = "http://127.0.0.1:50051", value_delimiter = ',')]
    endpoints: Vec<String>,
    #[arg(long, default_value = "bench")]
    stream: String,
    /// Shards of the stream, when the bench creates it.
    #[arg(long, default_value_t = 4)]
    shards: u32,
    #[command(flatten)]
    load: LoadArgs,
    /// Node processes whose disk writes are counted (write amplification).
    #[arg(long = "io-pid")]
    io_pids: Vec<u32>,
    /// Replicas of each record, for write amplification per replica.
    #[arg(long, default_value_t = 3)]
    replication_factor: u32,
    /// Seconds to wait after the writes before the disk writes are read again.
    #[arg(long, default_value_t = 0)]
    settle_seconds: u64,
    /// Send each PutRecords' records to their shards' leaders in one call per leader
    /// (`ClientConfig::split_put_records`) instead of whole to one node.
    #[arg(long)]
    split: bool,
}

/// Bytes the processes caused to be written to storage so far (all their threads).
fn disk_written(pids: &[u32]) -> anyhow::Result<u64> {
    let mut total = 0;
    for pid in pids {
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).with_context(|| format!("/proc/{pid}/io"))?;
        let line = io.lines().find_map(|l| l.strip_prefix("write_bytes:"));
        total += line.context("no write_bytes in /proc/PID/io")?.trim().parse::<u64>()?;
    }
    Ok(total)
}

async fn worker(client: Client, args: Arc<Args>, totals: Arc<Totals>, seed: u64) -> anyhow::Result<Histogram<u64>> {
    let mut hist = load::histogram()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let load = &args.load;
    while let Some(n) = totals.claim(load.per_call()) {
        let started = Instant::now();
        let failed = match load.mode {
            Mode::PutRecords => {
                let records = (0..n)
                    .map(|_| PutRecordsRequestEntry {
                        data: load::payload(&mut rng, load.record_bytes),
                        explicit_hash_key: None,
                        partition_key: format!("pk-{}", rand::random::<u32>()),
                    })
                    .collect();
                let req = PutRecordsRequest { records, stream_name: args.stream.clone(), stream_arn: String::new() };
                match client.put_records(req).await {
                    Ok(reply) => reply.failed_record_count.max(0) as u64,
                    Err(_) => n,
                }
            }
            Mode::PutRecord => {
                let req = PutRecordRequest {
                    stream_name: args.stream.clone(),
                    data: load::payload(&mut rng, load.record_bytes),
                    partition_key: format!("pk-{}", rand::random::<u32>()),
                    ..Default::default()
                };
                match client.put_record(req).await {
                    Ok(_) => 0,
                    Err(_) => 1,
                }
            }
        };
        totals.count(n, failed);
        load::record_call(&mut hist, started)?;
    }
    Ok(hist)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    args.load.check()?;
    let config = ClientConfig { split_put_records: args.split, ..ClientConfig::default() };
    let client = Client::with_config(args.endpoints.clone(), config).await.context("connect")?;
    stream::ready(&client, &args.stream, args.shards).await?;

    let totals = Arc::new(Totals::new(args.load.records));
    let disk_before = disk_written(&args.io_pids)?;
    let run =
        load::run(args.load.concurrency, &totals, |i| worker(client.clone(), args.clone(), totals.clone(), i)).await?;
    tokio::time::sleep(std::time::Duration::from_secs(args.settle_seconds)).await;
    let disk = disk_written(&args.io_pids)? - disk_before;
    let user_bytes = run.acked * args.load.record_bytes as u64;
    // Disk bytes per byte of record data, per replica; absent without --io-pid.
    let amplification = (!args.io_pids.is_empty() && user_bytes > 0)
        .then(|| disk as f64 / (user_bytes as f64 * args.replication_factor as f64));
    let text = amplification.map(|amplification| {
        format!(
            "disk: {:.1} MiB written for {:.1} MiB of record data: {amplification:.2} bytes per byte per replica",
            disk as f64 / (1024.0 * 1024.0),
            user_bytes as f64 / (1024.0 * 1024.0)
        )
    });
    let json = serde_json::json!({ "disk_bytes_written": disk, "write_amplification_per_replica": amplification });
    load::report(&args.load, &run, json, text.as_slice());
    Ok(())
}
