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

mod stream;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use runnel_client::proto::{PutRecordRequest, PutRecordsRequest, PutRecordsRequestEntry};
use runnel_client::Client;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    PutRecords,
    PutRecord,
}

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
    #[arg(long, value_enum, default_value_t = Mode::PutRecords)]
    mode: Mode,
    /// Records to write in all (the bench's bound).
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    #[arg(long, default_value_t = 100)]
    record_bytes: usize,
    /// Records per PutRecords call (1 to 500).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Node processes whose disk writes are counted (write amplification).
    #[arg(long = "io-pid")]
    io_pids: Vec<u32>,
    /// Replicas of each record, for write amplification per replica.
    #[arg(long, default_value_t = 3)]
    replication_factor: u32,
    /// Seconds to wait after the writes before the disk writes are read again.
    #[arg(long, default_value_t = 0)]
    settle_seconds: u64,
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

struct Totals {
    records_left: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
}

async fn worker(client: Client, args: Arc<Args>, totals: Arc<Totals>, seed: u64) -> anyhow::Result<Histogram<u64>> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Random data, fresh for every record: nothing on the way to disk can compress it.
    let mut payload = || {
        let mut data = vec![0u8; args.record_bytes];
        rng.fill(&mut data[..]);
        data
    };
    let per_call = match args.mode {
        Mode::PutRecords => args.batch as u64,
        Mode::PutRecord => 1,
    };
    loop {
        // Claim a slice of the record budget; stop when it is spent.
        let claimed = totals
            .records_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(left.min(per_call)).filter(|_| left > 0)
            })
            .map(|left| left.min(per_call));
        let Ok(n) = claimed else { return Ok(hist) };
        let started = Instant::now();
        match args.mode {
            Mode::PutRecords => {
                let records = (0..n)
                    .map(|_| PutRecordsRequestEntry {
                        data: payload(),
                        explicit_hash_key: None,
                        partition_key: format!("pk-{}", rand::random::<u32>()),
                    })
                    .collect();
                let req = PutRecordsRequest { records, stream_name: args.stream.clone(), stream_arn: String::new() };
                match client.put_records(req).await {
                    Ok(reply) => {
                        let failed = reply.failed_record_count.max(0) as u64;
                        totals.failed.fetch_add(failed, Ordering::Relaxed);
                        totals.acked.fetch_add(n - failed, Ordering::Relaxed);
                    }
                    Err(_) => {
                        totals.failed.fetch_add(n, Ordering::Relaxed);
                    }
                }
            }
            Mode::PutRecord => {
                let req = PutRecordRequest {
                    stream_name: args.stream.clone(),
                    data: payload(),
                    partition_key: format!("pk-{}", rand::random::<u32>()),
                    ..Default::default()
                };
                match client.put_record(req).await {
                    Ok(_) => totals.acked.fetch_add(1, Ordering::Relaxed),
                    Err(_) => totals.failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
        hist.record(started.elapsed().as_micros().max(1) as u64)?;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    if !(1..=500).contains(&args.batch) {
        bail!("--batch must be 1 to 500");
    }
    let client = Client::connect(args.endpoints.clone()).await.context("connect")?;
    stream::ready(&client, &args.stream, args.shards).await?;

    let totals = Arc::new(Totals {
        records_left: AtomicU64::new(args.records),
        acked: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let disk_before = disk_written(&args.io_pids)?;
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|i| tokio::spawn(worker(client.clone(), args.clone(), totals.clone(), i as u64)))
        .collect();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for w in workers {
        hist.add(w.await??)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let acked = totals.acked.load(Ordering::Relaxed);
    let failed = totals.failed.load(Ordering::Relaxed);
    let records_per_second = acked as f64 / seconds;
    let mib_per_second = records_per_second * args.record_bytes as f64 / (1024.0 * 1024.0);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    tokio::time::sleep(std::time::Duration::from_secs(args.settle_seconds)).await;
    let disk = disk_written(&args.io_pids)? - disk_before;
    let user_bytes = acked * args.record_bytes as u64;
    // Disk bytes per byte of record data, per replica; absent without --io-pid.
    let amplification = (!args.io_pids.is_empty() && user_bytes > 0)
        .then(|| disk as f64 / (user_bytes as f64 * args.replication_factor as f64));
    if args.json {
        let out = serde_json::json!({
            "mode": match args.mode { Mode::PutRecords => "put-records", Mode::PutRecord => "put-record" },
            "records_acked": acked, "records_failed": failed, "seconds": seconds,
            "records_per_second": records_per_second, "mib_per_second": mib_per_second,
            "calls": hist.len(), "latency_ms_p50": ms(0.5), "latency_ms_p99": ms(0.99), "latency_ms_max": hist.max() as f64 / 1000.0,
            "record_bytes": args.record_bytes, "batch": args.batch, "concurrency": args.concurrency,
            "disk_bytes_written": disk, "write_amplification_per_replica": amplification,
        });
        println!("{out}");
    } else {
        println!("{acked} records acknowledged ({failed} failed) in {seconds:.2} s");
        println!("throughput: {records_per_second:.0} records/s, {mib_per_second:.2} MiB/s");
        println!(
            "latency per call ({} calls): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            hist.len(),
            ms(0.5),
            ms(0.99),
            hist.max() as f64 / 1000.0
        );
        if let Some(amplification) = amplification {
            println!(
                "disk: {:.1} MiB written for {:.1} MiB of record data: {amplification:.2} bytes per byte per replica",
                disk as f64 / (1024.0 * 1024.0),
                user_bytes as f64 / (1024.0 * 1024.0)
            );
        }
    }
    Ok(())
}
