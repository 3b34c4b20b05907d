//! `runnel put`: one record from `--data`, or every line of a file (or stdin) as a record,
//! sent in PutRecords batches with a bounded number in flight.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use runnel_client::proto::{PutRecordRequest, PutRecordsRequest, PutRecordsRequestEntry};
use runnel_client::{Client, ClientError, RetryPolicy};
use serde_json::json;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::output::{human_bytes, Output};
use super::PutArgs;

/// Kinesis limit on one record: data plus partition key.
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Kinesis limit on one PutRecords request: data plus partition keys.
const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
/// Read buffer; large so that reading keeps up with several batches in flight.
const READ_BUFFER: usize = 1024 * 1024;

pub async fn run(client: &Client, args: PutArgs, out: &mut Output) -> anyhow::Result<()> {
    match (&args.data, &args.file) {
        (Some(data), _) => put_one(client, &args, data, out).await,
        (None, Some(path)) => put_file(client, &args, path, out).await,
        (None, None) => bail!("give --data (with --partition-key) or --file"),
    }
}

async fn put_one(client: &Client, args: &PutArgs, data: &str, out: &mut Output) -> anyhow::Result<()> {
    let partition_key = args.partition_key.clone().context("--data needs --partition-key")?;
    let response = client
        .put_record(PutRecordRequest {
            stream_name: args.stream.clone(),
            data: data.as_bytes().to_vec(),
            partition_key,
            explicit_hash_key: args.explicit_hash_key.clone(),
            ..Default::default()
        })
        .await
        .with_context(|| format!("putting a record to {}", args.stream))?;
    if out.json() {
        out.value(&json!({ "shard_id": response.shard_id, "sequence_number": response.sequence_number }))?;
    } else {
        out.line(format!("shard {} sequence number {}", response.shard_id, response.sequence_number))?;
    }
    Ok(())
}

/// Records read from the input, ready for one PutRecords call.
#[derive(Debug, Default)]
struct Batch {
    entries: Vec<PutRecordsRequestEntry>,
    /// Input bytes the batch came from (newlines included), for the progress bar.
    input_bytes: u64,
}

/// What became of one batch once its retries are spent.
#[derive(Debug, Default, Clone, Copy)]
struct BatchOutcome {
    put: u64,
    failed: u64,
    data_bytes: u64,
    input_bytes: u64,
}

/// Totals over the whole input.
#[derive(Debug, Default)]
struct Tally {
    put: u64,
    failed: u64,
    data_bytes: u64,
}

impl Tally {
    fn absorb(&mut self, outcome: BatchOutcome, progress: &ProgressBar) {
        self.put += outcome.put;
        self.failed += outcome.failed;
        self.data_bytes += outcome.data_bytes;
        progress.inc(outcome.input_bytes);
        progress.set_message(format!("{} records, {} failed", self.put, self.failed));
    }
}

async fn put_file(client: &Client, args: &PutArgs, path: &Path, out: &mut Output) -> anyhow::Result<()> {
    let (reader, input_len): (Box<dyn AsyncBufRead + Unpin + Send>, Option<u64>) = if path == Path::new("-") {
        (Box::new(BufReader::with_capacity(READ_BUFFER, tokio::io::stdin())), None)
    } else {
        let file = tokio::fs::File::open(path).await.with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata().await.ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(READ_BUFFER, file)), len)
    };
    let progress = progress_bar(out.json(), input_len);
    let in_flight = args.in_flight as usize;
    // The channel holds as many batches as are in flight: reading stays just ahead.
    let (tx, rx) = mpsc::channel(in_flight);
    let keys = Keys { partition_key: args.partition_key.clone(), explicit_hash_key: args.explicit_hash_key.clone() };
    let producer = tokio::spawn(read_batches(reader, keys, args.batch_size as usize, tx));

    let started = Instant::now();
    let mut tally = Tally::default();
    let pumped = pump(client, args, rx, in_flight, &mut tally, &progress).await;
    if pumped.is_err() {
        // The reader may be blocked on a terminal; its input no longer matters.
        producer.abort();
    }
    let read = match producer.await {
        Ok(read) => read,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(anyhow::anyhow!("input reader panicked: {e}")),
    };
    progress.finish_and_clear();
    pumped?;
    read?;
    let elapsed = started.elapsed();
    print_summary(out, &tally, elapsed)?;
    if tally.failed > 0 {
        bail!("{} record(s) failed after {} attempts each", tally.failed, args.attempts);
    }
    Ok(())
}

/// Sends batches as they arrive, at most `in_flight` at once.
async fn pump(
    client: &Client,
    args: &PutArgs,
    mut rx: mpsc::Receiver<Batch>,
    in_flight: usize,
    tally: &mut Tally,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    // Dropping the set on an early return aborts what is still in flight.
    let mut tasks: JoinSet<Result<BatchOutcome, ClientError>> = JoinSet::new();
    while let Some(batch) = rx.recv().await {
        while tasks.len() >= in_flight {
            if let Some(done) = tasks.join_next().await {
                tally.absorb(finished(done, &args.stream)?, progress);
            }
        }
        tasks.spawn(send_batch(client.clone(), args.stream.clone(), batch, args.attempts));
    }
    while let Some(done) = tasks.join_next().await {
        tally.absorb(finished(done, &args.stream)?, progress);
    }
    Ok(())
}

fn finished(
    joined: Result<Result<BatchOutcome, ClientError>, tokio::task::JoinError>,
    stream: &str,
) -> anyhow::Result<BatchOutcome> {
    let outcome = joined.context("a PutRecords task panicked")?;
    outcome.with_context(|| format!("putting records to {stream}"))
}

/// Sends one batch, resending the entries the response marks failed (throttled or
/// internal failure) with backoff, `attempts` times at most.
async fn send_batch(client: Client, stream: String, batch: Batch, attempts: u32) -> Result<BatchOutcome, ClientError> {
    let policy = RetryPolicy::default();
    let mut outcome = BatchOutcome { input_bytes: batch.input_bytes, ..Default::default() };
    let mut pending = batch.entries;
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(policy.delay(attempt - 1)).await;
        }
        let request = PutRecordsRequest { records: pending.clone(), stream_name: stream.clone(), ..Default::default() };
        let response = client.put_records(request).await?;
        if response.records.len() != pending.len() {
            return Err(ClientError::MalformedResponse(format!(
                "PutRecords answered {} results for {} records",
                response.records.len(),
                pending.len()
            )));
        }
        let mut retry = Vec::new();
        for (entry, result) in pending.into_iter().zip(response.records) {
            let failed =
                result.error_code.as_deref().is_some_and(|c| !c.is_empty()) || result.sequence_number.is_none();
            if failed {
                retry.push(entry);
            } else {
                outcome.put += 1;
                outcome.data_bytes += entry.data.len() as u64;
            }
        }
        pending = retry;
        if pending.is_empty() {
            break;
        }
    }
    outcome.failed = pending.len() as u64;
    Ok(outcome)
}

/// How each line's keys are chosen.
struct Keys {
    /// The same key for every line; `None` uses the line number.
    partition_key: Option<String>,
    explicit_hash_key: Option<String>,
}

/// Reads lines into batches of at most `batch_size` records and 5 MiB. Stops quietly
/// when the receiver is gone (the sender side failed and reports why).
async fn read_batches<R: AsyncBufRead + Unpin>(
    mut reader: R,
    keys: Keys,
    batch_size: usize,
    tx: mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let mut batch = Batch::default();
    let mut batch_bytes = 0usize;
    let mut line_number: u64 = 0;
    loop {
        let mut line = Vec::new();
        let Some(read) = read_line(&mut reader, &mut line, MAX_RECORD_BYTES + 2)
            .await
            .with_context(|| format!("reading line {}", line_number + 1))?
        else {
            break;
        };
        line_number += 1;
        strip_line_end(&mut line);
        let partition_key = keys.partition_key.clone().unwrap_or_else(|| line_number.to_string());
        let size = line.len() + partition_key.len();
        if size > MAX_RECORD_BYTES {
            bail!("line {line_number} makes a {size}-byte record; Kinesis records hold at most 1 MiB");
        }
        if batch.entries.len() >= batch_size || batch_bytes + size > MAX_BATCH_BYTES {
            if tx.send(std::mem::take(&mut batch)).await.is_err() {
                return Ok(());
            }
            batch_bytes = 0;
        }
        batch.entries.push(PutRecordsRequestEntry {
            data: line,
            explicit_hash_key: keys.explicit_hash_key.clone(),
            partition_key,
        });
        batch.input_bytes += read as u64;
        batch_bytes += size;
    }
    if !batch.entries.is_empty() {
        // A closed receiver means the sender failed; it reports the error.
        let _ = tx.send(batch).await;
    }
    Ok(())
}

/// Reads up to and including the next `\n` into `line`, refusing lines longer than
/// `limit` so that input without newlines cannot exhaust memory. `None` at end of input.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<usize>> {
    let mut consumed = 0;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok((consumed > 0).then_some(consumed));
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("line longer than {limit} bytes")));
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        consumed += take;
        if done {
            return Ok(Some(consumed));
        }
    }
}

fn strip_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

fn progress_bar(json: bool, input_len: Option<u64>) -> ProgressBar {
    if json || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match input_len {
        Some(len) => (
            ProgressBar::new(len),
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
        ),
        None => (ProgressBar::new_spinner(), "{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec}) {msg}"),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn print_summary(out: &mut Output, tally: &Tally, elapsed: Duration) -> io::Result<()> {
    let seconds = elapsed.as_secs_f64();
    let rate = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
    let records_per_second = rate(tally.put as f64);
    let mib_per_second = rate(tally.data_bytes as f64 / (1024.0 * 1024.0));
    if out.json() {
        out.value(&json!({
            "records": tally.put,
            "bytes": tally.data_bytes,
            "seconds": seconds,
            "records_per_second": records_per_second,
            "mib_per_second": mib_per_second,
            "failures": tally.failed,
        }))
    } else {
        out.line(format!(
            "put {} records ({}) in {seconds:.2} s: {records_per_second:.0} records/s, {mib_per_second:.2} MiB/s, {} failed",
            tally.put,
            human_bytes(tally.data_bytes),
            tally.failed
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn batches_of(input: &'static [u8], keys: Keys, batch_size: usize) -> anyhow::Result<Vec<Batch>> {
        let (tx, mut rx) = mpsc::channel(1024);
        read_batches(input, keys, batch_size, tx).await?;
        let mut batches = Vec::new();
        while let Some(batch) = rx.recv().await {
            batches.push(batch);
        }
        Ok(batches)
    }

    fn no_keys() -> Keys {
        Keys { partition_key: None, explicit_hash_key: None }
    }

    #[tokio::test]
    async fn lines_become_records_keyed_by_line_number() -> anyhow::Result<()> {
        let batches = batches_of(b"a\nbb\r\n\nlast", no_keys(), 2).await?;
        assert_eq!(batches.len(), 2);
        let entries: Vec<_> = batches.iter().flat_map(|b| &b.entries).collect();
        let data: Vec<&[u8]> = entries.iter().map(|e| e.data.as_slice()).collect();
        assert_eq!(data, [&b"a"[..], b"bb", b"", b"last"]);
        let keys: Vec<&str> = entries.iter().map(|e| e.partition_key.as_str()).collect();
        assert_eq!(keys, ["1", "2", "3", "4"]);
        assert_eq!(batches.iter().map(|b| b.input_bytes).sum::<u64>(), 11);
        Ok(())
    }

    #[tokio::test]
    async fn a_fixed_key_applies_to_every_line() -> anyhow::Result<()> {
        let keys = Keys { partition_key: Some("k".into()), explicit_hash_key: Some("7".into()) };
        let batches = batches_of(b"x\ny\n", keys, 500).await?;
        assert_eq!(batches.len(), 1);
        assert!(batches[0]
            .entries
            .iter()
            .all(|e| e.partition_key == "k" && e.explicit_hash_key.as_deref() == Some("7")));
        Ok(())
    }

    #[tokio::test]
    async fn batches_stay_under_five_mib() -> anyhow::Result<()> {
        let line = vec![b'x'; 1024 * 1024 - 10];
        let mut input = Vec::new();
        for _ in 0..12 {
            input.extend_from_slice(&line);
            input.push(b'\n');
        }
        let input: &'static [u8] = Box::leak(input.into_boxed_slice());
        let batches = batches_of(input, no_keys(), 500).await?;
        assert!(batches.len() >= 3);
        for batch in &batches {
            let bytes: usize = batch.entries.iter().map(|e| e.data.len() + e.partition_key.len()).sum();
            assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn oversized_lines_are_refused() {
        let input: &'static [u8] = Box::leak(vec![b'x'; MAX_RECORD_BYTES + 10].into_boxed_slice());
        assert!(batches_of(input, no_keys(), 500).await.is_err());
    }
}
