//! `runnel-bench-nats`: `runnel-bench`'s load against a NATS JetStream cluster, for the
//! comparison in `benches/compare/` (`bash benches/compare/run.sh`). A tool, not a test: it
//! prints throughput and latency, and asserts nothing about them.
//!
//! ```text
//! runnel-bench-nats --server nats://127.0.0.1:14222 --records 200000 --record-bytes 100
//! ```
//!
//! The stand-in for a Runnel stream of N shards is one JetStream stream (file storage,
//! three replicas, created unless it exists) with N subjects, `<stream>.0` to
//! `<stream>.<N-1>`; each record goes to a random one, as a random partition key picks a
//! shard. One call is one PutRecord (a publish, awaited until its ack) or one PutRecords
//! batch (`--batch` publishes, then every ack awaited: the call ends with the last ack).
//! Record data is random, fresh for every record. A failed publish or ack counts its
//! records as failed. Before the timed part, one probe message per subject waits until
//! the stream takes writes. `--json` prints the keys `runnel-bench --json` prints (without the
//! disk figures).

use anyhow::{bail, Context as _};
use async_nats::jetstream::{self, stream};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Replicas of the JetStream stream: Runnel keeps three copies of every record.
const REPLICAS: usize = 3;
/// How long stream creation is retried: a cluster just started has no JetStream meta
/// leader for a few seconds, and refuses until it has one.
const CREATE_DEADLINE: Duration = Duration::from_secs(60);
/// Longest wait for a call's acks (the client's default is 5 s for each). Runnel's client
/// gives a call 30 s; a slow ack should be slow in the histogram, not failed.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    PutRecords,
    PutRecord,
}

#[derive(Parser)]
#[command(name = "runnel-bench-nats", about = "runnel-bench's PutRecords load against a NATS JetStream cluster")]
struct Args {
    #[arg(long = "server", default_value = "nats://127.0.0.1:14222", value_delimiter = ',')]
    servers: Vec<String>,
    /// JetStream stream name (no dots).
    #[arg(long, default_value = "bench")]
    stream: String,
    /// Subjects of the stream, when the bench creates it: the stand-in for shards.
    #[arg(long, default_value_t = 4)]
    subjects: u32,
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
}

struct Totals {
    records_left: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
    /// Whether a failure was printed: the first one says why, the count says how many.
    told: AtomicBool,
}

impl Totals {
    fn tell(&self, e: &dyn std::fmt::Display) {
        if !self.told.swap(true, Ordering::Relaxed) {
            eprintln!("first failed record: {e}");
        }
    }
}

/// Random data, fresh for every record: nothing on the way to disk can compress it.
fn payload(rng: &mut StdRng, bytes: usize) -> Vec<u8> {
    let mut data = vec![0u8; bytes];
    rng.fill(&mut data[..]);
    data
}

/// Creates the stream unless it exists, retrying while JetStream is not ready yet, then
/// waits until every subject takes a write: a stream just created can still refuse
/// publishes for a moment (seen once, on a loaded machine: every record of the first run
/// failed at once), and that moment is not what the bench measures.
async fn ready(js: &jetstream::Context, args: &Args, subjects: &[String]) -> anyhow::Result<()> {
    let config = stream::Config {
        name: args.stream.clone(),
        subjects: subjects.to_vec(),
        storage: stream::StorageType::File,
        num_replicas: REPLICAS,
        ..Default::default()
    };
    let deadline = Instant::now() + CREATE_DEADLINE;
    let mut told = false;
    let mut retry = |what: &str, e: &dyn std::fmt::Display| {
        if Instant::now() >= deadline {
            bail!("{what}: {e}");
        }
        if !told {
            eprintln!("{what}: {e}; retrying for up to {CREATE_DEADLINE:?}");
            told = true;
        }
        Ok(())
    };
    loop {
        match js.get_or_create_stream(config.clone()).await {
            Ok(_) => break,
            Err(e) => retry("creating the stream", &e)?,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One untimed probe message per subject, acked before the timed part starts.
    for subject in subjects {
        loop {
            match js.publish(subject.clone(), "probe".into()).await {
                Ok(ack) => match ack.await {
                    Ok(_) => break,
                    Err(e) => retry("publishing to the new stream", &e)?,
                },
                Err(e) => retry("publishing to the new stream", &e)?,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

async fn worker(
    js: jetstream::Context,
    args: Arc<Args>,
    subjects: Arc<Vec<String>>,
    totals: Arc<Totals>,
    seed: u64,
) -> anyhow::Result<Histogram<u64>> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut rng = StdRng::seed_from_u64(seed);
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
        // Publish all n (one for PutRecord), then await every ack. Acks arrive whatever
        // order they are awaited in, so awaiting them one by one ends with the last; one
        // deadline for the call bounds it when acks stop coming (each ack's own timeout
        // starts only when it is awaited).
        let deadline = tokio::time::Instant::from_std(started + ACK_TIMEOUT);
        let mut acks = Vec::with_capacity(n as usize);
        let mut failed = 0;
        for _ in 0..n {
            let subject = subjects[rng.random_range(0..subjects.len())].clone();
            match js.publish(subject, payload(&mut rng, args.record_bytes).into()).await {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    totals.tell(&e);
                    failed += 1;
                }
            }
        }
        for ack in acks {
            // An ack already in counts even past the deadline: the timeout polls it first.
            match tokio::time::timeout_at(deadline, ack.into_future()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    totals.tell(&e);
                    failed += 1;
                }
                Err(e) => {
                    totals.tell(&e);
                    failed += 1;
                }
            }
        }
        totals.failed.fetch_add(failed, Ordering::Relaxed);
        totals.acked.fetch_add(n - failed, Ordering::Relaxed);
        hist.record(started.elapsed().as_micros().max(1) as u64)?;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    if !(1..=500).contains(&args.batch) {
        bail!("--batch must be 1 to 500");
    }
    if args.subjects == 0 {
        bail!("--subjects must be at least 1");
    }
    let client = async_nats::connect(args.servers.as_slice()).await.context("connect")?;
    let js = jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        // Room for every publish the workers can have in flight, so the client never
        // holds one back.
        .max_ack_inflight((args.batch * args.concurrency).max(1))
        .build(client);
    let subjects: Arc<Vec<String>> = Arc::new((0..args.subjects).map(|i| format!("{}.{i}", args.stream)).collect());
    ready(&js, &args, &subjects).await?;

    let totals = Arc::new(Totals {
        records_left: AtomicU64::new(args.records),
        acked: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        told: AtomicBool::new(false),
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|i| tokio::spawn(worker(js.clone(), args.clone(), subjects.clone(), totals.clone(), i as u64)))
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
    if args.json {
        let out = serde_json::json!({
            "mode": match args.mode { Mode::PutRecords => "put-records", Mode::PutRecord => "put-record" },
            "records_acked": acked, "records_failed": failed, "seconds": seconds,
            "records_per_second": records_per_second, "mib_per_second": mib_per_second,
            "calls": hist.len(), "latency_ms_p50": ms(0.5), "latency_ms_p99": ms(0.99), "latency_ms_max": hist.max() as f64 / 1000.0,
            "record_bytes": args.record_bytes, "batch": args.batch, "concurrency": args.concurrency,
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
    }
    Ok(())
}
