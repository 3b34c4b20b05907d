//! Shared by `runnel-bench` and `runnel-bench-nats`: the load options, the record budget
//! the workers claim from, and the report, so both sides of the comparison generate and
//! count the same load and print the same keys.

use anyhow::bail;
use clap::ValueEnum;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::Rng;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Longest latency the histograms hold, in microseconds (a minute).
const LATENCY_US_MAX: u64 = 60_000_000;

#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    PutRecords,
    PutRecord,
}

#[derive(clap::Args)]
pub struct LoadArgs {
    #[arg(long, value_enum, default_value_t = Mode::PutRecords)]
    pub mode: Mode,
    /// Records to write in all (the bench's bound).
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    #[arg(long, default_value_t = 100)]
    pub record_bytes: usize,
    /// Records per PutRecords call (1 to 500).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl LoadArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=500).contains(&self.batch) {
            bail!("--batch must be 1 to 500");
        }
        Ok(())
    }

    /// Records one call carries.
    pub fn per_call(&self) -> u64 {
        match self.mode {
            Mode::PutRecords => self.batch as u64,
            Mode::PutRecord => 1,
        }
    }
}

/// The record budget and what became of the records.
pub struct Totals {
    records_left: AtomicU64,
    pub acked: AtomicU64,
    pub failed: AtomicU64,
}

impl Totals {
    pub fn new(records: u64) -> Totals {
        Totals { records_left: AtomicU64::new(records), acked: AtomicU64::new(0), failed: AtomicU64::new(0) }
    }

    /// Claims up to `per_call` records of the budget; `None` once it is spent.
    pub fn claim(&self, per_call: u64) -> Option<u64> {
        self.records_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(left.min(per_call)).filter(|_| left > 0)
            })
            .map(|left| left.min(per_call))
            .ok()
    }

    /// Counts a call of `n` records of which `failed` failed.
    pub fn count(&self, n: u64, failed: u64) {
        let failed = failed.min(n);
        self.failed.fetch_add(failed, Ordering::Relaxed);
        self.acked.fetch_add(n - failed, Ordering::Relaxed);
    }
}

/// Random data, fresh for every record: nothing on the way to disk can compress it.
pub fn payload(rng: &mut StdRng, bytes: usize) -> Vec<u8> {
    let mut data = vec![0u8; bytes];
    rng.fill(&mut data[..]);
    data
}

pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3)?)
}

/// Records one call's latency, measured from `started`.
pub fn record_call(hist: &mut Histogram<u64>, started: Instant) -> anyhow::Result<()> {
    hist.record((started.elapsed().as_micros() as u64).clamp(1, LATENCY_US_MAX))?;
    Ok(())
}

/// What a run did, for the report.
pub struct Summary {
    pub acked: u64,
    pub failed: u64,
    pub seconds: f64,
    pub hist: Histogram<u64>,
}

impl Summary {
    pub fn records_per_second(&self) -> f64 {
        self.acked as f64 / self.seconds
    }
}

/// Runs `concurrency` workers (worker `i` made by `worker(i)`) to the end of the budget and
/// merges their latencies.
pub async fn run<F, W>(concurrency: usize, totals: &Totals, worker: F) -> anyhow::Result<Summary>
where
    F: Fn(u64) -> W,
    W: Future<Output = anyhow::Result<Histogram<u64>>> + Send + 'static,
{
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency as u64).map(|i| tokio::spawn(worker(i))).collect();
    let mut hist = histogram()?;
    for w in workers {
        hist.add(w.await??)?;
    }
    Ok(Summary {
        acked: totals.acked.load(Ordering::Relaxed),
        failed: totals.failed.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        hist,
    })
}

/// Prints the run as text, or as one JSON object with `extra_json`'s keys added;
/// `extra_text` lines follow the text.
pub fn report(load: &LoadArgs, run: &Summary, extra_json: serde_json::Value, extra_text: &[String]) {
    let records_per_second = run.records_per_second();
    let mib_per_second = records_per_second * load.record_bytes as f64 / (1024.0 * 1024.0);
    let ms = |q: f64| run.hist.value_at_quantile(q) as f64 / 1000.0;
    let max_ms = run.hist.max() as f64 / 1000.0;
    if load.json {
        let mut out = serde_json::json!({
            "mode": match load.mode { Mode::PutRecords => "put-records", Mode::PutRecord => "put-record" },
            "records_acked": run.acked, "records_failed": run.failed, "seconds": run.seconds,
            "records_per_second": records_per_second, "mib_per_second": mib_per_second,
            "calls": run.hist.len(), "latency_ms_p50": ms(0.5), "latency_ms_p99": ms(0.99), "latency_ms_max": max_ms,
            "record_bytes": load.record_bytes, "batch": load.batch, "concurrency": load.concurrency,
        });
        if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra_json) {
            out.extend(extra);
        }
        println!("{out}");
    } else {
        println!("{} records acknowledged ({} failed) in {:.2} s", run.acked, run.failed, run.seconds);
        println!("throughput: {records_per_second:.0} records/s, {mib_per_second:.2} MiB/s");
        println!(
            "latency per call ({} calls): p50 {:.2} ms, p99 {:.2} ms, max {max_ms:.2} ms",
            run.hist.len(),
            ms(0.5),
            ms(0.99),
        );
        for line in extra_text {
            println!("{line}");
        }
    }
}
