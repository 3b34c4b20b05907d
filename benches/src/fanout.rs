//! `runnel-bench-fanout`: put-to-subscriber propagation against a running cluster. A tool,
//! not a test: it prints latencies and asserts nothing about them.
//!
//! ```text
//! runnel-bench-fanout --endpoint http://127.0.0.1:50051 --subscribers 5 --rate 2000 --seconds 20
//! runnel-bench-fanout --subscribers 5 --rate 2000 --polling   # GetRecords at 5 calls/s per shard
//! ```
//!
//! Use a new stream each run (readers start at its TRIM_HORIZON). A producer writes
//! `--rate` records a second (PutRecords every `--tick-ms`, 10 ms by default), each carrying the
//! time it was sent; every subscriber (a registered consumer following the stream with
//! `Client::subscribe`, or with `--polling` a GetRecords poller per shard sharing Kinesis's
//! 5 calls/s per shard among the consumers) records how long each record took to reach
//! it. The first `--warmup` seconds are not counted. Beside propagation it prints how long
//! the PutRecords calls themselves took to be acknowledged (same clock, per call): the
//! difference is what delivery adds to the write.
//!
//! `--idle N` holds N more subscriptions on a stream nobody writes to, and `--watch-pid`
//! prints a node process's memory before, with them, and after the run:
//!
//! ```text
//! runnel-bench-fanout --subscribers 15 --rate 20000 --idle 300 --watch-pid $(pgrep runnel-node)
//! ```

mod stream;

use anyhow::{bail, Context};
use clap::Parser;
use hdrhistogram::Histogram;
use runnel_client::proto::{GetRecordsRequest, GetShardIteratorRequest, PutRecordsRequest, PutRecordsRequestEntry};
use runnel_client::{is_closed, Client, ClientConfig, ConsumerKey, Delivery, ErrorCode, LineageStart};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls to PutRecords in flight at once, at the most.
const PRODUCER_IN_FLIGHT: usize = 64;
/// Kinesis's GetRecords quota: calls per second per shard, shared by its pollers.
const POLLS_PER_SHARD_S: u32 = 5;
/// Kinesis's limit of registered consumers per stream.
const CONSUMERS_PER_STREAM: u32 = 20;

#[derive(Parser)]
#[command(name = "runnel-bench-fanout", about = "Put-to-subscriber propagation: SubscribeToShard against polling")]
struct Args {
    #[arg(long = "endpoint", default_value = "http://127.0.0.1:50051", value_delimiter = ',')]
    endpoints: Vec<String>,
    #[arg(long, default_value = "fanout-bench")]
    stream: String,
    #[arg(long, default_value_t = 4)]
    shards: u32,
    /// Consumers following the stream (1 to 20, Kinesis's limit per stream).
    #[arg(long, default_value_t = 1)]
    subscribers: usize,
    /// Records written per second, all shards together.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// How often the producer sends, in milliseconds: each tick's records go out at once,
    /// in as few PutRecords calls as hold them. A longer tick makes the load burstier
    /// (a producer library buffering records for a while); a shorter one spreads it.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    tick_ms: u64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds at the start that are not measured.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Bytes per record (at least 8: the send time).
    #[arg(long, default_value_t = 100)]
    record_bytes: usize,
    /// Poll with GetRecords instead of subscribing.
    #[arg(long)]
    polling: bool,
    /// Send each PutRecords' records to their shards' leaders in one call per leader
    /// (`ClientConfig::split_put_records`) instead of whole to one node.
    #[arg(long)]
    split: bool,
    #[arg(long)]
    json: bool,
    /// Also hold this many idle subscriptions (20 consumers on each shard of a second
    /// stream, `<stream>-idle`, where nothing is written), to see what they cost.
    #[arg(long, default_value_t = 0)]
    idle: u32,
    /// A node process whose memory (VmRSS, VmHWM) is printed before and after the run.
    #[arg(long)]
    watch_pid: Option<u32>,
}

/// Microseconds since the bench started: what records carry, and what receivers compare.
fn now_us(origin: Instant) -> u64 {
    origin.elapsed().as_micros() as u64
}

/// Where every receiver records latencies, and how many records it got.
struct Sink {
    origin: Instant,
    measure_from_us: u64,
    hist: Mutex<Histogram<u64>>,
    received: AtomicU64,
}

impl Sink {
    fn record(&self, data: &[u8]) {
        let Some(sent) = data.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes) else { return };
        self.received.fetch_add(1, Ordering::Relaxed);
        if sent >= self.measure_from_us {
            let latency = now_us(self.origin).saturating_sub(sent).max(1);
            if let Ok(mut hist) = self.hist.lock() {
                let _ = hist.record(latency);
            }
        }
    }
}

/// Runs the producer; returns how many records were acknowledged. Acknowledgement latencies
/// (from the send time the records carry) go to `acks`, measured like propagation, so the
/// two can be compared: what propagation adds to the write itself.
async fn produce(
    client: Client,
    args: Arc<Args>,
    origin: Instant,
    stop_at: Instant,
    acks: Arc<Sink>,
) -> anyhow::Result<u64> {
    let tick_every = Duration::from_millis(args.tick_ms);
    let per_tick = (args.rate as f64 * tick_every.as_secs_f64()).ceil().max(1.0) as usize;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(PRODUCER_IN_FLIGHT));
    let acked = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(tick_every);
    let mut n = 0u64;
    while Instant::now() < stop_at {
        tick.tick().await;
        let sent = now_us(origin).to_be_bytes();
        // PutRecords takes 500 records a call: a tick's records in as many calls as needed.
        let mut left = per_tick;
        while left > 0 {
            let count = left.min(500);
            left -= count;
            let permit = in_flight.clone().acquire_owned().await?;
            let records = (0..count)
                .map(|_| {
                    let mut data = vec![b'x'; args.record_bytes.max(8)];
                    data[..8].copy_from_slice(&sent);
                    n += 1;
                    PutRecordsRequestEntry { data, explicit_hash_key: None, partition_key: format!("pk-{n}") }
                })
                .collect();
            let req = PutRecordsRequest { records, stream_name: args.stream.clone(), stream_arn: String::new() };
            let (client, acked, acks) = (client.clone(), acked.clone(), acks.clone());
            tokio::spawn(async move {
                if let Ok(reply) = client.put_records(req).await {
                    let ok = reply.records.iter().filter(|r| r.error_code.is_none()).count();
                    acked.fetch_add(ok as u64, Ordering::Relaxed);
                    acks.record(&sent);
                }
                drop(permit);
            });
        }
    }
    // Let the calls under way finish.
    let _ = in_flight.acquire_many(PRODUCER_IN_FLIGHT as u32).await?;
    Ok(acked.load(Ordering::Relaxed))
}

/// Registers consumer `name` on the stream (or finds it), and waits until it is ACTIVE.
async fn consumer(client: &Client, stream: &str, name: &str) -> anyhow::Result<String> {
    let stream_arn = client.stream_arn(stream).await?;
    let arn = match client.register_stream_consumer(&stream_arn, name, HashMap::new()).await {
        Ok(c) => c.consumer_arn,
        Err(e) if e.code() == Some(&ErrorCode::ResourceInUseException) => {
            client.describe_stream_consumer(&ConsumerKey::named(&stream_arn, name)).await?.consumer_arn
        }
        Err(e) => return Err(e).context("register a consumer"),
    };
    client.wait_for_consumer_active(&ConsumerKey::Arn(arn.clone()), Duration::from_secs(30)).await?;
    Ok(arn)
}

/// `count` subscriptions to a stream nobody writes to, held until `stop_at`: 20 consumers
/// on each of `count / 20` shards. Returns once every one of them is up.
async fn idle_subscriptions(
    client: &Client,
    stream: &str,
    count: u32,
    stop_at: Instant,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let consumers = count.min(CONSUMERS_PER_STREAM);
    stream::ready(client, stream, count.div_ceil(consumers)).await?;
    let mut held = Vec::new();
    for i in 0..consumers {
        let arn = consumer(client, stream, &format!("idle-{i}")).await?;
        let mut deliveries = client.subscribe(stream, &arn, LineageStart::Open).await?;
        held.push(tokio::spawn(async move {
            // Heartbeats only; the subscriptions stay open until the run ends.
            while let Ok(Some(_)) =
                tokio::time::timeout(stop_at.saturating_duration_since(Instant::now()), deliveries.recv()).await
            {
            }
        }));
    }
    Ok(held)
}

/// A process's resident memory now and at its peak, from /proc.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).map_or("?".to_string(), |l| l[name.len()..].trim().to_string())
    };
    format!("VmRSS {}, VmHWM {}", field("VmRSS:"), field("VmHWM:"))
}

async fn subscribe(
    client: Client,
    args: Arc<Args>,
    index: usize,
    sink: Arc<Sink>,
    stop_at: Instant,
) -> anyhow::Result<()> {
    let arn = consumer(&client, &args.stream, &format!("bench-{index}")).await?;
    let mut deliveries = client.subscribe(&args.stream, &arn, LineageStart::Oldest).await?;
    loop {
        let remaining = stop_at.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, deliveries.recv()).await {
            Err(_) | Ok(None) => return Ok(()),
            Ok(Some(delivery)) => {
                if let Delivery::Records { records, .. } = delivery? {
                    records.iter().for_each(|r| sink.record(&r.data));
                }
            }
        }
    }
}

async fn poll_shard(
    client: Client,
    args: Arc<Args>,
    shard: String,
    sink: Arc<Sink>,
    stop_at: Instant,
) -> anyhow::Result<()> {
    let every = Duration::from_secs(1) * args.subscribers as u32 / POLLS_PER_SHARD_S;
    let req = GetShardIteratorRequest {
        stream_name: args.stream.clone(),
        shard_id: shard,
        shard_iterator_type: "TRIM_HORIZON".into(),
        ..Default::default()
    };
    let mut iterator = client.get_shard_iterator(req).await?.shard_iterator;
    while Instant::now() < stop_at {
        let started = Instant::now();
        let page = client
            .get_records(GetRecordsRequest { shard_iterator: iterator.clone(), limit: None, stream_arn: String::new() })
            .await?;
        page.records.iter().for_each(|r| sink.record(&r.data));
        let Some(next) = page.next_shard_iterator else { return Ok(()) };
        iterator = next;
        tokio::time::sleep(every.saturating_sub(started.elapsed())).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    if !(1..=20).contains(&args.subscribers) {
        bail!("--subscribers must be 1 to 20");
    }
    let config = ClientConfig { split_put_records: args.split, ..ClientConfig::default() };
    let client = Client::with_config(args.endpoints.clone(), config).await.context("connect")?;
    stream::ready(&client, &args.stream, args.shards).await?;
    let open: Vec<String> =
        client.list_shards(&args.stream).await?.into_iter().filter(|s| !is_closed(s)).map(|s| s.shard_id).collect();

    if let Some(pid) = args.watch_pid {
        println!("node memory before: {}", memory(pid));
    }
    let idle = if args.idle > 0 {
        // Up before the clock starts, and held until the receivers stop.
        let until = Instant::now() + Duration::from_secs(args.seconds + 60);
        let held = idle_subscriptions(&client, &format!("{}-idle", args.stream), args.idle, until).await?;
        if let Some(pid) = args.watch_pid {
            println!("node memory with {} idle subscriptions: {}", args.idle, memory(pid));
        }
        held
    } else {
        Vec::new()
    };

    let origin = Instant::now();
    let new_sink = || -> anyhow::Result<Arc<Sink>> {
        Ok(Arc::new(Sink {
            origin,
            measure_from_us: args.warmup * 1_000_000,
            hist: Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3)?),
            received: AtomicU64::new(0),
        }))
    };
    let (sink, acks) = (new_sink()?, new_sink()?);
    // Receivers run a little past the producer, to take in its last records.
    let stop_at = origin + Duration::from_secs(args.seconds);
    let drain_until = stop_at + Duration::from_secs(2);
    let mut receivers = Vec::new();
    for i in 0..args.subscribers {
        if args.polling {
            for shard in &open {
                let task = poll_shard(client.clone(), args.clone(), shard.clone(), sink.clone(), drain_until);
                receivers.push(tokio::spawn(task));
            }
        } else {
            receivers.push(tokio::spawn(subscribe(client.clone(), args.clone(), i, sink.clone(), drain_until)));
        }
    }
    // Readers start at TRIM_HORIZON of a new stream, so none misses the first records; the
    // warm-up leaves their start-up (registration, subscription) out of the figures.
    let acked = produce(client.clone(), args.clone(), origin, stop_at, acks.clone()).await?;
    for r in receivers {
        r.await??;
    }
    if let Some(pid) = args.watch_pid {
        println!("node memory after the run: {}", memory(pid));
    }
    idle.iter().for_each(|h| h.abort());
    let hist = sink.hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let ack_hist = acks.hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let received = sink.received.load(Ordering::Relaxed);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let ack_ms = |q: f64| ack_hist.value_at_quantile(q) as f64 / 1000.0;
    let how = if args.polling { "polling" } else { "subscribe" };
    if args.json {
        let out = serde_json::json!({
            "how": how, "subscribers": args.subscribers, "rate": args.rate, "tick_ms": args.tick_ms, "split": args.split,
            "acked": acked,
            "received": received, "expected": acked * args.subscribers as u64,
            "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999), "max_ms": hist.max() as f64 / 1000.0,
            "ack_p50_ms": ack_ms(0.5), "ack_p99_ms": ack_ms(0.99),
        });
        println!("{out}");
    } else {
        println!(
            "{how}, {} subscriber(s), {} records/s sent every {} ms: {acked} acknowledged, {received} received of {} expected",
            args.subscribers,
            args.rate,
            args.tick_ms,
            acked * args.subscribers as u64
        );
        println!(
            "propagation: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            ms(0.5),
            ms(0.99),
            ms(0.999),
            hist.max() as f64 / 1000.0
        );
        println!("the writes' own acknowledgement: p50 {:.2} ms, p99 {:.2} ms", ack_ms(0.5), ack_ms(0.99));
    }
    Ok(())
}
