//! `runnel tail`: one poller per shard feeding a single printer, until Ctrl-C.

use std::time::Duration;

use anyhow::Context;
use runnel_client::proto::{GetRecordsRequest, GetShardIteratorRequest, Record};
use runnel_client::{Client, ClientError, ErrorCode, ShardIteratorType};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::output::Output;
use super::TailArgs;

/// Records waiting to be printed; pollers wait when the terminal is slower than the stream.
const PRINT_QUEUE: usize = 1024;

/// Consecutive expired iterators tolerated before giving up on a shard.
const MAX_RENEWALS: u32 = 3;

pub async fn run(client: &Client, args: TailArgs, out: &mut Output) -> anyhow::Result<()> {
    let shards =
        client.list_shards(&args.stream).await.with_context(|| format!("listing the shards of {}", args.stream))?;
    let start = if args.from_start { ShardIteratorType::TrimHorizon } else { ShardIteratorType::Latest };
    let (tx, mut rx) = mpsc::channel::<(String, Record)>(PRINT_QUEUE);
    // Dropping the set (on Ctrl-C or error) stops every poller.
    let mut pollers = JoinSet::new();
    for shard in shards {
        let poller = Poller {
            client: client.clone(),
            stream: args.stream.clone(),
            shard: shard.shard_id,
            start,
            interval: args.poll_interval(),
            tx: tx.clone(),
        };
        pollers.spawn(poller.follow());
    }
    drop(tx);
    if !out.json() {
        eprintln!("following {} shard(s) of {}; Ctrl-C to stop", pollers.len(), args.stream);
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            received = rx.recv() => match received {
                Some((shard, record)) => {
                    out.record(&shard, &record)?;
                    // Flush when caught up with the queue, so records show as they come.
                    if rx.is_empty() {
                        out.flush()?;
                    }
                }
                // Every shard closed and drained.
                None => break,
            },
            Some(joined) = pollers.join_next(), if !pollers.is_empty() => {
                joined.context("a shard poller panicked")?.context("following a shard")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Follows one shard.
struct Poller {
    client: Client,
    stream: String,
    shard: String,
    start: ShardIteratorType,
    interval: Duration,
    tx: mpsc::Sender<(String, Record)>,
}

impl Poller {
    /// Polls until the shard is closed or the printer is gone; sleeps `interval` whenever
    /// it has caught up, and goes straight on while behind.
    async fn follow(self) -> Result<(), ClientError> {
        let mut last_sequence: Option<String> = None;
        let mut iterator = self.iterator(None).await?;
        let mut renewals = 0;
        loop {
            let request = GetRecordsRequest { shard_iterator: iterator.clone(), ..Default::default() };
            let page = match self.client.get_records(request).await {
                Ok(page) => page,
                // Iterators live five minutes; a slow printer can outlast one.
                Err(e) if e.code() == Some(&ErrorCode::ExpiredIteratorException) && renewals < MAX_RENEWALS => {
                    renewals += 1;
                    iterator = self.iterator(last_sequence.as_deref()).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            renewals = 0;
            let caught_up = page.records.is_empty() || page.millis_behind_latest == 0;
            for record in page.records {
                last_sequence = Some(record.sequence_number.clone());
                if self.tx.send((self.shard.clone(), record)).await.is_err() {
                    return Ok(());
                }
            }
            match page.next_shard_iterator.filter(|i| !i.is_empty()) {
                Some(next) => iterator = next,
                None => return Ok(()),
            }
            if caught_up {
                tokio::time::sleep(self.interval).await;
            }
        }
    }

    /// A fresh iterator: just after the last record seen, else at the start position.
    async fn iterator(&self, after: Option<&str>) -> Result<String, ClientError> {
        let (kind, sequence) = match after {
            Some(seq) => (ShardIteratorType::AfterSequenceNumber, Some(seq.to_string())),
            None => (self.start, None),
        };
        let response = self
            .client
            .get_shard_iterator(GetShardIteratorRequest {
                stream_name: self.stream.clone(),
                shard_id: self.shard.clone(),
                shard_iterator_type: kind.as_str().to_string(),
                starting_sequence_number: sequence,
                ..Default::default()
            })
            .await?;
        Ok(response.shard_iterator)
    }
}
