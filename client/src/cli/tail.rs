//! `runnel tail`: one poller per shard feeding a single printer, until Ctrl-C. Shards are
//! taken up in lineage order: a child once each of its parents has been read to its end,
//! so a partition key's records print in order across splits and merges.

use std::time::Duration;

use anyhow::Context;
use runnel_client::proto::{ChildShard, GetRecordsRequest, GetShardIteratorRequest, Record};
use runnel_client::{Client, ClientError, ErrorCode, Lineage, LineageStart, ShardIteratorType};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::output::Output;
use super::TailArgs;

/// Events waiting to be printed; pollers wait when the terminal is slower than the stream.
const PRINT_QUEUE: usize = 1024;

/// Consecutive expired iterators tolerated before giving up on a shard.
const MAX_RENEWALS: u32 = 3;

/// What a poller tells the printer. Both go through one queue, so a shard's end arrives
/// after its last record and its children's records print after it.
enum Event {
    Record(String, Record),
    /// The shard was read to its end; GetRecords named these children.
    Ended {
        shard: String,
        children: Vec<ChildShard>,
    },
}

pub async fn run(client: &Client, args: TailArgs, out: &mut Output) -> anyhow::Result<()> {
    let shards =
        client.list_shards(&args.stream).await.with_context(|| format!("listing the shards of {}", args.stream))?;
    let (mut lineage, listed_start) = if args.from_start {
        (Lineage::new(&shards, LineageStart::Oldest)?, ShardIteratorType::TrimHorizon)
    } else {
        (Lineage::new(&shards, LineageStart::Open)?, ShardIteratorType::Latest)
    };
    let (tx, mut rx) = mpsc::channel::<Event>(PRINT_QUEUE);
    // Dropping the set (on Ctrl-C or error) stops every poller. Its size is bounded by
    // the lineage's.
    let mut pollers = JoinSet::new();
    let spawner = Spawner { client, args: &args, listed_start, tx };
    let started = spawner.start_ready(&mut lineage, &mut pollers);
    if !out.json() {
        eprintln!("following {started} shard(s) of {}; Ctrl-C to stop", args.stream);
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        // A poller queues its events before it returns: once every poller has been joined
        // and the queue is empty, every followed shard has ended and no child is ready.
        if pollers.is_empty() && rx.is_empty() {
            break;
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            // The spawner keeps a sender, so the queue never closes.
            Some(event) = rx.recv() => match event {
                Event::Record(shard, record) => {
                    out.record(&shard, &record)?;
                    // Flush when caught up with the queue, so records show as they come.
                    if rx.is_empty() {
                        out.flush()?;
                    }
                }
                Event::Ended { shard, children } => {
                    lineage.finished(&shard, &children)?;
                    let started = spawner.start_ready(&mut lineage, &mut pollers);
                    if started > 0 && !out.json() {
                        out.flush()?;
                        eprintln!("{shard} ended; following {started} shard(s) after it");
                    }
                }
            },
            Some(joined) = pollers.join_next(), if !pollers.is_empty() => {
                joined.context("a shard poller panicked")?.context("following a shard")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Starts pollers for the shards the lineage has ready.
struct Spawner<'a> {
    client: &'a Client,
    args: &'a TailArgs,
    /// Where shards of the first listing start; children found later start at their beginning.
    listed_start: ShardIteratorType,
    tx: mpsc::Sender<Event>,
}

impl Spawner<'_> {
    /// Spawns a poller per ready shard; returns how many.
    fn start_ready(&self, lineage: &mut Lineage, pollers: &mut JoinSet<Result<(), ClientError>>) -> usize {
        let mut started = 0;
        while let Some(ready) = lineage.next_ready() {
            let start = if ready.listed { self.listed_start } else { ShardIteratorType::TrimHorizon };
            let poller = Poller {
                client: self.client.clone(),
                stream: self.args.stream.clone(),
                shard: ready.shard_id,
                start,
                interval: self.args.poll_interval(),
                tx: self.tx.clone(),
            };
            pollers.spawn(poller.follow());
            started += 1;
        }
        started
    }
}

/// Follows one shard.
struct Poller {
    client: Client,
    stream: String,
    shard: String,
    start: ShardIteratorType,
    interval: Duration,
    tx: mpsc::Sender<Event>,
}

impl Poller {
    /// Follows the shard; a closed shard that retention expired after it was listed (its
    /// records are all gone) ends with no children named: the listed ones go on.
    async fn follow(self) -> Result<(), ClientError> {
        match self.poll().await {
            Err(e) if e.code() == Some(&ErrorCode::ResourceNotFoundException) && self.expired().await? => {
                let _ = self.tx.send(Event::Ended { shard: self.shard.clone(), children: Vec::new() }).await;
                Ok(())
            }
            other => other,
        }
    }

    /// Whether retention forgot the shard: no longer listed, but its children are.
    async fn expired(&self) -> Result<bool, ClientError> {
        Ok(runnel_client::expired_parent(&self.client.list_shards(&self.stream).await?, &self.shard))
    }

    /// Polls until the shard has ended (then reports its children) or the printer is
    /// gone; sleeps `interval` whenever it has caught up, and goes straight on while behind.
    async fn poll(&self) -> Result<(), ClientError> {
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
                if self.tx.send(Event::Record(self.shard.clone(), record)).await.is_err() {
                    return Ok(());
                }
            }
            match page.next_shard_iterator.filter(|i| !i.is_empty()) {
                Some(next) => iterator = next,
                None => {
                    let ended = Event::Ended { shard: self.shard.clone(), children: page.child_shards };
                    // An error means the printer is gone, which stops everything anyway.
                    let _ = self.tx.send(ended).await;
                    return Ok(());
                }
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
