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

mod load;

use anyhow::{bail, Context as _};
use async_nats::jetstream::{self, stream};
use clap::Parser;
use hdrhistogram::Histogram;
use load::{LoadArgs, Totals};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, Ordering};
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
    #[command(flatten)]
    load: LoadArgs,
}

/// The first failure, told once: the count says how many followed.
#[derive(Default)]
struct FirstFailure(AtomicBool);

impl FirstFailure {
    fn tell(&self, e: &dyn std::fmt::Display) {
        if !self.0.swap(true, Ordering::Relaxed) {
            eprintln!("first failed record: {e}");
        }
    }
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
    told: Arc<FirstFailure>,
    seed: u64,
) -> anyhow::Result<Histogram<u64>> {
    let mut hist = load::histogram()?;
    let mut rng = StdRng::seed_from_u64(seed);
    while let Some(n) = totals.claim(args.load.per_call()) {
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
            match js.publish(subject, load::payload(&mut rng, args.load.record_bytes).into()).await {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    told.tell(&e);
                    failed += 1;
                }
            }
        }
        for ack in acks {
            // An ack already in counts even past the deadline: the timeout polls it first.
            match tokio::time::timeout_at(deadline, ack.into_future()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    told.tell(&e);
                    failed += 1;
                }
                Err(e) => {
                    told.tell(&e);
                    failed += 1;
                }
            }
        }
        totals.count(n, failed);
        load::record_call(&mut hist, started)?;
    }
    Ok(hist)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    args.load.check()?;
    if args.subjects == 0 {
        bail!("--subjects must be at least 1");
    }
    let client = async_nats::connect(args.servers.as_slice()).await.context("connect")?;
    let js = jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        // Room for every publish the workers can have in flight, so the client never
        // holds one back.
        .max_ack_inflight((args.load.batch * args.load.concurrency).max(1))
        .build(client);
    let subjects: Arc<Vec<String>> = Arc::new((0..args.subjects).map(|i| format!("{}.{i}", args.stream)).collect());
    ready(&js, &args, &subjects).await?;

    let totals = Arc::new(Totals::new(args.load.records));
    let told = Arc::new(FirstFailure::default());
    let run = load::run(args.load.concurrency, &totals, |i| {
        worker(js.clone(), args.clone(), subjects.clone(), totals.clone(), told.clone(), i)
    })
    .await?;
    load::report(&args.load, &run, serde_json::json!({}), &[]);
    Ok(())
}
